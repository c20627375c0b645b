//! The operator's console: the tutorial's `reply to client:`, grown up.
//!
//! A plain line answers the client that spoke last; `/to`, `/all`, `/who`,
//! `/kick`, `/stats`, `/quit` and `/help` do the rest. Answers to the
//! operator go to [`Outbox::console`].

use chat_proto::{Body, Command, nick_key, parse_command, sanitize_text};

use super::{ClientId, Hub, Now, Outbox, Recipients};

/// `/who` on the console lists at most this many clients.
const MAX_LISTED: usize = 200;

const CONSOLE_HELP: &[&str] = &[
    "TEXT               reply to the client that spoke last",
    "/to NICK TEXT      reply to NICK",
    "/all TEXT          speak to every client",
    "/who               list the clients",
    "/kick NICK [WHY]   disconnect NICK",
    "/ban TARGET [DUR]  ban an address, range or nick (30s, 10m, 2h, 1d; default 1h)",
    "/unban TARGET      lift a ban",
    "/bans              list the bans",
    "/motd TEXT         set the message of the day",
    "/stats             show counters",
    "/quit              shut the server down",
];

impl Hub {
    /// One line typed by the operator.
    pub fn console_line(&mut self, out: &mut dyn Outbox, line: &str, now: Now) {
        let mut text = String::new();
        sanitize_text(line.as_bytes(), &mut text);
        let text = text.trim();
        let Some(command) = text.strip_prefix('/').filter(|c| !c.starts_with('/')) else {
            let text = text.strip_prefix('/').unwrap_or(text);
            return self.reply_to_last(out, text, now);
        };
        let (name, args) = command.split_once(' ').unwrap_or((command, ""));
        let args = args.trim();
        match name {
            "to" => match args.split_once(' ') {
                Some((nick, text)) => self.operator_to(out, nick, text.trim(), now),
                None => out.console("usage: /to NICK TEXT"),
            },
            "all" if !args.is_empty() => {
                let body = Body::Operator {
                    name: &self.config.operator_name,
                    text: args,
                };
                let everyone = self.clients.ids();
                self.stats.deliveries += self.encoder.send_many(
                    out,
                    &self.clients,
                    Recipients::all(&everyone),
                    now,
                    &body,
                );
                out.console(&format!("(to all {} clients) {args}", everyone.len()));
            }
            "all" => out.console("usage: /all TEXT"),
            "who" => self.console_who(out),
            "kick" | "ban" | "unban" | "bans" | "motd" => {
                let by = self.config.operator_name.clone();
                let result = match parse_command(text) {
                    Ok(command) => self.operator_command(out, &by, &command, now),
                    Err(e) => Some(Err(e.to_string())),
                };
                match result {
                    Some(Ok(lines)) => lines.iter().for_each(|line| out.console(line)),
                    Some(Err(e)) => out.console(&e),
                    None => {}
                }
            }
            "stats" => self.console_stats(out, now),
            "quit" => self.shutdown(out, now),
            "help" => CONSOLE_HELP.iter().for_each(|line| out.console(line)),
            _ => out.console(&format!("unknown console command /{name} (try /help)")),
        }
    }

    fn reply_to_last(&mut self, out: &mut dyn Outbox, text: &str, now: Now) {
        if text.is_empty() {
            return;
        }
        match self
            .last_speaker
            .and_then(|id| Some((id, self.clients.get(id)?.nick.clone())))
        {
            Some((id, nick)) => self.operator_says(out, id, &nick, text, now),
            None => out.console("nobody to reply to yet: use /to NICK TEXT or /all TEXT"),
        }
    }

    fn operator_to(&mut self, out: &mut dyn Outbox, nick: &str, text: &str, now: Now) {
        match self.nicks.get(&nick_key(nick)).copied() {
            Some(id) => self.operator_says(out, id, nick, text, now),
            None => out.console(&format!("no such nick: {nick}")),
        }
    }

    fn operator_says(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        nick: &str,
        text: &str,
        now: Now,
    ) {
        let body = Body::Operator {
            name: &self.config.operator_name,
            text,
        };
        self.encoder.send_one(out, &self.clients, id, now, &body);
        self.stats.deliveries += 1;
        out.console(&format!("(to {nick}) {text}"));
    }

    /// Disconnects `nick`, telling it and its room why. `by` is the operator.
    pub(crate) fn kick(
        &mut self,
        out: &mut dyn Outbox,
        by: &str,
        nick: &str,
        why: Option<&str>,
        now: Now,
    ) -> Result<Vec<String>, String> {
        let Some(&id) = self.nicks.get(&nick_key(nick)) else {
            return Err(format!("no such nick: {nick}"));
        };
        let (reason, text) = match why {
            None => ("kicked".to_owned(), format!("you were kicked by {by}")),
            Some(why) => (
                format!("kicked: {why}"),
                format!("you were kicked by {by} ({why})"),
            ),
        };
        self.info(out, id, &text, now);
        self.remove(out, id, &reason, now);
        out.close(id);
        Ok(vec![format!("kicked {nick}")])
    }

    /// The operator commands shared by the console and `/oper`ed clients.
    /// `None`: not one of them.
    pub(crate) fn operator_command(
        &mut self,
        out: &mut dyn Outbox,
        by: &str,
        command: &Command<'_>,
        now: Now,
    ) -> Option<Result<Vec<String>, String>> {
        Some(match *command {
            Command::Kick { nick, reason } => self.kick(out, by, nick, reason, now),
            Command::Ban { target, duration } => {
                self.ban(out, by, target, duration, now).map(|m| vec![m])
            }
            Command::Unban(target) => self.unban(target).map(|m| vec![m]),
            Command::Bans => Ok(self.ban_list(now)),
            Command::Motd(text) => {
                self.config.motd = text.to_owned();
                Ok(vec![format!("the message of the day is now: {text}")])
            }
            _ => return None,
        })
    }

    fn console_who(&self, out: &mut dyn Outbox) {
        out.console(&format!("{} clients:", self.clients.len()));
        for (_, client) in self.clients.iter().take(MAX_LISTED) {
            let room = &self.rooms.get(client.seat.room).name;
            out.console(&format!("  {} {} in {room}", client.nick, client.peer));
        }
        if self.clients.len() > MAX_LISTED {
            out.console(&format!(
                "  ... and {} more",
                self.clients.len() - MAX_LISTED
            ));
        }
    }

    fn console_stats(&self, out: &mut dyn Outbox, now: Now) {
        let (bytes_in, bytes_out) = out.io_totals();
        let stats = &self.stats;
        out.console(&format!(
            "clients {} rooms {} connections {} messages in {} deliveries {} bytes in {bytes_in} bytes out {bytes_out} uptime {}s",
            self.clients.len(),
            self.rooms.len(),
            stats.connections,
            stats.messages_in,
            stats.deliveries,
            self.uptime_seconds(now),
        ));
        if let Some(cluster) = &self.config.cluster {
            let status = match self.cluster_status.as_str() {
                "" => "cluster: connecting",
                status => status,
            };
            let link = if self.cluster_connected { "up" } else { "down" };
            out.console(&format!(
                "{status} [node {}, link {link}, {} cluster requests dropped (queue toward redis full)]",
                cluster.node, self.stats.cluster_dropped
            ));
        }
    }

    /// For tests: is `nick` somebody's?
    pub fn has_nick(&self, nick: &str) -> bool {
        self.nicks.contains_key(&nick_key(nick))
    }
}
