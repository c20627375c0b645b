//! History: each room's last lines, kept encoded in a ring of reusable
//! slots, and what `/history` may ask of it.
//!
//! Storing a line costs encoding it again, in its `(history)` shape with the
//! stamp of when it was said, into a slot, not an allocation, once the ring
//! is full; a joining client gets the last lines as one buffer, none older
//! than `history_retention`. What all rings hold together is bounded by
//! `history_memory_bytes` (`crate::rooms::Rooms` drops the oldest lines of
//! the largest rooms first).

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// A ring of the room's last lines, each kept encoded (line protocol, in the
/// `(history)` shape, with its original stamp) in a buffer that is reused
/// once the ring is full: storing a line costs an encoding into that
/// buffer (the caller's `write`), not an allocation.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    /// Oldest first.
    lines: VecDeque<BytesMut>,
    /// When each line was said (Unix seconds), line by line.
    said: VecDeque<i64>,
    keep: usize,
    /// The memory the buffers hold (their capacity).
    bytes: usize,
}

impl Ring {
    pub(crate) fn new(keep: usize) -> Ring {
        Ring {
            lines: VecDeque::new(),
            said: VecDeque::new(),
            keep,
            bytes: 0,
        }
    }

    /// Stores the newest line, said at `said` (Unix seconds), written by
    /// `write` into a cleared buffer (the oldest line's, once the ring is
    /// full); nothing when history is off. Returns the memory the ring held
    /// before and holds now.
    pub(crate) fn store(&mut self, said: i64, write: impl FnOnce(&mut BytesMut)) -> (usize, usize) {
        let before = self.bytes;
        if self.keep == 0 {
            return (before, before);
        }
        let mut slot = if self.lines.len() >= self.keep {
            self.said.pop_front();
            self.lines.pop_front().unwrap_or_default()
        } else {
            if self.lines.capacity() == 0 {
                self.lines.reserve_exact(self.keep);
                self.said.reserve_exact(self.keep);
            }
            BytesMut::new()
        };
        let reused = slot.capacity();
        slot.clear();
        write(&mut slot);
        self.bytes = self.bytes - reused + slot.capacity();
        self.lines.push_back(slot);
        self.said.push_back(said);
        (before, self.bytes)
    }

    /// Forgets the oldest line and gives its memory back; returns how much.
    pub(crate) fn drop_oldest(&mut self) -> usize {
        self.said.pop_front();
        let freed = self.lines.pop_front().map_or(0, |line| line.capacity());
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

    /// The last `count` lines said at or after `since` (Unix seconds),
    /// oldest first, in one buffer.
    pub(crate) fn recent(&self, count: usize, since: i64) -> Bytes {
        let skip = self.lines.len().saturating_sub(count);
        let lines = (self.lines.iter().zip(&self.said).skip(skip))
            .filter(|&(_, &said)| said >= since)
            .map(|(line, _)| line);
        let mut out = BytesMut::with_capacity(lines.clone().map(BytesMut::len).sum());
        lines.for_each(|line| out.extend_from_slice(line));
        out.freeze()
    }
}

/// How many lines `/history [N]` sends: N, or all that are kept, never more
/// than are kept.
pub(crate) fn requested(count: Option<usize>, keep: usize) -> usize {
    count.unwrap_or(keep).min(keep)
}

#[cfg(test)]
mod tests {
    use super::Ring;

    #[test]
    fn the_ring_keeps_the_last_lines_in_order() {
        let mut ring = Ring::new(3);
        for line in ["a\n", "b\n", "c\n", "d\n", "e\n"] {
            ring.store(0, |slot| slot.extend_from_slice(line.as_bytes()));
        }
        assert_eq!(ring.len(), 3);
        assert_eq!(&ring.recent(10, i64::MIN)[..], b"c\nd\ne\n");
        assert_eq!(&ring.recent(2, i64::MIN)[..], b"d\ne\n");
        let mut off = Ring::new(0);
        assert_eq!(off.store(0, |_| panic!("history is off")), (0, 0));
        let before = ring.bytes();
        let freed = ring.drop_oldest();
        assert!(freed > 0 && ring.bytes() == before - freed);
        assert_eq!(&ring.recent(10, i64::MIN)[..], b"d\ne\n");
    }

    #[test]
    fn lines_older_than_the_retention_are_not_sent() {
        let mut ring = Ring::new(4);
        for (said, line) in [
            (10, "a\n"),
            (20, "b\n"),
            (30, "c\n"),
            (40, "d\n"),
            (50, "e\n"),
        ] {
            ring.store(said, |slot| slot.extend_from_slice(line.as_bytes()));
        }
        assert_eq!(&ring.recent(10, 30)[..], b"c\nd\ne\n");
        assert_eq!(&ring.recent(2, 30)[..], b"d\ne\n");
        assert_eq!(&ring.recent(10, 51)[..], b"");
        ring.drop_oldest();
        assert_eq!(&ring.recent(10, 40)[..], b"d\ne\n");
    }

    #[test]
    fn history_asks_for_at_most_what_is_kept() {
        assert_eq!(super::requested(None, 200), 200);
        assert_eq!(super::requested(Some(5), 200), 5);
        assert_eq!(super::requested(Some(5000), 200), 200);
    }
}
