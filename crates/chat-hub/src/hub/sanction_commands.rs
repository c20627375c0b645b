//! What an operator's `/kick` and `/ban` do (from a client that did `/oper`
//! or from the console): find whom they cover, tell the cluster, close them.

use crate::bans::{self, DEFAULT_BAN_SECONDS};
use crate::sanctions;
use crate::{Hub, IpNet, Now, Outbox};

impl Hub {
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
