//! A connection's output queue: shared message buffers, never copied.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::Bytes;

/// Most slices handed to one `write_vectored` call: Linux's `IOV_MAX`.
/// Under load a connection's queue holds hundreds of small lines; one
/// call takes them all (bench/notes.md: 64 capped each write at 64 lines).
pub(crate) const MAX_IOV: usize = 1024;

/// Slots an emptied queue keeps (8 × 32 bytes); see [`OutQueue::consume`].
const KEEP_SLOTS: usize = 8;

/// Queued output: whole messages plus how far into the first one has been
/// written. Messages are `Bytes` clones, so a broadcast shares one buffer.
#[derive(Default)]
pub(crate) struct OutQueue {
    bufs: VecDeque<Bytes>,
    /// Bytes of `bufs[0]` already written.
    offset: usize,
    /// Unwritten bytes in total.
    len: usize,
}

impl OutQueue {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn push(&mut self, msg: Bytes) {
        if msg.is_empty() {
            return;
        }
        self.len += msg.len();
        self.bufs.push_back(msg);
    }

    /// Fill `slices` from the front of the queue, stopping once `limit` bytes
    /// are covered (the last slice may overshoot: budgets are approximate, a
    /// split slice would only cost another syscall). Returns how many slices
    /// were filled.
    pub(crate) fn fill<'a>(&'a self, slices: &mut [IoSlice<'a>], limit: usize) -> usize {
        let mut n = 0;
        let mut covered = 0;
        for (i, buf) in self.bufs.iter().enumerate() {
            if n == slices.len() || covered >= limit {
                break;
            }
            let part = if i == 0 {
                &buf[self.offset..]
            } else {
                &buf[..]
            };
            slices[n] = IoSlice::new(part);
            covered += part.len();
            n += 1;
        }
        n
    }

    /// Forget the first `written` bytes.
    pub(crate) fn consume(&mut self, mut written: usize) {
        self.len -= written.min(self.len);
        while written > 0 {
            let Some(front) = self.bufs.front() else {
                break;
            };
            let left = front.len() - self.offset;
            if written < left {
                self.offset += written;
                return;
            }
            written -= left;
            self.offset = 0;
            self.bufs.pop_front();
        }
        if self.bufs.is_empty() {
            self.offset = 0;
            self.len = 0;
            // A small deque is kept: a busy connection empties its queue
            // every turn, and reallocating it each time would cost an
            // allocation per message. A large one (a burst) is given back.
            if self.bufs.capacity() > KEEP_SLOTS {
                self.bufs = VecDeque::new();
            }
        }
    }

    /// Drop everything and give the deque's allocation back: an idle
    /// connection should hold no buffer at all.
    pub(crate) fn clear(&mut self) {
        self.bufs = VecDeque::new();
        self.offset = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gather(q: &OutQueue) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); MAX_IOV];
        let n = q.fill(&mut slices, usize::MAX);
        slices[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn consume_walks_across_messages() {
        let mut q = OutQueue::default();
        q.push(Bytes::from_static(b"hello "));
        q.push(Bytes::new());
        q.push(Bytes::from_static(b"world"));
        assert_eq!(q.len(), 11);
        q.consume(3);
        assert_eq!(gather(&q), b"lo world");
        q.consume(4);
        assert_eq!(gather(&q), b"orld");
        assert_eq!(q.len(), 4);
        q.consume(4);
        assert!(q.is_empty());
        assert!(
            q.bufs.capacity() <= KEEP_SLOTS,
            "a small queue keeps its slots"
        );
    }

    #[test]
    fn a_burst_gives_its_memory_back() {
        let mut q = OutQueue::default();
        for _ in 0..100 {
            q.push(Bytes::from_static(b"ab"));
        }
        q.consume(200);
        assert!(q.is_empty());
        assert_eq!(q.bufs.capacity(), 0);
    }

    #[test]
    fn fill_respects_slice_count_and_limit() {
        let mut q = OutQueue::default();
        for _ in 0..MAX_IOV + 36 {
            q.push(Bytes::from_static(b"ab"));
        }
        let mut slices = [IoSlice::new(&[]); MAX_IOV];
        assert_eq!(q.fill(&mut slices, usize::MAX), MAX_IOV);
        assert_eq!(q.fill(&mut slices, 5), 3);
    }
}
