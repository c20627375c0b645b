//! Test harness: a reactor on its own thread, driven by closures, reporting
//! what happened over a channel; plus std::net client helpers.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chat_net::{Bytes, CloseReason, ConnId, Handler, ListenerId, Net, NetConfig, Reactor, TimerId};

/// What the test handler saw.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ev {
    Accepted(ConnId),
    Closed(ConnId, CloseReason),
    Timer(TimerId),
    Woken,
    Signal(i32),
}

pub(crate) type Conns = BTreeSet<ConnId>;
pub(crate) type Ctl = Box<dyn FnOnce(&mut Net, &Conns) + Send>;
pub(crate) type OnRecv = Box<dyn FnMut(&mut Net, &Conns, ConnId, &[u8]) + Send>;
pub(crate) type OnAccept = Box<dyn FnMut(&mut Net, ConnId) + Send>;
pub(crate) type OnTimer = Box<dyn FnMut(&mut Net, &Conns, TimerId) + Send>;
pub(crate) type OnTurnEnding = Box<dyn FnMut(&mut Net) + Send>;

/// The server's behaviour; anything left `None` does nothing.
pub(crate) struct Behavior {
    pub(crate) on_recv: OnRecv,
    pub(crate) on_accept: Option<OnAccept>,
    pub(crate) on_timer: Option<OnTimer>,
    pub(crate) on_turn_ending: Option<OnTurnEnding>,
}

impl Behavior {
    pub(crate) fn echo() -> Self {
        Self::on_recv(|net, _, conn, data| net.send(conn, Bytes::copy_from_slice(data)))
    }

    pub(crate) fn on_recv(f: impl FnMut(&mut Net, &Conns, ConnId, &[u8]) + Send + 'static) -> Self {
        Self {
            on_recv: Box::new(f),
            on_accept: None,
            on_timer: None,
            on_turn_ending: None,
        }
    }

    pub(crate) fn with_accept(mut self, f: impl FnMut(&mut Net, ConnId) + Send + 'static) -> Self {
        self.on_accept = Some(Box::new(f));
        self
    }

    pub(crate) fn with_turn_ending(mut self, f: impl FnMut(&mut Net) + Send + 'static) -> Self {
        self.on_turn_ending = Some(Box::new(f));
        self
    }

    pub(crate) fn with_timer(
        mut self,
        f: impl FnMut(&mut Net, &Conns, TimerId) + Send + 'static,
    ) -> Self {
        self.on_timer = Some(Box::new(f));
        self
    }
}

struct TestHandler {
    conns: Conns,
    behavior: Behavior,
    events: Sender<Ev>,
    ctl: Receiver<Ctl>,
}

impl Handler for TestHandler {
    fn accepted(&mut self, net: &mut Net, conn: ConnId, _peer: SocketAddr, _l: ListenerId) {
        assert!(self.conns.insert(conn), "{conn:?} accepted twice");
        let _ = self.events.send(Ev::Accepted(conn));
        if let Some(f) = &mut self.behavior.on_accept {
            f(net, conn);
        }
    }

    fn received(&mut self, net: &mut Net, conn: ConnId, data: &[u8]) {
        assert!(self.conns.contains(&conn), "data for unknown {conn:?}");
        (self.behavior.on_recv)(net, &self.conns, conn, data);
    }

    fn closed(&mut self, net: &mut Net, conn: ConnId, reason: CloseReason) {
        assert!(self.conns.remove(&conn), "{conn:?} closed twice or unknown");
        // Sending to a connection being closed must be a harmless no-op.
        net.send(conn, Bytes::from_static(b"too late"));
        assert_eq!(net.queued_bytes(conn), 0);
        assert!(!net.is_open(conn));
        let _ = self.events.send(Ev::Closed(conn, reason));
    }

    fn woken(&mut self, net: &mut Net) {
        while let Ok(f) = self.ctl.try_recv() {
            f(net, &self.conns);
        }
        let _ = self.events.send(Ev::Woken);
    }

    fn turn_ending(&mut self, net: &mut Net) {
        if let Some(f) = &mut self.behavior.on_turn_ending {
            f(net);
        }
    }

    fn timer(&mut self, net: &mut Net, timer: TimerId) {
        let _ = self.events.send(Ev::Timer(timer));
        if let Some(f) = &mut self.behavior.on_timer {
            f(net, &self.conns, timer);
        }
    }

    fn signal(&mut self, _net: &mut Net, signal: i32) {
        let _ = self.events.send(Ev::Signal(signal));
    }
}

pub(crate) struct Server {
    pub(crate) addrs: Vec<SocketAddr>,
    pub(crate) waker: Arc<mio::Waker>,
    events: Receiver<Ev>,
    /// Events read from the channel but not yet claimed by an `expect`.
    seen: Vec<Ev>,
    ctl: Sender<Ctl>,
    thread: Option<JoinHandle<()>>,
}

pub(crate) const LOCALHOST: &str = "127.0.0.1:0";

impl Server {
    pub(crate) fn start(config: NetConfig, behavior: Behavior) -> Server {
        Self::start_with(config, &[LOCALHOST.parse().unwrap()], |_| {}, behavior)
    }

    /// Build the reactor here (so setup errors surface in the test), then
    /// run it on a thread.
    pub(crate) fn start_with(
        config: NetConfig,
        listen: &[SocketAddr],
        setup: impl FnOnce(&mut Reactor),
        behavior: Behavior,
    ) -> Server {
        let mut reactor = Reactor::new(config).unwrap();
        let addrs = listen
            .iter()
            .map(|a| reactor.listen(*a).unwrap().1)
            .collect();
        setup(&mut reactor);
        Self::spawn(reactor, addrs, behavior)
    }

    pub(crate) fn spawn(
        mut reactor: Reactor,
        addrs: Vec<SocketAddr>,
        behavior: Behavior,
    ) -> Server {
        let (ev_tx, ev_rx) = mpsc::channel();
        let (ctl_tx, ctl_rx) = mpsc::channel();
        let waker = reactor.waker();
        let thread = std::thread::spawn(move || {
            let mut handler = TestHandler {
                conns: Conns::new(),
                behavior,
                events: ev_tx,
                ctl: ctl_rx,
            };
            reactor.run(&mut handler).unwrap();
            assert!(
                handler.conns.is_empty(),
                "run returned with unreported connections"
            );
        });
        Server {
            addrs,
            waker,
            events: ev_rx,
            seen: Vec::new(),
            ctl: ctl_tx,
            thread: Some(thread),
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Run `f` on the reactor thread, inside `Handler::woken`.
    pub(crate) fn run_on(&self, f: impl FnOnce(&mut Net, &Conns) + Send + 'static) {
        self.ctl.send(Box::new(f)).unwrap();
        self.waker.wake().unwrap();
    }

    /// Run `f` on the reactor thread and return its result.
    pub(crate) fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Net, &Conns) -> T + Send + 'static,
    ) -> T {
        let (tx, rx) = mpsc::channel();
        self.run_on(move |net, conns| tx.send(f(net, conns)).unwrap());
        rx.recv_timeout(Duration::from_secs(10))
            .expect("reactor did not answer")
    }

    /// Wait (bounded) for an event matching `pred`, and return it.
    pub(crate) fn expect(&mut self, what: &str, pred: impl Fn(&Ev) -> bool) -> Ev {
        self.expect_within(Duration::from_secs(10), what, pred)
            .unwrap_or_else(|| panic!("timed out waiting for {what}; saw {:?}", self.seen))
    }

    pub(crate) fn expect_within(
        &mut self,
        limit: Duration,
        _what: &str,
        pred: impl Fn(&Ev) -> bool,
    ) -> Option<Ev> {
        if let Some(i) = self.seen.iter().position(&pred) {
            return Some(self.seen.remove(i));
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(ev) if pred(&ev) => return Some(ev),
                Ok(ev) => self.seen.push(ev),
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => panic!("reactor thread ended"),
            }
        }
    }

    pub(crate) fn expect_accepted(&mut self) -> ConnId {
        match self.expect("accept", |e| matches!(e, Ev::Accepted(_))) {
            Ev::Accepted(id) => id,
            _ => unreachable!(),
        }
    }

    pub(crate) fn expect_closed(&mut self, conn: ConnId) -> CloseReason {
        match self.expect("close", |e| matches!(e, Ev::Closed(c, _) if *c == conn)) {
            Ev::Closed(_, reason) => reason,
            _ => unreachable!(),
        }
    }

    /// Wait for the reactor thread to return by itself.
    pub(crate) fn join(mut self) {
        let thread = self.thread.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !thread.is_finished() {
            assert!(Instant::now() < deadline, "run() did not return");
            std::thread::sleep(Duration::from_millis(5));
        }
        thread.join().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = self
                .ctl
                .send(Box::new(|net: &mut Net, _: &Conns| net.stop()));
            let _ = self.waker.wake();
            let result = thread.join();
            if !std::thread::panicking() {
                result.unwrap();
            }
        }
    }
}

pub(crate) fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Read until EOF (bounded by the socket's read timeout).
pub(crate) fn read_to_eof(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

pub(crate) fn read_exact_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

/// Deterministic, position-dependent bytes, so reordering or loss shows.
pub(crate) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i.wrapping_mul(31) ^ (i >> 11)) as u8).wrapping_add(seed))
        .collect()
}

pub(crate) fn write_all(s: &mut TcpStream, data: &[u8]) {
    s.write_all(data).unwrap();
}
