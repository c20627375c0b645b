//! One accepted connection: its transport, output queue and bookkeeping flags.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::time::Instant;

use crate::CloseReason;
use crate::net::NetStats;
use crate::queue::{MAX_IOV, OutQueue};
use crate::stream::Stream;
use crate::websocket::WebSocket;

/// Where a connection is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Reading and writing normally.
    Open,
    /// `close_after_flush`: nothing more is delivered or accepted for
    /// sending; the queue drains, then the write side shuts down, then the
    /// connection closes (or at `deadline`, whichever is first).
    Draining {
        deadline: Instant,
        /// The peer had already sent EOF when draining began.
        peer_first: bool,
    },
    /// Closed this turn; `Handler::closed` is due or done, and the slab entry
    /// goes at the end of the turn.
    Closed(CloseReason),
}

/// Outcome of one flush attempt.
pub(crate) enum Flush {
    /// The queue is empty.
    Empty,
    /// Bytes remain and the socket is full; the WRITABLE edge resumes.
    Blocked,
    /// Bytes remain and the socket may take more, but this turn's budget is spent.
    BudgetSpent,
    /// The socket failed; the connection must close.
    Failed(io::ErrorKind),
}

pub(crate) struct Conn {
    pub(crate) stream: Stream,
    pub(crate) peer: SocketAddr,
    pub(crate) state: State,
    pub(crate) queue: OutQueue,
    /// False after a write hit `WouldBlock`, until the WRITABLE edge.
    pub(crate) writable: bool,
    /// The peer sent EOF; nothing more will be read.
    pub(crate) peer_eof: bool,
    /// Our write side has been shut down (draining finished).
    pub(crate) write_shut: bool,
    /// Listed in `Net::pending` (so it is listed once).
    pub(crate) in_pending: bool,
    /// Listed in `Net::read_ready` (read budget spent, more to read).
    pub(crate) in_read_ready: bool,
    /// Which accepted connection this is (counts from 1), to tell it from a
    /// later one that reuses its key.
    pub(crate) serial: u64,
    /// Set once the handler accepted a WebSocket upgrade: input is decoded
    /// from frames, output framed (`crate::websocket`).
    pub(crate) ws: Option<WebSocket>,
}

impl Conn {
    pub(crate) fn new(stream: Stream, peer: SocketAddr, serial: u64) -> Self {
        Self {
            stream,
            peer,
            state: State::Open,
            queue: OutQueue::default(),
            // A fresh socket has an empty send buffer; trying costs at most
            // one WouldBlock.
            writable: true,
            peer_eof: false,
            write_shut: false,
            in_pending: false,
            in_read_ready: false,
            serial,
            ws: None,
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed(_))
    }

    /// Whether a read should be attempted. A draining connection still reads
    /// (and discards): closing a socket with unread input makes the kernel
    /// send RST, which can destroy output the peer has not read yet.
    pub(crate) fn wants_read(&self) -> bool {
        !self.peer_eof && !self.is_closed()
    }

    /// Whether the flush step has work: bytes to write, or a drained
    /// connection whose write side still needs shutting down.
    pub(crate) fn needs_flush(&self) -> bool {
        match self.state {
            State::Open => !self.queue.is_empty() || self.stream.wants_write(),
            State::Draining { .. } => !self.write_shut,
            State::Closed(_) => false,
        }
    }

    /// Write from the queue until it is empty, the socket is full, or
    /// `budget` bytes have gone out.
    pub(crate) fn flush(&mut self, budget: usize, stats: &mut NetStats) -> Flush {
        let mut spent = 0;
        while self.writable && !self.queue.is_empty() {
            if spent >= budget {
                return Flush::BudgetSpent;
            }
            let mut slices = [IoSlice::new(&[]); MAX_IOV];
            let n = self.queue.fill(&mut slices, budget - spent);
            stats.write_syscalls += 1;
            match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => return Flush::Failed(io::ErrorKind::WriteZero),
                Ok(written) => {
                    self.queue.consume(written);
                    spent += written;
                    stats.bytes_out += written as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Flush::Failed(e.kind()),
            }
        }
        if !self.queue.is_empty() {
            return Flush::Blocked;
        }
        // TLS: records accepted from the queue may still wait for the socket.
        if self.stream.wants_write() {
            if !self.writable {
                return Flush::Blocked;
            }
            match self.stream.flush_pending() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.writable = false;
                    return Flush::Blocked;
                }
                Err(e) => return Flush::Failed(e.kind()),
            }
        }
        Flush::Empty
    }
}
