//! The binary form of a room's stream entry and of the publication of a
//! batch's entries: what crosses Redis on the cluster's hot path.
//!
//! ```text
//! entry       := VERSION node:str line*
//! line        := kind:u8 seq:varint ms:zigzag offset:zigzag room:str nick:str text:str
//! str         := len:varint UTF-8 bytes
//! publication := (id SP len SP entry)*      id: "MS-SEQ", len: decimal, as Lua writes them
//! ```
//!
//! Varints are LEB128 (at most ten bytes); `zigzag` is a varint of the
//! zigzag-mapped signed value. The node is written once per entry: a node
//! writes only its own lines, and every line of a batch is one node's. A
//! line carries its room, as the hub said it: rooms spelt otherwise share
//! a stream.
//!
//! Why packed rather than JSON, and by hand rather than with serde:
//! ARCHITECTURE.md, "One stream entry per room per batch".
//!
//! Decoding is of input from the network: it never panics, allocates only
//! what the payload's bytes hold (each line takes at least seven), and
//! stops at the first line that does not parse (a length cannot be
//! trusted past it). Fuzzed by `fuzz/fuzz_targets/cluster_entries.rs`.

use chrono::{FixedOffset, TimeZone};

use chat_hub::{LineId, Now, RoomEvent, RoomLine, StreamId};

/// The first byte of every entry: the format's version.
const VERSION: u8 = 1;

/// The lines of one room in one batch of `node`'s, encoded as they are
/// added into one buffer: nothing allocated per line.
pub struct PackedEntry {
    bytes: Vec<u8>,
    lines: usize,
}

impl PackedEntry {
    pub fn new(node: &str) -> PackedEntry {
        let mut bytes = Vec::with_capacity(256);
        bytes.push(VERSION);
        put_str(&mut bytes, node);
        PackedEntry { bytes, lines: 0 }
    }

    /// The lines pushed so far.
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Adds `line` (said on this entry's node).
    pub fn push(&mut self, line: &RoomLine) {
        self.lines += 1;
        let bytes = &mut self.bytes;
        bytes.push(kind_byte(line.kind));
        put_varint(bytes, line.seq);
        put_varint(bytes, zigzag(line.time.timestamp_millis()));
        put_varint(
            bytes,
            zigzag(i64::from(line.time.offset().local_minus_utc())),
        );
        put_str(bytes, &line.room);
        put_str(bytes, &line.nick);
        put_str(bytes, &line.text);
    }

    /// The entry's bytes.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// The lines of the entry `id` whose bytes are `entry`, each with its
/// place. A line of an unknown kind or time keeps its place empty; a line
/// that does not parse ends the entry.
pub fn decode_entry(id: StreamId, entry: &[u8]) -> Vec<(LineId, RoomLine)> {
    let mut lines = Vec::new();
    if let Some((node, rest)) = entry_head(entry) {
        decode_lines(id, node, rest, &mut lines);
    }
    lines
}

/// The lines of a publication that are not `node`'s, in the order their
/// node said them (the publication groups them by room; the node's
/// sequence numbers give the order back), each with its id. Entries after
/// one that does not parse are dropped.
pub fn decode_publication(payload: &[u8], node: &str) -> Vec<(LineId, RoomLine)> {
    let mut lines = Vec::new();
    let mut rest = payload;
    while let Some((id, entry, after)) = next_published(rest) {
        rest = after;
        let Some((origin, body)) = entry_head(entry) else {
            continue;
        };
        // A node hears its own publications: one comparison per entry.
        if origin != node
            && let Some(id) = std::str::from_utf8(id).ok().and_then(StreamId::parse)
        {
            decode_lines(id, origin, body, &mut lines);
        }
    }
    lines.sort_by_key(|(_, line)| line.seq);
    lines
}

/// The next `id SP len SP entry` of a publication, and what follows it.
fn next_published(payload: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (id, rest) = split_at_space(payload)?;
    let (len, rest) = split_at_space(rest)?;
    let len: usize = std::str::from_utf8(len).ok()?.parse().ok()?;
    let entry = rest.get(..len)?;
    Some((id, entry, rest.get(len..)?))
}

fn split_at_space(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == b' ')?;
    Some((bytes.get(..at)?, bytes.get(at + 1..)?))
}

/// The node of an entry and its lines' bytes; `None` if it is not an
/// entry of this version.
fn entry_head(entry: &[u8]) -> Option<(&str, &[u8])> {
    let (&version, rest) = entry.split_first()?;
    if version != VERSION {
        return None;
    }
    let mut reader = Reader(rest);
    let node = reader.str()?;
    Some((node, reader.0))
}

fn decode_lines(id: StreamId, node: &str, bytes: &[u8], lines: &mut Vec<(LineId, RoomLine)>) {
    let mut reader = Reader(bytes);
    let mut index = 0u32;
    while !reader.0.is_empty() {
        let Some(line) = reader.line(node) else {
            return; // nothing after it can be trusted
        };
        if let Some(line) = line {
            lines.push((LineId::new(id, index), line));
        }
        let Some(next) = index.checked_add(1) else {
            return;
        };
        index = next;
    }
}

/// The bytes not read yet.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// One line: `None` if it does not parse, `Some(None)` if it parses
    /// but is not a line this build knows (its kind, its time).
    fn line(&mut self, node: &str) -> Option<Option<RoomLine>> {
        let kind = self.byte()?;
        let seq = self.varint()?;
        let ms = unzigzag(self.varint()?);
        let offset = unzigzag(self.varint()?);
        let room = self.str()?;
        let nick = self.str()?;
        let text = self.str()?;
        let (Some(kind), Some(time)) = (kind_of(kind), to_time(ms, offset)) else {
            return Some(None);
        };
        Some(Some(RoomLine {
            origin: node.to_owned(),
            room: room.to_owned(),
            nick: nick.to_owned(),
            text: text.to_owned(),
            kind,
            time,
            seq,
        }))
    }

    fn byte(&mut self) -> Option<u8> {
        let (&byte, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(byte)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            // The tenth byte holds one bit; more would overflow.
            if shift == 63 && bits > 1 {
                return None;
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = usize::try_from(self.varint()?).ok()?;
        let bytes = self.0.get(..len)?;
        self.0 = self.0.get(len..)?;
        std::str::from_utf8(bytes).ok()
    }
}

fn put_varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

fn put_str(bytes: &mut Vec<u8>, text: &str) {
    put_varint(bytes, text.len() as u64);
    bytes.extend_from_slice(text.as_bytes());
}

/// Small magnitudes of either sign in few bytes.
fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

fn kind_byte(kind: RoomEvent) -> u8 {
    match kind {
        RoomEvent::Message => 0,
        RoomEvent::Action => 1,
        RoomEvent::Joined => 2,
        RoomEvent::Left => 3,
        RoomEvent::Nick => 4,
        RoomEvent::Topic => 5,
    }
}

fn kind_of(byte: u8) -> Option<RoomEvent> {
    Some(match byte {
        0 => RoomEvent::Message,
        1 => RoomEvent::Action,
        2 => RoomEvent::Joined,
        3 => RoomEvent::Left,
        4 => RoomEvent::Nick,
        5 => RoomEvent::Topic,
        _ => return None,
    })
}

fn to_time(ms: i64, offset: i64) -> Option<Now> {
    FixedOffset::east_opt(i32::try_from(offset).ok()?)?
        .timestamp_millis_opt(ms)
        .single()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::cluster::test_lines::room_line as line;

    fn entry<'a>(lines: impl IntoIterator<Item = &'a RoomLine>) -> Vec<u8> {
        let mut entry = PackedEntry::new("a:1");
        for line in lines {
            entry.push(line);
        }
        entry.finish()
    }

    /// As `scripts::WRITE_LINES` publishes a batch's entries.
    fn publication(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut payload = Vec::new();
        for (id, entry) in entries {
            payload.extend_from_slice(format!("{id} {} ", entry.len()).as_bytes());
            payload.extend_from_slice(entry);
        }
        payload
    }

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    #[test]
    fn an_entry_is_its_node_once_then_each_line_as_length_prefixed_fields() {
        let lines = [
            line("lobby", "hi \"all\"", RoomEvent::Message, 41),
            line("lobby", "waves", RoomEvent::Action, 42),
            line("lobby", "", RoomEvent::Joined, 43),
        ];
        let bytes = entry(&lines);
        insta::assert_snapshot!(bytes.escape_ascii().to_string());
        let payload = publication(&[("1700000000000-7", &bytes)]);
        insta::assert_snapshot!("publication", payload.escape_ascii().to_string());
    }

    #[test]
    fn a_publication_gives_each_line_its_entry_and_place_in_the_order_said() {
        let lobby = entry(&[
            line("lobby", "one", RoomEvent::Message, 1),
            line("lobby", "three", RoomEvent::Message, 3),
        ]);
        let dev = entry(&[line("dev", "two", RoomEvent::Message, 2)]);
        let payload = publication(&[("5-0", &lobby), ("5-1", &dev)]);
        let heard = decode_publication(&payload, "b:1");
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
        assert!(heard.iter().all(|(_, line)| line.origin == "a:1"));
        assert!(
            decode_publication(&payload, "a:1").is_empty(),
            "a node's own"
        );
        assert!(decode_publication(b"not a publication", "b:1").is_empty());
        // Cut anywhere, the entries before the cut are heard whole.
        for cut in 0..payload.len() {
            let heard = decode_publication(&payload[..cut], "b:1");
            assert!(heard.len() <= 2, "{cut}");
        }
    }

    #[test]
    fn a_line_of_an_unknown_kind_keeps_its_place_and_a_broken_one_ends_the_entry() {
        let mut bytes = entry(&[line("lobby", "one", RoomEvent::Message, 1)]);
        let unknown = bytes.len();
        bytes.extend_from_slice(&entry(&[line("lobby", "two", RoomEvent::Message, 2)])[5..]);
        bytes[unknown] = 99;
        bytes.extend_from_slice(&entry(&[line("lobby", "three", RoomEvent::Message, 3)])[5..]);
        let read = decode_entry(id(1, 0), &bytes);
        let got: Vec<(u32, &str)> = read
            .iter()
            .map(|(id, l)| (id.index, l.text.as_str()))
            .collect();
        assert_eq!(got, [(0, "one"), (2, "three")]);
        let truncated = decode_entry(id(1, 0), &bytes[..bytes.len() - 1]);
        assert_eq!(truncated.len(), 1);
        assert!(decode_entry(id(1, 0), b"[{\"node\":\"a\"}]").is_empty());
        assert!(decode_entry(id(1, 0), &[]).is_empty());
    }

    #[test]
    fn varints_past_sixty_four_bits_do_not_parse() {
        let mut max = Vec::new();
        put_varint(&mut max, u64::MAX);
        assert_eq!(Reader(&max).varint(), Some(u64::MAX));
        assert_eq!(Reader(&[0xff; 10]).varint(), None);
        assert_eq!(Reader(&[0x80; 11]).varint(), None);
        for n in [0, 1, -1, i64::MAX, i64::MIN, 3600, -86_399] {
            assert_eq!(unzigzag(zigzag(n)), n);
        }
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
                (any::<String>(), any::<String>(), any::<String>(), kind(), any::<u64>(),
                 -86_399i32..86_400, -1i64 << 44..1 << 44),
                1..20,
            ),
            ms in any::<u64>(),
            seq in any::<u64>(),
        ) {
            let lines: Vec<RoomLine> = said
                .into_iter()
                .filter_map(|(room, nick, text, kind, seq, offset, ms)| {
                    let time = FixedOffset::east_opt(offset)?.timestamp_millis_opt(ms).single()?;
                    Some(RoomLine { room, nick, text, kind, seq, time, ..line("", "", kind, 0) })
                })
                .collect();
            let bytes = entry(&lines);
            let expected: Vec<(LineId, RoomLine)> = (0u32..)
                .zip(lines)
                .map(|(index, line)| (LineId::new(id(ms, seq), index), line))
                .collect();
            prop_assert_eq!(&decode_entry(id(ms, seq), &bytes), &expected);
            let published = publication(&[(&id(ms, seq).to_string(), &bytes)]);
            let mut heard = decode_publication(&published, "b:1");
            heard.sort_by_key(|(id, _)| id.index);
            prop_assert_eq!(heard, expected);
        }

        #[test]
        fn any_bytes_decode_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let lines = decode_entry(id(1, 1), &bytes);
            prop_assert!(lines.len() <= bytes.len() / 7);
            let _ = decode_publication(&bytes, "b:1");
        }
    }
}
