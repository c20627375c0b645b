//! History: each room's last lines, kept encoded in a ring of reusable
//! slots, and what `/history` may ask of it.
//!
//! Storing a line costs a copy into a slot, not an allocation, once the ring
//! is full; a joining client gets the last lines as one buffer, none older
//! than `history_retention`.

use bytes::{Bytes, BytesMut};

/// A ring of the room's last lines, each kept encoded (line framing, with
/// its original stamp) in a slot whose buffer is reused once the ring is
/// full: storing a line costs a copy, not an allocation.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    slots: Vec<BytesMut>,
    /// When each slot's line was said (Unix seconds), slot by slot.
    said: Vec<i64>,
    /// The oldest slot once the ring is full (and the next to reuse).
    next: usize,
    keep: usize,
}

impl Ring {
    pub(crate) fn new(keep: usize) -> Ring {
        Ring {
            slots: Vec::new(),
            said: Vec::new(),
            next: 0,
            keep,
        }
    }

    /// A cleared slot for the newest line, said at `said` (Unix seconds);
    /// `None` when history is off.
    pub(crate) fn slot(&mut self, said: i64) -> Option<&mut BytesMut> {
        if self.keep == 0 {
            return None;
        }
        if self.slots.len() < self.keep {
            if self.slots.capacity() == 0 {
                self.slots.reserve_exact(self.keep);
                self.said.reserve_exact(self.keep);
            }
            self.slots.push(BytesMut::new());
            self.said.push(said);
            return self.slots.last_mut();
        }
        self.said[self.next] = said;
        let slot = &mut self.slots[self.next];
        self.next = (self.next + 1) % self.keep;
        slot.clear();
        Some(slot)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The last `count` lines said at or after `since` (Unix seconds),
    /// oldest first, in one buffer.
    pub(crate) fn recent(&self, count: usize, since: i64) -> Bytes {
        let split = self.next.min(self.slots.len());
        let (newer, older) = self.slots.split_at(split);
        let (said_newer, said_older) = self.said.split_at(split);
        let skip = self.slots.len().saturating_sub(count);
        let lines = older
            .iter()
            .chain(newer)
            .zip(said_older.iter().chain(said_newer))
            .skip(skip)
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
        for (said, line) in ["a\n", "b\n", "c\n", "d\n", "e\n"].into_iter().enumerate() {
            if let Some(slot) = ring.slot(said as i64) {
                slot.extend_from_slice(line.as_bytes());
            }
        }
        assert_eq!(ring.len(), 3);
        assert_eq!(&ring.recent(10, i64::MIN)[..], b"c\nd\ne\n");
        assert_eq!(&ring.recent(2, i64::MIN)[..], b"d\ne\n");
        assert!(Ring::new(0).slot(0).is_none());
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
            if let Some(slot) = ring.slot(said) {
                slot.extend_from_slice(line.as_bytes());
            }
        }
        assert_eq!(&ring.recent(10, 30)[..], b"c\nd\ne\n");
        assert_eq!(&ring.recent(2, 30)[..], b"d\ne\n");
        assert_eq!(&ring.recent(10, 51)[..], b"");
    }

    #[test]
    fn history_asks_for_at_most_what_is_kept() {
        assert_eq!(super::requested(None, 200), 200);
        assert_eq!(super::requested(Some(5), 200), 5);
        assert_eq!(super::requested(Some(5000), 200), 200);
    }
}
