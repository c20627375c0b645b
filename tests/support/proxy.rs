//! A TCP proxy of the test's own on loopback, to cut a client off without
//! touching the client or the server: [`Proxy::cut`] drops every
//! connection through it and turns new ones away until [`Proxy::heal`], as
//! a dying NAT or a flaky link does. Holding is quieter: a connection
//! stays open but nothing more crosses it, either way, until
//! [`Proxy::thaw`]. [`Proxy::freeze_subscriptions`] holds Redis pub/sub
//! connections (whose client sent `SUBSCRIBE`), as a wedged subscription
//! does while every other connection works; [`Proxy::isolate_redis_peers`]
//! holds those of sentinels and replicas (`CLIENT SETNAME sentinel-…`,
//! `REPLCONF`, `PSYNC`): a master cut off from its failover group while
//! its clients still reach it.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

#[derive(Default)]
struct State {
    upstream: Option<SocketAddr>,
    /// Both ends of every connection through the proxy.
    open: Vec<TcpStream>,
}

pub struct Proxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    cut: Arc<AtomicBool>,
    /// The kinds of connections held now.
    held: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
}

/// A connection whose client subscribed.
const SUBSCRIBER: u8 = 1;
/// A connection of a sentinel or a replica.
const REDIS_PEER: u8 = 2;

/// What a client's bytes tell of its connection's kind.
fn kind_of(bytes: &[u8]) -> u8 {
    let has = |needle: &[u8]| {
        bytes
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    let mut kind = 0;
    if has(b"SUBSCRIBE") {
        kind |= SUBSCRIBER;
    }
    if has(b"sentinel-") || has(b"REPLCONF") || has(b"PSYNC") {
        kind |= REDIS_PEER;
    }
    kind
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Proxy {
    /// A proxy on a free loopback port, forwarding to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("proxy: cannot listen: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("proxy: {e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("proxy: {e}"));
        let state = Arc::new(Mutex::new(State {
            upstream: Some(upstream),
            open: Vec::new(),
        }));
        let (cut, stop) = (Arc::default(), Arc::new(AtomicBool::new(false)));
        let held = Arc::new(AtomicU8::new(0));
        let proxy = Proxy {
            addr,
            state: Arc::clone(&state),
            cut: Arc::clone(&cut),
            held: Arc::clone(&held),
            stop: Arc::clone(&stop),
        };
        thread::spawn(move || accept(&listener, &state, &cut, &held, &stop));
        proxy
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Forward new connections to `upstream` from now on (a restarted
    /// server listens on a new port).
    pub fn retarget(&self, upstream: SocketAddr) {
        lock(&self.state).upstream = Some(upstream);
    }

    /// Drops every connection through the proxy; new ones are closed at
    /// once until [`Proxy::heal`].
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for stream in lock(&self.state).open.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    pub fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }

    /// Holds Redis pub/sub connections (and those that subscribe
    /// meanwhile), without closing one.
    pub fn freeze_subscriptions(&self) {
        self.held.fetch_or(SUBSCRIBER, Ordering::SeqCst);
    }

    /// Holds the connections of sentinels and replicas (and those that
    /// come meanwhile), without closing one.
    pub fn isolate_redis_peers(&self) {
        self.held.fetch_or(REDIS_PEER, Ordering::SeqCst);
    }

    /// Forwards everything again.
    pub fn thaw(&self) {
        self.held.store(0, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
    }
}

fn accept(
    listener: &TcpListener,
    state: &Mutex<State>,
    cut: &AtomicBool,
    held: &Arc<AtomicU8>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::SeqCst) {
        let Ok((client, _)) = listener.accept() else {
            thread::sleep(Duration::from_millis(5));
            continue;
        };
        let upstream = lock(state).upstream;
        let server = match upstream.map(TcpStream::connect) {
            Some(Ok(server)) if !cut.load(Ordering::SeqCst) => server,
            _ => {
                let _ = client.shutdown(Shutdown::Both);
                continue;
            }
        };
        let _ = client.set_nonblocking(false);
        let ends = [client.try_clone(), server.try_clone()];
        let [Ok(client_end), Ok(server_end)] = ends else {
            continue;
        };
        lock(state).open.extend([client_end, server_end]);
        let (Ok(client_reader), Ok(server_reader)) = (client.try_clone(), server.try_clone())
        else {
            continue;
        };
        // The connection's kind, told by what its client sends.
        let kind = Arc::new(AtomicU8::new(0));
        let (kind_back, held_back) = (Arc::clone(&kind), Arc::clone(held));
        let held = Arc::clone(held);
        thread::spawn(move || pipe(client_reader, server, true, &kind, &held));
        thread::spawn(move || pipe(server_reader, client, false, &kind_back, &held_back));
    }
}

/// Copies `from` to `to` until either ends, then ends both; while the
/// connection's `kind` is `held`, forwards nothing. `from_client`: what
/// it reads tells the kind.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    from_client: bool,
    kind: &AtomicU8,
    held: &AtomicU8,
) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if from_client {
                    kind.fetch_or(kind_of(&buf[..n]), Ordering::SeqCst);
                }
                while kind.load(Ordering::SeqCst) & held.load(Ordering::SeqCst) != 0 {
                    thread::sleep(Duration::from_millis(10));
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
