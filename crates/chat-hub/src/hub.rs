//! The [`Hub`]: holds the state machines and routes each event through them.
//!
//! Entry points, each with the current time and an [`Outbox`]:
//! [`Hub::connected`], [`Hub::received`], [`Hub::read_closed`],
//! [`Hub::disconnected`], [`Hub::tick`], [`Hub::console_line`],
//! [`Hub::cluster_event`], [`Hub::operator_checked`], [`Hub::store_event`],
//! [`Hub::account_reply`], [`Hub::post`] (a line from outside the chat),
//! [`Hub::shutdown`], and
//! [`Hub::refusal`] for the reactor's own refusals. The hub is the front
//! door (admission, logins, flood control, timeouts), reads each line, and
//! says which machine handles it: [`Hub::command`] is the map from a
//! client's command to its handler; [`Hub::console_line`] the map for the
//! operator's.

use bytes::Bytes;
use chat_proto::Refusal;
use chat_proto::{Body, Command, Frame, Notice, parse_command, sanitize_text};

use crate::accounts::Accounts;
use crate::admission::{Admission, Login};
use crate::chat::{Chat, Named, NickChange};
use crate::console::{self, Console, ConsoleCommand};
use crate::ctx::Ctx;
use crate::flood::{Flooding, Gate, Release};
use crate::markers::Markers;
use crate::node::Node;
use crate::operators::Operators;
use crate::sanctions::Expel;
use crate::stats::{self, Counters, HubStats};
use crate::store::{Appended, StoreClient};
use crate::timeouts::{self, Sweep};
use crate::wire::Wires;
use crate::{
    Arrival, ClientId, ClusterEvent, Gone, HubConfig, Now, OperatorVerdict, Outbox, RoomEvent,
    StoreEvent, StoreHealth,
};

mod accounts;
mod irc;
mod irc_accounts;
mod irc_history;
mod irc_labels;
mod irc_markers;
mod irc_queries;
mod lookups;
pub(crate) mod posts;
mod reading;
pub(crate) mod reconfigure;
mod sanction_commands;

#[derive(Debug)]
pub struct Hub {
    config: HubConfig,
    chat: Chat,
    node: Node,
    store: StoreClient,
    /// Each connection's decoder.
    wires: Wires,
    /// IRC connections registering, and registered IRC clients' sessions.
    irc: crate::irc::Irc,
    console: Console,
    admission: Admission,
    operators: Operators,
    accounts: Accounts,
    markers: Markers,
    flooding: Flooding,
    sweep: Sweep,
    /// Reused for sanitizing each incoming line.
    scratch: String,
    counters: Counters,
}

impl Hub {
    pub fn new(config: HubConfig) -> Hub {
        Hub {
            chat: Chat::new(&config),
            node: Node::new(config.cluster.clone()),
            store: StoreClient::default(),
            wires: Wires::default(),
            irc: crate::irc::Irc::default(),
            console: Console::default(),
            operators: Operators::new(&config.operators),
            accounts: Accounts::default(),
            markers: Markers::default(),
            config,
            admission: Admission::default(),
            flooding: Flooding::default(),
            sweep: Sweep::default(),
            scratch: String::new(),
            counters: Counters::default(),
        }
    }

    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    pub fn stats(&self) -> HubStats {
        let out = (self.chat.delivered(), self.chat.encodings());
        self.counters.snapshot(out, self.node.dropped())
    }

    pub fn client_count(&self) -> usize {
        self.chat.members().len()
    }

    /// A stop began (a signal, or the console's `/quit`).
    pub fn is_shutting_down(&self) -> bool {
        self.chat.is_shutting_down()
    }

    /// In a cluster, whether the link to Redis is up; `None` alone.
    pub fn cluster_up(&self) -> Option<bool> {
        self.node.link_up()
    }

    /// How the history store is doing; `None` without one.
    pub fn store_health(&self) -> Option<StoreHealth> {
        self.store.health()
    }

    pub fn room_count(&self) -> usize {
        self.chat.members().rooms().len()
    }

    /// The nick of a connected client.
    pub fn nick(&self, id: ClientId) -> Option<&str> {
        self.chat.members().nick(id)
    }

    /// Is `nick` somebody's here?
    pub fn has_nick(&self, nick: &str) -> bool {
        self.chat.members().owner(nick).is_some()
    }

    /// Room lines go to a history store too, which holds lines of `rooms`
    /// (their keys); the next one gets `next_id`. `always`
    /// (`history_sync = "always"`): a room line goes out only once the
    /// store has committed it.
    pub fn use_store(&mut self, next_id: u64, rooms: Vec<String>, always: bool) {
        self.store.enable(next_id, rooms, always);
    }

    /// The server started; `now` is the start of its uptime.
    pub fn start(&mut self, now: Now) {
        self.counters.start(now);
    }

    /// What the reactor says to a connection it cannot take at all (out of
    /// descriptors), in this server's framing.
    pub fn refusal(&mut self, now: Now) -> Bytes {
        self.chat
            .refusal(self.config.framing, now, Refusal::ServerFull)
    }

    /// A connection came in: refused, asked for the password, or admitted.
    pub fn connected(&mut self, out: &mut dyn Outbox, id: ClientId, arrival: Arrival, now: Now) {
        let Arrival { peer, protocol } = arrival;
        if self.chat.is_shutting_down() {
            return out.close(id);
        }
        let clients = self.chat.members().len();
        let refusal = self
            .admission
            .refusal(&self.config, clients, peer, now.timestamp());
        if let Some(refusal) = refusal {
            return self.refuse(out, id, arrival, refusal, now);
        }
        self.admission.arrived(peer.ip());
        self.wires.open(id, protocol, self.config.max_line_bytes);
        if protocol.registers() {
            // Its password, if any, comes with its registration (`PASS`).
            return self.irc.open(id, arrival, now.timestamp());
        }
        if self.config.password.is_none() {
            return self.admit(out, id, arrival, now);
        }
        self.admission.await_password(id, arrival, now.timestamp());
        if protocol.hears_notices() {
            let text = "password required: send /pass PASSWORD";
            self.chat
                .tell_connection(out, id, protocol, now, Notice::Info { text });
        }
    }

    /// Turns a connection away for `refusal`, and logs it.
    fn refuse(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        arrival: Arrival,
        refusal: Refusal<'_>,
        now: Now,
    ) {
        let Arrival { peer, protocol } = arrival;
        self.chat
            .refuse_connection(out, id, protocol, refusal.clone(), now);
        out.close(id);
        // One event each (the issue of a log that must show every
        // refusal outweighs a storm's lines, which cost a write apiece).
        let refused = self.counters.refused(&refusal);
        out.console(&format!(
            "refused {peer}: {refusal} ({refused} refusals so far)"
        ));
    }

    /// A client is in: a guest nick, the default room, a welcome, history.
    fn admit(&mut self, out: &mut dyn Outbox, id: ClientId, arrival: Arrival, now: Now) {
        let tag = self.node.guest_tag();
        self.admit_named(out, id, arrival, Named::Guest { tag: &tag }, now);
        if arrival.protocol.reads_history() {
            let count = self.config.history_lines;
            let ctx = &mut Ctx {
                out,
                config: &self.config,
                now,
            };
            self.store
                .send_history(&mut self.node, &mut self.chat, ctx, id, count);
        }
        // After the history request, whose read waits for what was handed before.
        self.node
            .announce(&self.chat, out, id, RoomEvent::Joined, "", now);
    }

    /// Bytes arrived from a connection: cut into messages by its decoder
    /// (`wire.rs`), each handled in turn, a login's first as its password.
    pub fn received(&mut self, out: &mut dyn Outbox, id: ClientId, data: &[u8], now: Now) {
        // Out while its messages are handled: one may end the connection.
        let Some(mut decoder) = self.wires.take(id) else {
            return;
        };
        decoder.decode(data, |frame| self.frame(out, id, frame, now));
        self.wires.put_back(id, decoder);
    }

    /// A login's first line: the password, or the end of the connection.
    fn login_line(&mut self, out: &mut dyn Outbox, id: ClientId, line: Frame<'_>, now: Now) {
        let login = self
            .admission
            .login_line(&self.config, id, line, now.timestamp());
        match login {
            Login::NotPending => {}
            // What came behind `/pass` in the same read follows as the
            // client's own lines.
            Login::Accepted { arrival } => self.admit(out, id, arrival, now),
            Login::Refused { peer, protocol } => {
                // The secret is never logged, right or wrong.
                self.counters.wrong_password();
                out.console(&format!("wrong password from {peer}"));
                let refusal = Refusal::WrongPassword;
                self.chat.refuse_connection(out, id, protocol, refusal, now);
                out.close(id);
            }
            Login::TurnedAway {
                peer,
                protocol,
                refusal,
            } => self.refuse(out, id, Arrival { peer, protocol }, refusal, now),
        }
    }

    /// The client ended its side of the connection (end of input). An
    /// unfinished last line still counts; what is queued for it is written,
    /// then it is closed.
    pub fn read_closed(&mut self, out: &mut dyn Outbox, id: ClientId, now: Now) {
        if self.admission.gone(id) {
            self.wires.close(id);
            return out.close(id);
        }
        if self.irc.is_registering(id) {
            self.irc_gone(id);
            self.wires.close(id);
            return out.close(id);
        }
        self.flush_delayed(out, id, now);
        let Some(mut decoder) = self.wires.take(id) else {
            return;
        };
        decoder.finish(|frame| self.frame(out, id, frame, now));
        self.wires.close(id);
        if self.chat.members().client(id).is_some() {
            self.remove(out, id, "quit", now);
            out.close(id);
        }
    }

    /// The connection is gone, for `why`.
    pub fn disconnected(&mut self, out: &mut dyn Outbox, id: ClientId, why: Gone, now: Now) {
        self.admission.gone(id);
        self.wires.close(id);
        if self.irc.is_registering(id) {
            return self.irc_gone(id);
        }
        if self.chat.members().client(id).is_some() {
            self.remove(out, id, &why.reason(), now);
        }
    }

    /// Stop: every client is told, and closed once its queue is written.
    pub fn shutdown(&mut self, out: &mut dyn Outbox, now: Now) {
        self.chat.goodbye(out, now);
        out.console("shutting down");
        out.shutdown();
    }

    /// Time passes: delayed lines are released as tokens come back, the
    /// cluster's schedule is kept, and once a second timeouts are enforced.
    /// The server calls this a few times a second.
    pub fn tick(&mut self, out: &mut dyn Outbox, now: Now) {
        self.release_delayed(out, now);
        self.node.tick(&mut self.chat, &self.config, out, now);
        let config = &self.config;
        let ctx = &mut Ctx { out, config, now };
        self.store.tick(&mut self.chat, ctx);
        if self.sweep.due(now.timestamp()) {
            self.sweep_timeouts(out, now);
        }
    }

    /// Something happened in the cluster.
    pub fn cluster_event(&mut self, out: &mut dyn Outbox, event: ClusterEvent, now: Now) {
        let Some(event) = self.mail_if_nobody_took(out, event, now) else {
            return;
        };
        let (chat, admission) = (&mut self.chat, &mut self.admission);
        let expel = self
            .node
            .event(chat, admission, &self.config, out, event, now);
        self.expel_all(out, expel, now);
    }

    /// The history store answered or reported.
    pub fn store_event(&mut self, out: &mut dyn Outbox, event: StoreEvent, now: Now) {
        let config = &self.config;
        let ctx = &mut Ctx { out, config, now };
        self.store.event(&mut self.chat, ctx, event);
    }

    fn frame(&mut self, out: &mut dyn Outbox, id: ClientId, frame: Frame<'_>, now: Now) {
        if self.admission.is_pending(id) {
            return self.login_line(out, id, frame, now);
        }
        if self.irc.is_registering(id) {
            return self.irc_registering(out, id, frame, now);
        }
        if self.chat.members().client(id).is_none() {
            return; // it quit earlier in the same read
        }
        match frame {
            Frame::Line(line) => self.flood_gate(out, id, line, now),
            Frame::TooLong => self.too_long(out, id, now),
        }
    }

    fn too_long(&mut self, out: &mut dyn Outbox, id: ClientId, now: Now) {
        let max = self.config.max_line_bytes;
        self.chat.refuse(out, id, Refusal::LineTooLong { max }, now);
    }

    /// Removes a client from everything that knows it.
    fn remove(&mut self, out: &mut dyn Outbox, id: ClientId, why: &str, now: Now) {
        self.operators.forget(id);
        self.accounts.forget(id);
        self.irc.forget(id);
        self.store.departed(id);
        let rooms = self.chat.members().room_names_of(id);
        if let Some(client) = self.chat.remove(&self.config, out, id, why, now) {
            self.counters.left(why);
            self.console.forget(id);
            self.admission.left(client.peer.ip());
            self.node.left(out, id, &client.nick, &rooms, why, now);
        }
    }

    /// Removes `id` with a last word to it, and closes it.
    fn expel(&mut self, out: &mut dyn Outbox, id: ClientId, notice: &str, why: &str, now: Now) {
        let last_word = Body::Notice(Notice::Closing { text: notice });
        self.chat.send(out, id, &last_word, now);
        // Even while its history is awaited: what is held goes out first.
        self.chat.release(out, id);
        self.remove(out, id, why, now);
        out.close(id);
    }

    fn expel_all(&mut self, out: &mut dyn Outbox, expel: Vec<Expel>, now: Now) {
        for Expel { id, notice, why } in expel {
            self.expel(out, id, &notice, &why, now);
        }
    }

    /// One message from a client (a line, or a raw chunk), not yet
    /// sanitized: through the flood gate first.
    fn flood_gate(&mut self, out: &mut dyn Outbox, id: ClientId, line: &[u8], now: Now) {
        let Some(client) = self.chat.members_mut().client_mut(id) else {
            return;
        };
        client.last_active = now.timestamp();
        client.spoke = true;
        let now_ms = now.timestamp_millis();
        match client
            .flood
            .gate(&self.config, &mut self.flooding, id, line, now_ms)
        {
            Gate::Pass => self.process_line(out, id, line, now),
            Gate::Delayed => {}
            Gate::Warn => self.chat.refuse(out, id, Refusal::SendingTooFast, now),
            Gate::Disconnect => {
                self.counters.flooder();
                self.chat.refuse(out, id, Refusal::Flooding, now);
                self.remove(out, id, "flooding", now);
                out.close(id);
            }
        }
    }

    fn release_delayed(&mut self, out: &mut dyn Outbox, now: Now) {
        for id in self.flooding.take() {
            while let Some(client) = self.chat.members_mut().client_mut(id) {
                match client.flood.release(&self.config, now.timestamp_millis()) {
                    Release::Line(line) => self.process_line(out, id, &line, now),
                    Release::Later => {
                        self.flooding.still(id);
                        break;
                    }
                    Release::Done => break,
                }
            }
        }
    }

    /// A client is leaving: its delayed lines are said now, so nothing it
    /// sent is lost.
    fn flush_delayed(&mut self, out: &mut dyn Outbox, id: ClientId, now: Now) {
        while let Some(line) = self
            .chat
            .members_mut()
            .client_mut(id)
            .and_then(|client| client.flood.take_delayed())
        {
            self.process_line(out, id, &line, now);
        }
    }

    /// One message that passed the flood gate.
    fn process_line(&mut self, out: &mut dyn Outbox, id: ClientId, line: &[u8], now: Now) {
        self.counters.message();
        if self.speaks_irc(id) {
            return self.irc_line(out, id, line, now);
        }
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        sanitize_text(line, &mut text);
        match parse_command(&text) {
            Ok(command) => self.command(out, id, command, now),
            Err(error) => self.chat.refuse(out, id, Refusal::Command(error), now),
        }
        self.scratch = text;
    }

    /// Where each client command is handled.
    fn command(&mut self, out: &mut dyn Outbox, id: ClientId, command: Command<'_>, now: Now) {
        let (chat, node, config) = (&mut self.chat, &mut self.node, &self.config);
        let (console, store) = (&mut self.console, &mut self.store);
        if command.is_about_current_room()
            && command != Command::Say("")
            && chat.members().current_room(id).is_none()
        {
            return chat.refuse(out, id, Refusal::InNoRoom, now);
        }
        match command {
            // A line that was nothing but control characters says nothing.
            Command::Say("") => {}
            Command::Say(_) | Command::Me(_) | Command::SayIn { .. } => {
                let Some(saying) = chat.saying(out, id, &command, now) else {
                    return;
                };
                let line_id = store.line_id();
                let said = &mut Ctx { out, config, now };
                match store.append(chat, said, id, line_id, &saying) {
                    Appended::RelayNow => {
                        chat.relay(&mut Ctx { out, config, now }, id, &saying, line_id);
                        node.publish(chat, out, id, &saying, now);
                    }
                    Appended::Held => {} // out once committed
                    Appended::Refused => return chat.refuse(out, id, Refusal::StoreBusy, now),
                }
                console.on_room_line(chat, config, out, id);
            }
            Command::Nick(nick) => self.change_nick(out, id, nick, now),
            Command::Join(room) => self.join(out, id, room, now),
            Command::Part(room) => {
                if let Some(room) = chat.part(config, out, id, room, now) {
                    node.parted(chat, out, id, &room, now);
                }
            }
            Command::Msg { to, text } => self.private(out, id, to, text, now),
            Command::Who => {
                if !node.who(chat, out, id, now)
                    && let Some(room) = chat.members().current_room(id)
                {
                    let room = chat.members().room(room).name.clone();
                    chat.who_reply(out, id, &room, Vec::new(), now);
                }
            }
            Command::Rooms => {
                if !node.rooms(chat, out, id, now) {
                    chat.rooms_reply(out, id, Vec::new(), now);
                }
            }
            Command::History(_)
            | Command::HistorySince(_)
            | Command::HistoryOf { .. }
            | Command::Search(_)
            | Command::Cap(_) => {
                let ctx = &mut Ctx { out, config, now };
                store.command(node, chat, ctx, id, command);
            }
            Command::Help => {
                for (usage, what) in Command::HELP {
                    chat.info(out, id, &format!("{usage:16} {what}"), now);
                }
            }
            Command::Pass(_) => chat.refuse(out, id, Refusal::AlreadyLoggedIn, now),
            Command::Register(_)
            | Command::Login { .. }
            | Command::Logout
            | Command::Password { .. }
            | Command::Token
            | Command::Resume { .. }
            | Command::Account(_) => self.account_command(out, id, command, now),
            Command::Read(target) => self.mark_read(out, id, target, now),
            Command::Webhook(args) => {
                if self.operators.name_of(id).is_none() {
                    return chat.refuse(out, id, Refusal::OperatorsOnly, now);
                }
                let answer = out.webhook(args);
                let answer = answer
                    .as_deref()
                    .unwrap_or("this server serves no webhooks");
                answer
                    .lines()
                    .for_each(|line| chat.info(out, id, line, now));
            }
            Command::HistoryWith { nick, count } => self.private_history(out, id, nick, count, now),
            Command::Oper { name, password } => self.oper(out, id, name, password, now),
            Command::Topic(None) => chat.show_topic(out, id, now),
            Command::Kick { .. }
            | Command::Ban { .. }
            | Command::Unban(_)
            | Command::Bans
            | Command::Motd(_)
            | Command::Topic(Some(_)) => {
                let Some(by) = self.operators.name_of(id).map(str::to_owned) else {
                    return chat.refuse(out, id, Refusal::OperatorsOnly, now);
                };
                match self.operator_command(out, Some(id), &by, &command, now) {
                    Ok(lines) => lines
                        .iter()
                        .for_each(|line| self.chat.info(out, id, line, now)),
                    Err(e) => self.chat.refuse(out, id, Refusal::Other(&e), now),
                }
            }
            Command::Quit(reason) => {
                let why = reason.map_or_else(|| "quit".to_owned(), |r| format!("quit: {r}"));
                self.expel(out, id, "Goodbye!", &why, now);
            }
        }
    }

    /// `/nick NAME`: checked here (an account's nick is its own), then in a
    /// cluster claimed before it is taken.
    fn change_nick(&mut self, out: &mut dyn Outbox, id: ClientId, nick: &str, now: Now) {
        let (chat, node, config) = (&mut self.chat, &mut self.node, &self.config);
        if let Some(account) = self.accounts.account_of(id) {
            // A logged-in client's nick is its account's, on every device.
            return chat.refuse(out, id, Refusal::LoggedInAs { account }, now);
        }
        if !self.accounts.may_use_nick(&config.accounts, id, nick) {
            return chat.refuse(out, id, Refusal::NickRegistered { nick }, now);
        }
        match chat.check_nick(config, out, id, nick, now) {
            NickChange::Refused => {}
            NickChange::New if node.is_on() => {
                if !node.claim_nick(chat, out, id, nick) {
                    chat.refuse(out, id, Refusal::ClusterBusy, now);
                }
            }
            NickChange::New | NickChange::Recase => {
                if let Some(old) = chat.rename(config, out, id, nick, now) {
                    node.renamed(chat, out, id, &old, now);
                }
            }
        }
    }

    /// `/oper NAME PASSWORD`: the check runs off the reactor's thread and
    /// is answered in [`Hub::operator_checked`].
    fn oper(&mut self, out: &mut dyn Outbox, id: ClientId, name: &str, password: &str, now: Now) {
        let (chat, admission) = (&mut self.chat, &mut self.admission);
        let operators = &self.config.operators;
        let login = (name, password);
        let ctx = &mut Ctx {
            out,
            config: &self.config,
            now,
        };
        self.operators
            .start(operators, chat, admission, ctx, id, login);
    }

    /// The verdict on client `id`'s `/oper` (from whoever ran
    /// [`crate::OperatorCheck::verdict`]). An answer for a client that left,
    /// or for an older check, changes nothing.
    pub fn operator_checked(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        verdict: OperatorVerdict,
        now: Now,
    ) {
        let (chat, admission) = (&mut self.chat, &mut self.admission);
        self.operators
            .checked(chat, admission, out, id, verdict, now);
    }

    /// Logins that took too long, and clients idle (or, on a full server,
    /// silent) too long, are closed.
    fn sweep_timeouts(&mut self, out: &mut dyn Outbox, now: Now) {
        let second = now.timestamp();
        let timeout = self.config.handshake_timeout;
        for (id, protocol) in self.admission.expired_logins(second, timeout) {
            let refusal = Refusal::LoginTimedOut;
            self.chat.refuse_connection(out, id, protocol, refusal, now);
            self.admission.gone(id);
            out.close(id);
        }
        self.irc_sweep(out, now);
        let members = self.chat.members();
        let full = self.admission.is_full(&self.config, members.len());
        for (id, why) in timeouts::expired(members.clients(), &self.config, full, second) {
            self.expel(out, id, &format!("closing: {why}"), why, now);
        }
    }

    /// One line typed by the operator.
    pub fn console_line(&mut self, out: &mut dyn Outbox, line: &str, now: Now) {
        let mut text = String::new();
        sanitize_text(line.as_bytes(), &mut text);
        let config = &self.config;
        match console::parse(text.trim()) {
            ConsoleCommand::Reply("") => {}
            ConsoleCommand::Reply(text) => {
                let chat = &mut self.chat;
                self.console.reply(chat, config, out, text, now);
            }
            ConsoleCommand::To { nick, text } => {
                let chat = &mut self.chat;
                self.console.reply_to(chat, config, out, nick, text, now);
            }
            ConsoleCommand::All(text) => console::to_all(&mut self.chat, config, out, text, now),
            ConsoleCommand::Who => console::who(&self.chat, out),
            ConsoleCommand::Operator(Command::Account(command)) => {
                self.console_account(out, command, now);
            }
            ConsoleCommand::Operator(command) => {
                let by = self.config.operator_name.clone();
                match self.operator_command(out, None, &by, &command, now) {
                    Ok(lines) => lines.iter().for_each(|line| out.console(line)),
                    Err(e) => out.console(&e),
                }
            }
            ConsoleCommand::Stats => self.console_stats(out, now),
            ConsoleCommand::Quit => self.shutdown(out, now),
            ConsoleCommand::Help => console::HELP.iter().for_each(|line| out.console(line)),
            ConsoleCommand::Answer(text) => out.console(&text),
        }
    }

    fn console_stats(&self, out: &mut dyn Outbox, now: Now) {
        let gauges = stats::Gauges {
            clients: self.client_count(),
            rooms: self.room_count(),
            io: out.io_totals(),
            uptime: self.counters.uptime(now),
            history: (
                self.chat.members().rooms().history_bytes(),
                self.config.history_memory_bytes,
            ),
        };
        out.console(&stats::line(&self.stats(), &gauges));
        let lines = [self.node.stats_line(), self.store.stats_line()];
        lines.iter().flatten().for_each(|line| out.console(line));
    }
}
