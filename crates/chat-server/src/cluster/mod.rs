//! The Redis bridge: the only code that talks to Redis, on threads of its
//! own, so the reactor never waits for it.
//!
//! Three threads, each with its own connection (the `redis` crate's sync API):
//!
//! - the *command* thread (`commands.rs`) takes [`ClusterRequest`]s from a
//!   bounded channel and runs them (room lines: an XADD per room and
//!   batch, then one PUBLISH, in one script; nick claims, member
//!   snapshots, private messages: `requests.rs`), answering with
//!   [`ClusterEvent`]s;
//! - the *query* thread (`queries.rs`) runs the read-only requests (`/who`,
//!   `/rooms`, history reads, reading a room's stream back after missed
//!   lines) from a bounded channel of their own, so a room line never waits
//!   behind a query, however many clients ask;
//! - the *subscriber* thread (`subscriber.rs`) listens on the cluster's room
//!   channel, on its ban notices and on this node's own channel (private
//!   messages, kicks), reads the bans in force each time it subscribes, and
//!   turns what it hears into [`ClusterEvent`]s.
//!
//! With Redis Sentinel (`link.rs`) two more: one counts the sentinels'
//! `+switch-master` announcements, after which every thread connects to
//! the new master, and one (`acks.rs`) learns which written lines a replica
//! has, so the command thread can write again after a failover what the
//! new master lacks. Every connection finds the master through `link.rs`.
//! The command thread also publishes the ping whose return through the
//! subscription is the node's health (`probe.rs`).
//!
//! [`Bridge::send`] sorts the hub's requests between the two channels. Room
//! lines are kept until the reactor's turn ends ([`Bridge::hand_over`]) and
//! go to the command thread as one message: under load a turn gathers many
//! lines, and each round trip to Redis, each publication and each wake-up
//! of the other nodes then carries all of them.
//! Events go back through a bounded channel and the reactor's waker. The
//! threads reconnect with backoff when Redis goes away; meanwhile requests
//! are answered "unavailable" at once, room lines wait in a bounded queue,
//! and after reconnecting the command thread writes them and claims this
//! node's nicks again from the last member snapshot, and the hub reads back
//! what the subscriber missed (ARCHITECTURE.md, "Lines that survive an
//! outage").
//!
//! The keys and channels are named in `keys.rs`, the Lua scripts that keep a
//! nick on one node and write room lines are in `scripts.rs`, a room's stream
//! entry (its lines of one batch) is in `entries.rs`, its binary form in
//! `packed.rs`, and what crosses Redis as JSON is in `wire.rs`.
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

mod acks;
mod commands;
mod entries;
mod fail_fast;
pub(crate) mod keys;
mod link;
pub mod packed;
mod probe;
mod queries;
mod requests;
mod scripts;
#[cfg(test)]
mod stream_tests;
mod subscriber;
#[cfg(test)]
mod test_lines;
mod wire;

pub use fail_fast::FailFast;
pub use link::Target;
pub use probe::Probe;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use chat_hub::{ClusterEvent, ClusterRequest, RoomLine};

use crate::emitter::Wake;
use link::Link;

/// Requests waiting for Redis, and room lines handed over but not yet
/// written (a few round trips' worth under load, about 1.5 MB). Past this,
/// the hub's requests are dropped (and counted) rather than queued: a slow
/// Redis costs no more memory.
pub const REQUEST_QUEUE: usize = 16_384;
/// Queries (`/who`, `/rooms`, history reads) waiting for Redis. Past this
/// they are dropped and counted, and the hub answers from what it knows.
pub const QUERY_QUEUE: usize = 1024;
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
    pub target: Target,
    pub node: String,
    pub lease: Duration,
    /// Lines each room's stream keeps: its entries (`MAXLEN ~`), each of
    /// at least one line.
    pub history_keep: usize,
    /// How long a room's stream keeps a line (`MINID ~`) and lives after
    /// its last one (`EXPIRE`); `None`: for ever.
    pub history_retention: Option<Duration>,
}

/// What the command thread takes: a request, or the room lines of one
/// reactor turn, in order.
enum Work {
    Request(ClusterRequest),
    Lines(Vec<RoomLine>),
}

/// The reactor's ends of the bridge.
pub struct Bridge {
    requests: SyncSender<Work>,
    queries: SyncSender<Query>,
    /// Room lines said this turn, for [`Bridge::hand_over`].
    lines: Vec<RoomLine>,
    /// Room lines handed to the command thread so far.
    handed: u64,
    /// Room lines the command thread has written (or queued while Redis is
    /// away) so far: `handed - written` are on their way.
    written: Arc<AtomicU64>,
    pub events: Receiver<ClusterEvent>,
    /// Whether pub/sub delivers: `/health` and `chat_cluster_up`.
    pub probe: Arc<Probe>,
}

impl Bridge {
    /// Takes `request` for the thread that runs it: a room line until the
    /// turn ends, a query to the query thread, anything else to the command
    /// thread after the lines taken before it. Never waits: `false` if that
    /// thread's queue is full (the request is dropped).
    pub fn send(&mut self, request: ClusterRequest) -> bool {
        if let ClusterRequest::Publish(line) = request {
            let on_the_way = self
                .handed
                .saturating_sub(self.written.load(Ordering::Acquire));
            if on_the_way as usize + self.lines.len() >= REQUEST_QUEUE {
                return false;
            }
            self.lines.push(line);
            return true;
        }
        // Whatever was said before a request goes before it.
        self.hand_over();
        if is_query(&request) {
            let after = self.handed + self.lines.len() as u64;
            return self.queries.try_send(Query { request, after }).is_ok();
        }
        self.requests.try_send(Work::Request(request)).is_ok()
    }

    /// Hands the room lines said this turn to the command thread, as one
    /// message. If its channel is full they stay for the next turn (and
    /// [`Bridge::send`] refuses lines past [`REQUEST_QUEUE`]).
    pub fn hand_over(&mut self) {
        if self.lines.is_empty() {
            return;
        }
        let lines = std::mem::take(&mut self.lines);
        let count = lines.len() as u64;
        match self.requests.try_send(Work::Lines(lines)) {
            Ok(()) => self.handed += count,
            Err(TrySendError::Full(work) | TrySendError::Disconnected(work)) => {
                if let Work::Lines(lines) = work {
                    self.lines = lines;
                }
            }
        }
    }
}

/// Read-only requests: they go to the query thread.
fn is_query(request: &ClusterRequest) -> bool {
    matches!(
        request,
        ClusterRequest::Who { .. }
            | ClusterRequest::Rooms { .. }
            | ClusterRequest::History { .. }
            | ClusterRequest::CatchUp { .. }
    )
}

/// A query, and how many room lines had been handed to the command thread
/// before it: a history read waits (briefly) until they are written, so it
/// includes every line this node said before it.
struct Query {
    request: ClusterRequest,
    after: u64,
}

/// Starts the bridge threads. They run until the process ends.
pub fn spawn(config: BridgeConfig, wake: Wake) -> std::io::Result<Bridge> {
    let (requests, requests_rx) = sync_channel(REQUEST_QUEUE);
    let (queries, queries_rx) = sync_channel(QUERY_QUEUE);
    let (events_tx, events) = sync_channel(EVENT_QUEUE);
    if let Target::Url { url, .. } = &config.target {
        redis::Client::open(url.as_str())
            .map_err(|e| std::io::Error::other(format!("{url}: {e}")))?;
    }
    let link = Link::new(config.target.clone());
    link.watch()?;
    let emit = Emitter {
        events: events_tx,
        wake,
    };
    let written = Arc::new(AtomicU64::new(0));
    let probe = Arc::new(Probe::default());
    let acks = Arc::new(acks::Acks::default());
    if link.fails_over() {
        let acks = Arc::clone(&acks);
        let (link, node) = (Arc::clone(&link), config.node.clone());
        std::thread::Builder::new()
            .name("cluster-acks".into())
            .spawn(move || acks::run(&link, &node, &acks))?;
    }
    let commands = commands::CommandThread::new(
        Arc::clone(&link),
        config.clone(),
        emit.clone(),
        Arc::clone(&written),
        Arc::clone(&probe),
        acks,
    );
    std::thread::Builder::new()
        .name("cluster-commands".into())
        .spawn(move || commands.run(requests_rx))?;
    let queries_thread = queries::QueryThread::new(
        Arc::clone(&link),
        config.clone(),
        emit.clone(),
        Arc::clone(&written),
    );
    std::thread::Builder::new()
        .name("cluster-queries".into())
        .spawn(move || queries_thread.run(queries_rx))?;
    let heard = Arc::clone(&probe);
    std::thread::Builder::new()
        .name("cluster-subscriber".into())
        .spawn(move || subscriber::run(&link, &config, &emit, &heard))?;
    Ok(Bridge {
        requests,
        queries,
        lines: Vec::new(),
        handed: 0,
        written,
        events,
        probe,
    })
}

/// This module's threads' way back to the reactor.
type Emitter = crate::emitter::Emitter<ClusterEvent>;

#[cfg(test)]
mod tests {
    use super::*;
    use chat_hub::ClientId;

    #[test]
    fn reads_go_to_the_query_thread_and_everything_else_to_the_command_thread() {
        let client = ClientId(1);
        let room = String::from("lobby");
        assert!(is_query(&ClusterRequest::Who { client, room }));
        assert!(is_query(&ClusterRequest::Rooms { client }));
        let (token, count, room) = (1, 5, String::from("lobby"));
        assert!(is_query(&ClusterRequest::History {
            client,
            token,
            room,
            count
        }));
        let nick = String::from("alice");
        assert!(!is_query(&ClusterRequest::Claim { client, nick }));
        assert!(!is_query(&ClusterRequest::Sync {
            members: Vec::new()
        }));
    }
}
