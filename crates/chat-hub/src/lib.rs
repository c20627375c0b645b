//! chat-hub is the chat itself, as sans-I/O state machines: rooms and nicks,
//! admission, flood control, history, operators, the console, and this
//! node's side of a cluster.
//!
//! Events and the time go in through [`Hub`]'s methods; everything the hub
//! wants done comes out through an [`Outbox`]: send these bytes to that
//! client, close it, print this on the console, ask the cluster that. The
//! hub never touches a socket and never reads a clock, so its tests drive it
//! with plain function calls and a recording `Outbox`.
//!
//! **Architecture invariant:** this crate depends on chat-proto and small
//! pure crates only — never on mio, chat-net, redis, rusqlite, clap, toml,
//! serde, socket2 or rustls (`tests/tidy.rs` checks it). What the compiler cannot
//! see, it cannot get wrong.
//!
//! Each concern is a type that owns its fields, in its own file; [`Hub`]
//! holds them and routes events between them:
//!
//! - `membership.rs` (`Membership`: clients, nicks, rooms), `clients.rs`,
//!   `rooms.rs`, `seats.rs` (the rooms one client is in, and its current
//!   one);
//! - `admission.rs` (limits, password logins, failed logins), `bans.rs`,
//!   `operators.rs` (`/oper`, its checks handed off the reactor's thread),
//!   `sanctions.rs` (bans and kicks across a cluster);
//! - `flood.rs` (fakelag), `timeouts.rs`;
//! - `irc.rs` (`Irc`: IRC connections registering, IRC clients' sessions;
//!   what an IRC line asks is `hub/irc.rs`'s), `keys.rs` (lookups by name
//!   without an allocation);
//! - `protocol.rs` (`Protocol`: what differs between the wire protocols
//!   beyond the bytes), `wire.rs` (one decoder per connection),
//!   `delivery.rs` (`Delivery`: encode once per wire shape, hand out,
//!   count);
//! - `history.rs` (the rooms' rings), `listing.rs` (`/who`, `/rooms`);
//! - `console.rs` (the operator's console), `cluster.rs` (the messages to
//!   and from the Redis bridge), `node.rs` (`Node`: this node's side of a
//!   cluster), `news.rs` (room lines and notices to and from the cluster),
//!   `catchup.rs` (`CatchUp`: other nodes' lines once and in order, read
//!   back after a broken link), `remote.rs` (what another node's line or
//!   notice does here), `pace.rs` (`QueryPace`: one cluster query a second
//!   per client);
//! - `store.rs` (`StoreClient`: the hub as the history store's client:
//!   message ids, lines to the store, who waits for which read), `store/messages.rs` (the requests, answers
//!   and lines between the hub and the store);
//! - `config.rs` (`HubConfig`, each setting defined once), `stats.rs` and
//!   `reasons.rs` (what `/stats` and the metrics count).

mod accounts;
mod admission;
mod bans;
mod catchup;
mod chat;
mod clients;
mod cluster;
mod config;
mod console;
mod ctx;
mod delivery;
mod flood;
mod history;
mod hub;
mod irc;
mod keys;
mod listing;
mod markers;
mod membership;
mod news;
mod node;
mod operators;
mod outbox;
mod pace;
mod protocol;
mod reasons;
mod remote;
mod rooms;
mod sanctions;
mod seats;
mod stats;
mod store;
mod timeouts;
mod wire;

use chrono::{DateTime, FixedOffset};

pub use accounts::{
    AccountOutcome, AccountRecord, AccountReply, AccountRequest, AccountSettings, AccountSummary,
    AccountTask, Asker, LOGIN_TOKEN_HOURS, Mail, Marker, PASSWORD_BYTES, RegistrationPolicy,
    Secret,
};
pub use admission::address_key;
pub use catchup::{LineId, StreamId};
pub use chat_proto::TimestampFormat;
pub use clients::Arrival;
pub use cluster::{
    ClaimResult, ClusterEvent, ClusterRequest, ClusterSettings, RoomEvent, RoomLine,
};
pub use config::{HubConfig, MAX_HISTORY_KEEP, Operator, Retention, loopback};
pub use hub::Hub;
pub use hub::posts::{Post, Posted};
pub use hub::reconfigure::RESTART_ONLY;
pub use ipnet::IpNet;
pub use operators::{DEFAULT_DUMMY, OperatorCheck, OperatorVerdict, verify_password};
pub use outbox::{ClientId, Gone, Outbox};
pub use protocol::Protocol;
pub use reasons::{DISCONNECTS, REFUSALS, ReasonCounts};
pub use stats::HubStats;
pub use store::{
    NewLine, ReadAnswer, ReadCancel, ReadKind, StoreEvent, StoreHealth, StoreRead, StoreRequest,
    StoredLine,
};

/// The hub's notion of now: local time with its UTC offset.
pub type Now = DateTime<FixedOffset>;
