//! The command thread: takes the hub's [`ClusterRequest`]s off a bounded
//! channel and runs them against Redis on a connection of its own.
//!
//! Room lines already waiting (up to [`PUBLISH_BATCH`]) go out in one
//! pipeline of PUBLISH + XADD pairs, in order: one round trip per batch, not
//! per line (cross-node fan-out rose from 0.5M to 4M deliveries/s with this;
//! BENCHMARKS.md). Other requests run one at a time ([`requests::run`]). While
//! Redis is unreachable it reconnects with backoff and answers every request
//! "unavailable" at once, counting the room lines it could not send; once
//! connected again it claims this node's nicks from the last member snapshot.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use redis::{Connection, RedisError, RedisResult};

use super::wire::WireLine;
use super::{BACKOFF_MAX, BACKOFF_MIN, BridgeConfig, Emitter, keys, millis, now_ms, requests};
use chat_hub::{ClusterEvent, ClusterRequest, RoomLine};

/// Room lines sent to Redis in one pipeline: one round trip carries many
/// lines, so a busy room is not limited to one line per round trip.
const PUBLISH_BATCH: usize = 512;

/// The command thread's state.
pub(super) struct CommandThread {
    client: redis::Client,
    config: BridgeConfig,
    emit: Emitter,
    con: Option<Connection>,
    /// The last member snapshot: what this node claims.
    members: Vec<(String, String)>,
    /// Room lines not published because Redis was unreachable.
    lost: u64,
    /// Room lines done with (written or lost), for the query thread.
    written: Arc<AtomicU64>,
    /// When to try connecting again, while not connected.
    next_attempt: Instant,
}

impl CommandThread {
    pub(super) fn new(
        client: redis::Client,
        config: BridgeConfig,
        emit: Emitter,
        written: Arc<AtomicU64>,
    ) -> CommandThread {
        CommandThread {
            client,
            config,
            emit,
            con: None,
            members: Vec::new(),
            lost: 0,
            written,
            next_attempt: Instant::now(),
        }
    }

    /// Runs until the reactor is gone (the channel closes or an event
    /// cannot be handed over).
    pub(super) fn run(mut self, requests: Receiver<ClusterRequest>) {
        let mut backoff = BACKOFF_MIN;
        let mut reported_down = false;
        loop {
            if self.con.is_none() && Instant::now() >= self.next_attempt {
                match self.connect() {
                    Ok(con) => {
                        self.con = Some(con);
                        backoff = BACKOFF_MIN;
                        reported_down = false;
                        let mut text = format!(
                            "cluster: connected to {} as node {}",
                            self.config.redis_url, self.config.node
                        );
                        if self.lost > 0 {
                            text.push_str(&format!(
                                "; {} room lines were not sent to other nodes meanwhile",
                                self.lost
                            ));
                        }
                        if !self.emit.emit(ClusterEvent::Status {
                            connected: true,
                            text,
                        }) {
                            return;
                        }
                        // Claim our nicks and list our members again.
                        let members = self.members.clone();
                        self.handle(ClusterRequest::Sync { members });
                    }
                    Err(e) => {
                        if !reported_down {
                            reported_down = true;
                            let text = format!(
                                "cluster: {} unreachable ({e}), retrying; this node runs alone meanwhile",
                                self.config.redis_url
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
                Duration::from_secs(3600)
            } else {
                self.next_attempt.saturating_duration_since(Instant::now())
            };
            match requests.recv_timeout(wait) {
                Ok(ClusterRequest::Publish(line)) => {
                    // Take every room line already waiting, in order, and
                    // send them in one round trip; a request of another kind
                    // found behind them runs after them.
                    let mut batch = vec![line];
                    let mut behind = None;
                    while batch.len() < PUBLISH_BATCH {
                        match requests.try_recv() {
                            Ok(ClusterRequest::Publish(line)) => batch.push(line),
                            Ok(other) => {
                                behind = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    if !self.publish(&batch) {
                        return;
                    }
                    if let Some(request) = behind
                        && !self.handle(request)
                    {
                        return;
                    }
                }
                Ok(request) => {
                    if !self.handle(request) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn connect(&self) -> RedisResult<Connection> {
        super::connect(&self.client)
    }

    /// The connection failed with `e`: drop it, retry after the shortest
    /// backoff, and say so. `false`: the reactor is gone, stop.
    fn connection_lost(&mut self, e: &RedisError) -> bool {
        self.con = None;
        self.next_attempt = Instant::now() + BACKOFF_MIN;
        let text = format!(
            "cluster: lost {} ({e}), reconnecting; this node runs alone meanwhile",
            self.config.redis_url
        );
        self.emit.emit(ClusterEvent::Status {
            connected: false,
            text,
        })
    }

    /// Runs one request. `false`: the reactor is gone, stop.
    fn handle(&mut self, request: ClusterRequest) -> bool {
        if let ClusterRequest::Publish(line) = request {
            return self.publish(std::slice::from_ref(&line));
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

    /// Publishes room lines (and appends them to their rooms' history) in
    /// one pipeline; each room's stream is then trimmed to the retention
    /// and set to expire a retention after this line. `false`: the reactor
    /// is gone, stop.
    fn publish(&mut self, lines: &[RoomLine]) -> bool {
        let going_on = self.write(lines);
        self.written
            .fetch_add(lines.len() as u64, Ordering::Release);
        going_on
    }

    fn write(&mut self, lines: &[RoomLine]) -> bool {
        let Some(con) = self.con.as_mut() else {
            self.lost += lines.len() as u64;
            return true;
        };
        let keep = self.config.history_keep.max(1);
        let mut pipe = redis::pipe();
        let mut streams: Vec<String> = Vec::new();
        for line in lines {
            let payload = serde_json::to_string(&WireLine::from_line(line)).unwrap_or_default();
            let stream = keys::history(&line.room);
            pipe.cmd("PUBLISH").arg(keys::ROOMS).arg(&payload).ignore();
            pipe.cmd("XADD")
                .arg(&stream)
                .arg("MAXLEN")
                .arg("~")
                .arg(keep)
                .arg("*")
                .arg("line")
                .arg(&payload)
                .ignore();
            if !streams.contains(&stream) {
                streams.push(stream);
            }
        }
        if let Some(retention) = self.config.history_retention {
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
        match pipe.query::<()>(con) {
            Ok(()) => true,
            Err(e) => {
                self.lost += lines.len() as u64;
                self.connection_lost(&e)
            }
        }
    }

    /// Answers a request that Redis cannot serve now.
    fn unavailable(&mut self, request: ClusterRequest) -> bool {
        if let ClusterRequest::Publish(_) = request {
            self.lost += 1;
            return true;
        }
        requests::unavailable(request).is_none_or(|event| self.emit.emit(event))
    }
}
