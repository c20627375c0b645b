//! The way back to the reactor from a thread of chat-server's own (the
//! Redis bridge's, the history store's): a bounded channel of events, and
//! the reactor's waker, rung after each one so the reactor takes them on
//! its next turn.

use std::sync::Arc;
use std::sync::mpsc::SyncSender;

/// Wakes the reactor (a `mio::Waker` behind a closure, so these threads
/// need not know mio).
pub(crate) type Wake = Arc<dyn Fn() + Send + Sync>;

/// Hands events to the reactor.
pub(crate) struct Emitter<E> {
    pub(crate) events: SyncSender<E>,
    pub(crate) wake: Wake,
}

// Not derived: a derive would ask `E: Clone`, and only the channel is cloned.
impl<E> Clone for Emitter<E> {
    fn clone(&self) -> Emitter<E> {
        Emitter {
            events: self.events.clone(),
            wake: Arc::clone(&self.wake),
        }
    }
}

impl<E> Emitter<E> {
    /// Hands an event to the reactor (waiting while the channel is full).
    /// `false`: the reactor is gone.
    pub(crate) fn emit(&self, event: E) -> bool {
        self.emit_all(std::iter::once(event))
    }

    /// Hands several events to the reactor, ringing once after the last
    /// (and whenever the channel is full, so the reactor drains it).
    /// `false`: the reactor is gone.
    pub(crate) fn emit_all(&self, events: impl IntoIterator<Item = E>) -> bool {
        use std::sync::mpsc::TrySendError;
        let mut unrung = false;
        for event in events {
            match self.events.try_send(event) {
                Ok(()) => unrung = true,
                Err(TrySendError::Full(event)) => {
                    (self.wake)(); // let the reactor drain the channel
                    if self.events.send(event).is_err() {
                        return false;
                    }
                    unrung = true;
                }
                Err(TrySendError::Disconnected(_)) => return false,
            }
        }
        if unrung {
            (self.wake)();
        }
        true
    }
}
