//! The hub driven as a state machine: events in, recorded actions out.
//!
//! One test binary, so the hub and its fixture compile once; each module
//! holds the tests of one concern, all driving the hub through
//! [`support::Fixture`].

mod support;

mod accounts;
mod cluster;
mod cluster_events;
mod console;
mod history;
mod irc;
mod irc_accounts;
mod irc_markers;
mod limits;
mod logins;
mod moderation;
mod nicks_and_messages;
mod posts;
mod rooms;
