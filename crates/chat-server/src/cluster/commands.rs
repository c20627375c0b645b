//! The command thread: takes the hub's [`ClusterRequest`]s off a bounded
//! channel and runs them against Redis on a connection of its own.
//!
//! Room lines (and room notices) already waiting (up to [`PUBLISH_BATCH`])
//! go out in one script ([`scripts::WRITE_LINES`]: one XADD per room, its
//! entry holding the room's lines of the batch, up to [`ENTRY_LINES`] an
//! entry, then one PUBLISH of the entries with their ids), in order: one round trip per batch, not per
//! line (cross-node fan-out rose from 0.5M to 4M deliveries/s with batches;
//! BENCHMARKS.md). Other requests run one at a time ([`requests::run`]).
//!
//! While Redis is unreachable it reconnects with backoff and answers every
//! other request "unavailable" at once; room lines wait in a bounded queue
//! ([`QUEUED_MAX`], past which they are dropped and counted) and are written
//! first thing once connected again, oldest first: at least once into the
//! streams. A batch whose reply was lost is sent again; each line's sequence
//! number lets the script skip what it wrote already. Once connected again
//! it also claims this node's nicks from the last member snapshot.
//!
//! With sentinels, written lines stay in a bounded buffer until a replica
//! acknowledges them (`acks.rs`); after connecting again, to a new master or
//! the same one, they are written again ahead of the queue, and the script
//! skips those the master has (its mark of this node's last sequence number
//! came over with them). Receivers know a line by its node and sequence
//! number, so one heard before the failover is not delivered twice.
//!
//! It also publishes the health ping (`probe.rs`) every
//! [`PING_PERIOD`](super::probe::PING_PERIOD), and connects again when the
//! sentinels announce a new master.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use redis::{Connection, ErrorKind, RedisError, RedisResult, ServerErrorKind};

use super::acks::Acks;
use super::fail_fast::FailFast;
use super::link::Link;
use super::packed::PackedEntry;
use super::probe::{PING_PERIOD, Probe};
use super::{
    BACKOFF_MAX, BACKOFF_MIN, BridgeConfig, Emitter, Work, keys, millis, now_ms, requests, scripts,
};
use chat_hub::{ClusterEvent, ClusterRequest, RoomLine};

/// Room lines sent to Redis in one round trip, at most. A round trip
/// carries what waited while the last one ran, so the hop keeps up with
/// the load: on a core shared with busy reactors a round trip takes
/// milliseconds, and a cap of 512 lines held two nodes to about 13M
/// deliveries/s at R=100 (bench/notes.md, "The allocator, the grid's top and
/// the hop's batch").
const PUBLISH_BATCH: usize = 4096;

/// Lines one stream entry holds, at most: a room's lines of a bigger batch
/// go into several entries. A stream keeps entries, not lines
/// ([`STREAM_KEEP_MIN`]), so this bounds what it holds.
pub(super) const ENTRY_LINES: usize = 512;

/// The SHA-1 of [`scripts::WRITE_LINES`], as `SCRIPT LOAD` answered it:
/// the script runs by its hash (`EVALSHA`), since Redis would otherwise
/// read and hash its text for every batch.
static WRITE_LINES_SHA: OnceLock<String> = OnceLock::new();

/// Loads [`scripts::WRITE_LINES`] into the Redis behind `con`: its hash.
fn load_write_lines(con: &mut Connection) -> RedisResult<&'static str> {
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(scripts::WRITE_LINES)
        .query(con)?;
    Ok(WRITE_LINES_SHA.get_or_init(|| sha))
}

/// Room lines kept while Redis is unreachable (a few MB at most); past
/// this, new ones are dropped and counted.
pub(super) const QUEUED_MAX: usize = 10_000;

/// The fewest entries a room's stream keeps, whatever `history_lines`: a
/// node that lost Redis reads back what it missed from the stream, so the
/// stream must outlast an outage's worth of lines, not only a history.
/// An entry holds at least one line, so the stream keeps at least as many
/// lines (and at most [`ENTRY_LINES`] times as many, when every entry was
/// full: the room said that many lines in as many round trips). An outage
/// during which a room said more loses the oldest of them on the nodes
/// that were cut off.
pub(super) const STREAM_KEEP_MIN: usize = 1000;

/// How long Redis remembers a node's last written sequence number: far
/// longer than any reply can be late.
const WRITTEN_MARK_SECONDS: u64 = 86_400;

/// Written room lines kept until a replica has them (with sentinels): a
/// few MB, and at the default flood control some minutes of a busy
/// cluster's lines. Past this the oldest are let go unacknowledged (and
/// counted): a failover then can lose them.
pub(super) const UNACKED_MAX: usize = 50_000;

/// The longest the thread sleeps while connected: how soon it notices a
/// master switch when idle.
const IDLE_WAKE: Duration = Duration::from_millis(100);

/// The command thread's state.
pub(super) struct CommandThread {
    link: Arc<Link>,
    config: BridgeConfig,
    emit: Emitter,
    con: Option<Connection>,
    /// The master connected to, and the count of switches then.
    master: String,
    switches: u64,
    /// Written room lines no replica is known to have, oldest first.
    unacked: VecDeque<(u64, RoomLine)>,
    /// Lines let go from `unacked` before a replica had them.
    unprotected: u64,
    acks: Arc<Acks>,
    probe: Arc<Probe>,
    next_ping: Instant,
    /// The last member snapshot (each nick with its rooms): what this node
    /// claims.
    members: Vec<(String, Vec<String>)>,
    /// Room lines waiting to be written, oldest first, with their sequence
    /// numbers.
    queued: VecDeque<(u64, RoomLine)>,
    /// The last sequence number given to a line.
    last_seq: u64,
    /// Room lines dropped because [`QUEUED_MAX`] were waiting.
    lost: u64,
    /// Room lines done with (written or lost), for the query thread.
    written: Arc<AtomicU64>,
    /// When to try connecting again, while not connected.
    next_attempt: Instant,
}

impl CommandThread {
    pub(super) fn new(
        link: Arc<Link>,
        config: BridgeConfig,
        emit: Emitter,
        written: Arc<AtomicU64>,
        probe: Arc<Probe>,
        acks: Arc<Acks>,
    ) -> CommandThread {
        CommandThread {
            link,
            config,
            emit,
            con: None,
            master: String::new(),
            switches: 0,
            unacked: VecDeque::new(),
            unprotected: 0,
            acks,
            probe,
            next_ping: Instant::now(),
            members: Vec::new(),
            queued: VecDeque::new(),
            // From the clock (in thousandths of a millisecond), so a node
            // restarted under the same name numbers above its past self,
            // and below 2^53 (the script's numbers) until the year 2255.
            last_seq: u64::try_from(now_ms()).unwrap_or(0).saturating_mul(1000),
            lost: 0,
            written,
            next_attempt: Instant::now(),
        }
    }

    /// Runs until the reactor is gone (the channel closes or an event
    /// cannot be handed over).
    pub(super) fn run(mut self, requests: Receiver<Work>) {
        let mut backoff = BACKOFF_MIN;
        let mut reported_down = false;
        loop {
            if self.con.is_some() && self.link.switches() != self.switches {
                let e = RedisError::from((redis::ErrorKind::Client, "the master switched"));
                if !self.connection_lost(&e) {
                    return;
                }
            }
            if self.con.is_some() && !self.ping() {
                return;
            }
            if self.con.is_none() && self.link.switches() != self.switches {
                // A new master: no reason to wait out the backoff.
                self.switches = self.link.switches();
                self.next_attempt = Instant::now();
                backoff = BACKOFF_MIN;
            }
            if self.con.is_none() && Instant::now() >= self.next_attempt {
                let switches = self.link.switches();
                match self.link.connect() {
                    Ok((con, master)) => {
                        self.con = Some(con);
                        self.master = master;
                        self.switches = switches;
                        self.next_ping = Instant::now();
                        self.probe.connected();
                        backoff = BACKOFF_MIN;
                        reported_down = false;
                        // What no replica is known to have goes first: the
                        // script skips what this master has.
                        let unacked = std::mem::take(&mut self.unacked);
                        let acked = self.acks.acked();
                        let mut checked = 0;
                        for line in unacked.into_iter().rev().filter(|(seq, _)| *seq > acked) {
                            self.queued.push_front(line);
                            checked += 1;
                        }
                        let mut text = format!(
                            "cluster: connected to {} as node {}",
                            self.master, self.config.node
                        );
                        if checked > 0 {
                            text.push_str(&format!(
                                "; writing again what it lacks of {checked} room lines no replica had acknowledged"
                            ));
                        }
                        if self.queued.len() > checked {
                            let queued = self.queued.len() - checked;
                            text.push_str(&format!("; writing {queued} room lines said meanwhile"));
                        }
                        if self.unprotected > 0 {
                            text.push_str(&format!(
                                "; {} room lines were let go before a replica had them (more than {UNACKED_MAX} waited)",
                                self.unprotected
                            ));
                        }
                        if self.lost > 0 {
                            text.push_str(&format!(
                                "; {} room lines were dropped (more than {QUEUED_MAX} waited)",
                                self.lost
                            ));
                        }
                        if !self.emit.emit(ClusterEvent::Status {
                            connected: true,
                            text,
                        }) {
                            return;
                        }
                        // What was said meanwhile first, then claim our
                        // nicks and list our members again.
                        if !self.flush() {
                            return;
                        }
                        let members = self.members.clone();
                        self.handle(ClusterRequest::Sync { members });
                    }
                    Err(e) => {
                        if !reported_down {
                            reported_down = true;
                            let text = format!(
                                "cluster: {} unreachable ({e}), retrying; this node runs alone meanwhile",
                                self.describe()
                            );
                            if !self.emit.emit(ClusterEvent::Status {
                                connected: false,
                                text,
                            }) {
                                return;
                            }
                        }
                        self.next_attempt = Instant::now() + backoff;
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                }
            }
            let wait = if self.con.is_some() {
                IDLE_WAKE.min(self.next_ping.saturating_duration_since(Instant::now()))
            } else {
                IDLE_WAKE.min(self.next_attempt.saturating_duration_since(Instant::now()))
            };
            match requests.recv_timeout(wait) {
                Ok(Work::Lines(lines)) => {
                    // Take every room line already waiting, in order, and
                    // send them in one round trip; a request of another kind
                    // found behind them runs after them.
                    let mut batch = lines;
                    let mut behind = None;
                    while batch.len() < PUBLISH_BATCH {
                        match requests.try_recv() {
                            Ok(Work::Lines(more)) => batch.extend(more),
                            Ok(Work::Request(other)) => {
                                behind = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    if !self.publish(batch) {
                        return;
                    }
                    if let Some(request) = behind
                        && !self.handle(request)
                    {
                        return;
                    }
                }
                Ok(Work::Request(request)) => {
                    if !self.handle(request) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Where Redis is, for the log.
    fn describe(&self) -> String {
        match &self.config.target {
            super::Target::Url { url, .. } => url.clone(),
            super::Target::Sentinel { master_name, .. } => {
                format!("the sentinels' master {master_name:?}")
            }
        }
    }

    /// Publishes the health ping if it is due. `false`: the reactor is
    /// gone, stop.
    fn ping(&mut self) -> bool {
        let now = Instant::now();
        if now < self.next_ping {
            return true;
        }
        self.next_ping = now + PING_PERIOD;
        let Some(con) = self.con.as_mut() else {
            return true;
        };
        let published = redis::cmd("PUBLISH")
            .arg(keys::node(&self.config.node))
            .arg(self.probe.ping())
            .query::<()>(con);
        match published {
            Ok(()) => true,
            Err(e) => self.connection_lost(&e),
        }
    }

    /// The connection failed with `e`: drop it, retry after the shortest
    /// backoff, and say so. `false`: the reactor is gone, stop.
    fn connection_lost(&mut self, e: &RedisError) -> bool {
        self.con = None;
        self.next_attempt = Instant::now() + BACKOFF_MIN;
        let text = format!(
            "cluster: lost {} ({e}), reconnecting; this node runs alone meanwhile",
            self.master
        );
        self.emit.emit(ClusterEvent::Status {
            connected: false,
            text,
        })
    }

    /// Runs one request. `false`: the reactor is gone, stop.
    fn handle(&mut self, request: ClusterRequest) -> bool {
        if let ClusterRequest::Publish(line) = request {
            // Not sent this way (the bridge hands lines over per turn).
            return self.publish(vec![line]);
        }
        if let ClusterRequest::Sync { members } = &request {
            self.members.clone_from(members);
        }
        let Some(con) = self.con.as_mut() else {
            return self.unavailable(request);
        };
        let result = requests::run(con, &self.config, request.clone());
        match result {
            Ok(events) => events.into_iter().all(|event| self.emit.emit(event)),
            Err(e) => self.connection_lost(&e) && self.unavailable(request),
        }
    }

    /// Queues room lines and writes every line waiting. `false`: the
    /// reactor is gone, stop.
    fn publish(&mut self, lines: Vec<RoomLine>) -> bool {
        let count = lines.len() as u64;
        for mut line in lines {
            if self.queued.len() >= QUEUED_MAX {
                self.lost += 1;
                continue;
            }
            self.last_seq += 1;
            line.seq = self.last_seq;
            self.queued.push_back((self.last_seq, line));
        }
        let going_on = self.flush();
        self.written.fetch_add(count, Ordering::Release);
        going_on
    }

    /// Writes the waiting lines, oldest first, a batch per round trip,
    /// while connected; a batch that fails stays queued. `false`: the
    /// reactor is gone, stop.
    fn flush(&mut self) -> bool {
        while !self.queued.is_empty() {
            let Some(con) = self.con.as_mut() else {
                return true; // written once connected again
            };
            let count = self.queued.len().min(PUBLISH_BATCH);
            let batch = self.queued.range(..count);
            match write_lines(con, &self.config, batch) {
                Ok(Written::All) => self.written(count),
                Ok(Written::Through(mark)) => {
                    // Regrouped after a reconnection: Redis has the lines up
                    // to its mark; the rest go again (at least one was).
                    let had = self.queued.iter().take(count);
                    let had = had.take_while(|&&(seq, _)| seq <= mark).count();
                    self.written(had.max(1));
                }
                Err(e) => return self.connection_lost(&e),
            }
        }
        true
    }

    /// The first `count` queued lines were written: kept until a replica
    /// has them if a failover can lose them, let go otherwise.
    fn written(&mut self, count: usize) {
        let lines = self.queued.drain(..count);
        if !self.link.fails_over() {
            return drop(lines);
        }
        self.unacked.extend(lines);
        if let Some(&(last, _)) = self.unacked.back() {
            self.acks.wrote(&self.master, last);
        }
        let acked = self.acks.acked();
        while self
            .unacked
            .front()
            .is_some_and(|&(seq, _)| seq <= acked || self.unacked.len() > UNACKED_MAX)
        {
            if self.unacked.front().is_some_and(|&(seq, _)| seq > acked) {
                self.unprotected += 1;
            }
            self.unacked.pop_front();
        }
    }

    /// Answers a request that Redis cannot serve now.
    fn unavailable(&mut self, request: ClusterRequest) -> bool {
        requests::unavailable(request).is_none_or(|event| self.emit.emit(event))
    }
}

/// What [`scripts::WRITE_LINES`] did with a batch.
pub(super) enum Written {
    /// Every line is in Redis: written now, or before.
    All,
    /// Nothing written: Redis had the lines up to this sequence number
    /// (the batch straddled its mark).
    Through(u64),
}

/// Writes `lines` (with their sequence numbers, in order) in one round
/// trip: the script adds one entry per room and publishes them, then each
/// room's stream is trimmed to the retention and set to expire a retention
/// after this line.
pub(super) fn write_lines<'a>(
    con: &mut Connection,
    config: &BridgeConfig,
    lines: impl Iterator<Item = &'a (u64, RoomLine)>,
) -> RedisResult<Written> {
    // The streams in the order of their first line, each with its entries;
    // each spelling of a room names its stream (its key made once per
    // batch), and each stream the entry taking its lines: a new one when
    // that is full.
    let mut entries: Vec<(String, PackedEntry)> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut streams: HashMap<&str, usize> = HashMap::new();
    let (mut first, mut last) = (None, 0);
    for (seq, line) in lines {
        first.get_or_insert(*seq);
        last = *seq;
        let stream = match streams.get(line.room.as_str()) {
            Some(&stream) => stream,
            None => {
                // The same room spelt otherwise shares its stream.
                let key = keys::history(&line.room);
                let known = open.iter().position(|&at| entries[at].0 == key);
                let stream = known.unwrap_or_else(|| {
                    entries.push((key, PackedEntry::new(&config.node)));
                    open.push(entries.len() - 1);
                    open.len() - 1
                });
                streams.insert(&line.room, stream);
                stream
            }
        };
        if entries[open[stream]].1.lines() >= ENTRY_LINES {
            let key = entries[open[stream]].0.clone();
            entries.push((key, PackedEntry::new(&config.node)));
            open[stream] = entries.len() - 1;
        }
        entries[open[stream]].1.push(line);
    }
    let Some(first) = first else {
        return Ok(Written::All);
    };
    let keep = config.history_keep.max(STREAM_KEEP_MIN);
    let sha = match WRITE_LINES_SHA.get() {
        Some(sha) => sha.as_str(),
        None => load_write_lines(con)?,
    };
    let mut script = redis::cmd("EVALSHA");
    script
        .arg(sha)
        .arg(1 + entries.len())
        .arg(keys::written(&config.node));
    for (stream, _) in &entries {
        script.arg(stream);
    }
    script
        .arg(keep)
        .arg(keys::ROOMS)
        .arg(WRITTEN_MARK_SECONDS)
        .arg(first)
        .arg(last);
    let mut streams = Vec::with_capacity(entries.len());
    for (stream, entry) in entries {
        script.arg(entry.finish());
        streams.push(stream);
    }
    let mut pipe = redis::pipe();
    pipe.add_command(script);
    if let Some(retention) = config.history_retention {
        let oldest = now_ms().saturating_sub(millis(retention));
        let seconds = retention.as_secs().max(1);
        for stream in &streams {
            pipe.cmd("XTRIM")
                .arg(stream)
                .arg("MINID")
                .arg("~")
                .arg(oldest)
                .ignore();
            pipe.cmd("EXPIRE").arg(stream).arg(seconds).ignore();
        }
    }
    let added: RedisResult<(i64,)> = match pipe.query(&mut FailFast(con)) {
        // A Redis that restarted, or a new master, has not seen it yet;
        // nothing of the batch ran (the trims and expiries may have, which
        // is harmless).
        Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
            load_write_lines(con)?;
            pipe.query(&mut FailFast(con))
        }
        added => added,
    };
    let (added,) = added?;
    Ok(match u64::try_from(-added) {
        Ok(mark) if added < 0 => Written::Through(mark),
        _ => Written::All,
    })
}
