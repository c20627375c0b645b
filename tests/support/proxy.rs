//! A TCP proxy of the test's own on loopback, to cut a client off without
//! touching the client or the server: [`Proxy::cut`] drops every
//! connection through it and turns new ones away until [`Proxy::heal`], as
//! a dying NAT or a flaky link does. [`Proxy::freeze_subscriptions`] is
//! quieter: Redis pub/sub connections (those whose client sent `SUBSCRIBE`)
//! stay open but get nothing more until [`Proxy::thaw`], as a wedged
//! subscription does while every other connection works.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
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
    frozen: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
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
        let frozen = Arc::new(AtomicBool::new(false));
        let proxy = Proxy {
            addr,
            state: Arc::clone(&state),
            cut: Arc::clone(&cut),
            frozen: Arc::clone(&frozen),
            stop: Arc::clone(&stop),
        };
        thread::spawn(move || accept(&listener, &state, &cut, &frozen, &stop));
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

    /// Stops forwarding anything to Redis pub/sub clients (and to those
    /// that subscribe meanwhile), without closing a connection.
    pub fn freeze_subscriptions(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Forwards to pub/sub clients again.
    pub fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
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
    frozen: &Arc<AtomicBool>,
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
        // Whether the client subscribed; the way back holds while frozen.
        let subscriber = Arc::new(AtomicBool::new(false));
        let marks = Some(Arc::clone(&subscriber));
        let hold = Some((subscriber, Arc::clone(frozen)));
        thread::spawn(move || pipe(client_reader, server, marks, None));
        thread::spawn(move || pipe(server_reader, client, None, hold));
    }
}

/// Copies `from` to `to` until either ends, then ends both. `marks`: set it
/// once `SUBSCRIBE` goes through; `hold`: while both are set, forward
/// nothing.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    marks: Option<Arc<AtomicBool>>,
    hold: Option<(Arc<AtomicBool>, Arc<AtomicBool>)>,
) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(marks) = &marks
                    && buf[..n]
                        .windows(9)
                        .any(|w| w.eq_ignore_ascii_case(b"SUBSCRIBE"))
                {
                    marks.store(true, Ordering::SeqCst);
                }
                while let Some((subscriber, frozen)) = &hold
                    && subscriber.load(Ordering::SeqCst)
                    && frozen.load(Ordering::SeqCst)
                {
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
