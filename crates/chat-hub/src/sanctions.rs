//! Bans and kicks across a cluster: the words a sanctioned client and its
//! room are told, and what a ban, an unban or a kick made on another node
//! does here.
//!
//! A ban made on any node is kept in Redis with its end and told to every
//! node, which adds it to its own [`Bans`] and expels the clients it
//! covers; a node that connects loads the bans in force the same way. A
//! `/kick` of a nick held by another node is carried to that node. The hub
//! expels; this module only says whom and with which words.

use chat_proto::Refusal;

use crate::admission::Admission;
use crate::bans::Bans;
use crate::chat::Chat;
use crate::{ClientId, ClusterEvent, IpNet, Now, Outbox, Protocol};

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

/// Closes the connections still logging in that a ban covers.
pub(crate) fn close_logins(
    chat: &mut Chat,
    out: &mut dyn Outbox,
    logins: &[(ClientId, Protocol)],
    now: Now,
) {
    for &(login, protocol) in logins {
        chat.refuse_connection(out, login, protocol, Refusal::Banned, now);
        out.close(login);
    }
}

/// A ban, an unban or a kick made on another node (any other event: none
/// of this module's, nothing happens): applied to `admission`'s bans (the
/// logins it covers closed), told on the console when it is news; returns
/// whom to expel.
pub(crate) fn from_afar(
    chat: &mut Chat,
    admission: &mut Admission,
    out: &mut dyn Outbox,
    event: ClusterEvent,
    now: Now,
) -> Vec<Expel> {
    let second = now.timestamp();
    match event {
        ClusterEvent::Banned { net, until, by } => {
            let known = admission.bans.until(net).is_some_and(|held| held >= until);
            if known || until <= second {
                return Vec::new(); // loaded again, say, or over already
            }
            admission.bans.remove(net);
            let Ok(logins) = admission.ban(net, second, until - second, &by) else {
                return Vec::new();
            };
            close_logins(chat, out, &logins, now);
            let expel = covered(chat, net, &by);
            out.console(&format!(
                "cluster: {by} banned {net} ({} disconnected here)",
                expel.len() + logins.len()
            ));
            expel
        }
        ClusterEvent::Unbanned { net } => {
            if admission.bans.remove(net) {
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
