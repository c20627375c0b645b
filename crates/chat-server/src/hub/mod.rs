//! The chat hub: rooms, nicks, commands and the operator, as a state machine.
//!
//! Events go in through the `Hub` methods (`connected`, `received`,
//! `read_closed`, `disconnected`, `console_line`, `shutdown`), each with the
//! current time; everything the hub wants done comes out through an
//! [`Outbox`]. The hub never touches a socket or a clock, which is what lets
//! its tests drive it with plain function calls.

mod admission;
mod clients;
mod cluster;
mod commands;
mod console;
mod encoder;
mod limits;
mod outbox;
mod rooms;

use std::collections::HashMap;
use std::net::SocketAddr;

use chat_proto::{Body, Frame, LineDecoder, Notice, TimestampFormat, nick_key, raw_message};
use chrono::{DateTime, FixedOffset};

use admission::Admission;
pub use admission::Operator;
use clients::Client;
pub use clients::Clients;
use cluster::PendingHistory;
pub use cluster::{ClaimResult, ClusterEvent, ClusterRequest, ClusterSettings, RoomLine};
use encoder::{Audience, Encoder, Recipients};
pub use limits::Limits;
use limits::{AddressCounts, FloodState, Gate};
pub use outbox::{ClientId, Framing, Outbox};
use rooms::{RoomId, Rooms};

/// The hub's notion of now: local time with its UTC offset.
pub type Now = DateTime<FixedOffset>;

/// What the hub needs from the configuration.
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub framing: Framing,
    pub max_line_bytes: usize,
    pub default_room: String,
    pub motd: String,
    pub timestamp: TimestampFormat,
    /// The name the operator speaks as; no client may take it.
    pub operator_name: String,
    /// Joins, leaves and nick changes are announced to a room only while it
    /// has at most this many members, so a join costs the same in a room of
    /// twenty thousand as in an empty one.
    pub announce_limit: usize,
    /// Show every client message on the console (on when an operator watches).
    pub echo_messages: bool,
    pub limits: Limits,
    /// Where set, a client's first line must be `/pass` with it.
    pub password: Option<String>,
    pub operators: Vec<Operator>,
    /// Lines of history a joining client gets first (0: none). A room keeps
    /// [`HubConfig::history_keep`] lines for `/history`.
    pub history_lines: usize,
    /// Set: this server is one node of a cluster.
    pub cluster: Option<ClusterSettings>,
}

/// The most lines a room keeps for `/history`.
pub const MAX_HISTORY_KEEP: usize = 1000;

impl HubConfig {
    /// Lines a room keeps: four times `history_lines`, at most
    /// [`MAX_HISTORY_KEEP`].
    pub fn history_keep(&self) -> usize {
        self.history_lines.saturating_mul(4).min(MAX_HISTORY_KEEP)
    }
}

impl Default for HubConfig {
    fn default() -> HubConfig {
        HubConfig {
            framing: Framing::Line,
            max_line_bytes: 4096,
            default_room: "lobby".into(),
            motd: "Type /help for commands.".into(),
            timestamp: TimestampFormat::Ctime,
            operator_name: "operator".into(),
            announce_limit: 200,
            echo_messages: false,
            limits: Limits::default(),
            password: None,
            operators: Vec::new(),
            history_lines: 50,
            cluster: None,
        }
    }
}

/// Counters shown by `/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubStats {
    pub connections: u64,
    pub messages_in: u64,
    /// Lines queued to clients, each recipient counted.
    pub deliveries: u64,
    /// Connections turned away by `max_clients` or `max_clients_per_ip`.
    pub refused: u64,
    /// Clients disconnected for flooding.
    pub flooders: u64,
    /// Cluster requests (mostly cross-node lines) dropped because the
    /// channel toward Redis was full.
    pub cluster_dropped: u64,
}

#[derive(Debug)]
pub struct Hub {
    config: HubConfig,
    clients: Clients,
    /// Nick keys (lowercase) to their owner.
    nicks: HashMap<String, ClientId>,
    rooms: Rooms,
    next_guest: u64,
    /// Whom the operator's plain line answers.
    last_speaker: Option<ClientId>,
    encoder: Encoder,
    /// Reused for sanitizing each incoming line.
    scratch: String,
    stats: HubStats,
    started: Option<Now>,
    shutting_down: bool,
    /// Connections per address (IPv6 per /64), for `max_clients_per_ip`.
    per_address: AddressCounts,
    /// Clients with delayed lines (flood control), released on `tick`.
    flooding: Vec<ClientId>,
    /// The second of the last timeout sweep.
    last_sweep: i64,
    /// Pending logins, bans, failed logins.
    admission: Admission,
    /// Clients waiting for their history from the cluster.
    pending_history: HashMap<ClientId, PendingHistory>,
    next_token: u64,
    /// The second of the last member snapshot sent to the cluster.
    last_cluster_sync: i64,
    /// The link to Redis, as last reported.
    cluster_status: String,
    cluster_connected: bool,
}

impl Hub {
    pub fn new(config: HubConfig) -> Hub {
        let history_keep = config.history_keep();
        Hub {
            encoder: Encoder::new(config.timestamp),
            config,
            clients: Clients::default(),
            nicks: HashMap::new(),
            rooms: Rooms::new(history_keep),
            next_guest: 1,
            last_speaker: None,
            scratch: String::new(),
            stats: HubStats::default(),
            started: None,
            shutting_down: false,
            per_address: AddressCounts::default(),
            flooding: Vec::new(),
            last_sweep: 0,
            admission: Admission::default(),
            pending_history: HashMap::new(),
            next_token: 0,
            last_cluster_sync: 0,
            cluster_status: String::new(),
            cluster_connected: false,
        }
    }

    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    pub fn stats(&self) -> &HubStats {
        &self.stats
    }

    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// The nick of a connected client.
    pub fn nick(&self, id: ClientId) -> Option<&str> {
        self.clients.get(id).map(|client| client.nick.as_str())
    }

    /// The server started; `now` is the start of its uptime.
    pub fn start(&mut self, now: Now) {
        self.started = Some(now);
    }

    /// A client connected: it gets a guest nick, the default room and, in
    /// line framing, a welcome.
    pub fn connected(&mut self, out: &mut dyn Outbox, id: ClientId, peer: SocketAddr, now: Now) {
        if self.shutting_down {
            out.close(id);
            return;
        }
        if let Some(why) = limits::refusal(self, peer).or_else(|| self.barred(peer, now)) {
            let body = Body::Notice(Notice::Error { text: why });
            out.send(id, self.encoder.encode(self.config.framing, now, &body));
            out.close(id);
            self.stats.refused += 1;
            if self.stats.refused.is_power_of_two() {
                out.console(&format!(
                    "refused {peer}: {why} ({} refusals so far)",
                    self.stats.refused
                ));
            }
            return;
        }
        self.per_address.add(peer.ip());
        if self.config.password.is_some() {
            return self.await_login(out, id, peer, now);
        }
        self.admit(out, id, peer, now);
    }

    /// A client is in: a guest nick, the default room, a welcome.
    fn admit(&mut self, out: &mut dyn Outbox, id: ClientId, peer: SocketAddr, now: Now) {
        self.stats.connections += 1;
        let nick = self.guest_nick();
        self.nicks.insert(nick_key(&nick), id);
        let room = self.rooms.find_or_create(&self.config.default_room);
        let seat = self.rooms.join(room, id);
        let framing = self.config.framing;
        let decoder = LineDecoder::new(self.config.max_line_bytes);
        let limits = &self.config.limits;
        let client = Client {
            nick,
            seat,
            peer,
            framing,
            decoder,
            flood: FloodState::new(limits.flood_burst, now.timestamp_millis()),
            exempt: limits.is_exempt(peer.ip()),
            connected_at: now.timestamp(),
            last_active: now.timestamp(),
            spoke: false,
            operator: None,
            pending_nick: None,
        };
        self.clients.insert(id, client);
        if self.config.echo_messages {
            let nick = self.nick(id).unwrap_or_default();
            out.console(&format!("{nick} connected from {peer}"));
        }
        if framing == Framing::Line {
            let nick = self
                .clients
                .get(id)
                .map_or("", |client| client.nick.as_str());
            let welcome = Notice::Welcome {
                nick,
                motd: &self.config.motd,
            };
            self.encoder
                .send_one(out, &self.clients, id, now, &Body::Notice(welcome));
        }
        self.announce_join(out, id, room, now);
        if let Some(client) = self.clients.get(id)
            && self.in_cluster()
        {
            let nick = client.nick.clone();
            self.ask(out, ClusterRequest::Claim { client: id, nick });
            self.tell_member(out, id);
        }
        if framing == Framing::Line {
            self.send_history(out, id, self.config.history_lines, now);
        }
    }

    /// Bytes arrived from a client.
    pub fn received(&mut self, out: &mut dyn Outbox, id: ClientId, data: &[u8], now: Now) {
        let Some(client) = self.clients.get_mut(id) else {
            return self.login_received(out, id, data, now);
        };
        match client.framing {
            Framing::Raw => match raw_message(data, self.config.max_line_bytes) {
                Some(message) => self.line(out, id, message, now),
                None => self.too_long(out, id, now),
            },
            Framing::Line => {
                // The decoder is taken out while its lines are handled, since
                // handling one may change anything in the hub, even end this
                // client (`/quit`); it goes back only if the client remains.
                let mut decoder = std::mem::replace(&mut client.decoder, LineDecoder::new(0));
                decoder.decode(data, |frame| self.frame(out, id, frame, now));
                if let Some(client) = self.clients.get_mut(id) {
                    client.decoder = decoder;
                }
            }
        }
    }

    /// The client ended its side of the connection (end of input). An
    /// unfinished last line still counts; what is queued for it is written,
    /// then it is closed.
    pub fn read_closed(&mut self, out: &mut dyn Outbox, id: ClientId, now: Now) {
        if self.login_gone(id) {
            return out.close(id);
        }
        self.flush_delayed(out, id, now);
        let Some(client) = self.clients.get_mut(id) else {
            return;
        };
        let mut decoder = std::mem::replace(&mut client.decoder, LineDecoder::new(0));
        decoder.finish(|frame| self.frame(out, id, frame, now));
        if self.clients.get(id).is_some() {
            self.remove(out, id, "quit", now);
            out.close(id);
        }
    }

    /// The connection is gone, for `why`.
    pub fn disconnected(&mut self, out: &mut dyn Outbox, id: ClientId, why: &str, now: Now) {
        self.login_gone(id);
        if self.clients.get(id).is_some() {
            self.remove(out, id, why, now);
        }
    }

    /// Stop: every client is told, and closed once its queue is written.
    pub fn shutdown(&mut self, out: &mut dyn Outbox, now: Now) {
        self.shutting_down = true;
        let bye = Body::Notice(Notice::Info {
            text: "server shutting down",
        });
        let everyone = self.clients.ids();
        self.encoder
            .send_many(out, &self.clients, Recipients::all(&everyone), now, &bye);
        for id in everyone {
            out.close(id);
        }
        out.console("shutting down");
        out.shutdown();
    }

    fn frame(&mut self, out: &mut dyn Outbox, id: ClientId, frame: Frame<'_>, now: Now) {
        if self.clients.get(id).is_none() {
            return; // it quit earlier in the same read
        }
        match frame {
            Frame::Line(line) => self.line(out, id, line, now),
            Frame::TooLong => self.too_long(out, id, now),
        }
    }

    fn too_long(&mut self, out: &mut dyn Outbox, id: ClientId, now: Now) {
        let text = format!(
            "line too long (over {} bytes), discarded",
            self.config.max_line_bytes
        );
        self.error(out, id, &text, now);
    }

    fn error(&mut self, out: &mut dyn Outbox, id: ClientId, text: &str, now: Now) {
        let body = Body::Notice(Notice::Error { text });
        self.encoder.send_one(out, &self.clients, id, now, &body);
    }

    fn info(&mut self, out: &mut dyn Outbox, id: ClientId, text: &str, now: Now) {
        let body = Body::Notice(Notice::Info { text });
        self.encoder.send_one(out, &self.clients, id, now, &body);
    }

    fn guest_nick(&mut self) -> String {
        // In a cluster a guest nick carries the node's tag, so nodes never
        // hand out the same one.
        let tag = match &self.config.cluster {
            Some(cluster) => format!("-{}", cluster::node_tag(&cluster.node)),
            None => String::new(),
        };
        loop {
            let nick = format!("guest{}{tag}", self.next_guest);
            self.next_guest += 1;
            if !self.nicks.contains_key(&nick) && nick_key(&nick) != self.operator_key() {
                return nick;
            }
        }
    }

    fn operator_key(&self) -> String {
        nick_key(&self.config.operator_name)
    }

    /// Whom a notice about `concerned` (its join, nick change, a topic it
    /// set) goes to: the room's line clients while the room has at most
    /// `announce_limit` members, else `concerned` alone. This bound is what
    /// keeps a join O(1) in a room of any size.
    pub(crate) fn announcement<'a>(
        &self,
        members: &'a [ClientId],
        concerned: &'a ClientId,
    ) -> Recipients<'a> {
        let members = if members.len() <= self.config.announce_limit {
            members
        } else {
            std::slice::from_ref(concerned)
        };
        Recipients {
            members,
            except: None,
            audience: Audience::LineClients,
        }
    }

    /// Tells the room (if small enough to announce) and the client itself
    /// that it joined.
    fn announce_join(&mut self, out: &mut dyn Outbox, id: ClientId, room: RoomId, now: Now) {
        let Some(client) = self.clients.get(id) else {
            return;
        };
        let members = &self.rooms.get(room).members;
        let body = Body::Notice(Notice::Joined {
            nick: &client.nick,
            room: &self.rooms.get(room).name,
        });
        let to = self.announcement(members, &id);
        self.stats.deliveries += self.encoder.send_many(out, &self.clients, to, now, &body);
        let room = self.rooms.get(room);
        if !room.topic.is_empty() && client.framing == Framing::Line {
            let topic = Body::Notice(Notice::Topic {
                room: &room.name,
                text: &room.topic,
            });
            self.encoder.send_one(out, &self.clients, id, now, &topic);
        }
    }

    /// Takes a client out of its room (telling a small room), without
    /// touching its nick or the client record.
    fn leave_room(&mut self, out: &mut dyn Outbox, id: ClientId, reason: Option<&str>, now: Now) {
        let Some(seat) = self.clients.get(id).map(|client| client.seat) else {
            return;
        };
        if let Some(moved) = self.rooms.leave(seat, &self.config.default_room)
            && let Some(moved) = self.clients.get_mut(moved)
        {
            moved.seat.index = seat.index;
        }
        if self.shutting_down {
            return;
        }
        let Some(client) = self.clients.get(id) else {
            return;
        };
        if let Some(room) = self.rooms.get_live(seat.room)
            && room.members.len() < self.config.announce_limit
        {
            let body = Body::Notice(Notice::Left {
                nick: &client.nick,
                room: &room.name,
                reason,
            });
            self.stats.deliveries += self.encoder.send_many(
                out,
                &self.clients,
                Recipients {
                    members: &room.members,
                    except: None,
                    audience: Audience::LineClients,
                },
                now,
                &body,
            );
        }
    }

    /// Removes a client from the hub entirely.
    fn remove(&mut self, out: &mut dyn Outbox, id: ClientId, why: &str, now: Now) {
        self.leave_room(out, id, Some(why), now);
        let Some(client) = self.clients.remove(id) else {
            return;
        };
        self.per_address.remove(client.peer.ip());
        self.nicks.remove(&nick_key(&client.nick));
        self.pending_history.remove(&id);
        self.encoder.release(id);
        if self.in_cluster() {
            let nick = client.nick.clone();
            self.ask(out, ClusterRequest::Release { nick });
        }
        if self.last_speaker == Some(id) {
            self.last_speaker = None;
        }
        if self.config.echo_messages || why != "quit" {
            out.console(&format!("{} ({}) left: {why}", client.nick, client.peer));
        }
    }

    /// Room traffic from `id`: to everyone else in its room.
    fn relay(&mut self, out: &mut dyn Outbox, id: ClientId, action: bool, text: &str, now: Now) {
        let Some(client) = self.clients.get(id) else {
            return;
        };
        let nick = client.nick.as_str();
        let body = if action {
            Body::Action { nick, text }
        } else {
            Body::Message { nick, text }
        };
        let members = &self.rooms.get(client.seat.room).members;
        self.stats.deliveries += self.encoder.send_many(
            out,
            &self.clients,
            Recipients {
                members,
                except: Some(id),
                audience: Audience::Everyone,
            },
            now,
            &body,
        );
        self.last_speaker = Some(id);
        if self.config.echo_messages {
            let room = &self.rooms.get(client.seat.room).name;
            out.console(&format!("[{room}] {body} ({})", client.peer));
        }
        let room = client.seat.room;
        let history = Body::History { nick, text, action };
        if let Some(slot) = self.rooms.get_mut(room).history.slot() {
            self.encoder.history_line(slot, now, &history);
        }
        if self.in_cluster() {
            let (room, nick) = (self.rooms.get(room).name.clone(), nick.to_owned());
            self.publish(out, &room, &nick, text, action, now);
        }
    }

    /// One private line for one client, counted.
    fn send(&mut self, out: &mut dyn Outbox, to: ClientId, body: &Body<'_>, now: Now) {
        self.encoder.send_one(out, &self.clients, to, now, body);
        self.stats.deliveries += 1;
    }

    fn uptime_seconds(&self, now: Now) -> i64 {
        self.started
            .map_or(0, |started| (now - started).num_seconds())
    }
}

#[cfg(test)]
mod tests;
