//! The Redis bridge: the only code that talks to Redis, on threads of its
//! own, so the reactor never waits for it.
//!
//! Two threads, each with its own connection (the `redis` crate's sync API):
//!
//! - the *command* thread (`commands.rs`) takes [`ClusterRequest`]s from a
//!   bounded channel and runs them (PUBLISH + XADD, nick claims, member
//!   lists, history reads: `requests.rs`), answering with [`ClusterEvent`]s;
//! - the *subscriber* thread (`subscriber.rs`) listens on the cluster's room
//!   channel and on this node's own channel (private messages) and turns
//!   what it hears into [`ClusterEvent`]s.
//!
//! Events go back through a bounded channel and the reactor's waker. Both
//! threads reconnect with backoff when Redis goes away; meanwhile requests
//! are answered "unavailable" at once (publishes are counted as lost), and
//! after reconnecting the command thread claims this node's nicks again from
//! the last member snapshot.
//!
//! The keys and channels are named in `keys.rs`, the Lua scripts that keep a
//! nick on one node are in `scripts.rs`, and what crosses Redis as JSON is in
//! `wire.rs`.
//!
//! ## One channel for every room, not one per room
//!
//! Reasoned, not measured: per-room channels would save a node the lines of
//! rooms it has nobody in, but cost a SUBSCRIBE/UNSUBSCRIBE round trip on
//! joins and leaves, and a line said just as the first local member joins
//! would be lost in that window. Chat clusters have few nodes (Redis's
//! fan-out cost is per subscriber connection, so N nodes cost N deliveries
//! either way) and a node drops an unknown room's line with one hash lookup.
//! If nodes ever serve disjoint sets of many busy rooms, per-room channels
//! are the change to make, and this module is the only place that knows.

mod commands;
mod keys;
mod requests;
mod scripts;
mod subscriber;
mod wire;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use chat_hub::{ClusterEvent, ClusterRequest};

/// Requests waiting for Redis. Past this, the hub's requests are dropped
/// (and counted) rather than queued: a slow Redis costs no memory.
pub const REQUEST_QUEUE: usize = 4096;
/// Events waiting for the reactor; the bridge waits when it is full.
const EVENT_QUEUE: usize = 4096;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A command that takes longer counts as a lost connection.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// Milliseconds since the epoch, as Redis stream ids and leases count them.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `duration` in whole milliseconds, saturating.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// What the bridge needs to know.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    pub redis_url: String,
    pub node: String,
    pub lease: Duration,
    /// Lines each room's stream keeps (`MAXLEN ~`).
    pub history_keep: usize,
    /// How long a room's stream keeps a line (`MINID ~`) and lives after
    /// its last one (`EXPIRE`); `None`: for ever.
    pub history_retention: Option<Duration>,
}

/// The reactor's ends of the bridge.
pub struct Bridge {
    pub requests: SyncSender<ClusterRequest>,
    pub events: Receiver<ClusterEvent>,
}

type Wake = Arc<dyn Fn() + Send + Sync>;

/// Starts the bridge threads. They run until the process ends.
pub fn spawn(config: BridgeConfig, wake: Wake) -> std::io::Result<Bridge> {
    let (requests, requests_rx) = sync_channel(REQUEST_QUEUE);
    let (events_tx, events) = sync_channel(EVENT_QUEUE);
    let client = redis::Client::open(config.redis_url.as_str())
        .map_err(|e| std::io::Error::other(format!("{}: {e}", config.redis_url)))?;
    let emit = Emitter {
        events: events_tx,
        wake,
    };
    let commands = commands::CommandThread::new(client.clone(), config.clone(), emit.clone());
    std::thread::Builder::new()
        .name("cluster-commands".into())
        .spawn(move || commands.run(requests_rx))?;
    std::thread::Builder::new()
        .name("cluster-subscriber".into())
        .spawn(move || subscriber::run(client, config, emit))?;
    Ok(Bridge { requests, events })
}

/// The bridge threads' way back to the reactor.
#[derive(Clone)]
struct Emitter {
    events: SyncSender<ClusterEvent>,
    wake: Wake,
}

impl Emitter {
    /// Hands an event to the reactor. `false`: the reactor is gone.
    fn emit(&self, event: ClusterEvent) -> bool {
        let sent = self.events.send(event).is_ok();
        (self.wake)();
        sent
    }
}
