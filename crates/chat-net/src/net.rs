//! `Net`: the part of the reactor a handler may touch during a callback.

use std::mem;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use slab::Slab;

use crate::conn::{Conn, Flush, State};
use crate::timer::{TimerKind, Timers};
use crate::websocket::{self, WebSocket};
use crate::{CloseReason, ConnId, ListenerId, NetConfig, TimerId, TurnTimes};

/// Running totals since the reactor was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Bytes read from connections.
    pub bytes_in: u64,
    /// Bytes written to connections.
    pub bytes_out: u64,
    /// Connections accepted (and handed to [`Handler::accepted`](crate::Handler::accepted)).
    pub accepted: u64,
    /// Connections turned away because the process was out of descriptors
    /// (or the poller could not take them).
    pub refused: u64,
    /// Connections closed with [`CloseReason::QueueOverflow`].
    pub closed_overflow: u64,
    /// `read` calls made on connections.
    pub read_syscalls: u64,
    /// `write`/`writev` calls made on connections.
    pub write_syscalls: u64,
    /// How long each loop turn took (from poll's return to the end of the
    /// flush), as a histogram.
    pub turn_time: TurnTimes,
}

/// Connections, output queues, timers and run-state flags: everything a
/// [`Handler`](crate::Handler) may act on. Obtained as a callback argument,
/// or before `run` through [`Reactor::net`](crate::Reactor::net).
pub struct Net {
    pub(crate) config: NetConfig,
    pub(crate) conns: Slab<Conn>,
    /// Connections not in `State::Closed`.
    pub(crate) open_count: usize,
    /// Connections with output to flush before the next poll.
    pub(crate) pending: Vec<ConnId>,
    /// Pending connections whose write budget ran out this turn; they rejoin
    /// `pending` once the turn's flushing is over.
    pub(crate) carry: Vec<ConnId>,
    /// Connections whose read budget ran out, or whose input waits while
    /// the loop is behind: served by a later turn.
    pub(crate) read_ready: Vec<ConnId>,
    /// The last turn left output unwritten on connections whose sockets took
    /// all they were given (their write budget ran out): the loop is behind
    /// its own writes, and reads no input until they have caught up.
    pub(crate) behind: bool,
    /// The last turn caught up (`behind` went false): the next poll does
    /// not sleep, so a handler's waiting input is taken at once.
    pub(crate) caught_up: bool,
    /// Closed this turn, `Handler::closed` not yet called.
    pub(crate) to_close: Vec<ConnId>,
    /// Closed and reported: removed from the slab at the end of the turn.
    pub(crate) dead: Vec<ConnId>,
    /// Spare list swapped with `pending` while flushing, to keep its allocation.
    spare: Vec<ConnId>,
    /// Frames a message once for all the WebSockets it goes to.
    framer: websocket::Framer,
    pub(crate) timers: Timers,
    pub(crate) stats: NetStats,
    pub(crate) now: Instant,
    pub(crate) paused_by_handler: bool,
    /// Set while accepting is paused after running out of descriptors.
    pub(crate) paused_until: Option<Instant>,
    /// Listener events may have been missed (paused, or edge already
    /// consumed): try every listener this turn.
    pub(crate) accept_retry: bool,
    pub(crate) close_listeners: bool,
    /// Listeners that `close_listeners` leaves open (see [`Net::keep_listening`]).
    pub(crate) kept_listeners: Vec<ListenerId>,
    /// The TLS configuration of each listener (`None`: plain TCP), taken by
    /// each new connection; replaced by [`Net::replace_tls`].
    pub(crate) listener_tls: Vec<Option<Arc<rustls::ServerConfig>>>,
    pub(crate) stop: bool,
    pub(crate) drain: bool,
}

/// How many times [`NetConfig::max_queue_bytes`] a connection may hold while
/// its socket takes everything it is given. Such a queue is long because
/// the loop is behind its own writes, not because the peer reads slowly, and
/// the loop reads no input until it has caught up ([`Net::is_behind`]); the
/// factor only bounds memory should one turn's input fan out to more.
pub const BEHIND_QUEUE_FACTOR: usize = 4;

/// Whether queueing `adding` more bytes takes `conn` past its bound: the
/// configured one once a write has hit `WouldBlock` (the peer reads slower
/// than we write), [`BEHIND_QUEUE_FACTOR`] times it while the socket has
/// taken all it was given.
fn overflows(conn: &Conn, adding: usize, max_queue_bytes: usize) -> bool {
    let bound = match conn.writable {
        true => max_queue_bytes.saturating_mul(BEHIND_QUEUE_FACTOR),
        false => max_queue_bytes,
    };
    conn.queue.len() + adding > bound
}

impl Net {
    pub(crate) fn new(config: NetConfig) -> Self {
        Self {
            config,
            conns: Slab::new(),
            open_count: 0,
            pending: Vec::new(),
            carry: Vec::new(),
            read_ready: Vec::new(),
            behind: false,
            caught_up: false,
            to_close: Vec::new(),
            dead: Vec::new(),
            spare: Vec::new(),
            framer: websocket::Framer::default(),
            timers: Timers::default(),
            stats: NetStats::default(),
            now: Instant::now(),
            paused_by_handler: false,
            paused_until: None,
            accept_retry: false,
            close_listeners: false,
            kept_listeners: Vec::new(),
            listener_tls: Vec::new(),
            stop: false,
            drain: false,
        }
    }

    /// Queue `msg` for `conn`. Only enqueues: the bytes leave just before the
    /// reactor next sleeps. Pass clones of one `Bytes` to broadcast without
    /// copying. A no-op for unknown, closed or closing connections, and for
    /// an empty message. If the queue would exceed
    /// [`NetConfig::max_queue_bytes`] while the socket refuses more (or
    /// [`BEHIND_QUEUE_FACTOR`] times that while it takes all it is given)
    /// the connection is closed instead with [`CloseReason::QueueOverflow`].
    pub fn send(&mut self, conn: ConnId, msg: Bytes) {
        let Some(c) = self.conns.get_mut(conn.0) else {
            return;
        };
        if c.state != State::Open || msg.is_empty() {
            return;
        }
        if c.ws.is_some() {
            return self.send_framed(conn, msg);
        }
        if overflows(c, msg.len(), self.config.max_queue_bytes) {
            self.stats.closed_overflow += 1;
            self.close_with(conn, CloseReason::QueueOverflow);
            return;
        }
        c.queue.push(msg);
        // A connection that is not writable will be listed by its WRITABLE edge.
        if c.writable && !c.in_pending {
            c.in_pending = true;
            self.pending.push(conn);
        }
    }

    /// `send` to a WebSocket client: each line a text frame, its header
    /// shared and its payload a slice of `msg` (see [`websocket`]).
    fn send_framed(&mut self, conn: ConnId, msg: Bytes) {
        let Some(c) = self.conns.get_mut(conn.0) else {
            return;
        };
        let frames = self.framer.frame(&msg);
        if overflows(c, frames.len(), self.config.max_queue_bytes) {
            self.stats.closed_overflow += 1;
            self.close_with(conn, CloseReason::QueueOverflow);
            return;
        }
        c.queue.push(frames);
        if c.writable && !c.in_pending {
            c.in_pending = true;
            self.pending.push(conn);
        }
    }

    /// Makes `conn` a WebSocket: `response` (the handler's `101 Switching
    /// Protocols`, see [`http::websocket_accept`](crate::http::websocket_accept))
    /// goes out as it is, and from then on input is decoded from frames
    /// into lines (a message over `max_message` bytes closes it with 1009)
    /// and [`Net::send`] frames each line. `early` is what the client sent
    /// after its request head, decoded as if it had just arrived. No-op
    /// unless `conn` is open.
    pub fn accept_websocket(
        &mut self,
        conn: ConnId,
        response: Bytes,
        max_message: usize,
        early: &[u8],
    ) {
        if self
            .conns
            .get(conn.0)
            .is_none_or(|c| c.state != State::Open)
        {
            return;
        }
        self.send(conn, response);
        let now = self.now;
        let Some(c) = self.conns.get_mut(conn.0) else {
            return;
        };
        let mut ws = WebSocket::new(max_message, now);
        let early_input = match ws.decoder.as_mut() {
            Some(decoder) if !early.is_empty() => {
                decoder.push(early);
                true
            }
            _ => false,
        };
        c.ws = Some(ws);
        if early_input {
            // Decoded on the next turn, as carried-over input is.
            self.read_later(conn);
        }
    }

    /// Whether `conn` is a WebSocket (see [`Net::accept_websocket`]).
    pub fn is_websocket(&self, conn: ConnId) -> bool {
        self.conns.get(conn.0).is_some_and(|c| c.ws.is_some())
    }

    /// Keepalive for a WebSocket: if the client has sent nothing (not even
    /// a pong) for `silence`, it is closed as timed out and `false` is
    /// returned; otherwise it is sent a ping. Call it every so often, with
    /// `silence` a few times that period.
    pub fn websocket_keepalive(&mut self, conn: ConnId, silence: Duration) -> bool {
        let now = self.now;
        let Some(c) = self.conns.get_mut(conn.0) else {
            return false;
        };
        let Some(ws) = &c.ws else { return false };
        if now.duration_since(ws.last_input) >= silence {
            self.close_with(conn, CloseReason::Error(std::io::ErrorKind::TimedOut));
            return false;
        }
        if c.state == State::Open {
            c.queue.push(websocket::ping_frame());
            if c.writable && !c.in_pending {
                c.in_pending = true;
                self.pending.push(conn);
            }
        }
        true
    }

    /// Queues a control frame (a pong) for a WebSocket client, unframed.
    pub(crate) fn send_control(&mut self, conn: ConnId, frame: Bytes) {
        let Some(c) = self.conns.get_mut(conn.0) else {
            return;
        };
        if c.state != State::Open {
            return;
        }
        if overflows(c, frame.len(), self.config.max_queue_bytes) {
            self.stats.closed_overflow += 1;
            return self.close_with(conn, CloseReason::QueueOverflow);
        }
        c.queue.push(frame);
        if c.writable && !c.in_pending {
            c.in_pending = true;
            self.pending.push(conn);
        }
    }

    /// A WebSocket client broke a rule: close it with `code` once what is
    /// queued has gone.
    pub(crate) fn refuse_websocket(&mut self, conn: ConnId, code: u16) {
        if let Some(ws) = self.conns.get_mut(conn.0).and_then(|c| c.ws.as_mut()) {
            ws.close_code = code;
        }
        self.close_after_flush(conn);
    }

    /// Close `conn` now, dropping its queue. [`Handler::closed`](crate::Handler::closed)
    /// follows later in this turn with [`CloseReason::Local`]. No-op if
    /// unknown or already closed.
    pub fn close(&mut self, conn: ConnId) {
        self.close_with(conn, CloseReason::Local);
    }

    /// Stop delivering input, write what is queued, shut down the write side,
    /// then close. Input still arriving is read and discarded until the peer's
    /// EOF, so that closing does not reset the connection under the peer's
    /// unread output. Bounded by [`NetConfig::linger`]: past it the
    /// connection is closed anyway. Further `send`s are ignored.
    /// [`Handler::closed`](crate::Handler::closed) reports
    /// [`CloseReason::PeerClosed`] if the peer's EOF came before the call,
    /// [`CloseReason::Local`] otherwise.
    pub fn close_after_flush(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(conn.0) else {
            return;
        };
        if c.state != State::Open {
            return;
        }
        let deadline = self.now + self.config.linger;
        c.state = State::Draining {
            deadline,
            peer_first: c.peer_eof,
        };
        // Listed even if not writable: with an empty queue the flush step
        // only has to shut the write side down.
        if !c.in_pending {
            c.in_pending = true;
            self.pending.push(conn);
        }
        self.timers.schedule(deadline, TimerKind::Linger(conn));
    }

    /// Whether the last turn left output past a connection's write budget:
    /// the loop is behind its own writes and reads no input this turn. A
    /// handler with input of its own (another thread's channel) leaves it
    /// waiting too, and takes it in [`Handler::turn_ending`](crate::Handler::turn_ending)
    /// once this is false: the turn after the loop caught up follows at
    /// once, without a wake-up.
    pub fn is_behind(&self) -> bool {
        self.behind
    }

    /// Lists `conn` on the read-ready list (once), to be read by a later turn.
    pub(crate) fn read_later(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(conn.0)
            && !c.in_read_ready
        {
            c.in_read_ready = true;
            self.read_ready.push(conn);
        }
    }

    /// Bytes queued for `conn` and not yet written (0 if unknown or closed).
    pub fn queued_bytes(&self, conn: ConnId) -> usize {
        self.conns.get(conn.0).map_or(0, |c| c.queue.len())
    }

    /// The peer's address, while the reactor knows `conn` (including during
    /// [`Handler::closed`](crate::Handler::closed)).
    pub fn peer_addr(&self, conn: ConnId) -> Option<SocketAddr> {
        self.conns.get(conn.0).map(|c| c.peer)
    }

    /// Whether `conn` is open or draining (not closed, not unknown).
    pub fn is_open(&self, conn: ConnId) -> bool {
        self.conns.get(conn.0).is_some_and(|c| !c.is_closed())
    }

    /// Connections open or draining (closed ones awaiting removal excluded).
    pub fn connection_count(&self) -> usize {
        self.open_count
    }

    /// Fire [`Handler::timer`](crate::Handler::timer) once, `after` from this
    /// turn's time ([`Net::now`]).
    pub fn set_timer(&mut self, after: Duration) -> TimerId {
        let at = self.now + after;
        self.timers.set_user(at)
    }

    /// Forget a timer; harmless if it already fired or was cancelled.
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.timers.cancel(timer);
    }

    /// Stop accepting: listener events are ignored (new peers wait in the
    /// kernel backlog) until [`Net::resume_accepting`].
    pub fn pause_accepting(&mut self) {
        self.paused_by_handler = true;
    }

    /// Accept again, starting with whatever waited in the backlog.
    pub fn resume_accepting(&mut self) {
        self.paused_by_handler = false;
        self.accept_retry = true;
    }

    /// Close every listener for good (at the end of this turn): the first
    /// step of a graceful shutdown. Existing connections are untouched.
    pub fn close_listeners(&mut self) {
        self.close_listeners = true;
    }

    /// Keep `listener` open when the others close ([`Net::close_listeners`],
    /// [`Net::stop_when_drained`]): a health endpoint can then say the
    /// server is stopping while clients drain.
    pub fn keep_listening(&mut self, listener: ListenerId) {
        if !self.kept_listeners.contains(&listener) {
            self.kept_listeners.push(listener);
        }
    }

    /// New connections on TLS listener `listener` use `config` from now
    /// on (a renewed certificate, say); open connections keep the session
    /// they have. `false` if `listener` is not a TLS listener.
    pub fn replace_tls(&mut self, listener: ListenerId, config: Arc<rustls::ServerConfig>) -> bool {
        match self.listener_tls.get_mut(listener.0) {
            Some(Some(slot)) => {
                *slot = config;
                true
            }
            _ => false,
        }
    }

    /// Make `run` return at the end of this turn. Queued output is not
    /// flushed; connections still open are closed with
    /// [`CloseReason::Local`] and reported to the handler first. For a
    /// graceful drain use [`Net::close_after_flush`] and
    /// [`Net::stop_when_drained`].
    pub fn stop(&mut self) {
        self.stop = true;
    }

    /// Close the listeners and make `run` return once every connection is
    /// closed, or once `deadline` has passed (then as [`Net::stop`]).
    pub fn stop_when_drained(&mut self, deadline: Duration) {
        self.drain = true;
        self.close_listeners = true;
        let at = self.now + deadline;
        self.timers.schedule(at, TimerKind::DrainDeadline);
    }

    /// Totals so far.
    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// This turn's time, read once per loop turn after poll returns. Cheaper
    /// than `Instant::now()` and the same for every callback of the turn.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The configuration in force.
    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    pub(crate) fn accepting(&self) -> bool {
        !self.paused_by_handler && self.paused_until.is_none()
    }

    /// Mark `conn` closed with `reason`: the queue goes now, the callback
    /// and the slab removal come later in the turn.
    pub(crate) fn close_with(&mut self, conn: ConnId, reason: CloseReason) {
        let Some(c) = self.conns.get_mut(conn.0) else {
            return;
        };
        if c.is_closed() {
            return;
        }
        c.state = State::Closed(reason);
        c.queue.clear();
        self.open_count -= 1;
        self.to_close.push(conn);
    }

    /// Close a draining connection whose work is over (or whose time is up).
    pub(crate) fn finish_draining(&mut self, conn: ConnId) {
        let reason = match self.conns.get(conn.0).map(|c| c.state) {
            Some(State::Draining {
                peer_first: true, ..
            }) => CloseReason::PeerClosed,
            Some(State::Draining { .. }) => CloseReason::Local,
            _ => return,
        };
        self.close_with(conn, reason);
    }

    /// A linger deadline fired: close the connection if it is still the one
    /// that was draining (the key may have been reused since) and its time is up.
    pub(crate) fn linger_expired(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get(conn.0)
            && matches!(c.state, State::Draining { deadline, .. } if deadline <= self.now)
        {
            self.finish_draining(conn);
        }
    }

    /// Write out every pending connection, each within its per-turn budget.
    pub(crate) fn flush_pending(&mut self) {
        let mut list = mem::take(&mut self.spare);
        mem::swap(&mut list, &mut self.pending);
        for &id in &list {
            self.flush_one(id);
        }
        list.clear();
        self.spare = list;
    }

    fn flush_one(&mut self, id: ConnId) {
        let budget = self.config.write_budget_per_turn.max(1);
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        // The flag guards against stale entries: a key reused by a new
        // connection that was never listed.
        if !c.in_pending {
            return;
        }
        c.in_pending = false;
        if c.is_closed() {
            return;
        }
        if let (State::Draining { .. }, Some(ws)) = (c.state, c.ws.as_mut())
            && !ws.close_sent
        {
            // A WebSocket ends with a close frame after everything queued
            // (nothing more can be queued once draining). Decided here, at
            // the end of the turn, so a stop that began in the same turn as
            // the close says "going away".
            ws.close_sent = true;
            let code = if self.drain {
                websocket::GOING_AWAY
            } else {
                ws.close_code
            };
            c.queue.push(websocket::close_frame(code));
        }
        match c.flush(budget, &mut self.stats) {
            Flush::Failed(kind) => self.close_with(id, CloseReason::Error(kind)),
            Flush::BudgetSpent => {
                c.in_pending = true;
                self.carry.push(id);
            }
            Flush::Blocked => {}
            Flush::Empty => {
                if matches!(c.state, State::Draining { .. }) && !c.write_shut {
                    match c.stream.shutdown_write() {
                        Ok(()) => {
                            c.write_shut = true;
                            if c.peer_eof {
                                self.finish_draining(id);
                            }
                        }
                        Err(e) => self.close_with(id, CloseReason::Error(e.kind())),
                    }
                }
            }
        }
    }
}
