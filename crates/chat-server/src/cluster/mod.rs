//! The Redis bridge: the only code that talks to Redis, on threads of its
//! own, so the reactor never waits for it.
//!
//! Two threads, each with its own connection (the `redis` crate's sync API):
//!
//! - the *command* thread takes [`ClusterRequest`]s from a bounded channel
//!   and runs them (PUBLISH + XADD, nick claims, member lists, history
//!   reads), answering with [`ClusterEvent`]s;
//! - the *subscriber* thread listens on the cluster's room channel and on
//!   this node's own channel (private messages) and turns what it hears
//!   into [`ClusterEvent`]s.
//!
//! Events go back through a bounded channel and the reactor's waker. Both
//! threads reconnect with backoff when Redis goes away; meanwhile requests
//! are answered "unavailable" at once (publishes are counted as lost), and
//! after reconnecting the command thread claims this node's nicks again from
//! the last member snapshot.
//!
//! Keys (all under `chat:`): `chat:rooms` (pub/sub: every room line, one
//! channel for the cluster), `chat:node:NODE` (pub/sub: private messages for
//! NODE), `chat:nick:NICK` (string: the node holding NICK, with a lease),
//! `chat:members:NODE` (hash nick → room, expires with the lease),
//! `chat:nodes` (sorted set: node → lease end in ms), `chat:history:ROOM`
//! (stream of room lines, `XADD MAXLEN ~`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use chat_proto::{nick_key, room_key};
use chrono::{FixedOffset, TimeZone};
use redis::{Commands, Connection, RedisResult};
use serde::{Deserialize, Serialize};

use crate::hub::{ClaimResult, ClusterEvent, ClusterRequest, Now, RoomLine};

/// Requests waiting for Redis. Past this, the hub's requests are dropped
/// (and counted) rather than queued: a slow Redis costs no memory.
pub const REQUEST_QUEUE: usize = 4096;
/// Events waiting for the reactor; the bridge waits when it is full.
const EVENT_QUEUE: usize = 4096;
/// Room lines sent to Redis in one pipeline: one round trip carries many
/// lines, so a busy room is not limited to one line per round trip.
const PUBLISH_BATCH: usize = 512;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A command that takes longer counts as a lost connection.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

const ROOMS_CHANNEL: &str = "chat:rooms";

/// Claims `KEYS[1]` for node `ARGV[1]` for `ARGV[2]` seconds, or renews our
/// own claim: `SET key node NX EX lease`, except that a key already ours
/// is ours again. 1: ours; 0: another node's.
const CLAIM: &str = "local v = redis.call('GET', KEYS[1]) \
    if v == ARGV[1] then redis.call('EXPIRE', KEYS[1], ARGV[2]) return 1 end \
    if v then return 0 end \
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1";
/// Deletes `KEYS[1]` only if node `ARGV[1]` holds it.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('DEL', KEYS[1]) end return 0";

/// What the bridge needs to know.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    pub redis_url: String,
    pub node: String,
    pub lease: Duration,
    /// Lines each room's stream keeps (`MAXLEN ~`).
    pub history_keep: usize,
}

/// The reactor's ends of the bridge.
pub struct Bridge {
    pub requests: SyncSender<ClusterRequest>,
    pub events: Receiver<ClusterEvent>,
}

/// A room line on the wire (JSON).
#[derive(Serialize, Deserialize)]
struct WireLine {
    node: String,
    room: String,
    nick: String,
    text: String,
    #[serde(default)]
    action: bool,
    ms: i64,
    offset: i32,
}

/// A private message on the wire (JSON), on the recipient node's channel.
#[derive(Serialize, Deserialize)]
struct WirePrivate {
    from: String,
    to: String,
    text: String,
    ms: i64,
    offset: i32,
}

fn to_time(ms: i64, offset: i32) -> Option<Now> {
    FixedOffset::east_opt(offset)?
        .timestamp_millis_opt(ms)
        .single()
}

impl WireLine {
    fn from_line(line: &RoomLine) -> WireLine {
        WireLine {
            node: line.origin.clone(),
            room: line.room.clone(),
            nick: line.nick.clone(),
            text: line.text.clone(),
            action: line.action,
            ms: line.time.timestamp_millis(),
            offset: line.time.offset().local_minus_utc(),
        }
    }

    fn into_line(self) -> Option<RoomLine> {
        Some(RoomLine {
            time: to_time(self.ms, self.offset)?,
            origin: self.node,
            room: self.room,
            nick: self.nick,
            text: self.text,
            action: self.action,
        })
    }
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
    let commands = CommandThread {
        client: client.clone(),
        config: config.clone(),
        emit: emit.clone(),
        con: None,
        members: Vec::new(),
        lost: 0,
        next_attempt: Instant::now(),
    };
    std::thread::Builder::new()
        .name("cluster-commands".into())
        .spawn(move || commands.run(requests_rx))?;
    std::thread::Builder::new()
        .name("cluster-subscriber".into())
        .spawn(move || subscribe(client, config, emit))?;
    Ok(Bridge { requests, events })
}

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

/// The command thread's state.
struct CommandThread {
    client: redis::Client,
    config: BridgeConfig,
    emit: Emitter,
    con: Option<Connection>,
    /// The last member snapshot: what this node claims.
    members: Vec<(String, String)>,
    /// Room lines not published because Redis was unreachable.
    lost: u64,
    /// When to try connecting again, while not connected.
    next_attempt: Instant,
}

impl CommandThread {
    fn run(mut self, requests: Receiver<ClusterRequest>) {
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
        let mut con = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        con.set_read_timeout(Some(COMMAND_TIMEOUT))?;
        con.set_write_timeout(Some(COMMAND_TIMEOUT))?;
        redis::cmd("PING").query::<()>(&mut con)?;
        Ok(con)
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
        let result = run(con, &self.config, request.clone());
        match result {
            Ok(events) => events.into_iter().all(|event| self.emit.emit(event)),
            Err(e) => {
                self.con = None;
                self.next_attempt = Instant::now() + BACKOFF_MIN;
                let text = format!(
                    "cluster: lost {} ({e}), reconnecting; this node runs alone meanwhile",
                    self.config.redis_url
                );
                self.emit.emit(ClusterEvent::Status {
                    connected: false,
                    text,
                }) && self.unavailable(request)
            }
        }
    }

    /// Publishes room lines (and appends them to their rooms' history) in
    /// one pipeline. `false`: the reactor is gone, stop.
    fn publish(&mut self, lines: &[RoomLine]) -> bool {
        let Some(con) = self.con.as_mut() else {
            self.lost += lines.len() as u64;
            return true;
        };
        let keep = self.config.history_keep.max(1);
        let mut pipe = redis::pipe();
        for line in lines {
            let payload = serde_json::to_string(&WireLine::from_line(line)).unwrap_or_default();
            pipe.cmd("PUBLISH")
                .arg(ROOMS_CHANNEL)
                .arg(&payload)
                .ignore();
            pipe.cmd("XADD")
                .arg(history_key(&line.room))
                .arg("MAXLEN")
                .arg("~")
                .arg(keep)
                .arg("*")
                .arg("line")
                .arg(&payload)
                .ignore();
        }
        match pipe.query::<()>(con) {
            Ok(()) => true,
            Err(e) => {
                self.con = None;
                self.next_attempt = Instant::now() + BACKOFF_MIN;
                self.lost += lines.len() as u64;
                let text = format!(
                    "cluster: lost {} ({e}), reconnecting; this node runs alone meanwhile",
                    self.config.redis_url
                );
                self.emit.emit(ClusterEvent::Status {
                    connected: false,
                    text,
                })
            }
        }
    }

    /// Answers a request that Redis cannot serve now.
    fn unavailable(&mut self, request: ClusterRequest) -> bool {
        let event = match request {
            ClusterRequest::Publish(_) => {
                self.lost += 1;
                return true;
            }
            ClusterRequest::Claim { client, nick } => ClusterEvent::Claimed {
                client,
                nick,
                result: ClaimResult::Unavailable,
            },
            ClusterRequest::Private {
                client,
                from,
                to,
                text,
                ..
            } => ClusterEvent::PrivateSent {
                client,
                error: Some(format!(
                    "no such nick on this server: {to} (the cluster is unreachable)"
                )),
                from,
                to,
                text,
            },
            ClusterRequest::History { client, token, .. } => ClusterEvent::History {
                client,
                token,
                lines: None,
            },
            ClusterRequest::Who { client, room } => ClusterEvent::Members {
                client,
                room,
                nicks: None,
            },
            ClusterRequest::Rooms { client } => ClusterEvent::Rooms {
                client,
                rooms: None,
            },
            ClusterRequest::Release { .. }
            | ClusterRequest::Member { .. }
            | ClusterRequest::Sync { .. } => return true,
        };
        self.emit.emit(event)
    }
}

fn nick_key_of(nick: &str) -> String {
    format!("chat:nick:{}", nick_key(nick))
}

fn members_key(node: &str) -> String {
    format!("chat:members:{node}")
}

fn history_key(room: &str) -> String {
    format!("chat:history:{}", room_key(room))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs one request against Redis; returns the events it produces.
fn run(
    con: &mut Connection,
    config: &BridgeConfig,
    request: ClusterRequest,
) -> RedisResult<Vec<ClusterEvent>> {
    let node = config.node.as_str();
    let lease = config.lease.as_secs().max(1);
    Ok(match request {
        // `CommandThread::handle` sends these to `publish`, in batches.
        ClusterRequest::Publish(_) => Vec::new(),
        ClusterRequest::Claim { client, nick } => {
            let ours: i64 = redis::cmd("EVAL")
                .arg(CLAIM)
                .arg(1)
                .arg(nick_key_of(&nick))
                .arg(node)
                .arg(lease)
                .query(con)?;
            let result = if ours == 1 {
                ClaimResult::Claimed
            } else {
                ClaimResult::Taken
            };
            vec![ClusterEvent::Claimed {
                client,
                nick,
                result,
            }]
        }
        ClusterRequest::Release { nick } => {
            redis::pipe()
                .cmd("EVAL")
                .arg(RELEASE)
                .arg(1)
                .arg(nick_key_of(&nick))
                .arg(node)
                .ignore()
                .cmd("HDEL")
                .arg(members_key(node))
                .arg(&nick)
                .ignore()
                .query::<()>(con)?;
            Vec::new()
        }
        ClusterRequest::Member { nick, room } => {
            con.hset::<_, _, _, ()>(members_key(node), nick, room)?;
            Vec::new()
        }
        ClusterRequest::Sync { members } => sync(con, node, lease, &members)?,
        ClusterRequest::Private {
            client,
            from,
            to,
            text,
            time,
        } => {
            let holder: Option<String> = con.get(nick_key_of(&to))?;
            let mut receivers = 0;
            if let Some(holder) = holder.filter(|holder| holder != node) {
                let payload = WirePrivate {
                    from: from.clone(),
                    to: to.clone(),
                    text: text.clone(),
                    ms: time.timestamp_millis(),
                    offset: time.offset().local_minus_utc(),
                };
                let payload = serde_json::to_string(&payload).unwrap_or_default();
                receivers = con.publish(format!("chat:node:{holder}"), payload)?;
            }
            let error: Option<String> = (receivers == 0u64).then(|| format!("no such nick: {to}"));
            vec![ClusterEvent::PrivateSent {
                client,
                from,
                to,
                text,
                error,
            }]
        }
        ClusterRequest::History {
            client,
            token,
            room,
            count,
        } => {
            let reply: redis::streams::StreamRangeReply =
                con.xrevrange_count(history_key(&room), "+", "-", count)?;
            let mut lines: Vec<RoomLine> = reply
                .ids
                .iter()
                .filter_map(|entry| entry.get::<String>("line"))
                .filter_map(|json| serde_json::from_str::<WireLine>(&json).ok())
                .filter_map(WireLine::into_line)
                .collect();
            lines.reverse();
            vec![ClusterEvent::History {
                client,
                token,
                lines: Some(lines),
            }]
        }
        ClusterRequest::Who { client, room } => {
            let key = room_key(&room);
            let mut nicks = Vec::new();
            for (nick, their_room) in remote_members(con, node)? {
                if room_key(&their_room) == key {
                    nicks.push(nick);
                }
            }
            vec![ClusterEvent::Members {
                client,
                room,
                nicks: Some(nicks),
            }]
        }
        ClusterRequest::Rooms { client } => {
            let mut counts: HashMap<String, (String, usize)> = HashMap::new();
            for (_, room) in remote_members(con, node)? {
                counts.entry(room_key(&room)).or_insert((room, 0)).1 += 1;
            }
            vec![ClusterEvent::Rooms {
                client,
                rooms: Some(counts.into_values().collect()),
            }]
        }
    })
}

/// Renews this node's leases and member list from a snapshot.
fn sync(
    con: &mut Connection,
    node: &str,
    lease: u64,
    members: &[(String, String)],
) -> RedisResult<Vec<ClusterEvent>> {
    let mut claims = redis::pipe();
    for (nick, _) in members {
        claims
            .cmd("EVAL")
            .arg(CLAIM)
            .arg(1)
            .arg(nick_key_of(nick))
            .arg(node)
            .arg(lease);
    }
    let ours: Vec<i64> = if members.is_empty() {
        Vec::new()
    } else {
        claims.query(con)?
    };
    let key = members_key(node);
    let mut list = redis::pipe();
    list.atomic().del(&key).ignore();
    for chunk in members.chunks(512) {
        list.hset_multiple(&key, chunk).ignore();
    }
    let lease_ms = i64::try_from(lease).unwrap_or(15) * 1000;
    list.expire(&key, lease as i64)
        .ignore()
        .zadd("chat:nodes", node, now_ms() + lease_ms)
        .ignore()
        .zrembyscore("chat:nodes", "-inf", now_ms())
        .ignore()
        .query::<()>(con)?;
    let lost = members
        .iter()
        .zip(ours)
        .filter(|(_, ours)| *ours == 0)
        .map(|((nick, _), _)| ClusterEvent::NickLost { nick: nick.clone() });
    Ok(lost.collect())
}

/// Every (nick, room) on the other live nodes.
fn remote_members(con: &mut Connection, node: &str) -> RedisResult<Vec<(String, String)>> {
    let nodes: Vec<String> = con.zrangebyscore("chat:nodes", now_ms(), "+inf")?;
    let mut members = Vec::new();
    let mut seen = HashSet::new();
    for other in nodes.iter().filter(|other| *other != node) {
        let theirs: HashMap<String, String> = con.hgetall(members_key(other))?;
        for (nick, room) in theirs {
            if seen.insert(nick_key(&nick)) {
                members.push((nick, room));
            }
        }
    }
    Ok(members)
}

/// The subscriber thread: room lines and private messages from Redis.
fn subscribe(client: redis::Client, config: BridgeConfig, emit: Emitter) {
    let node_channel = format!("chat:node:{}", config.node);
    let mut backoff = BACKOFF_MIN;
    loop {
        let result = (|| -> RedisResult<()> {
            let mut con = client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
            let mut pubsub = con.as_pubsub();
            pubsub.subscribe(&[ROOMS_CHANNEL, node_channel.as_str()])?;
            backoff = BACKOFF_MIN;
            loop {
                let msg = pubsub.get_message()?;
                let Ok(payload) = msg.get_payload::<String>() else {
                    continue;
                };
                let event = if msg.get_channel_name() == ROOMS_CHANNEL {
                    match serde_json::from_str::<WireLine>(&payload) {
                        // A node ignores its own publications.
                        Ok(line) if line.node != config.node => {
                            line.into_line().map(ClusterEvent::Line)
                        }
                        _ => None,
                    }
                } else {
                    serde_json::from_str::<WirePrivate>(&payload)
                        .ok()
                        .and_then(|p| {
                            Some(ClusterEvent::Private {
                                time: to_time(p.ms, p.offset)?,
                                from: p.from,
                                to: p.to,
                                text: p.text,
                            })
                        })
                };
                if let Some(event) = event
                    && !emit.emit(event)
                {
                    return Ok(()); // the reactor is gone
                }
            }
        })();
        if result.is_ok() {
            return;
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_lines_keep_the_original_time_and_offset() {
        let time = chrono::DateTime::parse_from_rfc3339("2026-11-03T08:05:09.250+01:00")
            .unwrap_or_else(|e| panic!("{e}"));
        let line = RoomLine {
            origin: "a:1".into(),
            room: "lobby".into(),
            nick: "alice".into(),
            text: "hi \"there\"".into(),
            action: true,
            time,
        };
        let json = serde_json::to_string(&WireLine::from_line(&line)).unwrap_or_default();
        let back = serde_json::from_str::<WireLine>(&json)
            .ok()
            .and_then(WireLine::into_line);
        assert_eq!(back, Some(line));
    }
}
