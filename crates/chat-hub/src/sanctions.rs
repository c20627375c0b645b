//! Bans and kicks across a cluster: the words a sanctioned client and its
//! room are told, and what a ban, an unban or a kick made on another node
//! does here.
//!
//! A ban made on any node is kept in Redis with its end and told to every
//! node, which adds it to its own [`Bans`] and expels the clients it
//! covers; a node that connects loads the bans in force the same way. A
//! `/kick` of a nick held by another node is carried to that node. The hub
//! expels; this module only says whom and with which words.

use crate::bans::Bans;
use crate::chat::Chat;
use crate::{ClientId, ClusterEvent, IpNet, Outbox};

/// A client to disconnect: the notice it gets, and the reason its room is
/// told.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Expel {
    pub(crate) id: ClientId,
    pub(crate) notice: String,
    pub(crate) why: String,
}

/// What a client kicked by `by` (for `why`) is told, and its room.
pub(crate) fn kick_words(by: &str, why: Option<&str>) -> (String, String) {
    match why {
        None => (format!("you were kicked by {by}"), "kicked".to_owned()),
        Some(why) => (
            format!("you were kicked by {by} ({why})"),
            format!("kicked: {why}"),
        ),
    }
}

/// What a client banned by `by` is told, and its room.
pub(crate) fn ban_words(by: &str) -> (String, String) {
    (
        format!("you were banned by {by}"),
        format!("banned by {by}"),
    )
}

/// The local clients a ban on `net` covers, with the words for them.
pub(crate) fn covered(chat: &Chat, net: IpNet, by: &str) -> Vec<Expel> {
    let (notice, why) = ban_words(by);
    let members = chat.members();
    members
        .at_addresses(|ip| Bans::range_covers(net, ip))
        .into_iter()
        .map(|id| Expel {
            id,
            notice: notice.clone(),
            why: why.clone(),
        })
        .collect()
}

/// A ban, an unban or a kick made on another node (any other event: none
/// of this module's, nothing happens): applied to `bans`, told on the
/// console when it is news; returns whom to expel.
pub(crate) fn from_afar(
    chat: &Chat,
    bans: &mut Bans,
    out: &mut dyn Outbox,
    event: ClusterEvent,
) -> Vec<Expel> {
    match event {
        ClusterEvent::Banned { net, until, by } => {
            if bans.until(net).is_some_and(|held| held >= until) {
                return Vec::new(); // known already (loaded again, say)
            }
            bans.remove(net);
            bans.add(net, until, &by);
            let expel = covered(chat, net, &by);
            out.console(&format!(
                "cluster: {by} banned {net} ({} disconnected here)",
                expel.len()
            ));
            expel
        }
        ClusterEvent::Unbanned { net } => {
            if bans.remove(net) {
                out.console(&format!("cluster: {net} unbanned"));
            }
            Vec::new()
        }
        ClusterEvent::Kick { nick, by, reason } => {
            let Some(id) = chat.members().owner(&nick) else {
                return Vec::new(); // gone meanwhile
            };
            out.console(&format!("cluster: {by} kicked {nick}"));
            let (notice, why) = kick_words(&by, reason.as_deref());
            vec![Expel { id, notice, why }]
        }
        _ => Vec::new(),
    }
}
