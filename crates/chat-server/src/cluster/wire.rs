//! What crosses Redis as JSON: a room line or a room notice as the
//! previous build wrote them (read still: `entries.rs`; this build packs
//! them, `packed.rs`), a private message and a kick (published on the recipient
//! node's channel), a ban or an unban (published on
//! [`keys::BAN_NOTICES`](super::keys::BAN_NOTICES)); and the members of
//! [`keys::BANS`](super::keys::BANS). Times travel as milliseconds and a
//! UTC offset, so every node stamps a line as it was said.

use std::borrow::Cow;

use chrono::{FixedOffset, TimeZone};
use serde::{Deserialize, Serialize};

use chat_hub::{ClusterEvent, IpNet, Now, RoomEvent, RoomLine};

/// A room line or notice as JSON: borrowed from its [`RoomLine`] when
/// written, owned when read.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(super) struct WireLine<'a> {
    /// The node it was said on.
    pub(super) node: Cow<'a, str>,
    room: Cow<'a, str>,
    nick: Cow<'a, str>,
    text: Cow<'a, str>,
    #[serde(default)]
    action: bool,
    /// Absent for a line said; what the notice is otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notice: Option<WireNotice>,
    ms: i64,
    offset: i32,
    /// The node's sequence number (0 from nodes that numbered none).
    #[serde(default, skip_serializing_if = "is_zero")]
    seq: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The room notices that cross nodes (`RoomEvent` but the lines said).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "lowercase")]
enum WireNotice {
    Joined,
    Left,
    Nick,
    Topic,
}

/// A private message on the wire.
#[derive(Serialize, Deserialize)]
pub(super) struct WirePrivate {
    from: String,
    to: String,
    text: String,
    ms: i64,
    offset: i32,
}

/// A kick for a nick the receiving node holds.
#[derive(Serialize, Deserialize)]
pub(super) struct WireKick {
    kick: String,
    by: String,
    #[serde(default)]
    reason: Option<String>,
}

/// A ban or an unban made on `node`.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub(super) enum WireSanction {
    Ban {
        node: String,
        net: String,
        /// Unix seconds.
        until: i64,
        by: String,
    },
    Unban {
        node: String,
        net: String,
    },
}

/// A ban as a member of [`keys::BANS`](super::keys::BANS): `NET BY` (an
/// operator's name has no spaces).
pub(super) fn ban_member(net: IpNet, by: &str) -> String {
    format!("{net} {by}")
}

/// The range and the operator of a member of
/// [`keys::BANS`](super::keys::BANS); `None` if it is not one.
pub(super) fn parse_ban_member(member: &str) -> Option<(IpNet, String)> {
    let (net, by) = member.split_once(' ')?;
    Some((parse_net(net)?, by.to_owned()))
}

fn parse_net(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>().ok().map(|net| net.trunc())
}

fn to_time(ms: i64, offset: i32) -> Option<Now> {
    FixedOffset::east_opt(offset)?
        .timestamp_millis_opt(ms)
        .single()
}

impl WireLine<'_> {
    /// As the previous build wrote a line (this one packs them: `packed.rs`).
    #[cfg(test)]
    pub(super) fn from_line(line: &RoomLine) -> WireLine<'_> {
        let notice = match line.kind {
            RoomEvent::Message | RoomEvent::Action => None,
            RoomEvent::Joined => Some(WireNotice::Joined),
            RoomEvent::Left => Some(WireNotice::Left),
            RoomEvent::Nick => Some(WireNotice::Nick),
            RoomEvent::Topic => Some(WireNotice::Topic),
        };
        WireLine {
            node: Cow::Borrowed(&line.origin),
            room: Cow::Borrowed(&line.room),
            nick: Cow::Borrowed(&line.nick),
            text: Cow::Borrowed(&line.text),
            action: line.kind == RoomEvent::Action,
            notice,
            ms: line.time.timestamp_millis(),
            offset: line.time.offset().local_minus_utc(),
            seq: line.seq,
        }
    }

    pub(super) fn into_line(self) -> Option<RoomLine> {
        let kind = match (self.notice, self.action) {
            (None, false) => RoomEvent::Message,
            (None, true) => RoomEvent::Action,
            (Some(WireNotice::Joined), _) => RoomEvent::Joined,
            (Some(WireNotice::Left), _) => RoomEvent::Left,
            (Some(WireNotice::Nick), _) => RoomEvent::Nick,
            (Some(WireNotice::Topic), _) => RoomEvent::Topic,
        };
        Some(RoomLine {
            time: to_time(self.ms, self.offset)?,
            origin: self.node.into_owned(),
            room: self.room.into_owned(),
            nick: self.nick.into_owned(),
            text: self.text.into_owned(),
            kind,
            seq: self.seq,
        })
    }
}

impl WirePrivate {
    pub(super) fn new(from: &str, to: &str, text: &str, time: Now) -> WirePrivate {
        WirePrivate {
            from: from.to_owned(),
            to: to.to_owned(),
            text: text.to_owned(),
            ms: time.timestamp_millis(),
            offset: time.offset().local_minus_utc(),
        }
    }

    /// The event for the node holding the recipient.
    pub(super) fn into_event(self) -> Option<ClusterEvent> {
        Some(ClusterEvent::Private {
            time: to_time(self.ms, self.offset)?,
            from: self.from,
            to: self.to,
            text: self.text,
        })
    }
}

impl WireKick {
    pub(super) fn new(nick: &str, by: &str, reason: Option<&str>) -> WireKick {
        WireKick {
            kick: nick.to_owned(),
            by: by.to_owned(),
            reason: reason.map(str::to_owned),
        }
    }

    pub(super) fn into_event(self) -> ClusterEvent {
        ClusterEvent::Kick {
            nick: self.kick,
            by: self.by,
            reason: self.reason,
        }
    }
}

impl WireSanction {
    pub(super) fn ban(node: &str, net: IpNet, until: i64, by: &str) -> WireSanction {
        WireSanction::Ban {
            node: node.to_owned(),
            net: net.to_string(),
            until,
            by: by.to_owned(),
        }
    }

    pub(super) fn unban(node: &str, net: IpNet) -> WireSanction {
        WireSanction::Unban {
            node: node.to_owned(),
            net: net.to_string(),
        }
    }

    /// The event for another node than `this_node` (which applied its own
    /// ban already); `None` for this node's, or a range that does not parse.
    pub(super) fn into_event(self, this_node: &str) -> Option<ClusterEvent> {
        match self {
            WireSanction::Ban { node, .. } | WireSanction::Unban { node, .. }
                if node == this_node =>
            {
                None
            }
            WireSanction::Ban { net, until, by, .. } => Some(ClusterEvent::Banned {
                net: parse_net(&net)?,
                until,
                by,
            }),
            WireSanction::Unban { net, .. } => Some(ClusterEvent::Unbanned {
                net: parse_net(&net)?,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_lines_keep_the_original_time_and_offset() {
        let time = chrono::DateTime::parse_from_rfc3339("2026-11-03T08:05:09.250+01:00")
            .unwrap_or_else(|e| panic!("{e}"));
        let line = RoomLine {
            origin: "a:1".into(),
            room: "lobby".into(),
            nick: "alice".into(),
            text: "hi \"there\"".into(),
            kind: RoomEvent::Action,
            time,
            seq: 17,
        };
        let json = serde_json::to_string(&WireLine::from_line(&line)).unwrap_or_default();
        let back = serde_json::from_str::<WireLine>(&json)
            .ok()
            .and_then(WireLine::into_line);
        assert_eq!(back, Some(line.clone()));

        // Notices cross too.
        for kind in [
            RoomEvent::Message,
            RoomEvent::Joined,
            RoomEvent::Left,
            RoomEvent::Nick,
            RoomEvent::Topic,
        ] {
            let notice = RoomLine {
                kind,
                ..line.clone()
            };
            let json = serde_json::to_string(&WireLine::from_line(&notice)).unwrap_or_default();
            let wire = serde_json::from_str::<WireLine>(&json).ok();
            assert_eq!(wire.and_then(WireLine::into_line), Some(notice));
        }
    }

    #[test]
    fn private_messages_keep_the_original_time_and_offset() {
        let time = chrono::DateTime::parse_from_rfc3339("2026-11-03T08:05:09.250-05:00")
            .unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_string(&WirePrivate::new("alice", "bob", "psst", time))
            .unwrap_or_default();
        let back = serde_json::from_str::<WirePrivate>(&json)
            .ok()
            .and_then(WirePrivate::into_event);
        let expected = ClusterEvent::Private {
            from: "alice".into(),
            to: "bob".into(),
            text: "psst".into(),
            time,
        };
        assert_eq!(back, Some(expected));
    }

    #[test]
    fn bans_and_kicks_cross_as_json_and_a_node_ignores_its_own() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_string(&WireSanction::ban("a", net, 1_900_000_000, "op"))
            .unwrap_or_default();
        assert_eq!(
            json,
            r#"{"op":"ban","node":"a","net":"10.0.0.0/8","until":1900000000,"by":"op"}"#
        );
        let heard = |json: &str, node| {
            serde_json::from_str::<WireSanction>(json)
                .ok()
                .and_then(|notice| notice.into_event(node))
        };
        assert_eq!(heard(&json, "a"), None);
        let banned = ClusterEvent::Banned {
            net,
            until: 1_900_000_000,
            by: "op".into(),
        };
        assert_eq!(heard(&json, "b"), Some(banned));
        let json = serde_json::to_string(&WireSanction::unban("a", net)).unwrap_or_default();
        assert_eq!(heard(&json, "b"), Some(ClusterEvent::Unbanned { net }));
        assert_eq!(
            heard(
                r#"{"op":"ban","node":"a","net":"nowhere","until":1,"by":"x"}"#,
                "b"
            ),
            None
        );

        assert_eq!(
            parse_ban_member(&ban_member(net, "op")),
            Some((net, "op".into()))
        );
        assert_eq!(parse_ban_member("10.0.0.0/8"), None);

        let json =
            serde_json::to_string(&WireKick::new("alice", "op", Some("spam"))).unwrap_or_default();
        // A kick is not a private message, nor the other way round.
        assert!(serde_json::from_str::<WirePrivate>(&json).is_err());
        let private = serde_json::to_string(&WirePrivate::new(
            "a",
            "b",
            "c",
            chrono::Local::now().fixed_offset(),
        ))
        .unwrap_or_default();
        assert!(serde_json::from_str::<WireKick>(&private).is_err());
        let kick = serde_json::from_str::<WireKick>(&json).map(WireKick::into_event);
        let expected = ClusterEvent::Kick {
            nick: "alice".into(),
            by: "op".into(),
            reason: Some("spam".into()),
        };
        assert_eq!(kick.ok(), Some(expected));
    }
}
