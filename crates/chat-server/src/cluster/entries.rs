//! A room's stream entry: the lines one node's batch said in that room,
//! written with one `XADD` ([`scripts::WRITE_LINES`](super::scripts::WRITE_LINES)).
//!
//! Why one entry per room per batch, not per line: Redis's share of the
//! hop was its work per line (an `XADD`, and the script splicing each
//! line's id into its JSON); an entry per batch makes that work per room
//! and batch, and under load a batch carries many lines.
//!
//! The entry's `lines` field is a JSON array of [`WireLine`]s, in the order
//! they were said. A line is known by its entry's id and its place in the
//! entry ([`LineId`]), so a read back can resume inside an entry. Entries
//! of one line in a `line` field (one [`WireLine`]), as earlier builds
//! wrote them, are read as entries of one line.
//!
//! The publication on [`keys::ROOMS`](super::keys::ROOMS) is the batch's
//! entries with their ids, `[{"id":"MS-SEQ","lines":[…]},…]`; the lines of
//! one entry are the entry's `lines` as written, byte for byte.

use serde::Deserialize;

use super::wire::WireLine;
use chat_hub::{LineId, RoomLine, StreamId};

/// The field of an entry holding its lines.
pub(super) const LINES_FIELD: &str = "lines";

/// The field of an entry of one line as earlier builds wrote them.
const LINE_FIELD: &str = "line";

/// The lines of one room in one batch, encoded as they are added: one
/// buffer per entry, nothing allocated per line.
pub(super) struct Entry {
    json: Vec<u8>,
}

impl Entry {
    pub(super) fn new() -> Entry {
        let mut json = Vec::with_capacity(256);
        json.push(b'[');
        Entry { json }
    }

    pub(super) fn push(&mut self, line: &RoomLine) {
        let start = self.json.len();
        if start > 1 {
            self.json.push(b',');
        }
        if serde_json::to_writer(&mut self.json, &WireLine::from_line(line)).is_err() {
            // Strings and numbers always serialise; should one not, the
            // entry stays valid without it.
            self.json.truncate(start);
        }
    }

    /// The entry's `lines` field.
    pub(super) fn finish(mut self) -> Vec<u8> {
        self.json.push(b']');
        self.json
    }
}

/// The lines of the entry `id` whose `lines` field is `json`, each with its
/// place; a line that does not parse keeps its place empty.
fn decode(id: StreamId, json: &str) -> Vec<(LineId, RoomLine)> {
    let lines = serde_json::from_str::<Vec<WireLine<'static>>>(json).unwrap_or_default();
    numbered(id, lines)
}

fn numbered(id: StreamId, lines: Vec<WireLine<'static>>) -> Vec<(LineId, RoomLine)> {
    (0u32..)
        .zip(lines)
        .filter_map(|(index, line)| Some((LineId::new(id, index), line.into_line()?)))
        .collect()
}

/// A stream entry as read back (`XRANGE`, `XREVRANGE`): its lines, oldest
/// first, each with its id; none if it is not an entry of lines.
pub(super) fn read(entry: &redis::streams::StreamId) -> Vec<(LineId, RoomLine)> {
    let Some(id) = StreamId::parse(&entry.id) else {
        return Vec::new();
    };
    if let Some(json) = entry.get::<String>(LINES_FIELD) {
        return decode(id, &json);
    }
    let one = entry.get::<String>(LINE_FIELD);
    let line = one.and_then(|json| serde_json::from_str::<WireLine<'static>>(&json).ok());
    numbered(id, line.into_iter().collect())
}

/// An entry as published.
#[derive(Deserialize)]
struct Published {
    id: String,
    lines: Vec<WireLine<'static>>,
}

/// The lines of a publication on [`keys::ROOMS`](super::keys::ROOMS) that
/// are not `node`'s, in the order their node said them (the publication
/// groups them by room; the node's sequence numbers give the order back),
/// each with its id. Empty if it is not a publication of lines.
pub(super) fn published(payload: &str, node: &str) -> Vec<(LineId, RoomLine)> {
    let entries = serde_json::from_str::<Vec<Published>>(payload).unwrap_or_default();
    let mut lines = Vec::new();
    for entry in entries {
        let Some(id) = StreamId::parse(&entry.id) else {
            continue;
        };
        let theirs = (0u32..).zip(entry.lines).filter(|(_, l)| l.node != node);
        lines.extend(theirs.filter_map(|(i, l)| Some((LineId::new(id, i), l.into_line()?))));
    }
    // Stable: lines of earlier builds (all numbered 0) keep their order.
    lines.sort_by_key(|(_, line)| line.seq);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::wire::OwnLines;
    use chat_hub::RoomEvent;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn line(room: &str, text: &str, kind: RoomEvent, seq: u64) -> RoomLine {
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

    fn encode<'a>(lines: impl IntoIterator<Item = &'a RoomLine>) -> String {
        let mut entry = Entry::new();
        for line in lines {
            entry.push(line);
        }
        String::from_utf8(entry.finish()).unwrap_or_default()
    }

    /// As `scripts::WRITE_LINES` publishes a batch's entries.
    fn publication(entries: &[(&str, &str)]) -> String {
        let entries: Vec<String> = entries
            .iter()
            .map(|(id, lines)| format!("{{\"id\":\"{id}\",\"lines\":{lines}}}"))
            .collect();
        format!("[{}]", entries.join(","))
    }

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    #[test]
    fn an_entry_holds_a_rooms_lines_of_a_batch_as_one_json_array() {
        let lines = [
            line("lobby", "hi \"all\"", RoomEvent::Message, 41),
            line("lobby", "waves", RoomEvent::Action, 42),
            line("lobby", "", RoomEvent::Joined, 43),
        ];
        let json = encode(&lines);
        insta::assert_snapshot!(json);
        let publication = publication(&[("1700000000000-7", &json)]);
        insta::assert_snapshot!("publication", publication);
    }

    #[test]
    fn a_publication_gives_each_line_its_entry_and_place_in_the_order_said() {
        let lobby = [
            line("lobby", "one", RoomEvent::Message, 1),
            line("lobby", "three", RoomEvent::Message, 3),
        ];
        let dev = [line("dev", "two", RoomEvent::Message, 2)];
        let payload = publication(&[("5-0", &encode(&lobby)), ("5-1", &encode(&dev))]);
        let heard = published(&payload, "b:1");
        let got: Vec<(LineId, &str)> = heard
            .iter()
            .map(|(id, line)| (*id, line.text.as_str()))
            .collect();
        let expected = [
            (LineId::new(id(5, 0), 0), "one"),
            (LineId::new(id(5, 1), 0), "two"),
            (LineId::new(id(5, 0), 1), "three"),
        ];
        assert_eq!(got, expected);
        assert!(published(&payload, "a:1").is_empty(), "a node's own");
        assert!(published("not json", "b:1").is_empty());

        let own = OwnLines::new("a:1");
        assert!(own.published(&payload));
        assert!(!OwnLines::new("a").published(&payload));
        assert!(!OwnLines::new("b:1").published(&payload));
        let longest = publication(&[("18446744073709551615-18446744073709551615", &encode(&dev))]);
        assert!(own.published(&longest));
        assert!(!own.published("") && !own.published("[]"));
    }

    #[test]
    fn the_script_writes_the_field_read_back() {
        let field = format!("'*', '{LINES_FIELD}', lines");
        assert!(crate::cluster::scripts::WRITE_LINES.contains(&field));
    }

    #[test]
    fn entries_of_one_line_from_earlier_builds_are_read() {
        let said = line("lobby", "old", RoomEvent::Message, 0);
        let json = serde_json::to_string(&WireLine::from_line(&said)).unwrap_or_default();
        let mut map = std::collections::HashMap::new();
        map.insert(LINE_FIELD.to_owned(), redis::Value::BulkString(json.into()));
        let entry = redis::streams::StreamId {
            id: "9-2".into(),
            map,
            ..redis::streams::StreamId::default()
        };
        assert_eq!(read(&entry), [(LineId::new(id(9, 2), 0), said)]);
    }

    fn kind() -> impl Strategy<Value = RoomEvent> {
        prop_oneof![
            Just(RoomEvent::Message),
            Just(RoomEvent::Action),
            Just(RoomEvent::Joined),
            Just(RoomEvent::Left),
            Just(RoomEvent::Nick),
            Just(RoomEvent::Topic),
        ]
    }

    proptest! {
        #[test]
        fn an_entry_decodes_to_the_lines_encoded(
            said in prop::collection::vec(
                (any::<String>(), any::<String>(), kind(), 0u64..1 << 53, -86_399i32..86_400,
                 -1i64 << 44..1 << 44),
                1..20,
            ),
            ms in any::<u64>(),
            seq in any::<u64>(),
        ) {
            let lines: Vec<RoomLine> = said
                .into_iter()
                .filter_map(|(nick, text, kind, seq, offset, ms)| {
                    let time = chrono::FixedOffset::east_opt(offset)?
                        .timestamp_millis_opt(ms)
                        .single()?;
                    Some(RoomLine { nick, text, kind, seq, time, ..line("lobby", "", kind, 0) })
                })
                .collect();
            let json = encode(&lines);
            let back = decode(id(ms, seq), &json);
            let expected: Vec<(LineId, RoomLine)> = (0u32..)
                .zip(lines)
                .map(|(index, line)| (LineId::new(id(ms, seq), index), line))
                .collect();
            prop_assert_eq!(back, expected);
        }
    }
}
