//! The hub's side of a cluster, still without I/O.
//!
//! Several servers behave as one chat through Redis. The hub never talks to
//! Redis: it asks for things with [`Outbox::cluster`] ([`ClusterRequest`])
//! and is told what happened with [`Hub::cluster_event`] ([`ClusterEvent`]).
//! The server carries both across a bounded channel to the bridge thread
//! (`crate::cluster`), which does the talking. A request the channel cannot
//! take is dropped and counted; whatever needed an answer then falls back to
//! what this node knows (local members, local history).

use chat_proto::{Body, Notice, nick_key, room_key};

use super::{ClientId, Hub, Now, Outbox, Recipients, encoder::HOLD_MAX};

/// A client waiting this long for its history gets the local one instead.
const HISTORY_WAIT_SECONDS: i64 = 3;
/// `/who` and `/rooms` list at most this many names.
const MAX_LISTED: usize = 100;

/// This node in a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// The node's name, unique in the cluster.
    pub node: String,
    /// Seconds between two snapshots of the local members (which renew the
    /// nick leases and the member list in Redis).
    pub sync_seconds: i64,
}

/// A line said in a room, as it crosses the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomLine {
    /// The node it was said on.
    pub origin: String,
    pub room: String,
    pub nick: String,
    pub text: String,
    /// `/me`.
    pub action: bool,
    /// When it was said (its stamp everywhere).
    pub time: Now,
}

/// What the hub asks of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterRequest {
    /// Tell the other nodes, and keep it in the room's shared history.
    Publish(RoomLine),
    /// Claim `nick` for this node; answered by [`ClusterEvent::Claimed`].
    Claim { client: ClientId, nick: String },
    /// This node no longer uses `nick`.
    Release { nick: String },
    /// `nick` is now in `room`.
    Member { nick: String, room: String },
    /// Every local member and its room: renews the leases, repairs anything
    /// a dropped request left behind. Sent every `sync_seconds`.
    Sync { members: Vec<(String, String)> },
    /// A private message for a nick not on this node; answered by
    /// [`ClusterEvent::PrivateSent`].
    Private {
        client: ClientId,
        from: String,
        to: String,
        text: String,
        time: Now,
    },
    /// The room's last `count` lines; answered by [`ClusterEvent::History`].
    History {
        client: ClientId,
        token: u64,
        room: String,
        count: usize,
    },
    /// Members of `room` on the other nodes; answered by [`ClusterEvent::Members`].
    Who { client: ClientId, room: String },
    /// Rooms on the other nodes; answered by [`ClusterEvent::Rooms`].
    Rooms { client: ClientId },
}

/// The answer to a [`ClusterRequest::Claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimResult {
    Claimed,
    /// Another node holds it.
    Taken,
    /// Redis cannot be asked right now.
    Unavailable,
}

/// What the cluster tells the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterEvent {
    /// A line said on another node.
    Line(RoomLine),
    /// A private message from another node for a local nick.
    Private {
        from: String,
        to: String,
        text: String,
        time: Now,
    },
    /// What became of a [`ClusterRequest::Private`]: `error` is `None` when
    /// it was delivered to the node holding the nick.
    PrivateSent {
        client: ClientId,
        from: String,
        to: String,
        text: String,
        error: Option<String>,
    },
    Claimed {
        client: ClientId,
        nick: String,
        result: ClaimResult,
    },
    /// A room's shared history, oldest first; `None`: not available.
    History {
        client: ClientId,
        token: u64,
        lines: Option<Vec<RoomLine>>,
    },
    /// Members of `room` on the other nodes; `None`: not available.
    Members {
        client: ClientId,
        room: String,
        nicks: Option<Vec<String>>,
    },
    /// Rooms and member counts on the other nodes; `None`: not available.
    Rooms {
        client: ClientId,
        rooms: Option<Vec<(String, usize)>>,
    },
    /// The link to Redis changed (for the log and `/stats`).
    Status { connected: bool, text: String },
    /// Another node holds `nick` now (its lease lapsed, e.g. during an
    /// outage): the local holder becomes a guest.
    NickLost { nick: String },
}

/// A client waiting for its history.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingHistory {
    token: u64,
    since: i64,
}

/// A short tag from the node's name, for guest nicks unique in the cluster.
pub(crate) fn node_tag(node: &str) -> String {
    // FNV-1a: stable across builds and platforms, unlike the std hasher.
    let hash = node.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let alphabet = b"abcdefghijkmnpqrstuvwxyz23456789";
    (0..4)
        .map(|i| char::from(alphabet[((hash >> (i * 5)) & 31) as usize]))
        .collect()
}

impl Hub {
    /// Something happened in the cluster.
    pub fn cluster_event(&mut self, out: &mut dyn Outbox, event: ClusterEvent, now: Now) {
        match event {
            ClusterEvent::Line(line) => self.remote_line(out, &line, now),
            ClusterEvent::Private {
                from,
                to,
                text,
                time,
            } => {
                let Some(&target) = self.nicks.get(&nick_key(&to)) else {
                    return;
                };
                let body = Body::Private {
                    from: &from,
                    text: &text,
                };
                self.send(out, target, &body, local_time(time, now));
            }
            ClusterEvent::PrivateSent {
                client,
                from,
                to,
                text,
                error,
            } => {
                if self.nick(client) != Some(from.as_str()) {
                    return; // gone, or someone else by now
                }
                match error {
                    Some(error) => self.error(out, client, &error, now),
                    None => {
                        let body = Body::PrivateSent {
                            to: &to,
                            text: &text,
                        };
                        self.send(out, client, &body, now);
                    }
                }
            }
            ClusterEvent::Claimed {
                client,
                nick,
                result,
            } => self.claimed(out, client, &nick, result, now),
            ClusterEvent::History {
                client,
                token,
                lines,
            } => self.history_arrived(out, client, token, lines, now),
            ClusterEvent::Members {
                client,
                room,
                nicks,
            } => self.who_reply(out, client, &room, nicks.unwrap_or_default(), now),
            ClusterEvent::Rooms { client, rooms } => {
                self.rooms_reply(out, client, rooms.unwrap_or_default(), now)
            }
            ClusterEvent::Status { connected, text } => {
                if self.cluster_status != text {
                    out.console(&text);
                }
                self.cluster_connected = connected;
                self.cluster_status = text;
            }
            ClusterEvent::NickLost { nick } => self.nick_lost(out, &nick, now),
        }
    }

    pub(crate) fn in_cluster(&self) -> bool {
        self.config.cluster.is_some()
    }

    /// Asks the cluster; counts what the channel could not take.
    pub(crate) fn ask(&mut self, out: &mut dyn Outbox, request: ClusterRequest) -> bool {
        let taken = out.cluster(request);
        if !taken {
            self.stats.cluster_dropped += 1;
        }
        taken
    }

    /// A local room line: to the other nodes too.
    pub(crate) fn publish(
        &mut self,
        out: &mut dyn Outbox,
        room: &str,
        nick: &str,
        text: &str,
        action: bool,
        now: Now,
    ) {
        let Some(cluster) = &self.config.cluster else {
            return;
        };
        let line = RoomLine {
            origin: cluster.node.clone(),
            room: room.to_owned(),
            nick: nick.to_owned(),
            text: text.to_owned(),
            action,
            time: now,
        };
        self.ask(out, ClusterRequest::Publish(line));
    }

    /// A line said on another node: to the local members of its room.
    fn remote_line(&mut self, out: &mut dyn Outbox, line: &RoomLine, now: Now) {
        let Some(room) = self.rooms.find(&line.room) else {
            return; // nobody here
        };
        let time = local_time(line.time, now);
        let (nick, text) = (line.nick.as_str(), line.text.as_str());
        let body = if line.action {
            Body::Action { nick, text }
        } else {
            Body::Message { nick, text }
        };
        let members = &self.rooms.get(room).members;
        self.stats.deliveries +=
            self.encoder
                .send_many(out, &self.clients, Recipients::all(members), time, &body);
        let history = Body::History {
            nick,
            text,
            action: line.action,
        };
        if let Some(slot) = self.rooms.get_mut(room).history.slot() {
            self.encoder.history_line(slot, time, &history);
        }
    }

    /// `/nick` in a cluster: claimed first, changed when the claim is granted.
    pub(crate) fn claim_nick(&mut self, out: &mut dyn Outbox, id: ClientId, nick: &str) -> bool {
        if let Some(client) = self.clients.get_mut(id) {
            client.pending_nick = Some(nick.to_owned());
        }
        let request = ClusterRequest::Claim {
            client: id,
            nick: nick.to_owned(),
        };
        self.ask(out, request)
    }

    fn claimed(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        nick: &str,
        result: ClaimResult,
        now: Now,
    ) {
        let key = nick_key(nick);
        let Some(client) = self.clients.get_mut(id) else {
            if result == ClaimResult::Claimed && !self.nicks.contains_key(&key) {
                self.ask(out, release(nick));
            }
            return;
        };
        if client.pending_nick.as_deref() != Some(nick) {
            if nick_key(&client.nick) == key && result == ClaimResult::Taken {
                out.console(&format!(
                    "cluster: guest nick {nick} is held by another node"
                ));
            }
            return;
        }
        client.pending_nick = None;
        match result {
            ClaimResult::Claimed => {
                if self.nicks.get(&key).is_some_and(|&owner| owner != id) {
                    // Taken locally while the claim was on its way.
                    return self.error(out, id, &format!("nick {nick} is taken"), now);
                }
                if let Some(old) = self.rename(out, id, nick, now) {
                    self.ask(out, release(&old));
                }
            }
            ClaimResult::Taken => self.error(out, id, &format!("nick {nick} is taken"), now),
            ClaimResult::Unavailable => self.error(
                out,
                id,
                "nick changes are unavailable while the cluster is unreachable",
                now,
            ),
        }
    }

    fn nick_lost(&mut self, out: &mut dyn Outbox, nick: &str, now: Now) {
        let Some(&id) = self.nicks.get(&nick_key(nick)) else {
            return;
        };
        let guest = self.guest_nick();
        let text = format!("another server holds the nick {nick} now; you are {guest}");
        self.info(out, id, &text, now);
        self.rename(out, id, &guest, now);
        self.ask(
            out,
            ClusterRequest::Claim {
                client: id,
                nick: guest,
            },
        );
    }

    /// Tells the cluster where `id` is now.
    pub(crate) fn tell_member(&mut self, out: &mut dyn Outbox, id: ClientId) {
        if !self.in_cluster() {
            return;
        }
        let Some(client) = self.clients.get(id) else {
            return;
        };
        let request = ClusterRequest::Member {
            nick: client.nick.clone(),
            room: self.rooms.get(client.seat.room).name.clone(),
        };
        self.ask(out, request);
    }

    /// Every `sync_seconds`: the local members, for the leases.
    pub(crate) fn cluster_tick(&mut self, out: &mut dyn Outbox, now: Now) {
        let Some(cluster) = &self.config.cluster else {
            return;
        };
        let second = now.timestamp();
        if second - self.last_cluster_sync >= cluster.sync_seconds {
            self.last_cluster_sync = second;
            let members = self
                .clients
                .iter()
                .map(|(_, c)| (c.nick.clone(), self.rooms.get(c.seat.room).name.clone()))
                .collect();
            self.ask(out, ClusterRequest::Sync { members });
        }
        let expired: Vec<ClientId> = self
            .pending_history
            .iter()
            .filter(|(_, p)| second - p.since >= HISTORY_WAIT_SECONDS)
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            self.history_arrived(out, id, self.pending_history[&id].token, None, now);
        }
    }

    /// Sends `id` the last `count` lines of its room, before anything else
    /// it is sent from now on. In a cluster they come from Redis, later.
    pub(crate) fn send_history(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        count: usize,
        now: Now,
    ) {
        let Some(client) = self.clients.get(id) else {
            return;
        };
        if count == 0 {
            return;
        }
        let room = self.rooms.get(client.seat.room).name.clone();
        if self.in_cluster() {
            // One wait at a time: what an earlier one held goes first.
            self.finish_waiting(out, id);
            self.next_token += 1;
            let token = self.next_token;
            let request = ClusterRequest::History {
                client: id,
                token,
                room,
                count,
            };
            if self.ask(out, request) {
                self.encoder.hold(id);
                let since = now.timestamp();
                self.pending_history
                    .insert(id, PendingHistory { token, since });
                return;
            }
        }
        self.send_local_history(out, id, count);
    }

    fn send_local_history(&mut self, out: &mut dyn Outbox, id: ClientId, count: usize) {
        let Some(client) = self.clients.get(id) else {
            return;
        };
        let lines = self.rooms.get(client.seat.room).history.recent(count);
        if !lines.is_empty() {
            out.send(id, lines);
        }
    }

    /// Stops waiting for `id`'s history: what was held goes out.
    pub(crate) fn finish_waiting(&mut self, out: &mut dyn Outbox, id: ClientId) {
        self.pending_history.remove(&id);
        for msg in self.encoder.release(id) {
            out.send(id, msg);
        }
    }

    fn history_arrived(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        token: u64,
        lines: Option<Vec<RoomLine>>,
        now: Now,
    ) {
        if self.pending_history.get(&id).map(|p| p.token) != Some(token) {
            return; // an old request, or the client is gone
        }
        if !self.encoder.is_holding(id) {
            // Its held lines overflowed and went out: late history would
            // come after newer lines, so it is skipped.
            self.pending_history.remove(&id);
            return;
        }
        match lines {
            Some(lines) => {
                let mut text = bytes::BytesMut::new();
                for line in lines.iter().rev().take(HOLD_MAX).rev() {
                    let body = Body::History {
                        nick: &line.nick,
                        text: &line.text,
                        action: line.action,
                    };
                    let time = local_time(line.time, now);
                    self.encoder.history_line(&mut text, time, &body);
                }
                if !text.is_empty() {
                    out.send(id, text.freeze());
                }
            }
            None => {
                let count = self.config.history_lines;
                self.send_local_history(out, id, count);
            }
        }
        self.finish_waiting(out, id);
    }

    /// `/who`: in a cluster, the other nodes' members are asked for first.
    pub(crate) fn who(&mut self, out: &mut dyn Outbox, id: ClientId, now: Now) {
        let Some(client) = self.clients.get(id) else {
            return;
        };
        let room = self.rooms.get(client.seat.room).name.clone();
        if self.in_cluster()
            && self.ask(
                out,
                ClusterRequest::Who {
                    client: id,
                    room: room.clone(),
                },
            )
        {
            return;
        }
        self.who_reply(out, id, &room, Vec::new(), now);
    }

    fn who_reply(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        room: &str,
        mut nicks: Vec<String>,
        now: Now,
    ) {
        let Some(here) = self.rooms.find(room) else {
            return;
        };
        let room = self.rooms.get(here);
        nicks.extend(
            room.members
                .iter()
                .filter_map(|&member| self.clients.get(member).map(|c| c.nick.clone())),
        );
        nicks.sort_unstable_by_key(|nick| nick_key(nick));
        nicks.dedup_by_key(|nick| nick_key(nick));
        let count = nicks.len();
        let mut list = nicks
            .iter()
            .take(MAX_LISTED)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        if count > MAX_LISTED {
            list.push_str(" ...");
        }
        let body = Body::Notice(Notice::Members {
            room: &room.name,
            count,
            nicks: &list,
        });
        self.encoder.send_one(out, &self.clients, id, now, &body);
        self.stats.deliveries += 1;
    }

    /// `/rooms`: in a cluster, the other nodes' rooms are asked for first.
    pub(crate) fn list_rooms(&mut self, out: &mut dyn Outbox, id: ClientId, now: Now) {
        if self.in_cluster() && self.ask(out, ClusterRequest::Rooms { client: id }) {
            return;
        }
        self.rooms_reply(out, id, Vec::new(), now);
    }

    fn rooms_reply(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        remote: Vec<(String, usize)>,
        now: Now,
    ) {
        let mut rooms: Vec<(String, usize)> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let local = self
            .rooms
            .iter()
            .map(|room| (room.name.clone(), room.members.len()));
        for (name, n) in local.chain(remote) {
            match index.entry(room_key(&name)) {
                std::collections::hash_map::Entry::Occupied(at) => rooms[*at.get()].1 += n,
                std::collections::hash_map::Entry::Vacant(at) => {
                    at.insert(rooms.len());
                    rooms.push((name, n));
                }
            }
        }
        rooms.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut list: Vec<String> = rooms
            .iter()
            .take(MAX_LISTED)
            .map(|(name, n)| format!("{name}({n})"))
            .collect();
        if rooms.len() > MAX_LISTED {
            list.push("...".into());
        }
        let list = list.join(" ");
        let body = Body::Notice(Notice::Rooms {
            count: rooms.len(),
            list: &list,
        });
        self.send(out, id, &body, now);
    }
}

fn release(nick: &str) -> ClusterRequest {
    ClusterRequest::Release {
        nick: nick.to_owned(),
    }
}

/// `time` in the offset of `now`: stamps are in this server's local time.
fn local_time(time: Now, now: Now) -> Now {
    time.with_timezone(now.offset())
}
