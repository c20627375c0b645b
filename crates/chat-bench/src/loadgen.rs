//! The load generator's event loop: one thread, one mio `Poll`, nonblocking
//! sockets, no allocation per message.
//!
//! Clients belong to a [`Group`] (one server under test). Senders' messages
//! are appended to a per-sender buffer that is reused, receivers' bytes land
//! in one shared read buffer and are scanned for markers in place. Time is
//! read once per generation step and once per read, never per message.
//!
//! A group may speak TLS: each client then carries a rustls
//! `ClientConnection` between its socket and the same buffers (one socket
//! read feeds rustls from memory, the plaintext lands in a second shared
//! buffer; a sender's queued plaintext goes through rustls's writer). A
//! group may also have a second server (another cluster node): its
//! receivers alternate between the two, senders stay on the first, and the
//! second node's deliveries are counted apart as well.
//!
//! A group may speak WebSocket (chat-server's web listener): each client
//! sends the upgrade first and carries a small frame reader (`loadgen/web.rs`)
//! that hands text payloads on as lines; senders' messages are masked text
//! frames, built once per pacing step like every dialect's message.
//!
//! A group may speak IRC (chat-server's IRC listener): each client
//! registers under a nick of its own and joins `#lobby` in its first write,
//! and is ready once the join's end arrives (`loadgen/irc.rs`); senders'
//! messages are `PRIVMSG #lobby :PAYLOAD`, and what receivers get is
//! scanned for markers as in the line protocol.
//!
//! A group may have searchers: clients that send one fixed command line
//! (`/search WORD`) paced by a bucket of their own, while another group's
//! fan-out runs; they count the lines that come back and the searches
//! something came back for (`loadgen/search.rs`).
//!
//! This file is the loop; `loadgen/client.rs` is one client's bytes (socket,
//! TLS session, output queue, what a read hands on) and `loadgen/group.rs`
//! a group and the counters of its measurement window.

mod client;
mod group;
pub mod irc;
mod search;
pub mod web;

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use slab::Slab;
use socket2::{Domain, Protocol, Socket, Type};

use crate::bucket::TokenBucket;
use crate::dialect::Dialect;
use crate::marker::{self, MARKER_LEN, Scanner};
use client::{Client, Inbox, decrypt, flush};
pub use group::{Group, Searches, Window};
use web::{Read as WebRead, Web};

/// Bytes of a message payload (marker included).
pub const PAYLOAD_LEN: usize = 64;
/// A sender with this much unsent output takes no new message (it is shed).
const SENDER_BACKLOG_CAP: usize = 1 << 20;
const READ_BUF_LEN: usize = 256 * 1024;
/// rustls hands out at most one record's plaintext (16 KiB) at a time.
const PLAIN_BUF_LEN: usize = 64 * 1024;
/// The name the bench's certificate is issued to and TLS clients verify.
pub const TLS_NAME: &str = "localhost";

/// What a client does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Counts markers and records their latency.
    Receiver,
    /// Sends paced messages; discards what it receives.
    Sender,
    /// Connects, becomes ready, stays.
    Idle,
    /// Connects, becomes ready, leaves (churn).
    Churn,
    /// Sends a command line now and then; counts what comes back.
    Searcher,
}

struct Pacing {
    group: usize,
    bucket: TokenBucket,
}

struct Churn {
    group: usize,
    bucket: TokenBucket,
    max_inflight: usize,
}

/// The generator.
pub struct Gen {
    poll: Poll,
    events: Events,
    keys: Vec<usize>,
    clients: Slab<Client>,
    pub groups: Vec<Group>,
    buf: Vec<u8>,
    /// Decrypted bytes of a TLS read.
    plain: Vec<u8>,
    start: Instant,
    pacing: Option<Pacing>,
    churn: Option<Churn>,
    searching: Option<search::Searching>,
    next_src: u32,
    /// Clients connected so far: the next one's number (an IRC nick).
    next_serial: u64,
    payload: [u8; PAYLOAD_LEN],
    /// One message as the paced group's dialect frames it, remade once per
    /// pacing step and copied to each sender's queue.
    wire: Vec<u8>,
}

impl Gen {
    pub fn new() -> io::Result<Gen> {
        let mut payload = [b'x'; PAYLOAD_LEN];
        marker::encode(&mut payload[..MARKER_LEN], 0);
        Ok(Gen {
            poll: Poll::new()?,
            events: Events::with_capacity(4096),
            keys: Vec::with_capacity(4096),
            clients: Slab::with_capacity(1024),
            groups: Vec::new(),
            buf: vec![0; READ_BUF_LEN],
            plain: vec![0; PLAIN_BUF_LEN],
            start: Instant::now(),
            pacing: None,
            churn: None,
            searching: None,
            next_src: 0,
            next_serial: 0,
            payload,
            wire: Vec::with_capacity(256),
        })
    }

    /// Nanoseconds since the generator started: the markers' clock.
    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Adds a group of clients for the server at `addr`.
    pub fn add_group(&mut self, dialect: Dialect, addr: SocketAddr) -> io::Result<usize> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::other(format!(
                "{addr} is not a loopback address"
            )));
        }
        self.groups.push(Group::new(dialect, addr)?);
        Ok(self.groups.len() - 1)
    }

    /// Makes `group`'s clients speak TLS with `config`.
    pub fn set_tls(&mut self, group: usize, config: Arc<ClientConfig>) {
        self.groups[group].tls = Some(config);
    }

    /// Gives `group` a second server: its receivers alternate between the
    /// first and `addr`, starting with the first.
    pub fn set_remote(&mut self, group: usize, addr: SocketAddr) -> io::Result<()> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::other(format!(
                "{addr} is not a loopback address"
            )));
        }
        self.groups[group].remote_addr = Some(addr);
        Ok(())
    }

    /// Source addresses rotate over 127.0.0.2–127.0.0.254 so that tens of
    /// thousands of connections never run short of ephemeral ports.
    fn next_source(&mut self) -> SocketAddr {
        let host = 2 + (self.next_src % 253) as u8;
        self.next_src = self.next_src.wrapping_add(1);
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)), 0)
    }

    /// Starts a nonblocking connect of a new client; returns its key.
    pub fn connect(&mut self, group: usize, role: Role) -> io::Result<usize> {
        let g = &mut self.groups[group];
        let remote = role == Role::Receiver && g.remote_addr.is_some() && g.next_remote;
        if role == Role::Receiver {
            g.next_remote = !g.next_remote;
        }
        let addr = match g.remote_addr {
            Some(a) if remote => a,
            _ => g.addr,
        };
        let tls = match &g.tls {
            Some(config) => {
                let name = ServerName::try_from(TLS_NAME).map_err(io::Error::other)?;
                let conn = ClientConnection::new(config.clone(), name).map_err(io::Error::other)?;
                Some(Box::new(conn))
            }
            None => None,
        };
        let web = g.dialect.web().then(|| Box::new(Web::new()));
        let joining = g.dialect.irc().then(Box::default);
        let mut hello = Vec::new();
        g.dialect.hello(role, self.next_serial, &mut hello);
        self.next_serial += 1;
        let sock = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        sock.set_nonblocking(true)?;
        sock.set_tcp_nodelay(true)?;
        sock.bind(&self.next_source().into())?;
        match sock.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let mut stream = TcpStream::from_std(sock.into());
        let entry = self.clients.vacant_entry();
        let key = entry.key();
        self.poll.registry().register(
            &mut stream,
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let g = &mut self.groups[group];
        entry.insert(Client {
            stream,
            tls,
            web,
            group,
            role,
            remote,
            connected: false,
            ready: false,
            awaiting_answer: false,
            joining,
            scanner: Scanner::default(),
            out: hello,
            out_pos: 0,
        });
        match role {
            Role::Churn => g.churn_inflight += 1,
            Role::Sender => {
                g.senders.push(key);
                g.live += 1;
            }
            Role::Searcher => {
                g.searchers.push(key);
                g.live += 1;
            }
            _ => g.live += 1,
        }
        if remote {
            g.remote_receivers += 1;
        }
        Ok(key)
    }

    /// One loop turn: poll, serve every ready socket, pace, churn.
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        self.keys.clear();
        self.keys.extend(self.events.iter().map(|e| e.token().0));
        for i in 0..self.keys.len() {
            let key = self.keys[i];
            self.service(key);
        }
        if self.pacing.is_some() {
            self.generate();
        }
        if self.churn.is_some() {
            self.churn_step()?;
        }
        if self.searching.is_some() {
            self.search_step();
        }
        Ok(())
    }

    fn service(&mut self, key: usize) {
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        if !c.connected {
            match c.stream.take_error() {
                Ok(None) => {}
                _ => return self.close(key, true),
            }
            match c.stream.peer_addr() {
                Ok(_) => c.connected = true,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(_) => return self.close(key, true),
            }
        }
        if flush(c).is_err() {
            return self.close(key, true);
        }
        let Gen {
            clients,
            groups,
            buf,
            plain,
            start,
            ..
        } = self;
        let c = &mut clients[key];
        let g = &mut groups[c.group];
        let mut gone = false;
        loop {
            match c.stream.read(buf) {
                Ok(0) => {
                    gone = true;
                    break;
                }
                Ok(n) => {
                    let now = start.elapsed().as_nanos() as u64;
                    g.last_rx_ns = now;
                    g.rx_bytes += n as u64;
                    g.rx_reads += 1;
                    let mut inbox = Inbox {
                        ready: &mut c.ready,
                        awaiting_answer: &mut c.awaiting_answer,
                        joining: &mut c.joining,
                        role: c.role,
                        remote: c.remote,
                        scanner: &mut c.scanner,
                        group: g,
                        now,
                    };
                    let closed = match (c.tls.as_deref_mut(), c.web.as_deref_mut()) {
                        (None, None) => {
                            inbox.receive(&buf[..n]);
                            Ok(false)
                        }
                        (None, Some(web)) => web
                            .receive(&buf[..n], &mut inbox, &mut c.out)
                            .map(|r| r == WebRead::Closed),
                        (Some(tls), _) => decrypt(tls, &buf[..n], plain, |p| inbox.receive(p)),
                    };
                    if !matches!(closed, Ok(false)) {
                        gone = true;
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    gone = true;
                    break;
                }
            }
        }
        // TLS: the handshake may have something to say back; WebSocket: a pong.
        if !gone && (c.tls.is_some() || c.web.is_some()) && flush(c).is_err() {
            gone = true;
        }
        let churned = c.role == Role::Churn && c.ready;
        if gone {
            self.close(key, true);
        } else if churned {
            self.close(key, false);
        }
    }

    fn generate(&mut self) {
        let now = self.now_ns();
        let Some(p) = &mut self.pacing else { return };
        let n = p.bucket.take(now);
        if n == 0 {
            return;
        }
        let group = p.group;
        let g = &mut self.groups[group];
        if g.senders.is_empty() {
            g.window.shed += n;
            return;
        }
        marker::encode(&mut self.payload[..MARKER_LEN], now);
        if g.dialect.message(&self.payload, &mut self.wire).is_err() {
            g.window.shed += n;
            return;
        }
        for _ in 0..n {
            let key = g.senders[g.rr % g.senders.len()];
            g.rr = g.rr.wrapping_add(1);
            match self.clients.get_mut(key) {
                Some(c)
                    if c.role == Role::Sender
                        && c.group == group
                        && c.out.len() - c.out_pos < SENDER_BACKLOG_CAP =>
                {
                    c.out.extend_from_slice(&self.wire);
                    g.window.sent += 1;
                }
                _ => g.window.shed += 1,
            }
        }
        let mut failed = None;
        for &key in &g.senders {
            if let Some(c) = self.clients.get_mut(key)
                && c.connected
                && c.group == group
                && c.role == Role::Sender
                && flush(c).is_err()
            {
                failed = Some(key);
            }
        }
        if let Some(key) = failed {
            self.close(key, true);
        }
    }

    fn churn_step(&mut self) -> io::Result<()> {
        let now = self.now_ns();
        let Some(ch) = &mut self.churn else {
            return Ok(());
        };
        let n = ch.bucket.take(now);
        let (group, max) = (ch.group, ch.max_inflight);
        for _ in 0..n {
            if self.groups[group].churn_inflight >= max {
                self.groups[group].churn_failed += 1;
                continue;
            }
            if self.connect(group, Role::Churn).is_err() {
                self.groups[group].churn_failed += 1;
            }
        }
        Ok(())
    }

    /// Closes a client; `by_peer` when the server closed it or it failed.
    fn close(&mut self, key: usize, by_peer: bool) {
        if !self.clients.contains(key) {
            return;
        }
        let mut c = self.clients.remove(key);
        let _ = self.poll.registry().deregister(&mut c.stream);
        let g = &mut self.groups[c.group];
        if c.role == Role::Churn {
            g.churn_inflight -= 1;
            if by_peer {
                g.churn_failed += 1;
            } else {
                g.churn_done += 1;
            }
            return;
        }
        g.live -= 1;
        if c.remote {
            g.remote_receivers -= 1;
        }
        if c.ready {
            g.ready -= 1;
        }
        if by_peer {
            g.lost += 1;
        }
        if c.role == Role::Sender {
            g.senders.retain(|&k| k != key);
        }
        if c.role == Role::Searcher {
            g.searchers.retain(|&k| k != key);
        }
        if c.awaiting_answer {
            g.awaiting_answer -= 1;
        }
    }

    /// Closes every client of `group` and forgets its counters of lost clients.
    pub fn teardown(&mut self, group: usize) {
        self.churn = None;
        if self.pacing.as_ref().is_some_and(|p| p.group == group) {
            self.pacing = None;
        }
        if self.searching.as_ref().is_some_and(|s| s.group == group) {
            self.searching = None;
        }
        let keys: Vec<usize> = self
            .clients
            .iter()
            .filter(|(_, c)| c.group == group)
            .map(|(k, _)| k)
            .collect();
        for key in keys {
            self.close(key, false);
        }
        let g = &mut self.groups[group];
        g.lost = 0;
        g.rr = 0;
        g.search_rr = 0;
        g.next_remote = false;
    }

    /// Turns the loop until `group` has `n` ready clients, or `timeout`.
    pub fn wait_ready(&mut self, group: usize, n: usize, timeout: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + timeout;
        while self.groups[group].ready < n {
            if Instant::now() > deadline || self.groups[group].live < n {
                return Ok(false);
            }
            self.turn(Some(Duration::from_millis(5)))?;
        }
        Ok(true)
    }

    /// Turns the loop until no byte arrived for `groups` for `quiet`, or `max`.
    pub fn settle(&mut self, groups: &[usize], quiet: Duration, max: Duration) -> io::Result<()> {
        let deadline = Instant::now() + max;
        let quiet = quiet.as_nanos() as u64;
        loop {
            self.turn(Some(Duration::from_millis(5)))?;
            let now = self.now_ns();
            let idle = groups
                .iter()
                .all(|&g| now.saturating_sub(self.groups[g].last_rx_ns) >= quiet);
            if idle || Instant::now() > deadline {
                return Ok(());
            }
        }
    }

    /// Opens a measurement window on `group`: counters reset, markers sent
    /// from now on count; with `msg_rate`, paced sending starts.
    pub fn open_window(&mut self, group: usize, msg_rate: Option<f64>) {
        let now = self.now_ns();
        let w = &mut self.groups[group].window;
        w.from_ns = now;
        w.until_ns = u64::MAX;
        w.sent = 0;
        w.shed = 0;
        w.lagged = 0;
        w.delivered = 0;
        w.hist.reset();
        w.delivered_remote = 0;
        w.hist_remote.reset();
        self.pacing = msg_rate.map(|rate| Pacing {
            group,
            // A 20 ms burst: a generator stalled longer than that lags.
            bucket: TokenBucket::new(rate, (rate * 0.02).max(1.0), now),
        });
    }

    /// Stops paced sending; markers sent from now on no longer count.
    pub fn close_window(&mut self, group: usize) {
        let now = self.now_ns();
        if let Some(p) = self.pacing.take() {
            self.groups[p.group].window.lagged = p.bucket.overflow();
        }
        self.groups[group].window.until_ns = now;
    }

    /// Starts churn on `group`: `rate` clients a second connect, get ready and leave.
    pub fn start_churn(&mut self, group: usize, rate: f64, max_inflight: usize) {
        let now = self.now_ns();
        let g = &mut self.groups[group];
        g.churn_done = 0;
        g.churn_failed = 0;
        self.churn = Some(Churn {
            group,
            bucket: TokenBucket::new(rate, (rate * 0.02).max(1.0), now),
            max_inflight,
        });
    }

    /// Stops starting churners (those in flight finish).
    pub fn stop_churn(&mut self) {
        self.churn = None;
    }

    /// Sends one message from `sender` now (for ping-pong).
    pub fn send_one(&mut self, sender: usize) -> io::Result<()> {
        let now = self.now_ns();
        let Some(c) = self.clients.get_mut(sender) else {
            return Err(io::Error::other("sender is gone"));
        };
        let g = &mut self.groups[c.group];
        marker::encode(&mut self.payload[..MARKER_LEN], now);
        g.dialect.message(&self.payload, &mut self.wire)?;
        c.out.extend_from_slice(&self.wire);
        g.window.sent += 1;
        flush(c)
    }
}
