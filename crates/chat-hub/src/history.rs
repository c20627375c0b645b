//! History: each room's last lines, kept as protocol-neutral values in a
//! ring of reusable entries, and what `/history` may ask of it.
//!
//! An entry is what was said, not how one wire protocol shows it: the nick,
//! the text, whether it was a `/me`, when it was said (with the offset it
//! was said in) and its message id where there is one. Each client's
//! protocol encodes it when it is replayed (`crate::delivery`), so a
//! front-end of another protocol replays the same ring.
//!
//! Storing a line costs copying its nick and text into an entry's one
//! buffer: once the ring is full, the buffer of the entry it evicts, so
//! steady traffic allocates nothing. A joining client gets the last lines,
//! none older than `history_retention`. What all rings hold together is
//! bounded by `history_memory_bytes` (`crate::rooms::Rooms` drops the
//! oldest lines of the largest rooms first).

use std::collections::VecDeque;

use crate::Now;
use crate::chat::SaidLine;
use crate::markers::ReadAt;

/// One line of a room's history, owned. The nick and the text share one
/// buffer (one allocation per line, reused when the ring is full).
#[derive(Debug)]
struct Entry {
    /// The nick, then the text.
    words: String,
    /// Where the nick ends in `words`.
    nick_len: usize,
    action: bool,
    time: Now,
    id: Option<u64>,
}

/// What an entry costs beside the capacity of its buffer.
const ENTRY_OVERHEAD: usize = size_of::<Entry>();

impl Entry {
    /// `said`, written into `words` (cleared first, its capacity kept).
    fn fill(mut words: String, said: &SaidLine<'_>) -> Entry {
        words.clear();
        words.reserve(said.nick.len() + said.text.len());
        words.push_str(said.nick);
        words.push_str(said.text);
        Entry {
            words,
            nick_len: said.nick.len(),
            action: said.action,
            time: said.time,
            id: said.id,
        }
    }

    /// The memory the entry holds.
    fn bytes(&self) -> usize {
        ENTRY_OVERHEAD + self.words.capacity()
    }

    fn said(&self) -> SaidLine<'_> {
        let (nick, text) = self.words.split_at(self.nick_len);
        SaidLine {
            nick,
            text,
            action: self.action,
            id: self.id,
            time: self.time,
        }
    }
}

/// A ring of the room's last lines, oldest first, whose entries are reused
/// once the ring is full: storing a line then costs a copy, not an
/// allocation.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    lines: VecDeque<Entry>,
    keep: usize,
    /// The memory the entries hold (their buffers' capacity and
    /// [`ENTRY_OVERHEAD`] each).
    bytes: usize,
}

impl Ring {
    pub(crate) fn new(keep: usize) -> Ring {
        Ring {
            lines: VecDeque::new(),
            keep,
            bytes: 0,
        }
    }

    /// Stores the newest line (into the oldest line's entry, once the ring
    /// is full); nothing when history is off. Returns the memory the ring
    /// held before and holds now.
    pub(crate) fn store(&mut self, said: &SaidLine<'_>) -> (usize, usize) {
        let before = self.bytes;
        if self.keep == 0 {
            return (before, before);
        }
        let words = if self.lines.len() >= self.keep {
            match self.lines.pop_front() {
                Some(old) => {
                    self.bytes -= old.bytes();
                    old.words
                }
                None => String::new(),
            }
        } else {
            if self.lines.capacity() == 0 {
                self.lines.reserve_exact(self.keep);
            }
            String::new()
        };
        let entry = Entry::fill(words, said);
        self.bytes += entry.bytes();
        self.lines.push_back(entry);
        (before, self.bytes)
    }

    /// Forgets the oldest line and gives its memory back; returns how much.
    pub(crate) fn drop_oldest(&mut self) -> usize {
        let freed = self.lines.pop_front().map_or(0, |line| line.bytes());
        self.bytes -= freed;
        freed
    }

    /// The memory the ring holds.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many lines the ring holds.
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// The id and time (Unix ms) of the newest line, if it has an id.
    pub(crate) fn last_read_at(&self) -> Option<ReadAt> {
        let line = self.lines.back()?;
        Some(ReadAt {
            id: line.id?,
            ms: line.time.timestamp_millis(),
        })
    }

    /// The newest line said at or before `ms` (Unix ms), as its id and
    /// time; `None` if the ring holds no such line (all are newer, or none
    /// has an id): an IRC client's `MARKREAD` time, as a line.
    pub(crate) fn newest_at_or_before(&self, ms: i64) -> Option<ReadAt> {
        let line = (self.lines.iter().rev()).find(|line| line.time.timestamp_millis() <= ms)?;
        Some(ReadAt {
            id: line.id?,
            ms: line.time.timestamp_millis(),
        })
    }

    /// How many lines the ring holds newer than `id`, and whether that is
    /// all of them (its oldest line is not newer).
    pub(crate) fn count_after(&self, id: u64) -> (usize, bool) {
        let newer = self
            .lines
            .iter()
            .rev()
            .take_while(|line| line.id.is_some_and(|line| line > id))
            .count();
        (newer, newer < self.lines.len())
    }

    /// The last `count` lines said at or after `since` (Unix seconds),
    /// oldest first.
    pub(crate) fn recent(
        &self,
        count: usize,
        since: i64,
    ) -> impl Iterator<Item = SaidLine<'_>> + Clone {
        let skip = self.lines.len().saturating_sub(count);
        (self.lines.iter().skip(skip))
            .filter(move |line| line.time.timestamp() >= since)
            .map(Entry::said)
    }
}

/// How many lines `/history [N]` sends: N, or all that are kept, never more
/// than are kept.
pub(crate) fn requested(count: Option<usize>, keep: usize) -> usize {
    count.unwrap_or(keep).min(keep)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::Ring;
    use crate::chat::SaidLine;
    use crate::markers::ReadAt;

    /// A line said by `nick` at `said` (Unix seconds).
    fn said<'a>(nick: &'a str, text: &'a str, said: i64) -> SaidLine<'a> {
        let time = DateTime::from_timestamp(said, 0).unwrap_or_default();
        SaidLine {
            nick,
            text,
            action: false,
            id: None,
            time: time.fixed_offset(),
        }
    }

    fn texts(ring: &Ring, count: usize, since: i64) -> Vec<String> {
        let lines = ring.recent(count, since);
        lines
            .map(|line| format!("{}:{}", line.nick, line.text))
            .collect()
    }

    #[test]
    fn the_ring_keeps_the_last_lines_in_order() {
        let mut ring = Ring::new(3);
        for text in ["a", "b", "c", "d", "e"] {
            ring.store(&said("al", text, 0));
        }
        assert_eq!(ring.len(), 3);
        assert_eq!(texts(&ring, 10, i64::MIN), ["al:c", "al:d", "al:e"]);
        assert_eq!(texts(&ring, 2, i64::MIN), ["al:d", "al:e"]);
        let mut off = Ring::new(0);
        assert_eq!(off.store(&said("al", "a", 0)), (0, 0));
        assert_eq!(off.len(), 0);
        let before = ring.bytes();
        let freed = ring.drop_oldest();
        assert!(freed > 0 && ring.bytes() == before - freed);
        assert_eq!(texts(&ring, 10, i64::MIN), ["al:d", "al:e"]);
    }

    #[test]
    fn an_entry_keeps_everything_that_was_said() {
        let mut ring = Ring::new(2);
        let time = DateTime::parse_from_rfc3339("2026-11-03T08:05:09+02:00").unwrap_or_default();
        let line = SaidLine {
            nick: "bob",
            text: "waves",
            action: true,
            id: Some(42),
            time,
        };
        ring.store(&line);
        let back: Vec<_> = ring.recent(1, i64::MIN).collect();
        let back = back.first().copied();
        assert_eq!(back.map(|l| (l.nick, l.text)), Some(("bob", "waves")));
        assert_eq!(
            back.map(|l| (l.action, l.id, l.time)),
            Some((true, Some(42), time))
        );
    }

    #[test]
    fn the_memory_counted_follows_the_lines_held() {
        let mut ring = Ring::new(2);
        let (_, one) = ring.store(&said("al", &"x".repeat(100), 0));
        assert!(one >= 102, "{one}");
        let (_, two) = ring.store(&said("al", "short", 0));
        // A full ring reuses the evicted entry's buffer: its capacity stays.
        let (before, three) = ring.store(&said("al", "tiny", 0));
        assert_eq!(before, two);
        assert_eq!(three, two);
        assert_eq!(ring.bytes(), three);
        ring.drop_oldest();
        ring.drop_oldest();
        assert_eq!(ring.bytes(), 0);
    }

    #[test]
    fn lines_older_than_the_retention_are_not_sent() {
        let mut ring = Ring::new(4);
        for (at, text) in [(10, "a"), (20, "b"), (30, "c"), (40, "d"), (50, "e")] {
            ring.store(&said("al", text, at));
        }
        assert_eq!(texts(&ring, 10, 30), ["al:c", "al:d", "al:e"]);
        assert_eq!(texts(&ring, 2, 30), ["al:d", "al:e"]);
        assert!(texts(&ring, 10, 51).is_empty());
        ring.drop_oldest();
        assert_eq!(texts(&ring, 10, 40), ["al:d", "al:e"]);
    }

    #[test]
    fn a_time_is_the_newest_line_said_at_or_before_it() {
        let mut ring = Ring::new(4);
        for (id, at) in [(7, 10), (8, 20), (9, 30)] {
            ring.store(&SaidLine {
                id: Some(id),
                ..said("al", "x", at)
            });
        }
        let at = |id, ms| Some(ReadAt { id, ms });
        assert_eq!(ring.newest_at_or_before(25_000), at(8, 20_000));
        assert_eq!(ring.newest_at_or_before(20_000), at(8, 20_000));
        assert_eq!(ring.newest_at_or_before(99_000), at(9, 30_000));
        assert_eq!(ring.newest_at_or_before(9_999), None, "older than the ring");
        assert_eq!(ring.last_read_at(), at(9, 30_000));
    }

    #[test]
    fn history_asks_for_at_most_what_is_kept() {
        assert_eq!(super::requested(None, 200), 200);
        assert_eq!(super::requested(Some(5), 200), 5);
        assert_eq!(super::requested(Some(5000), 200), 200);
    }
}
