//! The event loop: poll, dispatch, fire timers, flush, remove the closed.

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use signal_hook_mio::v1_0::Signals;

use crate::conn::State;
use crate::hold_timer::HoldTimer;
use crate::listener::{self, Reserve};
use crate::pace::Pace;
use crate::timer::TimerKind;
use crate::websocket::{self, Event};
use crate::{CloseReason, ConnId, Handler, ListenerId, Net, NetConfig};

/// Reserved tokens sit at the top of the token space; connection tokens are
/// slab keys, which start at 0 and stay far below.
const WAKER_TOKEN: usize = usize::MAX;
const SIGNAL_TOKEN: usize = usize::MAX - 1;
/// Listener `i` has token `LISTENER_TOKEN_TOP - i`.
const LISTENER_TOKEN_TOP: usize = usize::MAX - 2;
const MAX_LISTENERS: usize = 1024;
/// The hold timer's token, just below the listeners'.
const HOLD_TOKEN: usize = LISTENER_TOKEN_TOP - MAX_LISTENERS;
/// Largest slab key usable as a connection token.
pub(crate) const MAX_CONN_KEY: usize = HOLD_TOKEN - 1;

/// Connections with output waiting from which a turn counts as loaded: it
/// holds and gathers before writing (`pace.rs`). A line to a room of this
/// many is enough; a few private lines are not.
pub const GATHER_MIN_PENDING: usize = 32;

/// One poll event, copied out of `Events` so the loop can borrow the reactor
/// mutably while dispatching.
#[derive(Copy, Clone)]
struct Ready {
    token: usize,
    readable: bool,
    writable: bool,
    error: bool,
}

/// The reactor: owns the poller, the listeners and the [`Net`]. Drive it with
/// [`Reactor::run`] on the thread that should do all the I/O.
pub struct Reactor {
    pub(crate) poll: Poll,
    pub(crate) net: Net,
    pub(crate) listeners: Vec<Option<TcpListener>>,
    pub(crate) reserve: Reserve,
    events: Events,
    /// Reused between turns to avoid reallocating.
    ready: Vec<Ready>,
    due: Vec<TimerKind>,
    carried_reads: Vec<ConnId>,
    /// The one read buffer all connections share.
    scratch: Box<[u8]>,
    waker: Arc<Waker>,
    signals: Option<Signals>,
    /// When a loaded turn writes.
    pace: Pace,
    /// Wakes the poll when a hold ends.
    hold_timer: HoldTimer,
}

impl Reactor {
    /// A reactor with no listeners yet. Also ignores `SIGPIPE` process-wide,
    /// so writing to a vanished peer fails that connection with `EPIPE`
    /// instead of killing the process.
    pub fn new(config: NetConfig) -> io::Result<Self> {
        // SAFETY: setting SIGPIPE's disposition to SIG_IGN installs no
        // handler code and touches no memory; it is async-signal-safe and
        // racing calls would all store the same value.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), Token(WAKER_TOKEN))?);
        let hold_timer = HoldTimer::new(poll.registry(), Token(HOLD_TOKEN))?;
        let scratch = vec![0; config.read_buffer_size.max(1)].into_boxed_slice();
        let pace = Pace::new(&config);
        Ok(Self {
            poll,
            net: Net::new(config),
            listeners: Vec::new(),
            reserve: Reserve::new(),
            events: Events::with_capacity(1024),
            ready: Vec::new(),
            due: Vec::new(),
            carried_reads: Vec::new(),
            scratch,
            waker,
            signals: None,
            pace,
            hold_timer,
        })
    }

    /// Listen on `addr` (binds with `SO_REUSEADDR`; IPv6 sockets are
    /// `IPV6_V6ONLY` so `0.0.0.0:P` and `[::]:P` can both be bound;
    /// nonblocking; backlog from the config). Returns the listener's id and
    /// the address really bound, so port 0 works.
    pub fn listen(&mut self, addr: SocketAddr) -> io::Result<(ListenerId, SocketAddr)> {
        let idx = self.listeners.len();
        if idx >= MAX_LISTENERS {
            return Err(io::Error::other("too many listeners"));
        }
        let mut listener = listener::bind(addr, self.net.config.backlog)?;
        let local = listener.local_addr()?;
        self.poll.registry().register(
            &mut listener,
            Token(LISTENER_TOKEN_TOP - idx),
            Interest::READABLE,
        )?;
        self.listeners.push(Some(listener));
        self.net.listener_tls.push(None);
        Ok((ListenerId(idx), local))
    }

    /// Like [`Reactor::listen`], but every connection speaks TLS with
    /// `config`; handlers receive and send plaintext. A client that does not
    /// finish its handshake within [`NetConfig::tls_handshake_timeout`] is
    /// closed.
    pub fn listen_tls(
        &mut self,
        addr: SocketAddr,
        config: Arc<rustls::ServerConfig>,
    ) -> io::Result<(ListenerId, SocketAddr)> {
        let (id, local) = self.listen(addr)?;
        if let Some(slot) = self.net.listener_tls.get_mut(id.0) {
            *slot = Some(config);
        }
        Ok((id, local))
    }

    /// A handle other threads can use to wake the reactor; each wake leads
    /// to [`Handler::woken`]. Clone it before `run` and move it anywhere.
    pub fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// Deliver these signals through [`Handler::signal`] instead of their
    /// default action. May be called more than once to add signals.
    pub fn watch_signals(&mut self, signals: &[i32]) -> io::Result<()> {
        match &self.signals {
            Some(watched) => {
                for &signal in signals {
                    watched.add_signal(signal)?;
                }
            }
            None => {
                let mut watched = Signals::new(signals.iter().copied())?;
                self.poll.registry().register(
                    &mut watched,
                    Token(SIGNAL_TOKEN),
                    Interest::READABLE,
                )?;
                self.signals = Some(watched);
            }
        }
        Ok(())
    }

    /// The [`Net`], for setup before `run` (timers, say). Its clock is
    /// refreshed so timers set now count from now.
    pub fn net(&mut self) -> &mut Net {
        self.net.now = Instant::now();
        &mut self.net
    }

    /// Run the loop until [`Net::stop`] or [`Net::stop_when_drained`] ends
    /// it. Connections still open then are closed and reported first, so
    /// [`Handler::closed`] is called exactly once for every accepted
    /// connection. Errors only if polling itself fails.
    pub fn run<H: Handler>(&mut self, handler: &mut H) -> io::Result<()> {
        loop {
            let timeout = self.timeout();
            let polling = Instant::now();
            match self.poll.poll(&mut self.events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            self.net.now = Instant::now();
            self.pace.polled(self.net.now.duration_since(polling));
            let began = self.net.now;
            self.turn(handler);
            let spent = began.elapsed();
            self.net.stats.turn_time.record(spent);
            if self.net.drain && self.net.open_count == 0 {
                self.net.stop = true;
            }
            if self.net.stop {
                self.close_all(handler);
                self.net.stop = false;
                self.net.drain = false;
                return Ok(());
            }
        }
    }

    /// How long poll may sleep: not at all if work is carried over or the
    /// loop has just caught up with its writes (a handler may have left
    /// input of its own waiting, `Net::is_behind`), otherwise until the
    /// next deadline.
    fn timeout(&mut self) -> Option<Duration> {
        let net = &mut self.net;
        if net.stop
            || net.caught_up
            || !net.pending.is_empty()
            || !net.read_ready.is_empty()
            || (net.accept_retry && net.accepting())
        {
            return Some(Duration::ZERO);
        }
        net.timers
            .next_deadline()
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    fn turn<H: Handler>(&mut self, handler: &mut H) {
        let began = self.net.now;
        self.read_events(handler);
        // Under load, read what has arrived meanwhile before writing: each
        // write then carries more lines (pace.rs says when to write).
        while self.net.pending.len() >= GATHER_MIN_PENDING && !self.net.behind && !self.net.stop {
            let carried_reads = !self.net.read_ready.is_empty();
            let Some(timeout) = self.pace.wait(began, Instant::now(), carried_reads) else {
                break;
            };
            if !timeout.is_zero() {
                self.hold_timer.arm(timeout);
            }
            let polling = Instant::now();
            match self.poll.poll(&mut self.events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break, // the next poll reports it
            }
            self.pace.polled(polling.elapsed());
            if self.events.is_empty() && self.net.read_ready.is_empty() {
                if timeout.is_zero() {
                    break;
                }
                continue; // held until due: now gather, then write
            }
            self.net.now = Instant::now();
            self.read_events(handler);
        }
        handler.turn_ending(&mut self.net);
        let loaded = self.net.pending.len() >= GATHER_MIN_PENDING;
        let writing = Instant::now();
        self.settle(handler);
        if loaded {
            self.pace.wrote(writing, Instant::now());
        }
        self.remove_dead();
    }

    /// One poll's events, the reads carried over, timers and accepts:
    /// everything of a turn but the writing.
    fn read_events<H: Handler>(&mut self, handler: &mut H) {
        // Connections whose read budget ran out last turn; taken before the
        // events so a new budget overrun lands in a fresh list.
        mem::swap(&mut self.carried_reads, &mut self.net.read_ready);

        self.ready.extend(self.events.iter().map(|ev| Ready {
            token: ev.token().0,
            readable: ev.is_readable() || ev.is_read_closed(),
            writable: ev.is_writable() || ev.is_write_closed(),
            error: ev.is_error(),
        }));
        let ready = mem::take(&mut self.ready);
        for r in &ready {
            self.dispatch(handler, *r);
        }
        self.ready = ready;
        self.ready.clear();

        let carried = mem::take(&mut self.carried_reads);
        for &id in &carried {
            if let Some(conn) = self.net.conns.get_mut(id.0)
                && conn.in_read_ready
            {
                conn.in_read_ready = false;
                self.read_conn(handler, id);
            }
        }
        self.carried_reads = carried;
        self.carried_reads.clear();

        self.fire_timers(handler);

        if self.net.accept_retry && self.net.accepting() {
            self.net.accept_retry = false;
            for idx in 0..self.listeners.len() {
                self.accept_from(handler, idx);
            }
        }
        if self.net.close_listeners {
            self.net.close_listeners = false;
            for (idx, slot) in self.listeners.iter_mut().enumerate() {
                if self.net.kept_listeners.contains(&ListenerId(idx)) {
                    continue;
                }
                if let Some(mut l) = slot.take() {
                    let _ = self.poll.registry().deregister(&mut l);
                }
            }
        }
    }

    fn dispatch<H: Handler>(&mut self, handler: &mut H, r: Ready) {
        match r.token {
            WAKER_TOKEN => handler.woken(&mut self.net),
            HOLD_TOKEN => self.hold_timer.clear(),
            SIGNAL_TOKEN => {
                if let Some(signals) = &mut self.signals {
                    for signal in signals.pending() {
                        handler.signal(&mut self.net, signal);
                    }
                }
            }
            t if t > MAX_CONN_KEY => {
                // While paused the event is dropped; resuming retries.
                if self.net.accepting() {
                    self.accept_from(handler, LISTENER_TOKEN_TOP - t);
                }
            }
            key => self.conn_event(handler, key, r),
        }
    }

    fn conn_event<H: Handler>(&mut self, handler: &mut H, key: usize, r: Ready) {
        let id = ConnId(key);
        // Stray events (connection gone or closing) are ignored.
        let Some(conn) = self.net.conns.get_mut(key) else {
            return;
        };
        if conn.is_closed() {
            return;
        }
        if r.error {
            match conn.stream.take_error() {
                Ok(None) => {}
                Ok(Some(e)) | Err(e) => {
                    self.net.close_with(id, CloseReason::Error(e.kind()));
                    return;
                }
            }
        }
        if r.writable {
            conn.writable = true;
            if conn.needs_flush() && !conn.in_pending {
                conn.in_pending = true;
                self.net.pending.push(id);
            }
        }
        // A connection on the read-ready list is served from there.
        if r.readable && !conn.in_read_ready {
            self.read_conn(handler, id);
        }
    }

    /// Read until `WouldBlock`, EOF, an error, or the read budget is spent
    /// (then the connection waits on the read-ready list for next turn).
    /// While the loop is behind its writes, nothing is read: the connection
    /// waits there at once.
    fn read_conn<H: Handler>(&mut self, handler: &mut H, id: ConnId) {
        if self.net.behind {
            return self.net.read_later(id);
        }
        let mut budget = self.net.config.read_budget_per_turn.max(1);
        // A WebSocket's input decoded but not yet handed over (frames sent
        // right behind the upgrade request) goes first.
        if self.net.conns.get(id.0).is_some_and(|c| {
            c.ws.as_ref()
                .and_then(|ws| ws.decoder.as_ref())
                .is_some_and(|decoder| decoder.has_input())
        }) {
            deliver_websocket(&mut self.net, handler, id, &[]);
        }
        loop {
            let Some(conn) = self.net.conns.get_mut(id.0) else {
                return;
            };
            if !conn.wants_read() {
                return;
            }
            if budget == 0 {
                return self.net.read_later(id);
            }
            let max = budget.min(self.scratch.len());
            self.net.stats.read_syscalls += 1;
            match conn.stream.read(&mut self.scratch[..max]) {
                Ok(0) => {
                    conn.peer_eof = true;
                    match conn.state {
                        State::Open => handler.read_closed(&mut self.net, id),
                        State::Draining { .. } if conn.write_shut => self.net.finish_draining(id),
                        _ => {}
                    }
                    return;
                }
                Ok(n) => {
                    budget -= n;
                    self.net.stats.bytes_in += n as u64;
                    // A draining connection's input is read only to be dropped.
                    if conn.state == State::Open {
                        if conn.ws.is_some() {
                            deliver_websocket(&mut self.net, handler, id, &self.scratch[..n]);
                        } else {
                            handler.received(&mut self.net, id, &self.scratch[..n]);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // TLS: reading may have finished the handshake (releasing
                    // buffered plaintext) or produced records of its own; try
                    // writing, at the cost of at most one WouldBlock.
                    if conn.stream.wants_write() || (!conn.queue.is_empty() && !conn.writable) {
                        conn.writable = true;
                        if !conn.in_pending {
                            conn.in_pending = true;
                            self.net.pending.push(id);
                        }
                    }
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.net.close_with(id, CloseReason::Error(e.kind()));
                    return;
                }
            }
        }
    }

    fn fire_timers<H: Handler>(&mut self, handler: &mut H) {
        let mut due = mem::take(&mut self.due);
        self.net.timers.pop_due(self.net.now, &mut due);
        for &kind in &due {
            match kind {
                TimerKind::User(id) => handler.timer(&mut self.net, id),
                TimerKind::Linger(conn) => self.net.linger_expired(conn),
                TimerKind::AcceptResume => {
                    self.net.paused_until = None;
                    self.net.accept_retry = true;
                }
                TimerKind::DrainDeadline => {
                    if self.net.drain {
                        self.net.stop = true;
                    }
                }
                TimerKind::TlsHandshake(conn, serial) => {
                    let stalled = self.net.conns.get(conn.0).is_some_and(|c| {
                        c.serial == serial && !c.is_closed() && c.stream.is_handshaking()
                    });
                    if stalled {
                        self.net
                            .close_with(conn, CloseReason::Error(io::ErrorKind::TimedOut));
                    }
                }
            }
        }
        due.clear();
        self.due = due;
    }

    /// Report this turn's closes and flush pending output, until neither
    /// produces more (a `closed` callback may send; a flush may fail).
    fn settle<H: Handler>(&mut self, handler: &mut H) {
        loop {
            self.report_closed(handler);
            self.net.flush_pending();
            if self.net.to_close.is_empty() {
                break;
            }
        }
        let carry = mem::take(&mut self.net.carry);
        let was_behind = self.net.behind;
        self.net.behind = !carry.is_empty();
        self.net.caught_up = was_behind && !self.net.behind;
        self.net.pending.extend_from_slice(&carry);
        self.net.carry = carry;
        self.net.carry.clear();
    }

    /// Call `Handler::closed` once for each connection closed this turn.
    fn report_closed<H: Handler>(&mut self, handler: &mut H) {
        while !self.net.to_close.is_empty() {
            let batch = mem::take(&mut self.net.to_close);
            for &id in &batch {
                if let Some(State::Closed(reason)) = self.net.conns.get(id.0).map(|c| c.state) {
                    handler.closed(&mut self.net, id, reason);
                }
            }
            self.net.dead.extend_from_slice(&batch);
        }
    }

    /// End of turn: closed connections leave the slab, so their keys can be
    /// reused from the next turn on.
    fn remove_dead(&mut self) {
        for id in self.net.dead.drain(..) {
            if let Some(mut conn) = self.net.conns.try_remove(id.0) {
                let _ = self.poll.registry().deregister(&mut conn.stream);
            }
        }
    }

    /// Close and report every connection still open, then remove them all.
    fn close_all<H: Handler>(&mut self, handler: &mut H) {
        let open: Vec<ConnId> = self
            .net
            .conns
            .iter()
            .filter(|(_, c)| !c.is_closed())
            .map(|(key, _)| ConnId(key))
            .collect();
        for id in open {
            self.net.close_with(id, CloseReason::Local);
        }
        self.report_closed(handler);
        self.remove_dead();
        self.net.pending.clear();
        self.net.read_ready.clear();
    }
}

/// Decodes a WebSocket client's bytes and hands its lines to the handler;
/// pings are answered, a close or a broken rule ends the connection.
fn deliver_websocket<H: Handler>(net: &mut Net, handler: &mut H, id: ConnId, data: &[u8]) {
    let now = net.now;
    // The decoder leaves the connection while the handler runs (which may
    // send to this very connection), and comes back after.
    let Some(mut decoder) = net
        .conns
        .get_mut(id.0)
        .and_then(|c| c.ws.as_mut())
        .and_then(|ws| {
            ws.last_input = now;
            ws.decoder.take()
        })
    else {
        return;
    };
    decoder.push(data);
    while net.conns.get(id.0).is_some_and(|c| c.state == State::Open) {
        match decoder.next_event() {
            None => break,
            Some(Event::Line(line)) => handler.received(net, id, line),
            Some(Event::Ping(payload)) => net.send_control(id, websocket::pong_frame(payload)),
            Some(Event::Pong) => {}
            // Answered with our own close frame when the handler closes,
            // as it would after a TCP client's EOF.
            Some(Event::Close(_)) => handler.read_closed(net, id),
            Some(Event::Refuse(code)) => net.refuse_websocket(id, code),
        }
    }
    if let Some(ws) = net.conns.get_mut(id.0).and_then(|c| c.ws.as_mut()) {
        ws.decoder = Some(decoder);
    }
}
