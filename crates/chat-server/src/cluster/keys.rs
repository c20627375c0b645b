//! Every Redis key and pub/sub channel of the cluster, named once.
//!
//! All live under `chat:`. Nodes of different builds share them, so a value
//! here is part of the cluster's wire format: the tests below pin each one.
//! Nicks and rooms are keyed by their case-folded form (`nick_key`,
//! `room_key`), as the hub compares them.

use chat_proto::{nick_key, room_key};

/// Pub/sub channel: every room line and room notice of the cluster, one
/// publication per batch of one node: the batch's stream entries, each with
/// its id, `[{"id":"MS-SEQ","lines":[LINE,…]},…]` (`entries.rs`; a line is
/// JSON: node, room, nick, text, action or notice, time in ms and UTC
/// offset, the node's sequence number: `wire.rs`). One channel for all
/// rooms; each node drops the lines of rooms it has nobody in.
pub(super) const ROOMS: &str = "chat:rooms";

/// Sorted set, node → the end of its lease in ms since the epoch: the live
/// nodes.
pub(super) const NODES: &str = "chat:nodes";

/// Sorted set, `NET BY` → the end of the ban in Unix seconds: the bans in
/// force in the cluster (`NET` an address range like `10.0.0.1/32`, `BY`
/// the operator's name; `wire.rs` reads and writes the members). Entries
/// that ended are removed at each ban.
pub(super) const BANS: &str = "chat:bans";

/// Pub/sub channel: every ban and unban as it is made, as JSON (`wire.rs`),
/// so live nodes apply it at once; a node that connects reads [`BANS`].
pub(super) const BAN_NOTICES: &str = "chat:ban-notices";

/// Pub/sub channel: private messages and kicks for the nicks `node` holds.
pub(super) fn node(node: &str) -> String {
    format!("chat:node:{node}")
}

/// String, with a lease (`EX lease`): the node holding `nick` (the key is
/// lowercase; the value is the node's name).
pub(super) fn nick(nick: &str) -> String {
    format!("chat:nick:{}", nick_key(nick))
}

/// Hash nick → room, `EXPIRE lease`: `node`'s members, for `/who` and
/// `/rooms` on the other nodes.
pub(super) fn members(node: &str) -> String {
    format!("chat:members:{node}")
}

/// Stream: the history of `room`, one entry per batch of one node that
/// said something there, its `lines` field the room's lines (and notices)
/// of that batch as a JSON array, in order (`entries.rs`): one `XADD` per
/// room and batch rather than per line, Redis's work per line being most
/// of what a cross-node line cost. A line is known by the entry's id and
/// its place in the entry. Entries of earlier builds hold one line, in a
/// `line` field. The source of truth for what was said: nodes read it back
/// after missing lines.
///
/// Trimmed by `XADD MAXLEN ~ keep`, `keep` being four times
/// `history_lines` but at least 1000 *entries* (each of at least one
/// line), so that nodes cut off can read back what they missed; then
/// `XTRIM MINID ~ now - history_retention` and `EXPIRE history_retention`:
/// an abandoned room's stream expires.
pub(super) fn history(room: &str) -> String {
    format!("chat:history:{}", room_key(room))
}

/// String, `EX` a day: the sequence number of the last room line `node`
/// wrote (`scripts::WRITE_LINES`), so a batch sent twice is written once.
pub(super) fn written(node: &str) -> String {
    format!("chat:written:{node}")
}

/// Set of the accounts' keys (lower-case names): every account of the
/// cluster.
pub(crate) const ACCOUNTS: &str = "chat:accounts";

/// Hash `name`, `password_hash` (argon2, PHC form), `locked` (0 or 1),
/// `created_ms`: one account.
pub(crate) fn account(name: &str) -> String {
    format!("chat:account:{}", nick_key(name))
}

/// List of JSON messages (`from`, `text`, `ms`, `offset`) waiting for an
/// account to log in, oldest first.
pub(crate) fn mail(account: &str) -> String {
    format!("chat:mail:{}", nick_key(account))
}

/// Hash room key (or conversation key) → the line id an account read
/// through.
pub(crate) fn markers(account: &str) -> String {
    format!("chat:markers:{}", nick_key(account))
}

/// String, `EX` a day: the sequence number of the last room line of
/// `node` that a replica acknowledged having (`acks.rs`).
pub(super) fn acked(node: &str) -> String {
    format!("chat:acked:{node}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_are_the_wire_format() {
        assert_eq!(ROOMS, "chat:rooms");
        assert_eq!(NODES, "chat:nodes");
        assert_eq!(BANS, "chat:bans");
        assert_eq!(BAN_NOTICES, "chat:ban-notices");
        assert_eq!(node("host:21263"), "chat:node:host:21263");
        assert_eq!(nick("Alice"), "chat:nick:alice");
        assert_eq!(members("a"), "chat:members:a");
        assert_eq!(written("a"), "chat:written:a");
        assert_eq!(acked("a"), "chat:acked:a");
        assert_eq!(history("#Dev"), "chat:history:dev");
        assert_eq!(ACCOUNTS, "chat:accounts");
        assert_eq!(account("Alice"), "chat:account:alice");
        assert_eq!(mail("Alice"), "chat:mail:alice");
        assert_eq!(markers("Alice"), "chat:markers:alice");
    }
}
