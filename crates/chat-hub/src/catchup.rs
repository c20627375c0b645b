//! Lines from other nodes, each delivered once and in order, even across a
//! broken link to Redis: [`CatchUp`] remembers, per room, the stream id of
//! the last line this node delivered, and after the subscriber subscribes
//! again decides what to read back from each room's stream.
//!
//! Every line said in a cluster is in an entry of its room's Redis stream
//! (an entry holds the lines one node's batch said in that room), and its
//! pub/sub copy carries the entry's id ([`StreamId`]) and the line's place
//! in the entry: together its [`LineId`]. Ids increase within a stream,
//! and a room's copies are published in id order (one script adds and
//! publishes), so "deliver only what is after the last line delivered" is
//! exactly-once and in order for one subscription. After the subscription
//! broke, lines were missed: for each room with members here the stream is
//! read from the entry of the last line delivered, that entry included, so
//! a read resumes inside it (a [`Read`]); what is heard live meanwhile
//! waits (bounded) until the read is back. The read is asked after
//! subscribing again, so every line is in the read, in the waiting live
//! lines, or both, and the line ids sort out the overlap.
//!
//! A room with no line delivered since the last subscription (it has no
//! cursor) is read from the moment of that subscription: Redis's clock then
//! (`baseline`, as [`LineId::through`] it), every later entry having a
//! larger id. Cursors of rooms
//! nobody here is in are forgotten at each subscription, for the same
//! reason: everything since it was heard. So the map holds the local rooms
//! and the rooms heard of since the last subscription.
//!
//! Sans-I/O like the rest of the hub: the reads are asked by `crate::node`
//! and answered through [`ClusterEvent::CaughtUp`](crate::ClusterEvent::CaughtUp).

use std::collections::{HashMap, HashSet};
use std::fmt;

use chat_proto::{room_key, room_key_of};

use crate::RoomLine;

/// Live lines one room keeps while its stream is read back; past this they
/// are not kept, and the stream is read once more when the read is back.
pub(crate) const WAITING_MAX: usize = 1024;

/// A Redis stream entry id, `MS-SEQ`: Redis's clock in milliseconds when
/// the entry was added, and a sequence within that millisecond. Ordered as
/// Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    /// `MS-SEQ` (or `MS`, sequence 0); `None` if it is not an id.
    pub fn parse(text: &str) -> Option<StreamId> {
        let (ms, seq) = text.split_once('-').unwrap_or((text, "0"));
        Some(StreamId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Where a line sits in its room's stream: its entry's id, and its place
/// among that entry's lines (from 0). Ordered as the lines were said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LineId {
    pub entry: StreamId,
    pub index: u32,
}

impl LineId {
    pub fn new(entry: StreamId, index: u32) -> LineId {
        LineId { entry, index }
    }

    /// After every line of `entry`, before every line of later entries.
    pub fn through(entry: StreamId) -> LineId {
        LineId {
            entry,
            index: u32::MAX,
        }
    }
}

/// The first line of an entry (an entry of one line, as nodes of earlier
/// builds wrote them).
impl From<StreamId> for LineId {
    fn from(entry: StreamId) -> LineId {
        LineId { entry, index: 0 }
    }
}

impl fmt::Display for LineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.entry, self.index)
    }
}

/// A stream to read back: `room`'s lines after `after` (so from its entry
/// on), answered with `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Read {
    pub(crate) room: String,
    pub(crate) after: LineId,
    pub(crate) token: u64,
}

/// A room whose stream is being read back.
#[derive(Debug, Default)]
struct Reading {
    /// The room as named here.
    room: String,
    /// The last line read (the next page starts at its entry).
    after: LineId,
    /// The read in flight; answers with another token are stale.
    token: u64,
    /// `false`: the read could not be asked, or failed; ask it again.
    asked: bool,
    /// Lines heard live meanwhile, in order.
    waiting: Vec<(LineId, RoomLine)>,
    /// Some live lines were not kept: read the stream again afterwards.
    overflowed: bool,
}

#[derive(Debug, Default)]
pub(crate) struct CatchUp {
    /// This node's name: its own lines were delivered when said.
    node: String,
    /// Room key → the last line delivered (or passed over).
    delivered: HashMap<String, LineId>,
    /// Room key → node → the sequence number of its last line delivered.
    sequences: HashMap<String, HashMap<String, u64>>,
    /// Redis's clock at the last subscription; `None` before the first.
    baseline: Option<StreamId>,
    /// Room key → its read in progress.
    reading: HashMap<String, Reading>,
    next_token: u64,
}

impl CatchUp {
    pub(crate) fn new(node: &str) -> CatchUp {
        CatchUp {
            node: node.to_owned(),
            ..CatchUp::default()
        }
    }

    /// A line heard live; `Some`: deliver it now. `None`: a duplicate, this
    /// node's own, or waiting for its room's read. A room named in lower
    /// case is its own key: a line heard costs no allocation here.
    pub(crate) fn live(&mut self, id: LineId, line: RoomLine) -> Option<RoomLine> {
        let key = room_key_of(&line.room);
        let key = key.as_ref();
        if let Some(reading) = self.reading.get_mut(key) {
            if reading.waiting.len() < WAITING_MAX {
                reading.waiting.push((id, line));
            } else {
                reading.overflowed = true;
            }
            return None;
        }
        let fresh = self.advance(key, id) && self.first_time(key, &line);
        fresh.then_some(line)
    }

    /// Whether `line` (in the room keyed `key`) comes from another node and
    /// is newer than the last line of its node delivered in that room, by
    /// the node's sequence number; if so it is now the last. A node's lines
    /// reach a room's stream in its order, also when written again after a
    /// failover; so a copy written again of a line delivered before is
    /// older, whatever its new stream id. Unnumbered lines (0) pass.
    fn first_time(&mut self, key: &str, line: &RoomLine) -> bool {
        if line.origin == self.node {
            return false;
        }
        if line.seq == 0 {
            return true;
        }
        // Looked up before inserting: no allocation per line heard.
        let known = self.sequences.get_mut(key);
        if let Some(last) = known.and_then(|nodes| nodes.get_mut(&line.origin)) {
            let newer = line.seq > *last;
            if newer {
                *last = line.seq;
            }
            return newer;
        }
        let nodes = self.sequences.entry(key.to_owned()).or_default();
        nodes.insert(line.origin.clone(), line.seq);
        true
    }

    /// Moves `key`'s cursor to `id` if `id` is newer; `true` if it was.
    fn advance(&mut self, key: &str, id: LineId) -> bool {
        let Some(last) = self.delivered.get_mut(key) else {
            self.delivered.insert(key.to_owned(), id);
            return id > LineId::default();
        };
        let newer = id > *last;
        if newer {
            *last = id;
        }
        newer
    }

    /// The subscriber subscribed (again) at `at`, Redis's clock; `local`:
    /// the rooms with members here. Returns the reads to ask: one per local
    /// room that may have missed lines.
    pub(crate) fn subscribed(&mut self, at: StreamId, local: &[String]) -> Vec<Read> {
        let keys: HashSet<String> = local.iter().map(|room| room_key(room)).collect();
        let previous = self.baseline.replace(at).map(LineId::through);
        self.delivered.retain(|key, _| keys.contains(key));
        self.sequences.retain(|key, _| keys.contains(key));
        self.reading.retain(|key, _| keys.contains(key));
        let mut reads = Vec::new();
        for room in local {
            let key = room_key(room);
            // A read still in progress has not got past its `after`.
            let reading = self.reading.get(&key).map(|reading| reading.after);
            let delivered = self.delivered.get(&key).copied();
            let Some(after) = reading.or(delivered).or(previous) else {
                continue; // the first subscription: nothing was missed
            };
            self.next_token += 1;
            let reading = self.reading.entry(key).or_default();
            room.clone_into(&mut reading.room);
            reading.after = after;
            reading.token = self.next_token;
            reading.asked = true;
            reads.push(Read {
                room: room.clone(),
                after,
                token: self.next_token,
            });
        }
        reads
    }

    /// `read` could not be asked (the bridge is busy): [`CatchUp::due`]
    /// asks it again.
    pub(crate) fn not_asked(&mut self, read: &Read) {
        if let Some(reading) = self.reading.get_mut(&room_key(&read.room))
            && reading.token == read.token
        {
            reading.asked = false;
        }
    }

    /// Reads to ask again (not asked, or failed).
    pub(crate) fn due(&mut self) -> Vec<Read> {
        let mut reads = Vec::new();
        for reading in self.reading.values_mut().filter(|reading| !reading.asked) {
            self.next_token += 1;
            reading.token = self.next_token;
            reading.asked = true;
            reads.push(Read {
                room: reading.room.clone(),
                after: reading.after,
                token: reading.token,
            });
        }
        reads
    }

    /// A read came back for `room`: `entries`, its lines oldest first
    /// (`None`: Redis could not be read; the first entry's lines up to the
    /// last one delivered come again and are passed over), `more` if the
    /// page was full. Returns the lines
    /// to deliver, in order, and the next read to ask if there is one.
    pub(crate) fn read(
        &mut self,
        room: &str,
        token: u64,
        entries: Option<Vec<(LineId, RoomLine)>>,
        more: bool,
    ) -> (Vec<RoomLine>, Option<Read>) {
        let key = room_key(room);
        let Some(reading) = self.reading.get_mut(&key).filter(|r| r.token == token) else {
            return (Vec::new(), None); // stale: a newer read is on its way
        };
        let Some(entries) = entries else {
            reading.asked = false;
            return (Vec::new(), None);
        };
        let mut deliver = Vec::new();
        let mut after = reading.after;
        for (id, line) in entries {
            after = after.max(id);
            if self.advance(&key, id) && self.first_time(&key, &line) {
                deliver.push(line);
            }
        }
        let Some(reading) = self.reading.get_mut(&key) else {
            return (deliver, None);
        };
        reading.after = after;
        if more {
            self.next_token += 1;
            reading.token = self.next_token;
            let read = Read {
                room: reading.room.clone(),
                after,
                token: reading.token,
            };
            return (deliver, Some(read));
        }
        // Caught up: what waited goes out (the overlap sorted out by id),
        // then lines are live again.
        let waiting = std::mem::take(&mut reading.waiting);
        let overflowed = std::mem::take(&mut reading.overflowed);
        for (id, line) in waiting {
            if self.advance(&key, id) && self.first_time(&key, &line) {
                deliver.push(line);
            }
        }
        let Some(reading) = self.reading.remove(&key) else {
            return (deliver, None);
        };
        if !overflowed {
            return (deliver, None);
        }
        // Some live lines were not kept: the stream has them.
        self.next_token += 1;
        let after = self.delivered.get(&key).copied().unwrap_or(after);
        let read = Read {
            room: reading.room.clone(),
            after,
            token: self.next_token,
        };
        self.reading.insert(
            key,
            Reading {
                after,
                token: self.next_token,
                asked: true,
                ..reading
            },
        );
        (deliver, Some(read))
    }

    /// Is `room`'s stream being read back?
    #[cfg(test)]
    fn is_reading(&self, room: &str) -> bool {
        self.reading.contains_key(&room_key(room))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::RoomEvent;

    fn sid(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// Entry `ms`-`seq`'s first line.
    fn id(ms: u64, seq: u64) -> LineId {
        LineId::from(sid(ms, seq))
    }

    fn at(ms: u64) -> StreamId {
        sid(ms, 0)
    }

    fn line(origin: &str, room: &str, text: &str) -> RoomLine {
        RoomLine {
            origin: origin.into(),
            room: room.into(),
            nick: "bob".into(),
            text: text.into(),
            kind: RoomEvent::Message,
            time: chrono::DateTime::UNIX_EPOCH.fixed_offset(),
            seq: 0,
        }
    }

    fn texts(lines: &[RoomLine]) -> Vec<&str> {
        lines.iter().map(|line| line.text.as_str()).collect()
    }

    #[test]
    fn stream_ids_parse_print_and_sort_as_redis_does() {
        assert_eq!(
            StreamId::parse("1700000000000-3"),
            Some(sid(1_700_000_000_000, 3))
        );
        assert_eq!(StreamId::parse("17"), Some(sid(17, 0)));
        assert_eq!(StreamId::parse("x-1"), None);
        assert_eq!(StreamId::parse("1-"), None);
        assert_eq!(sid(5, 2).to_string(), "5-2");
        assert!(sid(5, 10) > sid(5, 9) && sid(6, 0) > sid(5, 99));
    }

    #[test]
    fn live_lines_are_delivered_once_by_id_and_own_lines_never() {
        let mut catchup = CatchUp::new("a");
        assert!(catchup.live(id(1, 0), line("b", "lobby", "one")).is_some());
        assert!(catchup.live(id(1, 0), line("b", "Lobby", "one")).is_none());
        assert!(catchup.live(id(2, 0), line("a", "lobby", "mine")).is_none());
        assert!(
            catchup
                .live(id(1, 5), line("b", "lobby", "older"))
                .is_none()
        );
        assert!(
            catchup
                .live(id(3, 0), line("b", "lobby", "three"))
                .is_some()
        );
        assert!(
            catchup
                .live(id(1, 0), line("b", "dev", "other room"))
                .is_some()
        );
    }

    #[test]
    fn the_first_subscription_reads_nothing_back() {
        let mut catchup = CatchUp::new("a");
        assert!(catchup.subscribed(at(100), &["lobby".into()]).is_empty());
        assert!(catchup.live(id(101, 0), line("b", "lobby", "x")).is_some());
    }

    #[test]
    fn after_a_break_each_line_is_delivered_once_in_order() {
        let mut catchup = CatchUp::new("a");
        catchup.subscribed(at(100), &["lobby".into()]);
        assert!(
            catchup
                .live(id(110, 0), line("b", "lobby", "before"))
                .is_some()
        );
        // The link broke; lines 120 and 130 were missed. Subscribed again:
        let reads = catchup.subscribed(at(140), &["lobby".into()]);
        assert_eq!(
            reads,
            [Read {
                room: "lobby".into(),
                after: id(110, 0),
                token: reads[0].token,
            }]
        );
        // Live lines heard before the read is back wait for it; one of them
        // (145) is also in the read.
        assert!(
            catchup
                .live(id(145, 0), line("b", "lobby", "during"))
                .is_none()
        );
        assert!(
            catchup
                .live(id(150, 0), line("b", "lobby", "after"))
                .is_none()
        );
        let entries = vec![
            (id(120, 0), line("b", "lobby", "missed 1")),
            (id(125, 0), line("a", "lobby", "our queued line")),
            (id(130, 0), line("c", "lobby", "missed 2")),
            (id(145, 0), line("b", "lobby", "during")),
        ];
        let (deliver, next) = catchup.read("lobby", reads[0].token, Some(entries), false);
        assert_eq!(texts(&deliver), ["missed 1", "missed 2", "during", "after"]);
        assert_eq!(next, None);
        assert!(!catchup.is_reading("lobby"));
        assert!(
            catchup
                .live(id(150, 0), line("b", "lobby", "after"))
                .is_none()
        );
        assert!(
            catchup
                .live(id(160, 0), line("b", "lobby", "live"))
                .is_some()
        );
    }

    #[test]
    fn a_room_without_a_cursor_is_read_from_the_last_subscription() {
        let mut catchup = CatchUp::new("a");
        catchup.subscribed(at(100), &[]);
        // Heard while nobody was in dev here: remembered until the next
        // subscription, then forgotten (everything since is heard).
        assert!(catchup.live(id(105, 0), line("b", "dev", "x")).is_some());
        let reads = catchup.subscribed(at(200), &["lobby".into()]);
        assert_eq!(reads.len(), 1);
        assert_eq!(
            (reads[0].room.as_str(), reads[0].after),
            ("lobby", LineId::through(at(100)))
        );
        let (deliver, _) = catchup.read("lobby", reads[0].token, Some(Vec::new()), false);
        assert!(deliver.is_empty());
        let reads = catchup.subscribed(at(300), &["lobby".into(), "dev".into()]);
        let dev = reads.iter().find(|read| read.room == "dev");
        assert_eq!(dev.map(|read| read.after), Some(LineId::through(at(200))));
    }

    #[test]
    fn a_read_resumes_inside_an_entry_of_several_lines() {
        let mut catchup = CatchUp::new("a");
        catchup.subscribed(at(100), &["lobby".into()]);
        let (entry, next) = (sid(110, 0), sid(110, 1));
        let at_line = |entry, index| LineId::new(entry, index);
        assert!(
            catchup
                .live(at_line(entry, 0), line("b", "lobby", "one"))
                .is_some()
        );
        assert!(
            catchup
                .live(at_line(entry, 1), line("b", "lobby", "two"))
                .is_some()
        );
        // The link broke before the entry's third line was heard.
        let reads = catchup.subscribed(at(200), &["lobby".into()]);
        assert_eq!(reads[0].after, at_line(entry, 1));
        // The read starts at that entry: its first two lines come again.
        let page = vec![
            (at_line(entry, 0), line("b", "lobby", "one")),
            (at_line(entry, 1), line("b", "lobby", "two")),
            (at_line(entry, 2), line("b", "lobby", "three")),
            (at_line(next, 0), line("c", "lobby", "four")),
        ];
        let (deliver, _) = catchup.read("lobby", reads[0].token, Some(page), true);
        assert_eq!(texts(&deliver), ["three", "four"]);
        assert!(
            catchup
                .live(at_line(next, 0), line("c", "lobby", "four"))
                .is_none()
        );
        assert!(
            catchup
                .live(at_line(entry, 2), line("b", "lobby", "three"))
                .is_none()
        );
    }

    #[test]
    fn full_pages_are_followed_and_stale_or_failed_reads_asked_again() {
        let mut catchup = CatchUp::new("a");
        catchup.subscribed(at(100), &["lobby".into()]);
        let first = catchup.subscribed(at(200), &["lobby".into()]);
        // Subscribed once more before the answer: the first read is stale.
        let second = catchup.subscribed(at(300), &["lobby".into()]);
        let page = vec![(id(150, 0), line("b", "lobby", "stale"))];
        let (deliver, next) = catchup.read("lobby", first[0].token, Some(page), false);
        assert!(deliver.is_empty() && next.is_none());
        // Redis failed under the read: asked again on the next tick.
        let (deliver, next) = catchup.read("lobby", second[0].token, None, false);
        assert!(deliver.is_empty() && next.is_none());
        let again = catchup.due();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].after, LineId::through(at(100)));
        assert!(catchup.due().is_empty(), "asked once");
        let page = vec![(id(150, 0), line("b", "lobby", "p1"))];
        let (deliver, next) = catchup.read("lobby", again[0].token, Some(page), true);
        assert_eq!(texts(&deliver), ["p1"]);
        let next = next.unwrap_or_else(|| panic!("a full page asks for the next"));
        assert_eq!(next.after, id(150, 0));
        let page = vec![(id(160, 0), line("b", "lobby", "p2"))];
        let (deliver, next) = catchup.read("lobby", next.token, Some(page), false);
        assert_eq!(texts(&deliver), ["p2"]);
        assert!(next.is_none() && !catchup.is_reading("lobby"));
        // A read the bridge could not take is asked again too.
        let reads = catchup.subscribed(at(400), &["lobby".into()]);
        catchup.not_asked(&reads[0]);
        assert_eq!(catchup.due().len(), 1);
    }

    #[test]
    fn too_many_waiting_lines_mean_one_more_read() {
        let mut catchup = CatchUp::new("a");
        catchup.subscribed(at(100), &["lobby".into()]);
        let reads = catchup.subscribed(at(200), &["lobby".into()]);
        let count = WAITING_MAX as u64 + 10;
        for n in 0..count {
            assert!(
                catchup
                    .live(id(300 + n, 0), line("b", "lobby", "w"))
                    .is_none()
            );
        }
        let (deliver, next) = catchup.read("lobby", reads[0].token, Some(Vec::new()), false);
        assert_eq!(deliver.len(), WAITING_MAX);
        let next = next.unwrap_or_else(|| panic!("the rest is read from the stream"));
        assert_eq!(next.after, id(300 + WAITING_MAX as u64 - 1, 0));
        let rest: Vec<_> = (WAITING_MAX as u64..count)
            .map(|n| (id(300 + n, 0), line("b", "lobby", "r")))
            .collect();
        let (deliver, next) = catchup.read("lobby", next.token, Some(rest), false);
        assert_eq!(deliver.len(), 10);
        assert!(next.is_none());
    }

    #[test]
    fn a_line_written_again_after_a_failover_is_delivered_once() {
        let numbered = |text, seq| RoomLine {
            seq,
            ..line("b", "lobby", text)
        };
        // The new master lacked "two": node b wrote it again, after a line
        // node c wrote there first, under a new id.
        let new_master = || {
            vec![
                (id(21, 0), line("c", "lobby", "three")),
                (id(22, 0), numbered("two", 2)),
                (id(23, 0), numbered("four", 3)),
            ]
        };
        let lobby = [String::from("lobby")];
        let mut heard_it = CatchUp::new("a");
        assert!(heard_it.live(id(10, 0), numbered("one", 1)).is_some());
        assert!(heard_it.live(id(10, 1), numbered("two", 2)).is_some());
        let reads = heard_it.subscribed(at(20), &lobby);
        let (lines, _) = heard_it.read("lobby", reads[0].token, Some(new_master()), false);
        assert_eq!(texts(&lines), ["three", "four"]);

        let mut missed_it = CatchUp::new("d");
        assert!(missed_it.live(id(10, 0), numbered("one", 1)).is_some());
        let reads = missed_it.subscribed(at(20), &lobby);
        let (lines, _) = missed_it.read("lobby", reads[0].token, Some(new_master()), false);
        assert_eq!(texts(&lines), ["three", "two", "four"]);
    }
}
