//! What an IRC line asks, routed: while the connection registers, to its
//! `chat_irc::Registration`; once it is a client, each command to the
//! intent it stands for (`JOIN #dev` is `Command::Join`, `PRIVMSG #dev` is
//! `Command::SayIn`, …), handled by `Hub::command` like a line-protocol
//! client's; the few questions only IRC asks (`WHOIS`, `ISON`, `MODE`, …)
//! answered here from the hub's state with chat-irc's numerics.
//!
//! Text from an IRC client is sanitised like any other: IRC formatting
//! codes never reach a terminal client.

use bytes::BytesMut;
use chat_irc::numeric::{self, Numeric, StandardReply, StandardReplyKind};
use chat_irc::render::channel;
use chat_irc::{Isupport, Message, NickRefusal, ParseError, Progress, parse_bytes};
use chat_proto::{Command, Frame, Refusal, sanitize_text, validate_nick};

use super::Hub;
use crate::chat::Named;
use crate::irc::{self, Session};
use crate::membership;
use crate::store::HISTORY_QUERY_MAX;
use crate::{Arrival, ClientId, Now, Outbox};

/// `command` in upper case, in `buf` (IRC commands are short; a longer
/// one is no command this server knows, and is kept as it is).
fn upper_case<'b>(command: &'b str, buf: &'b mut [u8; 16]) -> &'b str {
    let Some(upper) = buf.get_mut(..command.len()) else {
        return command;
    };
    upper.copy_from_slice(command.as_bytes());
    upper.make_ascii_uppercase();
    std::str::from_utf8(upper).unwrap_or(command)
}

/// The version IRC clients are told.
pub(super) const VERSION: &str = concat!("chat-", env!("CARGO_PKG_VERSION"));

impl Hub {
    /// A line from an IRC connection that has not registered yet.
    pub(super) fn irc_registering(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        frame: Frame<'_>,
        now: Now,
    ) {
        let server = irc::server(&self.config, self.store.is_on(), self.accounts.is_on());
        let mut reply = BytesMut::new();
        let Some(registering) = self.irc.registering_mut(id) else {
            return;
        };
        registering.lines += 1;
        if registering.lines > irc::MAX_LINES_REGISTERING {
            return self.irc_close_unregistered(out, id, "Too many lines before registering");
        }
        let msg = match frame {
            Frame::Line(line) => parse_bytes(line),
            Frame::TooLong => Err(ParseError::InputTooLong),
        };
        let msg = match msg {
            Ok(msg) => msg,
            Err(ParseError::InputTooLong) => {
                let _ =
                    numeric::ERR_INPUTTOOLONG.write_default(&mut reply, &[], server.name, "*", &[]);
                return self.chat.send_wire(out, id, reply.freeze());
            }
            Err(_) => return, // an empty line, or one IRC cannot read
        };
        let (members, config) = (self.chat.members(), &self.config);
        let check = |nick: &str| {
            if validate_nick(nick).is_err() || membership::reserved(config, nick).is_some() {
                Err(NickRefusal::Erroneous)
            } else if members.owner(nick).is_some() {
                Err(NickRefusal::InUse)
            } else {
                Ok(())
            }
        };
        let progress = registering
            .registration
            .handle(&server, &msg, &mut reply, check);
        let arrival = registering.arrival;
        self.chat.send_wire(out, id, reply.split().freeze());
        self.irc_progress(out, id, arrival, progress, now);
    }

    /// What a registering connection's last message (or the answer to its
    /// SASL login) led to.
    pub(super) fn irc_progress(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        arrival: Arrival,
        progress: Progress,
        now: Now,
    ) {
        match progress {
            Progress::Continue => {}
            Progress::Quit { .. } => self.irc_close_unregistered(out, id, "Closing link"),
            Progress::Authenticate(credentials) => {
                self.irc_sasl_login(out, id, arrival.peer, &credentials, now);
            }
            Progress::Registered(registered) => {
                if self.config.password.is_some()
                    && registered.password.as_deref() != self.config.password.as_deref()
                {
                    self.counters.wrong_password();
                    self.admission
                        .record_failure(arrival.peer.ip(), now.timestamp());
                    out.console(&format!("wrong password from {}", arrival.peer));
                    self.chat.refuse_connection(
                        out,
                        id,
                        arrival.protocol,
                        Refusal::WrongPassword,
                        now,
                    );
                    return self.irc_close_unregistered(out, id, "Bad password");
                }
                let session = Session {
                    cap: registered.cap_state(),
                    user: registered.user.clone(),
                    away: None,
                    sasl: chat_irc::Sasl::default(),
                    asked: None,
                };
                self.irc.registered(id, session);
                let nick = self.irc_nick_on_registering(out, id, &registered.nick, now);
                let named = Named::Registered {
                    nick: nick.as_str(),
                    caps: registered.caps,
                    realname: &registered.realname,
                };
                self.admit_named(out, id, arrival, named, now);
                self.irc_welcome(out, id);
                self.irc_after_welcome(out, id, &registered.nick, now);
            }
        }
    }

    /// 001–005, the users, the MOTD: what an IRC client reads on
    /// registering.
    /// `FAIL COMMAND CODE [CONTEXT...] :DESCRIPTION`: the IRCv3 standard
    /// reply every extension uses for a request it refuses.
    pub(super) fn irc_fail(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        command: &str,
        code: &str,
        context: &[&str],
        why: &str,
    ) {
        let mut reply = BytesMut::new();
        let fail = StandardReply {
            kind: StandardReplyKind::Fail,
            command,
            code,
            context,
            description: why,
        };
        let _ = fail.write(&mut reply, &[], &self.config.server_name);
        self.chat.send_wire(out, id, reply.freeze());
    }

    fn irc_welcome(&mut self, out: &mut dyn Outbox, id: ClientId) {
        let Some(nick) = self.chat.members().nick(id).map(str::to_owned) else {
            return;
        };
        let config = &self.config;
        let server = config.server_name.as_str();
        let mut reply = BytesMut::new();
        let out_line = |reply: &mut BytesMut, numeric: Numeric, params: &[&str]| {
            let _ = numeric.write(reply, &[], server, &nick, params);
        };
        let welcome = format!("Welcome to the {server} IRC network, {nick}");
        out_line(&mut reply, numeric::RPL_WELCOME, &[&welcome]);
        let host = format!("Your host is {server}, running version {VERSION}");
        out_line(&mut reply, numeric::RPL_YOURHOST, &[&host]);
        out_line(
            &mut reply,
            numeric::RPL_CREATED,
            &["This server was created at its start"],
        );
        out_line(
            &mut reply,
            numeric::RPL_MYINFO,
            &[server, VERSION, "o", "nt"],
        );
        let isupport = Isupport {
            network: server,
            nick_len: chat_proto::MAX_NICK_LEN,
            channel_len: chat_proto::MAX_ROOM_LEN + 1,
            chan_limit: config.max_rooms_per_client,
            chathistory: self.store.is_on().then_some(HISTORY_QUERY_MAX),
            ..Isupport::default()
        };
        let _ = isupport.write(&mut reply, server, &nick);
        self.irc_lusers(&mut reply, &nick);
        self.irc_motd(&mut reply, &nick);
        self.chat.send_wire(out, id, reply.freeze());
    }

    pub(super) fn irc_lusers(&self, reply: &mut BytesMut, nick: &str) {
        let server = self.config.server_name.as_str();
        let members = self.chat.members();
        let users = members.len().to_string();
        let rooms = members.rooms().len().to_string();
        let there = format!("There are {users} users and 0 invisible on 1 servers");
        let _ = numeric::RPL_LUSERCLIENT.write(reply, &[], server, nick, &[&there]);
        let _ = numeric::RPL_LUSERCHANNELS.write_default(reply, &[], server, nick, &[&rooms]);
        let mine = format!("I have {users} clients and 0 servers");
        let _ = numeric::RPL_LUSERME.write(reply, &[], server, nick, &[&mine]);
    }

    pub(super) fn irc_motd(&self, reply: &mut BytesMut, nick: &str) {
        let server = self.config.server_name.as_str();
        if self.config.motd.is_empty() {
            let _ = numeric::ERR_NOMOTD.write_default(reply, &[], server, nick, &[]);
            return;
        }
        let start = format!("- {server} Message of the day -");
        let _ = numeric::RPL_MOTDSTART.write(reply, &[], server, nick, &[&start]);
        let motd = format!("- {}", self.config.motd);
        let _ = numeric::RPL_MOTD.write(reply, &[], server, nick, &[&motd]);
        let _ = numeric::RPL_ENDOFMOTD.write_default(reply, &[], server, nick, &[]);
    }

    /// One line from a registered IRC client, past the flood gate.
    pub(super) fn irc_line(&mut self, out: &mut dyn Outbox, id: ClientId, line: &[u8], now: Now) {
        let msg = match parse_bytes(line) {
            Ok(msg) => msg,
            Err(ParseError::InputTooLong) => {
                let max = chat_irc::MAX_LINE_BYTES;
                return self.chat.refuse(out, id, Refusal::LineTooLong { max }, now);
            }
            Err(_) => return,
        };
        let labels = self
            .chat
            .members()
            .client(id)
            .is_some_and(|client| client.caps.contains(chat_irc::Cap::LabeledResponse));
        if labels && let Some(label) = msg.tags.get("label") {
            let label = label.into_owned();
            return self.labelled(out, id, &label, |hub, out| {
                hub.irc_message(out, id, &msg, now)
            });
        }
        self.irc_message(out, id, &msg, now);
    }

    /// One IRC message from a registered client.
    fn irc_message(&mut self, out: &mut dyn Outbox, id: ClientId, msg: &Message<'_>, now: Now) {
        let mut upper = [0u8; 16];
        let command = upper_case(msg.command, &mut upper);
        match command {
            "PRIVMSG" => self.irc_say(out, id, msg, now, false),
            "NOTICE" => self.irc_say(out, id, msg, now, true),
            "JOIN" => self.irc_join(out, id, msg, now),
            "PART" => {
                for room in msg.param(0).unwrap_or_default().split(',') {
                    let room = room.trim_start_matches('#');
                    if !room.is_empty() {
                        self.command(out, id, Command::Part(Some(room)), now);
                    }
                }
            }
            "NICK" => match msg.param(0) {
                Some(nick) => self.command(out, id, Command::Nick(nick), now),
                None => self.irc_reply(out, id, numeric::ERR_NONICKNAMEGIVEN, &[]),
            },
            "QUIT" => {
                let reason = msg.param(0).map(|reason| self.clean(reason));
                self.command(out, id, Command::Quit(reason.as_deref()), now);
            }
            "PING" => {
                let server = self.config.server_name.clone();
                let token = msg.param(0).unwrap_or(&server);
                let mut reply = BytesMut::new();
                let _ = chat_irc::write(&mut reply, &[], Some(&server), "PONG", &[&server, token]);
                self.chat.send_wire(out, id, reply.freeze());
            }
            "PONG" => {}
            "CAP" => self.irc_cap(out, id, msg),
            "NAMES" => self.irc_names(out, id, msg, now),
            "TOPIC" => self.irc_topic(out, id, msg, now),
            "LIST" => self.command(out, id, Command::Rooms, now),
            "OPER" => match (msg.param(0), msg.param(1)) {
                (Some(name), Some(password)) => {
                    self.command(out, id, Command::Oper { name, password }, now);
                }
                _ => self.irc_reply(out, id, numeric::ERR_NEEDMOREPARAMS, &["OPER"]),
            },
            "AUTHENTICATE" => self.irc_authenticate(out, id, msg, now),
            "REGISTER" => self.irc_register(out, id, msg, now),
            "KICK" => match (msg.param(1), self.operators.name_of(id)) {
                (Some(nick), Some(_)) => {
                    let reason = msg.param(2).map(|reason| self.clean(reason));
                    let kick = Command::Kick {
                        nick,
                        reason: reason.as_deref(),
                    };
                    self.command(out, id, kick, now);
                }
                (None, _) => self.irc_reply(out, id, numeric::ERR_NEEDMOREPARAMS, &["KICK"]),
                (Some(_), None) => {
                    let room = msg.param(0).unwrap_or("*");
                    self.irc_reply(out, id, numeric::ERR_CHANOPRIVSNEEDED, &[room]);
                }
            },
            "USER" | "PASS" => self.irc_reply(out, id, numeric::ERR_ALREADYREGISTERED, &[]),
            "CHATHISTORY" => self.irc_chathistory(out, id, msg, now),
            "MARKREAD" => self.irc_markread(out, id, msg, now),
            _ => self.irc_query(out, id, command, msg),
        }
    }

    /// `PRIVMSG`/`NOTICE` to channels and nicks (a CTCP `ACTION` is a
    /// `/me`; other CTCP requests are not answered). A `NOTICE` is never
    /// answered, not even with an error: that is what tells it from a
    /// `PRIVMSG` (so bots cannot loop).
    fn irc_say(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        msg: &Message<'_>,
        now: Now,
        notice: bool,
    ) {
        let (Some(targets), Some(text)) = (msg.param(0), msg.param(1)) else {
            if notice {
                return;
            }
            let missing = match msg.param(0) {
                None => numeric::ERR_NORECIPIENT,
                Some(_) => numeric::ERR_NOTEXTTOSEND,
            };
            return self.irc_reply(out, id, missing, &[]);
        };
        let (text, action) = match text.strip_prefix("\u{1}ACTION ") {
            Some(rest) => (rest.trim_end_matches('\u{1}'), true),
            None if text.starts_with('\u{1}') => return,
            None => (text, false),
        };
        // Sanitised into the hub's reused buffer: a line costs no
        // allocation.
        let mut clean = std::mem::take(&mut self.scratch);
        clean.clear();
        sanitize_text(text.as_bytes(), &mut clean);
        if clean.is_empty() {
            self.scratch = clean;
            if notice {
                return;
            }
            return self.irc_reply(out, id, numeric::ERR_NOTEXTTOSEND, &[]);
        }
        let text = clean.as_str();
        for target in targets.split(',').filter(|target| !target.is_empty()) {
            if self.is_nickserv(target) {
                // A service, not a client: what it is told is no line to
                // relay (it may hold a password), and a notice is not
                // answered.
                if !notice {
                    self.irc_nickserv(out, id, text, now);
                }
                continue;
            }
            if let Some(room) = target.strip_prefix('#') {
                let members = self.chat.members();
                if members.joined_room(id, room).is_none() {
                    if notice {
                        continue;
                    }
                    let refusal = match members.rooms().find(room) {
                        Some(_) => numeric::ERR_CANNOTSENDTOCHAN,
                        None => numeric::ERR_NOSUCHCHANNEL,
                    };
                    self.irc_reply(out, id, refusal, &[target]);
                    continue;
                }
            }
            let here = self.chat.members().owner(target).is_some();
            if notice && !target.starts_with('#') && !here && !self.node.is_on() {
                continue; // to nobody: a notice is not answered "no such nick"
            }
            let command = match target.strip_prefix('#') {
                Some(room) => Command::SayIn { room, text, action },
                None => Command::Msg { to: target, text },
            };
            self.command(out, id, command, now);
            if notice || target.starts_with('#') {
                continue;
            }
            if let Some(away) = self.irc_away_of(target) {
                let server = self.config.server_name.clone();
                let nick = self.chat.members().nick(id).unwrap_or("*").to_owned();
                let mut reply = BytesMut::new();
                let _ = numeric::RPL_AWAY.write(&mut reply, &[], &server, &nick, &[target, &away]);
                self.chat.send_wire(out, id, reply.freeze());
            }
        }
        self.scratch = clean;
    }

    /// The away message of the IRC client called `nick`, if it set one.
    fn irc_away_of(&self, nick: &str) -> Option<String> {
        let owner = self.chat.members().owner(nick)?;
        self.irc.session(owner)?.away.clone()
    }

    /// `JOIN #a,#b` (`JOIN 0` parts every channel); each joined channel's
    /// names follow its join, as IRC clients expect.
    fn irc_join(&mut self, out: &mut dyn Outbox, id: ClientId, msg: &Message<'_>, now: Now) {
        let Some(rooms) = msg.param(0) else {
            return self.irc_reply(out, id, numeric::ERR_NEEDMOREPARAMS, &["JOIN"]);
        };
        if rooms == "0" {
            for room in self.chat.members().room_names_of(id) {
                self.command(out, id, Command::Part(Some(&room)), now);
            }
            return;
        }
        for room in rooms.split(',').filter(|room| !room.is_empty()) {
            let room = room.strip_prefix('#').unwrap_or(room);
            let was_in = self.chat.members().joined_room(id, room).is_some();
            self.command(out, id, Command::Join(room), now);
            if !was_in && let Some(joined) = self.chat.members().joined_room(id, room) {
                // Its names at once, from this node: a cluster-wide `/who`
                // is paced, and a client joining ten channels asks ten.
                let name = self.chat.members().room(joined).name.clone();
                // `draft/read-marker`: the marker comes before the names end.
                self.irc_marker_on_join(out, id, joined);
                self.chat.who_reply(out, id, &name, Vec::new(), now);
            }
        }
    }

    /// `NAMES #room`: the members of a channel the client is in (its
    /// current room for the hub's `/who`, which it becomes quietly).
    fn irc_names(&mut self, out: &mut dyn Outbox, id: ClientId, msg: &Message<'_>, now: Now) {
        let Some(room) = msg.param(0).map(|room| room.trim_start_matches('#')) else {
            return self.irc_reply(out, id, numeric::ERR_NEEDMOREPARAMS, &["NAMES"]);
        };
        if self.irc_make_current(out, id, room, now) {
            self.command(out, id, Command::Who, now);
        } else {
            self.irc_reply(out, id, numeric::RPL_ENDOFNAMES, &[&channel(room)]);
        }
    }

    /// `TOPIC #room [TEXT]`.
    fn irc_topic(&mut self, out: &mut dyn Outbox, id: ClientId, msg: &Message<'_>, now: Now) {
        let Some(room) = msg.param(0).map(|room| room.trim_start_matches('#')) else {
            return self.irc_reply(out, id, numeric::ERR_NEEDMOREPARAMS, &["TOPIC"]);
        };
        if !self.irc_make_current(out, id, room, now) {
            return self.irc_reply(out, id, numeric::ERR_NOTONCHANNEL, &[&channel(room)]);
        }
        match msg.param(1) {
            None => self.command(out, id, Command::Topic(None), now),
            Some(text) => {
                if self.operators.name_of(id).is_none() {
                    return self.irc_reply(
                        out,
                        id,
                        numeric::ERR_CHANOPRIVSNEEDED,
                        &[&channel(room)],
                    );
                }
                let text = self.clean(text);
                self.command(out, id, Command::Topic(Some(&text)), now);
            }
        }
    }

    /// Makes `room` `id`'s current room, if it is in it. An IRC client
    /// names the channel of everything it says, so its current room is
    /// only where the hub's room commands look.
    fn irc_make_current(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        room: &str,
        now: Now,
    ) -> bool {
        let members = self.chat.members();
        let Some(found) = members.joined_room(id, room) else {
            return false;
        };
        if members.current_room(id) != Some(found) {
            // Answered "now talking in", which IRC does not show.
            self.command(out, id, Command::Join(room), now);
        }
        true
    }

    /// `CAP` after registration: `LS`, `LIST`, `REQ` (the client's shape
    /// changes with what it enables).
    fn irc_cap(&mut self, out: &mut dyn Outbox, id: ClientId, msg: &Message<'_>) {
        let server = irc::server(&self.config, self.store.is_on(), self.accounts.is_on());
        let Some(nick) = self.chat.members().nick(id).map(str::to_owned) else {
            return;
        };
        let Some(session) = self.irc.session_mut(id) else {
            return;
        };
        let mut reply = BytesMut::new();
        chat_irc::handle_cap(
            &mut session.cap,
            &server.offer,
            msg,
            server.name,
            &nick,
            &mut reply,
        );
        let caps = session.cap.enabled;
        if let Some(client) = self.chat.members_mut().client_mut(id) {
            client.caps = caps;
        }
        self.chat.send_wire(out, id, reply.freeze());
    }

    /// One numeric to `id`, from the server.
    pub(super) fn irc_reply(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        numeric: Numeric,
        params: &[&str],
    ) {
        let nick = self.chat.members().nick(id).unwrap_or("*").to_owned();
        let mut reply = BytesMut::new();
        let _ = numeric.write_default(&mut reply, &[], &self.config.server_name, &nick, params);
        self.chat.send_wire(out, id, reply.freeze());
    }

    /// `text` as every other client's text is: sanitised.
    pub(super) fn clean(&self, text: &str) -> String {
        let mut clean = String::with_capacity(text.len());
        sanitize_text(text.as_bytes(), &mut clean);
        clean
    }

    /// A connection becomes a client, under a guest nick or the one it
    /// registered.
    pub(super) fn admit_named(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        arrival: Arrival,
        named: Named<'_>,
        now: Now,
    ) {
        self.counters.connected();
        self.chat.admit(&self.config, out, id, arrival, named, now);
        self.node.admitted(&self.chat, out, id);
    }

    /// The IRC connections that did not register in time are closed.
    pub(super) fn irc_sweep(&mut self, out: &mut dyn Outbox, now: Now) {
        let timeout = self.config.handshake_timeout;
        if timeout == 0 {
            return;
        }
        for id in self.irc.overdue(now.timestamp(), timeout) {
            self.irc_close_unregistered(out, id, "Registration timed out");
        }
    }

    /// Closes an IRC connection that never became a client, saying why.
    fn irc_close_unregistered(&mut self, out: &mut dyn Outbox, id: ClientId, why: &str) {
        let mut reply = BytesMut::new();
        let _ = chat_irc::write(&mut reply, &[], None, "ERROR", &[why]);
        self.chat.send_wire(out, id, reply.freeze());
        self.irc_gone(id);
        self.wires.close(id);
        out.close(id);
    }

    /// The connection `id` is gone: a registering one no longer counts
    /// against its address.
    pub(super) fn irc_gone(&mut self, id: ClientId) {
        if let Some(registering) = self.irc.registering_mut(id) {
            let ip = registering.arrival.peer.ip();
            self.admission.left(ip);
            // A SASL login in flight, or one that succeeded before the
            // connection registered.
            self.accounts.forget(id);
        }
        self.irc.forget(id);
    }

    /// `id` is a registered IRC client (read off its record, decided
    /// when it arrived: no lookup of its session for every line).
    pub(super) fn speaks_irc(&self, id: ClientId) -> bool {
        self.chat.protocol(id) == crate::Protocol::Irc
    }

    /// The session of `id`, for the queries.
    pub(super) fn irc_session(&self, id: ClientId) -> Option<&Session> {
        self.irc.session(id)
    }

    /// The channel names of `nick`'s rooms, for `WHOIS`.
    pub(super) fn channels_of(&self, id: ClientId) -> String {
        let names = self.chat.members().room_names_of(id);
        let channels: Vec<String> = names
            .iter()
            .map(|name| (*channel(name)).to_owned())
            .collect();
        channels.join(" ")
    }
}
