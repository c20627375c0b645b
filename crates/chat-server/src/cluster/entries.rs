//! A room's stream entry: the lines one node's batch said in that room,
//! written with one `XADD` ([`scripts::WRITE_LINES`](super::scripts::WRITE_LINES)),
//! and the publication of a batch's entries on
//! [`keys::ROOMS`](super::keys::ROOMS); here is which field or form is which,
//! and `packed.rs` is the format.
//!
//! A line is known by its entry's id and its place in the entry
//! ([`LineId`]), so a read back can resume inside an entry. Why one entry
//! per room per batch, and why packed: ARCHITECTURE.md, "One stream entry
//! per room per batch".
//!
//! This build writes an entry's lines in its `packed` field and publishes
//! the entries as `packed.rs` describes. It still reads what earlier builds
//! wrote, so their entries stay readable in the streams (history, catch-up)
//! and a node of the previous build may publish while the cluster is
//! upgraded: an entry's `lines` field, a JSON array of [`WireLine`]s; an
//! entry of one line in a `line` field (one [`WireLine`]); a publication
//! `[{"id":"MS-SEQ","lines":[…]},…]` (it starts with `[`, which a packed
//! publication, starting with an id, never does).

use serde::Deserialize;

use super::packed;
use super::wire::WireLine;
use chat_hub::{LineId, RoomLine, StreamId};

/// The field of an entry holding its lines, packed.
pub(super) const PACKED_FIELD: &str = "packed";

/// The field of an entry holding its lines as JSON, as the previous build
/// wrote them.
const LINES_FIELD: &str = "lines";

/// The field of an entry of one line as earlier builds wrote them.
const LINE_FIELD: &str = "line";

/// The lines of the entry `id` whose `lines` field is `json`, each with its
/// place; a line that does not parse keeps its place empty.
fn decode_json(id: StreamId, json: &[u8]) -> Vec<(LineId, RoomLine)> {
    let lines = serde_json::from_slice::<Vec<WireLine<'static>>>(json).unwrap_or_default();
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
    if let Some(bytes) = entry.get::<Vec<u8>>(PACKED_FIELD) {
        return packed::decode_entry(id, &bytes);
    }
    if let Some(json) = entry.get::<Vec<u8>>(LINES_FIELD) {
        return decode_json(id, &json);
    }
    let one = entry.get::<Vec<u8>>(LINE_FIELD);
    let line = one.and_then(|json| serde_json::from_slice::<WireLine<'static>>(&json).ok());
    numbered(id, line.into_iter().collect())
}

/// An entry as the previous build published it.
#[derive(Deserialize)]
struct PublishedJson {
    id: String,
    lines: Vec<WireLine<'static>>,
}

/// The lines of a publication on [`keys::ROOMS`](super::keys::ROOMS) that
/// are not `node`'s, in the order their node said them (the publication
/// groups them by room; the node's sequence numbers give the order back),
/// each with its id. Empty if it is not a publication of lines.
pub(super) fn published(payload: &[u8], node: &str) -> Vec<(LineId, RoomLine)> {
    if payload.first() != Some(&b'[') {
        return packed::decode_publication(payload, node);
    }
    let entries = serde_json::from_slice::<Vec<PublishedJson>>(payload).unwrap_or_default();
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
    use chat_hub::RoomEvent;
    use chrono::TimeZone;
    use proptest::prelude::*;

    use crate::cluster::test_lines::room_line as line;

    /// An entry's `lines` as the previous build wrote them.
    fn json<'a>(lines: impl IntoIterator<Item = &'a RoomLine>) -> String {
        let wire: Vec<WireLine> = lines.into_iter().map(WireLine::from_line).collect();
        serde_json::to_string(&wire).unwrap_or_default()
    }

    fn entry(id: &str, field: &str, value: Vec<u8>) -> redis::streams::StreamId {
        let mut map = std::collections::HashMap::new();
        map.insert(field.to_owned(), redis::Value::BulkString(value));
        redis::streams::StreamId {
            id: id.into(),
            map,
            ..redis::streams::StreamId::default()
        }
    }

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    #[test]
    fn a_publication_of_the_previous_build_is_heard_in_the_order_said() {
        let lobby = [
            line("lobby", "one", RoomEvent::Message, 1),
            line("lobby", "three", RoomEvent::Message, 3),
        ];
        let dev = [line("dev", "two", RoomEvent::Message, 2)];
        let payload = format!(
            "[{{\"id\":\"5-0\",\"lines\":{}}},{{\"id\":\"5-1\",\"lines\":{}}}]",
            json(&lobby),
            json(&dev)
        );
        let heard = published(payload.as_bytes(), "b:1");
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
        assert!(
            published(payload.as_bytes(), "a:1").is_empty(),
            "a node's own"
        );
        assert!(published(b"[not json", "b:1").is_empty());
    }

    #[test]
    fn the_script_writes_the_field_read_back() {
        let field = format!("'*', '{PACKED_FIELD}', entry");
        assert!(crate::cluster::scripts::WRITE_LINES.contains(&field));
    }

    #[test]
    fn entries_of_every_build_are_read() {
        let said = [
            line("lobby", "new", RoomEvent::Message, 7),
            line("lobby", "", RoomEvent::Left, 8),
        ];
        let mut packed = packed::PackedEntry::new("a:1");
        said.iter().for_each(|line| packed.push(line));
        let numbered = |ms| -> Vec<(LineId, RoomLine)> {
            (0u32..)
                .zip(said.iter().cloned())
                .map(|(index, line)| (LineId::new(id(ms, 0), index), line))
                .collect()
        };
        let read_packed = read(&entry("1-0", PACKED_FIELD, packed.finish()));
        assert_eq!(read_packed, numbered(1));
        let read_json = read(&entry("2-0", LINES_FIELD, json(&said).into_bytes()));
        assert_eq!(read_json, numbered(2));

        let one = serde_json::to_string(&WireLine::from_line(&said[0])).unwrap_or_default();
        let read_one = read(&entry("9-2", LINE_FIELD, one.into_bytes()));
        assert_eq!(read_one, [(LineId::new(id(9, 2), 0), said[0].clone())]);
        assert!(read(&entry("9-3", "other", b"x".to_vec())).is_empty());
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
        fn an_entry_of_the_previous_build_decodes_to_its_lines(
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
            let back = decode_json(id(ms, seq), json(&lines).as_bytes());
            let expected: Vec<(LineId, RoomLine)> = (0u32..)
                .zip(lines)
                .map(|(index, line)| (LineId::new(id(ms, seq), index), line))
                .collect();
            prop_assert_eq!(back, expected);
        }
    }
}
