//! What the logins and webhooks workloads share: chat round trips measured
//! beside a background load, and the blocking clients of that load.
//!
//! The chatting pair (one sender, one receiver in `lobby`) runs on the
//! generator's reactor as in the rtt workload, but paced (one ping every
//! [`PING_EVERY`], the reactor waiting in `epoll` between them) instead of
//! busy-polled: the background load runs on threads on the generator's CPU,
//! and a busy-polling pinger would starve them. The figure is the same
//! chat round trip, taken alone and then while the load runs.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::dialect::Dialect;
use crate::loadgen::{Gen, Role};
use crate::workloads::{connect_many, ms};

/// The gap between two pings.
pub const PING_EVERY: Duration = Duration::from_millis(2);

/// How long a background client waits for a line before it gives up.
pub const LINE_WAIT: Duration = Duration::from_secs(10);

/// The chatting pair on the generator's reactor.
#[derive(Debug, Clone, Copy)]
pub struct ChatPair {
    pub group: usize,
    sender: usize,
}

/// Round trips of one window.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pings {
    pub p50_us: f64,
    pub p99_us: f64,
    pub sent: u64,
    pub lost: u64,
}

/// Connects the pair to the line listener at `addr`.
pub fn chat_pair(lg: &mut Gen, addr: SocketAddr) -> io::Result<ChatPair> {
    let group = lg.add_group(Dialect::Ours, addr)?;
    let (ready, _) = connect_many(lg, group, Role::Receiver, 1, 1, LINE_WAIT)?;
    let sender = lg.connect(group, Role::Sender)?;
    if ready != 1 || !lg.wait_ready(group, 2, LINE_WAIT)? {
        return Err(io::Error::other("the chatting pair got no welcome"));
    }
    lg.settle(&[group], Duration::from_millis(200), LINE_WAIT)?;
    Ok(ChatPair { group, sender })
}

/// Pings for `window` (at most `max` pings): each waits for its round trip
/// (lost after a second), then the next leaves on the next [`PING_EVERY`].
pub fn ping_for(lg: &mut Gen, pair: ChatPair, window: Duration, max: u64) -> io::Result<Pings> {
    let group = pair.group;
    lg.open_window(group, None);
    let (start, mut sent, mut lost) = (Instant::now(), 0u64, 0u64);
    while start.elapsed() < window && sent < max {
        let due = start + PING_EVERY * u32::try_from(sent).unwrap_or(u32::MAX);
        while Instant::now() < due {
            lg.turn(Some(due.saturating_duration_since(Instant::now())))?;
        }
        lg.send_one(pair.sender)?;
        sent += 1;
        let asked = Instant::now();
        while lg.groups[group].window.delivered < sent - lost {
            if asked.elapsed() > Duration::from_secs(1) {
                lost += 1;
                break;
            }
            lg.turn(Some(Duration::from_millis(1)))?;
        }
    }
    lg.close_window(group);
    let h = &lg.groups[group].window.hist;
    Ok(Pings {
        p50_us: ms(h, 0.5) * 1e3,
        p99_us: ms(h, 0.99) * 1e3,
        sent,
        lost,
    })
}

/// The loopback address background client `n` connects from:
/// 127.0.1.1 onward, one per client, so that limits per address (logins
/// in flight, registrations) count each client alone, as for people on
/// their own machines.
pub fn source(n: usize) -> IpAddr {
    let n = n % 250;
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, (n + 1) as u8))
}

/// A blocking connection to `addr` from `from`, its reads bounded by
/// [`LINE_WAIT`].
pub fn connect_from(addr: SocketAddr, from: IpAddr) -> io::Result<TcpStream> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.bind(&SockAddr::from(SocketAddr::new(from, 0)))?;
    socket.connect_timeout(&addr.into(), LINE_WAIT)?;
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(LINE_WAIT))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A line client of the background load.
pub struct LineClient {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    line: String,
}

impl LineClient {
    /// Connects from `from` and waits for the welcome.
    pub fn connect(addr: SocketAddr, from: IpAddr) -> io::Result<LineClient> {
        let stream = connect_from(addr, from)?;
        let reader = BufReader::new(stream.try_clone()?);
        let mut client = LineClient {
            stream,
            reader,
            line: String::new(),
        };
        client.wait_for("Welcome")?;
        Ok(client)
    }

    /// Its two halves: the stream to write to, and the reader (with what
    /// it has read past the last line asked for).
    pub fn into_parts(self) -> (TcpStream, BufReader<TcpStream>) {
        (self.stream, self.reader)
    }

    pub fn send(&mut self, line: &str) -> io::Result<()> {
        self.stream.write_all(format!("{line}\n").as_bytes())
    }

    /// Reads lines until one holds `needle`; that line.
    pub fn wait_for(&mut self, needle: &str) -> io::Result<&str> {
        loop {
            self.line.clear();
            if self.reader.read_line(&mut self.line)? == 0 {
                return Err(io::Error::other(format!("closed before {needle:?}")));
            }
            if self.line.contains(needle) {
                return Ok(self.line.trim_end());
            }
        }
    }
}
