//! What crosses Redis as JSON: a room line (published on
//! [`keys::ROOMS`](super::keys::ROOMS) and kept in the room's history
//! stream) and a private message (published on the recipient node's
//! channel). Times travel as milliseconds and a UTC offset, so every node
//! stamps a line as it was said.

use chrono::{FixedOffset, TimeZone};
use serde::{Deserialize, Serialize};

use chat_hub::{ClusterEvent, Now, RoomLine};

/// A room line on the wire.
#[derive(Serialize, Deserialize)]
pub(super) struct WireLine {
    /// The node it was said on.
    pub(super) node: String,
    room: String,
    nick: String,
    text: String,
    #[serde(default)]
    action: bool,
    ms: i64,
    offset: i32,
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

fn to_time(ms: i64, offset: i32) -> Option<Now> {
    FixedOffset::east_opt(offset)?
        .timestamp_millis_opt(ms)
        .single()
}

impl WireLine {
    pub(super) fn from_line(line: &RoomLine) -> WireLine {
        WireLine {
            node: line.origin.clone(),
            room: line.room.clone(),
            nick: line.nick.clone(),
            text: line.text.clone(),
            action: line.action,
            ms: line.time.timestamp_millis(),
            offset: line.time.offset().local_minus_utc(),
        }
    }

    pub(super) fn into_line(self) -> Option<RoomLine> {
        Some(RoomLine {
            time: to_time(self.ms, self.offset)?,
            origin: self.node,
            room: self.room,
            nick: self.nick,
            text: self.text,
            action: self.action,
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
            action: true,
            time,
        };
        let json = serde_json::to_string(&WireLine::from_line(&line)).unwrap_or_default();
        let back = serde_json::from_str::<WireLine>(&json)
            .ok()
            .and_then(WireLine::into_line);
        assert_eq!(back, Some(line));
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
}
