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
use chat_proto::{Body, Command, Notice, nick_key};

use crate::clients::Client;
use crate::ctx::Ctx;
use crate::delivery::{Delivery, Recipients};
use crate::flood::FloodState;
use crate::membership::Membership;
use crate::rooms::RoomId;
use crate::store::NewLine;
use crate::{Arrival, ClientId, HubConfig, Now, Outbox, Protocol, listing};

mod joins;
mod replay;
mod said;

pub(crate) use joins::{Joined, NickChange};
pub(crate) use said::{SaidLine, Saying};

/// The nick a client is admitted with.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Named<'a> {
    /// A guest nick the server gives, ending in `tag` (a cluster node's).
    Guest { tag: &'a str },
    /// The nick it registered with (IRC), already checked, and the IRC
    /// capabilities it enabled.
    Registered {
        nick: &'a str,
        caps: chat_irc::Caps,
        realname: &'a str,
    },
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
    /// The last rename another node reported, so that a member of several
    /// of the renamed one's rooms hears of it once.
    remote_rename: Option<joins::RemoteRename>,
    /// Where a local sender's nick is copied for the fan-out, which also
    /// writes the room's history and so cannot borrow it from the
    /// membership; reused, so a line allocates nothing.
    sender_nick: String,
}

impl Chat {
    pub(crate) fn new(config: &HubConfig) -> Chat {
        Chat {
            members: Membership::new(config.history_keep(), config.history_memory_bytes),
            delivery: Delivery::new(config.timestamp, &config.server_name),
            shutting_down: false,
            remote_rename: None,
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
        self.delivery
            .encode(protocol, now, &Body::Refusal(&refusal))
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
        let body = Body::Refusal(&refusal);
        self.delivery
            .send_to_connection(out, id, protocol, now, &body);
    }

    /// Tells `id` why its request was refused.
    pub(crate) fn refuse(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        why: Refusal<'_>,
        now: Now,
    ) {
        self.send(out, id, &Body::Refusal(&why), now);
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
        named: Named<'_>,
        now: Now,
    ) {
        let Arrival { peer, protocol } = arrival;
        let nick = match named {
            Named::Guest { tag } => self.members.guest_nick(config, tag),
            Named::Registered { nick, .. } => nick.to_owned(),
        };
        let (caps, realname) = match named {
            Named::Guest { .. } => (chat_irc::Caps::EMPTY, None),
            Named::Registered { caps, realname, .. } => (caps, Some(realname.to_owned())),
        };
        let room = protocol
            .starts_in_default_room()
            .then_some(config.default_room.as_str());
        let room = self.members.enter(id, nick, room, |nick, seats| Client {
            nick,
            seats,
            peer,
            protocol,
            flood: FloodState::new(config, config.is_exempt(peer.ip()), now.timestamp_millis()),
            connected_at: now.timestamp(),
            last_active: now.timestamp(),
            spoke: false,
            ids: false,
            caps,
            realname,
            account: None,
        });
        let nick = self.members.nick(id).unwrap_or_default();
        // An event for the console or the log, watched or not.
        out.console(&format!("{nick} connected from {peer}"));
        let Some(room) = room else {
            return; // it greets and joins in its own protocol's way
        };
        if protocol.hears_notices() {
            let motd = &config.motd;
            let welcome = Body::Notice(Notice::Welcome { nick, motd });
            self.delivery
                .send_one(out, self.members.clients(), id, now, &welcome);
        }
        self.announce_join(config, out, id, room, now);
    }

    /// Bytes already written for one connection's protocol (an IRC
    /// front-end's replies), counted like every other line.
    pub(crate) fn send_wire(&mut self, out: &mut dyn Outbox, to: ClientId, bytes: Bytes) {
        self.delivery.send_encoded(out, to, bytes);
    }

    /// Removes a client from the conversation (each of its rooms is told
    /// why); returns its record.
    pub(crate) fn remove(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        why: &str,
        now: Now,
    ) -> Option<Client> {
        for room in self.members.rooms_of(id) {
            self.leave_room(config, out, id, room, Some(why), now);
        }
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

    /// Where and what `id` says with `command` (`Say`, `Me` or `SayIn`);
    /// `None`: nowhere (it was told why: it is not in the room it named).
    pub(crate) fn saying<'a>(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        command: &Command<'a>,
        now: Now,
    ) -> Option<Saying<'a>> {
        let (room, text, action) = match *command {
            Command::Say(text) => (self.members.current_room(id), text, false),
            Command::Me(text) => (self.members.current_room(id), text, true),
            Command::SayIn { room, text, action } => {
                let mine = self.members.joined_room(id, room);
                if mine.is_none() {
                    self.refuse(out, id, Refusal::NotInRoom { room }, now);
                    return None;
                }
                (mine, text, action)
            }
            _ => return None,
        };
        let room = room?;
        Some(Saying { room, action, text })
    }

    /// Room traffic from `id`: to everyone else in the room (numbered
    /// `line_id` for clients that asked), and into the room's history.
    pub(crate) fn relay(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        saying: &Saying<'_>,
        line_id: Option<u64>,
    ) {
        let Some(client) = self.members.client(id) else {
            return;
        };
        let Saying { room, action, text } = *saying;
        let peer = client.peer;
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
        // A client that asked to see its own lines back (IRC's
        // echo-message) is not left out.
        let except = (!client.protocol.echoes(client.caps)).then_some(id);
        self.say_in(ctx.out, room, (except, Some(id)), &said);
        self.sender_nick = nick;
    }

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
        // Every device of the recipient's account hears it, and every
        // device of the sender's shows it was sent.
        let targets = self.members.holders(to);
        let Some(recipient) = targets.first().and_then(|&t| self.members.client(t)) else {
            return Private::NotHere;
        };
        let body = Body::Private {
            from: &from.nick,
            text,
        };
        for &target in &targets {
            let from_to = (Some(id), target);
            self.delivery
                .send_one_from(out, clients, from_to, now, &body);
        }
        let body = Body::PrivateSent {
            to: &recipient.nick,
            text,
        };
        for sender in self.members.holders(&from.nick) {
            self.delivery.send_one(out, clients, sender, now, &body);
        }
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
        for target in self.members.holders(to) {
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
        // A client in several rooms sees which: they are marked.
        let mine = self.members.rooms_of(id);
        let marked = |room: RoomId| mine.len() > 1 && mine.contains(&room);
        let local = self.members.rooms().iter_ids().map(|(room_id, room)| {
            let name = room.name.as_str();
            (name, room.members.len(), marked(room_id))
        });
        let (count, list) = listing::rooms(local, remote);
        let body = Body::Notice(Notice::Rooms { count, list: &list });
        self.send(out, id, &body, now);
    }

    /// `id`'s protocol (the line protocol for a client that is gone).
    pub(crate) fn protocol(&self, id: ClientId) -> Protocol {
        let client = self.members.client(id);
        client.map_or(Protocol::Line, |client| client.protocol)
    }

    /// A line the store has committed (`history_sync = "always"`): to its
    /// room but its sender, as it was said then.
    pub(crate) fn relay_committed(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        line: &NewLine,
        sender: Option<ClientId>,
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
        self.say_in(out, room, (sender, sender), &said);
    }

    /// A line said in `room`, from here or another node: to its members
    /// (but `except`, who said it and asked for no echo), encoded once per
    /// wire shape, and into the room's history. The one room fan-out.
    /// `sender`: the local client who said it (its account goes on IRC
    /// lines); `None` for a line from another node.
    pub(crate) fn say_in(
        &mut self,
        out: &mut dyn Outbox,
        room: RoomId,
        (except, sender): (Option<ClientId>, Option<ClientId>),
        said: &SaidLine<'_>,
    ) {
        let said_in = self.members.room(room);
        let to = Recipients {
            except,
            sender,
            room: Some((room, &said_in.name)),
            ..Recipients::all(&said_in.members)
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
