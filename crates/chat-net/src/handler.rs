//! The callbacks through which the reactor's owner gives bytes a meaning.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::{ConnId, ListenerId, Net, TimerId};

/// Why a connection was closed, as reported to [`Handler::closed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed first: it sent EOF, then the connection was closed
    /// after flushing (the default [`Handler::read_closed`] path, i.e.
    /// [`Net::close_after_flush`] called once EOF had been seen).
    PeerClosed,
    /// A socket error (reset, broken pipe, ...).
    Error(std::io::ErrorKind),
    /// The connection's output queue exceeded [`NetConfig::max_queue_bytes`](crate::NetConfig::max_queue_bytes).
    QueueOverflow,
    /// Closed on this side's initiative: [`Net::close`],
    /// [`Net::close_after_flush`] before the peer's EOF, an expired linger,
    /// or the reactor stopping.
    Local,
}

/// What the reactor calls. All calls happen on the reactor's thread.
pub trait Handler {
    /// A new connection was accepted on `listener`.
    fn accepted(&mut self, net: &mut Net, conn: ConnId, peer: SocketAddr, listener: ListenerId);

    /// Bytes arrived. `data` borrows the reactor's shared read buffer: copy
    /// what must outlive the call. Boundaries are arbitrary (TCP is a stream).
    fn received(&mut self, net: &mut Net, conn: ConnId, data: &[u8]);

    /// Peer sent EOF (half-close). The connection stays writable; reading stops.
    /// Default: `net.close_after_flush(conn)`.
    fn read_closed(&mut self, net: &mut Net, conn: ConnId) {
        net.close_after_flush(conn)
    }

    /// Called exactly once per accepted connection, whatever closed it
    /// (including [`Net::close`] by the handler itself, reason
    /// [`CloseReason::Local`]). After it returns `conn` may name another
    /// connection in a later turn.
    fn closed(&mut self, net: &mut Net, conn: ConnId, reason: CloseReason);

    /// Another thread called `wake()` on the reactor's [`mio::Waker`]. Wakes
    /// may coalesce: drain whatever channel goes with it.
    fn woken(&mut self, _net: &mut Net) {}

    /// The turn is about to write: everything it read has been handled.
    /// Work batched per turn (lines for another thread) goes out here.
    fn turn_ending(&mut self, _net: &mut Net) {}

    /// A timer set with [`Net::set_timer`] fired.
    fn timer(&mut self, _net: &mut Net, _timer: TimerId) {}

    /// A signal registered with [`Reactor::watch_signals`](crate::Reactor::watch_signals) arrived.
    fn signal(&mut self, _net: &mut Net, _signal: i32) {}

    /// The process is out of file descriptors and this peer is being turned
    /// away; return a notice to write to it (best-effort, one nonblocking
    /// write) before it is closed.
    fn refusal_notice(&mut self, _peer: SocketAddr) -> Option<Bytes> {
        None
    }
}
