//! What a client's line does: room traffic or a `/command`.

use chat_proto::{
    Body, Command, Notice, nick_key, parse_command, room_key, sanitize_text, validate_nick,
    validate_room,
};

use super::{ClientId, Gate, Hub, Now, Outbox};

impl Hub {
    /// One message from a client (a line, or a raw chunk), not yet sanitized:
    /// through the flood gate first.
    pub(super) fn line(&mut self, out: &mut dyn Outbox, id: ClientId, line: &[u8], now: Now) {
        if let Some(client) = self.clients.get_mut(id) {
            client.last_active = now.timestamp();
            client.spoke = true;
        }
        match self.flood_gate(id, line, now) {
            Gate::Pass => self.process_line(out, id, line, now),
            Gate::Delayed => {}
            Gate::Warn => {
                let text = "you are sending too fast: your lines are delayed; slow down or be disconnected";
                self.error(out, id, text, now);
            }
            Gate::Disconnect => {
                self.stats.flooders += 1;
                self.error(out, id, "disconnected for flooding", now);
                self.remove(out, id, "flooding", now);
                out.close(id);
            }
        }
    }

    /// One message that passed the flood gate.
    pub(super) fn process_line(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        line: &[u8],
        now: Now,
    ) {
        self.stats.messages_in += 1;
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        sanitize_text(line, &mut text);
        match parse_command(&text) {
            Ok(command) => self.command(out, id, command, now),
            Err(error) => self.error(out, id, &error.to_string(), now),
        }
        self.scratch = text;
    }

    fn command(&mut self, out: &mut dyn Outbox, id: ClientId, command: Command<'_>, now: Now) {
        match command {
            // A line that was nothing but control characters says nothing.
            Command::Say("") => {}
            Command::Say(text) => self.relay(out, id, false, text, now),
            Command::Me(text) => self.relay(out, id, true, text, now),
            Command::Nick(nick) => self.change_nick(out, id, nick, now),
            Command::Join(room) => self.join(out, id, room, now),
            Command::Msg { to, text } => self.private(out, id, to, text, now),
            Command::Who => self.who(out, id, now),
            Command::Rooms => self.list_rooms(out, id, now),
            Command::History(count) => self.history_command(out, id, count, now),
            Command::Help => {
                for (usage, what) in Command::HELP {
                    self.info(out, id, &format!("{usage:16} {what}"), now);
                }
            }
            Command::Pass(_) => self.error(out, id, "you are already logged in", now),
            Command::Oper { name, password } => self.oper(out, id, name, password, now),
            Command::Topic(None) => {
                let Some(client) = self.clients.get(id) else {
                    return;
                };
                let room = self.rooms.get(client.seat.room);
                let body = Body::Notice(Notice::Topic {
                    room: &room.name,
                    text: &room.topic,
                });
                self.encoder.send_one(out, &self.clients, id, now, &body);
            }
            Command::Topic(Some(text)) if self.is_operator(id) => {
                self.set_topic(out, id, text, now)
            }
            Command::Kick { .. }
            | Command::Ban { .. }
            | Command::Unban(_)
            | Command::Bans
            | Command::Motd(_)
            | Command::Topic(Some(_)) => {
                let Some(by) = self.clients.get(id).and_then(|c| c.operator.clone()) else {
                    return self.error(
                        out,
                        id,
                        "operators only: log in with /oper NAME PASSWORD",
                        now,
                    );
                };
                match self.operator_command(out, &by, &command, now) {
                    Some(Ok(lines)) => lines.iter().for_each(|line| self.info(out, id, line, now)),
                    Some(Err(e)) => self.error(out, id, &e, now),
                    None => {}
                }
            }
            Command::Quit(reason) => {
                self.info(out, id, "Goodbye!", now);
                let why = reason.map_or_else(|| "quit".to_owned(), |r| format!("quit: {r}"));
                self.remove(out, id, &why, now);
                out.close(id);
            }
        }
    }

    fn change_nick(&mut self, out: &mut dyn Outbox, id: ClientId, nick: &str, now: Now) {
        if let Err(why) = validate_nick(nick) {
            return self.error(out, id, &format!("nick {nick:?} {why}"), now);
        }
        let key = nick_key(nick);
        if key == self.operator_key() {
            return self.error(out, id, &format!("nick {nick} is reserved"), now);
        }
        match self.nicks.get(&key) {
            Some(&owner) if owner != id => {
                return self.error(out, id, &format!("nick {nick} is taken"), now);
            }
            _ => {}
        }
        let same = self.nick(id).is_some_and(|old| nick_key(old) == key);
        if self.in_cluster() && !same {
            if !self.claim_nick(out, id, nick) {
                self.error(out, id, "the cluster is busy: try again", now);
            }
            return;
        }
        self.rename(out, id, nick, now);
    }

    /// Gives `id` the nick `nick` and tells its room. Returns the old nick.
    pub(super) fn rename(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        nick: &str,
        now: Now,
    ) -> Option<String> {
        let key = nick_key(nick);
        let client = self.clients.get_mut(id)?;
        let old = std::mem::replace(&mut client.nick, nick.to_owned());
        self.nicks.remove(&nick_key(&old));
        self.nicks.insert(key, id);
        let client = self.clients.get(id)?;
        let body = Body::Notice(Notice::NickChanged {
            old: &old,
            new: nick,
        });
        let members = &self.rooms.get(client.seat.room).members;
        let to = self.announcement(members, &id);
        self.stats.deliveries += self.encoder.send_many(out, &self.clients, to, now, &body);
        if self.config.echo_messages {
            out.console(&format!("{old} is now known as {nick}"));
        }
        self.tell_member(out, id);
        Some(old)
    }

    /// `/history [N]`: the room's last N lines again.
    fn history_command(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        count: Option<usize>,
        now: Now,
    ) {
        let keep = self.config.history_keep();
        if keep == 0 {
            return self.error(out, id, "this server keeps no history", now);
        }
        if self
            .clients
            .get(id)
            .is_some_and(|c| c.framing != super::Framing::Line)
        {
            return self.error(out, id, "history needs line framing", now);
        }
        self.send_history(out, id, count.unwrap_or(keep).min(keep), now);
    }

    fn join(&mut self, out: &mut dyn Outbox, id: ClientId, room: &str, now: Now) {
        if let Err(why) = validate_room(room) {
            return self.error(out, id, &format!("room name {room:?} {why}"), now);
        }
        let Some(client) = self.clients.get(id) else {
            return;
        };
        let current = self.rooms.get(client.seat.room);
        if room_key(&current.name) == room_key(room) {
            let text = format!("you are already in {}", current.name);
            return self.error(out, id, &text, now);
        }
        self.leave_room(out, id, None, now);
        let room = self.rooms.find_or_create(room);
        let seat = self.rooms.join(room, id);
        if let Some(client) = self.clients.get_mut(id) {
            client.seat = seat;
        }
        self.announce_join(out, id, room, now);
        self.tell_member(out, id);
        if self
            .clients
            .get(id)
            .is_some_and(|c| c.framing == super::Framing::Line)
        {
            self.send_history(out, id, self.config.history_lines, now);
        }
    }

    fn private(&mut self, out: &mut dyn Outbox, id: ClientId, to: &str, text: &str, now: Now) {
        let Some(from) = self.clients.get(id) else {
            return;
        };
        if nick_key(to) == self.operator_key() {
            out.console(&format!("*{}* {text} ({})", from.nick, from.peer));
            let body = Body::PrivateSent {
                to: &self.config.operator_name,
                text,
            };
            self.encoder.send_one(out, &self.clients, id, now, &body);
            self.last_speaker = Some(id);
            return;
        }
        let Some(&target) = self.nicks.get(&nick_key(to)) else {
            let request = super::ClusterRequest::Private {
                client: id,
                from: from.nick.clone(),
                to: to.to_owned(),
                text: text.to_owned(),
                time: now,
            };
            if self.in_cluster() && self.ask(out, request) {
                return;
            }
            return self.error(out, id, &format!("no such nick: {to}"), now);
        };
        let Some(recipient) = self.clients.get(target) else {
            return;
        };
        let body = Body::Private {
            from: &from.nick,
            text,
        };
        self.encoder
            .send_one(out, &self.clients, target, now, &body);
        let body = Body::PrivateSent {
            to: &recipient.nick,
            text,
        };
        self.encoder.send_one(out, &self.clients, id, now, &body);
        self.stats.deliveries += 2;
    }
}
