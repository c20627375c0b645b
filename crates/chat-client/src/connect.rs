//! Turning `HOST PORT` into a connected socket, plain or TLS.
//!
//! HOST may be an IPv4 literal, an IPv6 literal with or without brackets, or
//! a host name; every resolved address is tried in order. With TLS the
//! handshake completes (or fails) before the connection counts as up, so
//! its failures are reported like any other connection error.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::tls;

/// How long one connection attempt may take before the next address is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The first wait before a reconnect, doubled after each failure.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where to connect, and how (kept for reconnects).
#[derive(Debug, Clone)]
pub(crate) struct Connector {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `Some` with `--tls`.
    pub(crate) tls: Option<tls::Setup>,
}

impl Connector {
    /// Connect (and run the TLS handshake); also return the address that
    /// answered.
    pub(crate) fn connect(&self) -> Result<(Stream, SocketAddr)> {
        let (tcp, peer) = connect(&self.host, self.port)?;
        let stream = match &self.tls {
            None => Stream::Plain(tcp),
            Some(setup) => Stream::Tls(setup.start(tcp, peer)?),
        };
        Ok((stream, peer))
    }
}

impl Connector {
    /// `--reconnect`: tries until connected, waiting from 1 s up to 30 s
    /// between attempts. `waiting(attempt, delay, last error)` is told
    /// before each wait; `false` from it gives up.
    pub(crate) fn reconnect(
        &self,
        mut waiting: impl FnMut(u32, Duration, Option<String>) -> bool,
    ) -> Option<(Stream, SocketAddr)> {
        let mut delay = FIRST_BACKOFF;
        let mut error = None;
        for attempt in 1.. {
            if !waiting(attempt, delay, error.take()) {
                return None;
            }
            std::thread::sleep(delay);
            match self.connect() {
                Ok(connected) => return Some(connected),
                Err(err) => error = Some(err.to_string()),
            }
            delay = (delay * 2).min(MAX_BACKOFF);
        }
        None
    }
}

/// The name TLS checks by default: the HOST argument without brackets.
pub(crate) fn default_tls_name(host: &str) -> &str {
    strip_brackets(host)
}

/// A connection as the modes use it: read, write, clone, half-close.
#[derive(Debug)]
pub(crate) enum Stream {
    Plain(TcpStream),
    /// The local end of the TLS pump (see [`tls`]).
    Tls(tls::Bridge),
}

impl Stream {
    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(match self {
            Self::Plain(tcp) => Self::Plain(tcp.try_clone()?),
            Self::Tls(bridge) => Self::Tls(bridge.try_clone()?),
        })
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.shutdown(how),
            Self::Tls(bridge) => bridge.shutdown(how),
        }
    }
}

impl Read for &Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => (&*tcp).read(buf),
            Stream::Tls(bridge) => bridge.read(buf),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for &Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => (&*tcp).write(buf),
            Stream::Tls(bridge) => bridge.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Connect to `host:port`; on success also return the address that answered.
fn connect(host: &str, port: u16) -> Result<(TcpStream, SocketAddr)> {
    let host = strip_brackets(host);
    let target = display_target(host, port);
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|err| Error::new(format!("cannot resolve {target}: {err}")))?
        .collect();

    let mut failures = Vec::with_capacity(addrs.len());
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => {
                // Small interactive messages: do not let Nagle hold them back.
                // Failing to set it only costs latency.
                let _ = stream.set_nodelay(true);
                return Ok((stream, addr));
            }
            Err(err) => failures.push(format!("{addr}: {err}")),
        }
    }
    Err(match failures.as_slice() {
        [] => Error::new(format!("cannot resolve {target}: no address found")),
        [only] => Error::new(format!("cannot connect to {only}")),
        all => Error::new(format!("cannot connect to {target} ({})", all.join("; "))),
    })
}

/// `[::1]` -> `::1`; anything else unchanged.
fn strip_brackets(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host)
}

/// `host:port`, with brackets around an IPv6 literal.
fn display_target(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_are_optional() {
        assert_eq!(strip_brackets("[::1]"), "::1");
        assert_eq!(strip_brackets("::1"), "::1");
        assert_eq!(strip_brackets("localhost"), "localhost");
        assert_eq!(strip_brackets("[oops"), "[oops");
    }

    #[test]
    fn targets_display_like_socket_addresses() {
        assert_eq!(display_target("::1", 7), "[::1]:7");
        assert_eq!(display_target("example.org", 7), "example.org:7");
    }
}
