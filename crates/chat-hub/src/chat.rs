//! The conversation on this server: once a client is in, everything it says
//! and hears here.
//!
//! [`Chat`] owns who is here ([`Membership`]) and the way out
//! ([`Delivery`]). It handles room lines, nicks, joins, private messages,
//! `/who`, `/rooms` and topics among local clients, sends the history a
//! client is owed (`replay`; the `/history`, `/search` and `/cap ids`
//! commands are `crate::store`'s, which decides where a history comes
//! from), and applies what the cluster reports (`crate::node` decides when)
//! and what the operator says (`crate::console`). The settings come with
//! each call.

use bytes::Bytes;
use chat_proto::Refusal;
use chat_proto::{Body, Notice, nick_key, room_key, validate_nick, validate_room};

use crate::clients::Client;
use crate::ctx::Ctx;
use crate::delivery::{Audience, Delivery, Recipients};
use crate::flood::FloodState;
use crate::membership::{self, Membership};
use crate::rooms::RoomId;
use crate::store::NewLine;
use crate::{Arrival, ClientId, HubConfig, Now, Outbox, Protocol, listing};

mod replay;
mod said;

pub(crate) use said::SaidLine;

/// What `/nick NAME` may do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NickChange {
    /// Refused, and the client told why.
    Refused,
    /// The same nick in another case: no one else is concerned.
    Recase,
    /// A nick nobody here holds.
    New,
}

/// Where a `/msg` went.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Private {
    /// To the operator's console.
    ToOperator,
    /// To a local client (or nowhere, the sender being gone).
    Sent,
    /// No one here holds the nick.
    NotHere,
}

#[derive(Debug)]
pub(crate) struct Chat {
    members: Membership,
    delivery: Delivery,
    /// Stopping: nobody is told of leaves any more.
    shutting_down: bool,
    /// Where a local sender's nick is copied for the fan-out, which also
    /// writes the room's history and so cannot borrow it from the
    /// membership; reused, so a line allocates nothing.
    sender_nick: String,
}

impl Chat {
    pub(crate) fn new(config: &HubConfig) -> Chat {
        Chat {
            members: Membership::new(config.history_keep(), config.history_memory_bytes),
            delivery: Delivery::new(config.timestamp),
            shutting_down: false,
            sender_nick: String::new(),
        }
    }

    /// Stamps lines in `format` from now on (a reload).
    pub(crate) fn set_timestamp(&mut self, format: chat_proto::TimestampFormat) {
        self.delivery.set_timestamp(format);
    }

    pub(crate) fn members(&self) -> &Membership {
        &self.members
    }

    pub(crate) fn members_mut(&mut self) -> &mut Membership {
        &mut self.members
    }

    /// The name of the room `id` sits in.
    pub(crate) fn room_name(&self, id: ClientId) -> Option<String> {
        let room = self.members.room_of(id)?;
        Some(self.members.room(room).name.clone())
    }

    /// Who is here and the way out, together (for `crate::remote`).
    pub(crate) fn members_and_delivery(&mut self) -> (&mut Membership, &mut Delivery) {
        (&mut self.members, &mut self.delivery)
    }

    pub(crate) fn delivered(&self) -> u64 {
        self.delivery.delivered()
    }

    /// Lines encoded for the wire so far (once per wire shape per line).
    pub(crate) fn encodings(&self) -> u64 {
        self.delivery.encodings()
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// `refusal` encoded in `protocol`, for a connection the hub never
    /// sees (the reactor's refusal when it is out of descriptors).
    pub(crate) fn refusal(&mut self, protocol: Protocol, now: Now, refusal: Refusal<'_>) -> Bytes {
        let text = refusal.to_string();
        let body = Body::Notice(Notice::Error { text: &text });
        self.delivery.encode(protocol, now, &body)
    }

    /// A notice to a connection that is not a client (yet): a login prompt,
    /// a refusal.
    pub(crate) fn tell_connection(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        protocol: Protocol,
        now: Now,
        notice: Notice<'_>,
    ) {
        let body = Body::Notice(notice);
        self.delivery
            .send_to_connection(out, id, protocol, now, &body);
    }

    /// Tells a connection that is not a client (yet) why it is turned away.
    pub(crate) fn refuse_connection(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        protocol: Protocol,
        refusal: Refusal<'_>,
        now: Now,
    ) {
        let text = refusal.to_string();
        let notice = Notice::Error { text: &text };
        self.tell_connection(out, id, protocol, now, notice);
    }

    /// Tells `id` why its request was refused.
    pub(crate) fn refuse(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        why: Refusal<'_>,
        now: Now,
    ) {
        let text = why.to_string();
        self.send(out, id, &Body::Notice(Notice::Error { text: &text }), now);
    }

    pub(crate) fn info(&mut self, out: &mut dyn Outbox, id: ClientId, text: &str, now: Now) {
        self.send(out, id, &Body::Notice(Notice::Info { text }), now);
    }

    pub(crate) fn send(&mut self, out: &mut dyn Outbox, to: ClientId, body: &Body<'_>, now: Now) {
        self.delivery
            .send_one(out, self.members.clients(), to, now, body);
    }

    /// A client is in: a guest nick (ending in `tag`), the default room, in
    /// line protocol a welcome; its room is told.
    pub(crate) fn admit(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        arrival: Arrival,
        tag: &str,
        now: Now,
    ) {
        let Arrival { peer, protocol } = arrival;
        let nick = self.members.guest_nick(config, tag);
        let room = self
            .members
            .enter(id, nick, &config.default_room, |nick, seat| Client {
                nick,
                seat,
                peer,
                protocol,
                flood: FloodState::new(config, config.is_exempt(peer.ip()), now.timestamp_millis()),
                connected_at: now.timestamp(),
                last_active: now.timestamp(),
                spoke: false,
                operator: None,
                pending_nick: None,
                ids: false,
            });
        let nick = self.members.nick(id).unwrap_or_default();
        // An event for the console or the log, watched or not.
        out.console(&format!("{nick} connected from {peer}"));
        if protocol == Protocol::Line {
            let motd = &config.motd;
            let welcome = Body::Notice(Notice::Welcome { nick, motd });
            self.delivery
                .send_one(out, self.members.clients(), id, now, &welcome);
        }
        self.announce_join(config, out, id, room, now);
    }

    /// Says `body` about `concerned` (its join, nick change, a topic it
    /// set) in `room`: to the room's line clients while the room has at
    /// most `announce_limit` members, else to `concerned` alone. This bound
    /// is what keeps a join O(1) in a room of any size.
    fn announce(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        room: RoomId,
        concerned: ClientId,
        body: &Body<'_>,
        now: Now,
    ) {
        let members = &self.members.room(room).members;
        let members = if members.len() <= config.announce_limit {
            members
        } else {
            std::slice::from_ref(&concerned)
        };
        let to = Recipients {
            members,
            except: None,
            audience: Audience::LineClients,
        };
        self.delivery
            .send_many(out, self.members.clients(), to, now, body);
    }

    /// Tells the room (if small enough) and the client itself that it
    /// joined, and the client the room's topic.
    fn announce_join(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        room: RoomId,
        now: Now,
    ) {
        let Some(client) = self.members.client(id) else {
            return;
        };
        let line_framing = client.protocol == Protocol::Line;
        let (nick, name) = (client.nick.clone(), self.members.room(room).name.clone());
        let joined = Body::Notice(Notice::Joined {
            nick: &nick,
            room: &name,
        });
        self.announce(config, out, room, id, &joined, now);
        let topic = &self.members.room(room).topic;
        if !topic.is_empty() && line_framing {
            let body = Body::Notice(Notice::Topic {
                room: &name,
                text: topic,
            });
            self.delivery
                .send_one(out, self.members.clients(), id, now, &body);
        }
    }

    /// Takes a client out of its room, telling the room if it is small.
    fn leave_room(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        reason: Option<&str>,
        now: Now,
    ) {
        let Some(nick) = self.members.nick(id).map(str::to_owned) else {
            return;
        };
        let Some(room) = self.members.leave_room(id, &config.default_room) else {
            return;
        };
        let room = self.members.room(room);
        if self.shutting_down || room.members.len() >= config.announce_limit {
            return;
        }
        let body = Body::Notice(Notice::Left {
            nick: &nick,
            room: &room.name,
            reason,
        });
        let to = Recipients {
            members: &room.members,
            except: None,
            audience: Audience::LineClients,
        };
        self.delivery
            .send_many(out, self.members.clients(), to, now, &body);
    }

    /// Removes a client from the conversation (its room is told why);
    /// returns its record.
    pub(crate) fn remove(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        why: &str,
        now: Now,
    ) -> Option<Client> {
        self.leave_room(config, out, id, Some(why), now);
        let client = self.members.remove(id)?;
        // What was held for it (its history on the way) is its last words.
        self.delivery.release(out, id);
        out.console(&format!("{} ({}) left: {why}", client.nick, client.peer));
        Some(client)
    }

    /// Stop: every client is told, and closed once its queue is written.
    pub(crate) fn goodbye(&mut self, out: &mut dyn Outbox, now: Now) {
        self.shutting_down = true;
        let bye = Body::Notice(Notice::Info {
            text: "server shutting down",
        });
        let everyone = self.members.clients().ids();
        let clients = self.members.clients();
        self.delivery
            .send_many(out, clients, Recipients::all(&everyone), now, &bye);
        for id in everyone {
            self.delivery.release(out, id);
            out.close(id);
        }
    }

    /// Room traffic from `id`: to everyone else in its room (numbered
    /// `line_id` for clients that asked), and into the room's history.
    pub(crate) fn relay(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        action: bool,
        text: &str,
        line_id: Option<u64>,
    ) {
        let Some(client) = self.members.client(id) else {
            return;
        };
        let (room, peer) = (client.seat.room, client.peer);
        let mut nick = std::mem::take(&mut self.sender_nick);
        nick.clear();
        nick.push_str(&client.nick);
        let said = SaidLine {
            nick: &nick,
            text,
            action,
            id: line_id,
            time: ctx.now,
        };
        if ctx.config.echo_messages {
            let name = &self.members.room(room).name;
            ctx.out.said(&format!("[{name}] {} ({peer})", said.body()));
        }
        self.say_in(ctx.out, room, Some(id), &said);
        self.sender_nick = nick;
    }

    /// Whether `id` may take `nick`; if not, it is told why.
    pub(crate) fn check_nick(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        nick: &str,
        now: Now,
    ) -> NickChange {
        let refusal = if let Err(why) = validate_nick(nick) {
            Refusal::NickInvalid { nick, why }
        } else if let Some(whose) = membership::reserved(config, nick) {
            Refusal::NickReserved { nick, whose }
        } else if self.members.owner(nick).is_some_and(|owner| owner != id) {
            Refusal::NickTaken { nick }
        } else if self.members.owner(nick) == Some(id) {
            return NickChange::Recase;
        } else {
            return NickChange::New;
        };
        self.refuse(out, id, refusal, now);
        NickChange::Refused
    }

    /// Gives `id` the nick `nick` and tells its room. Returns the old nick.
    pub(crate) fn rename(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        nick: &str,
        now: Now,
    ) -> Option<String> {
        let old = self.members.rename(id, nick)?;
        let room = self.members.room_of(id)?;
        let body = Body::Notice(Notice::NickChanged {
            old: &old,
            new: nick,
        });
        self.announce(config, out, room, id, &body, now);
        out.console(&format!("{old} is now known as {nick}"));
        Some(old)
    }

    /// `/join ROOM`; `false` if it did not move (it was told why).
    pub(crate) fn join(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        room: &str,
        now: Now,
    ) -> bool {
        if let Err(why) = validate_room(room) {
            self.refuse(out, id, Refusal::RoomNameInvalid { room, why }, now);
            return false;
        }
        let Some(current) = self.members.room_of(id) else {
            return false;
        };
        let current = &self.members.room(current).name;
        if room_key(current) == room_key(room) {
            let current = current.clone();
            self.refuse(out, id, Refusal::AlreadyInRoom { room: &current }, now);
            return false;
        }
        self.leave_room(config, out, id, None, now);
        let room = self.members.join_room(id, room);
        self.announce_join(config, out, id, room, now);
        true
    }

    /// `/msg NICK TEXT` to the operator or a local nick.
    pub(crate) fn private(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        to: &str,
        text: &str,
        now: Now,
    ) -> Private {
        let Some(from) = self.members.client(id) else {
            return Private::Sent;
        };
        let clients = self.members.clients();
        if nick_key(to) == nick_key(&config.operator_name) {
            out.said(&format!("*{}* {text} ({})", from.nick, from.peer));
            let to = &config.operator_name;
            let body = Body::PrivateSent { to, text };
            self.delivery.send_one(out, clients, id, now, &body);
            return Private::ToOperator;
        }
        let Some(target) = self.members.owner(to) else {
            return Private::NotHere;
        };
        let Some(recipient) = self.members.client(target) else {
            return Private::Sent;
        };
        let body = Body::Private {
            from: &from.nick,
            text,
        };
        self.delivery.send_one(out, clients, target, now, &body);
        let body = Body::PrivateSent {
            to: &recipient.nick,
            text,
        };
        self.delivery.send_one(out, clients, id, now, &body);
        Private::Sent
    }

    /// A private message from another node for the local `to`.
    pub(crate) fn private_from_afar(
        &mut self,
        out: &mut dyn Outbox,
        from: &str,
        to: &str,
        text: &str,
        time: Now,
    ) {
        if let Some(target) = self.members.owner(to) {
            self.send(out, target, &Body::Private { from, text }, time);
        }
    }

    /// `/who` for `id`'s room, with the members other nodes reported.
    pub(crate) fn who_reply(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        room: &str,
        remote: Vec<String>,
        now: Now,
    ) {
        let Some(room) = self.members.rooms().find(room) else {
            return;
        };
        let room = self.members.room(room);
        let local = room
            .members
            .iter()
            .filter_map(|&member| self.members.nick(member));
        let (count, nicks) = listing::members(local, remote);
        let body = Body::Notice(Notice::Members {
            room: &room.name,
            count,
            nicks: &nicks,
        });
        self.delivery
            .send_one(out, self.members.clients(), id, now, &body);
    }

    /// `/rooms`, with the rooms other nodes reported.
    pub(crate) fn rooms_reply(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        remote: Vec<(String, usize)>,
        now: Now,
    ) {
        let local = self
            .members
            .rooms()
            .iter()
            .map(|room| (room.name.as_str(), room.members.len()));
        let (count, list) = listing::rooms(local, remote);
        let body = Body::Notice(Notice::Rooms { count, list: &list });
        self.send(out, id, &body, now);
    }

    /// A raw (tutorial) client: it gets no history and no notices unasked.
    pub(crate) fn is_raw(&self, id: ClientId) -> bool {
        self.members
            .client(id)
            .is_some_and(|client| client.protocol == Protocol::Raw)
    }

    /// `/topic`: the room's topic, to `id`.
    pub(crate) fn show_topic(&mut self, out: &mut dyn Outbox, id: ClientId, now: Now) {
        let Some(room) = self.members.room_of(id) else {
            return;
        };
        let room = self.members.room(room);
        let body = Body::Notice(Notice::Topic {
            room: &room.name,
            text: &room.topic,
        });
        self.delivery
            .send_one(out, self.members.clients(), id, now, &body);
    }

    /// `/topic TEXT` by `id`: set, and the room told (if small enough).
    pub(crate) fn set_topic(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        text: &str,
        now: Now,
    ) {
        let Some(room) = self.members.room_of(id) else {
            return;
        };
        self.members.room_mut(room).topic = text.to_owned();
        let name = self.members.room(room).name.clone();
        let body = Body::Notice(Notice::Topic { room: &name, text });
        self.announce(config, out, room, id, &body, now);
    }

    /// A line the store has committed (`history_sync = "always"`): to its
    /// room but its sender, as it was said then.
    pub(crate) fn relay_committed(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        line: &NewLine,
        sender: ClientId,
    ) {
        let Some(room) = self.members.rooms().find_key(&line.room) else {
            return; // everyone left
        };
        if config.echo_messages {
            let name = &self.members.room(room).name;
            out.console(&format!("[{name}] <{}> {}", line.nick(), line.text()));
        }
        let said = SaidLine {
            nick: line.nick(),
            text: line.text(),
            action: line.action,
            id: Some(line.id),
            time: line.time,
        };
        self.say_in(out, room, Some(sender), &said);
    }

    /// A line said in `room`, from here or another node: to its members
    /// (but `except`, who said it), encoded once per wire shape, and into
    /// the room's history. The one room fan-out.
    pub(crate) fn say_in(
        &mut self,
        out: &mut dyn Outbox,
        room: RoomId,
        except: Option<ClientId>,
        said: &SaidLine<'_>,
    ) {
        let to = Recipients {
            members: &self.members.room(room).members,
            except,
            audience: Audience::Everyone,
        };
        let clients = self.members.clients();
        self.delivery
            .send_room_line(out, clients, to, said.time, said.id, &said.body());
        self.members.record(room, said);
    }

    /// `body` to every client; how many.
    pub(crate) fn send_to_all(&mut self, out: &mut dyn Outbox, body: &Body<'_>, now: Now) -> usize {
        let everyone = self.members.clients().ids();
        let clients = self.members.clients();
        self.delivery
            .send_many(out, clients, Recipients::all(&everyone), now, body);
        everyone.len()
    }
}
