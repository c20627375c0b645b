//! Listening sockets: binding, draining accept, and refusing politely when out
//! of file descriptors.

use std::fs::File;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Token};
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

use crate::conn::Conn;
use crate::reactor::{MAX_CONN_KEY, Reactor};
use crate::stream::Stream;
use crate::timer::TimerKind;
use crate::tls::TlsStream;
use crate::{ConnId, Handler, ListenerId};

/// How long accepting pauses when descriptors cannot be freed.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Bind a nonblocking listener. `SO_REUSEADDR` so a restart does not wait
/// out TIME_WAIT; `IPV6_V6ONLY` so `0.0.0.0:P` and `[::]:P` can coexist.
pub(crate) fn bind(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    socket.set_nonblocking(true)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// A descriptor held in reserve (`/dev/null`), given up on `EMFILE`/`ENFILE`
/// so that one pending connection can be accepted and closed. Without it a
/// full backlog keeps the listener readable and the loop spins.
pub(crate) struct Reserve(Option<File>);

impl Reserve {
    pub(crate) fn new() -> Self {
        Self(File::open("/dev/null").ok())
    }

    fn release(&mut self) {
        self.0 = None;
    }

    /// Retake the reserve; false if even that fails.
    fn restore(&mut self) -> bool {
        if self.0.is_none() {
            self.0 = File::open("/dev/null").ok();
        }
        self.0.is_some()
    }
}

fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Errors that concern only the connection being accepted (it died in the
/// backlog, or a firewall refused it): skip it and keep accepting.
fn skip_one(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
        || matches!(
            e.raw_os_error(),
            Some(libc::ECONNABORTED | libc::EPROTO | libc::EPERM)
        )
}

enum Refusal {
    /// One peer was refused; keep accepting.
    Continue,
    /// Nothing was waiting.
    Drained,
    /// Still out of descriptors: pause.
    Pause,
}

impl Reactor {
    /// Accept on listener `idx` until `WouldBlock` (edge-triggered: anything
    /// left would never be reported again), or until accepting is paused.
    pub(crate) fn accept_from<H: Handler>(&mut self, handler: &mut H, idx: usize) {
        loop {
            if !self.net.accepting() {
                return;
            }
            let Some(Some(listener)) = self.listeners.get(idx) else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => self.adopt(handler, stream, peer, ListenerId(idx)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if skip_one(&e) => {}
                Err(e) if out_of_descriptors(&e) => match self.refuse_one(handler, idx) {
                    Refusal::Continue => {}
                    Refusal::Drained => return,
                    Refusal::Pause => return self.pause_accepting_briefly(),
                },
                // ENOBUFS, ENOMEM, or anything unforeseen: retrying at once
                // would spin, so back off.
                Err(_) => return self.pause_accepting_briefly(),
            }
        }
    }

    fn pause_accepting_briefly(&mut self) {
        let at = self.net.now + ACCEPT_PAUSE;
        self.net.paused_until = Some(at);
        self.net.timers.schedule(at, TimerKind::AcceptResume);
    }

    /// Out of descriptors: spend the reserve on one pending peer, hand it
    /// the handler's notice, close it, retake the reserve.
    fn refuse_one<H: Handler>(&mut self, handler: &mut H, idx: usize) -> Refusal {
        let Some(Some(listener)) = self.listeners.get(idx) else {
            return Refusal::Drained;
        };
        self.reserve.release();
        let outcome = match listener.accept() {
            Ok((mut stream, peer)) => {
                self.net.stats.refused += 1;
                if let Some(notice) = handler.refusal_notice(peer) {
                    // Best-effort by design: one nonblocking write, result ignored.
                    let _ = stream.write(&notice);
                }
                Refusal::Continue
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Refusal::Drained,
            Err(_) => Refusal::Pause,
        };
        if self.reserve.restore() {
            outcome
        } else {
            Refusal::Pause
        }
    }

    fn adopt<H: Handler>(
        &mut self,
        handler: &mut H,
        stream: TcpStream,
        peer: SocketAddr,
        listener: ListenerId,
    ) {
        // Option failures are not fatal: the connection works without them.
        if self.net.config.tcp_nodelay {
            let _ = stream.set_nodelay(true);
        }
        if let Some(idle) = self.net.config.keepalive {
            let _ = SockRef::from(&stream).set_tcp_keepalive(&TcpKeepalive::new().with_time(idle));
        }
        let entry = self.net.conns.vacant_entry();
        let key = entry.key();
        let tls = self.net.listener_tls.get(listener.0).cloned().flatten();
        let mut stream = match tls {
            None => Stream::Plain(stream),
            Some(config) => match rustls::ServerConnection::new(config) {
                Ok(session) => Stream::Tls(Box::new(TlsStream::new(stream, session))),
                Err(_) => {
                    self.net.stats.refused += 1;
                    return;
                }
            },
        };
        // Registered once for both directions; see the crate docs.
        let registered = key <= MAX_CONN_KEY
            && self
                .poll
                .registry()
                .register(
                    &mut stream,
                    Token(key),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .is_ok();
        if !registered {
            // The poller cannot watch it, so it cannot be served: drop it.
            self.net.stats.refused += 1;
            return;
        }
        let handshaking = stream.is_handshaking();
        self.net.stats.accepted += 1;
        let serial = self.net.stats.accepted;
        entry.insert(Conn::new(stream, peer, serial));
        self.net.open_count += 1;
        if handshaking {
            let at = self.net.now + self.net.config.tls_handshake_timeout;
            self.net
                .timers
                .schedule(at, TimerKind::TlsHandshake(ConnId(key), serial));
        }
        handler.accepted(&mut self.net, ConnId(key), peer, listener);
    }
}
