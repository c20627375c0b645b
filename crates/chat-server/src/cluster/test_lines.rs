//! Room lines for the cluster's tests: alice on node `a:1`, at one fixed
//! time, in whatever room, kind and sequence a test needs.

use chat_hub::{RoomEvent, RoomLine};

pub(super) fn room_line(room: &str, text: &str, kind: RoomEvent, seq: u64) -> RoomLine {
    let time = chrono::DateTime::parse_from_rfc3339("2026-11-03T08:05:09.250+01:00")
        .unwrap_or_else(|e| panic!("{e}"));
    RoomLine {
        origin: "a:1".into(),
        room: room.into(),
        nick: "alice".into(),
        text: text.into(),
        kind,
        time,
        seq,
    }
}
