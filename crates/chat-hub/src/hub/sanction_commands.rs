//! What an operator's commands do (from a client that did `/oper` or from
//! the console): `/kick` and `/ban` find whom they cover, tell the cluster
//! and close them; `/unban`, `/bans`, `/motd` and `/topic TEXT`.

use chat_proto::Command;

use crate::bans::{self, DEFAULT_BAN_SECONDS};
use crate::sanctions;
use crate::{ClientId, Hub, IpNet, Now, Outbox, RoomEvent};

impl Hub {
    /// The operator commands, shared by the console (`asker` `None`) and
    /// `/oper`ed clients. `by` is the operator's name.
    pub(super) fn operator_command(
        &mut self,
        out: &mut dyn Outbox,
        asker: Option<ClientId>,
        by: &str,
        command: &Command<'_>,
        now: Now,
    ) -> Result<Vec<String>, String> {
        let answer = match *command {
            Command::Kick { nick, reason } => match self.kick(out, by, nick, reason, now) {
                // Held by another node: it answers (`ClusterEvent::KickSent`).
                Err(_) if self.node.kick(out, asker, nick, by, reason) => return Ok(Vec::new()),
                answer => answer?,
            },
            Command::Ban { target, duration } => self.ban(out, by, target, duration, now)?,
            Command::Unban(target) => {
                let net = self.target_range(target)?;
                if !self.admission.bans.remove(net) {
                    return Err(format!("{net} is not banned"));
                }
                self.node.unban(out, net);
                format!("unbanned {net}")
            }
            Command::Bans => return Ok(self.admission.bans.list(now.timestamp())),
            Command::Motd(text) => {
                self.config.motd = text.to_owned();
                format!("the message of the day is now: {text}")
            }
            Command::Topic(Some(text)) => {
                if let Some(id) = asker {
                    self.chat.set_topic(&self.config, out, id, text, now);
                    self.node
                        .announce(&self.chat, out, id, RoomEvent::Topic, text, now);
                }
                return Ok(Vec::new());
            }
            _ => return Ok(Vec::new()),
        };
        Ok(vec![answer])
    }

    /// Disconnects `nick`, telling it and its room why.
    pub(super) fn kick(
        &mut self,
        out: &mut dyn Outbox,
        by: &str,
        nick: &str,
        why: Option<&str>,
        now: Now,
    ) -> Result<String, String> {
        let Some(id) = self.chat.members().owner(nick) else {
            return Err(format!("no such nick: {nick}"));
        };
        let (text, reason) = sanctions::kick_words(by, why);
        self.expel(out, id, &text, &reason, now);
        Ok(format!("kicked {nick}"))
    }

    /// Bans `target` (an address, a range or a nick's address) and closes
    /// every client it covers.
    pub(super) fn ban(
        &mut self,
        out: &mut dyn Outbox,
        by: &str,
        target: &str,
        duration: Option<&str>,
        now: Now,
    ) -> Result<String, String> {
        let seconds = duration.map_or(Ok(DEFAULT_BAN_SECONDS), bans::parse_duration)?;
        let net = self.target_range(target)?;
        let waiting = self.admission.ban(net, now.timestamp(), seconds, by)?;
        // Counted already: the ban was added.
        let until = now.timestamp().saturating_add(seconds);
        self.node.ban(out, net, until, by);
        let covered = sanctions::covered(&self.chat, net, by);
        sanctions::close_logins(&mut self.chat, out, &waiting, now);
        let message = format!(
            "banned {net} for {seconds}s ({} disconnected)",
            covered.len() + waiting.len()
        );
        self.expel_all(out, covered, now);
        out.console(&format!("{by}: {message}"));
        Ok(message)
    }

    /// An address, a CIDR range, or a connected nick's address.
    pub(super) fn target_range(&self, target: &str) -> Result<IpNet, String> {
        let members = self.chat.members();
        bans::target_range(target, |nick| {
            let client = members.owner(nick).and_then(|id| members.client(id));
            client.map(|client| client.peer.ip())
        })
    }
}
