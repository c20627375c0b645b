//! Deadlines: the handler's timers and the reactor's own, in one heap.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::time::Instant;

use crate::{ConnId, TimerId};

/// What a deadline is for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimerKind {
    /// A handler timer; fires `Handler::timer` unless cancelled.
    User(TimerId),
    /// A `close_after_flush` linger limit. The connection re-checks its own
    /// deadline when this fires, because the key may have been reused.
    Linger(ConnId),
    /// End of the accept pause after running out of descriptors.
    AcceptResume,
    /// End of `stop_when_drained`'s grace period.
    DrainDeadline,
    /// A TLS connection's time to finish its handshake; the serial tells a
    /// reused key from the connection the timer was set for.
    TlsHandshake(ConnId, u64),
}

/// A min-heap of deadlines with lazy cancellation: cancelling only forgets
/// the id, and the entry is skipped when it surfaces. That keeps cancel O(1)
/// at the price of dead entries lingering until their time.
#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64, TimerKind)>>,
    live: HashSet<TimerId>,
    next_seq: u64,
}

impl Timers {
    fn push(&mut self, at: Instant, kind: impl FnOnce(u64) -> TimerKind) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse((at, seq, kind(seq))));
        seq
    }

    pub(crate) fn set_user(&mut self, at: Instant) -> TimerId {
        let id = TimerId(self.push(at, |seq| TimerKind::User(TimerId(seq))));
        self.live.insert(id);
        id
    }

    pub(crate) fn schedule(&mut self, at: Instant, kind: TimerKind) {
        self.push(at, |_| kind);
    }

    pub(crate) fn cancel(&mut self, id: TimerId) {
        self.live.remove(&id);
    }

    fn is_dead(&self, kind: TimerKind) -> bool {
        matches!(kind, TimerKind::User(id) if !self.live.contains(&id))
    }

    /// The earliest live deadline. Dead entries on top are dropped here so a
    /// cancelled timer never causes a useless wakeup.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, _, kind))) = self.heap.peek() {
            if !self.is_dead(kind) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Move every live deadline due at `now` into `out`. Timers set while
    /// `out` is being fired are not included even if already due, so a
    /// handler re-arming a zero timer cannot keep one turn going forever.
    pub(crate) fn pop_due(&mut self, now: Instant, out: &mut Vec<TimerKind>) {
        while let Some(&Reverse((at, _, kind))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            if let TimerKind::User(id) = kind
                && !self.live.remove(&id)
            {
                continue;
            }
            out.push(kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn due_in_order_and_cancel_is_lazy() {
        let mut t = Timers::default();
        let t0 = Instant::now();
        let a = t.set_user(t0 + Duration::from_millis(20));
        let b = t.set_user(t0 + Duration::from_millis(10));
        let c = t.set_user(t0 + Duration::from_millis(5));
        t.schedule(t0 + Duration::from_millis(15), TimerKind::AcceptResume);
        t.cancel(c);
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_millis(10)));
        let mut out = Vec::new();
        t.pop_due(t0 + Duration::from_millis(30), &mut out);
        assert_eq!(
            out,
            vec![
                TimerKind::User(b),
                TimerKind::AcceptResume,
                TimerKind::User(a)
            ]
        );
        assert_eq!(t.next_deadline(), None);
        // Cancelling a fired timer is harmless: nothing is due or pending.
        t.cancel(a);
        assert_eq!(t.next_deadline(), None);
        out.clear();
        t.pop_due(t0 + Duration::from_secs(60), &mut out);
        assert!(out.is_empty(), "{out:?}");
    }
}
