//! Turning `HOST PORT` into a connected socket.
//!
//! HOST may be an IPv4 literal, an IPv6 literal with or without brackets, or
//! a host name; every resolved address is tried in order.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use crate::error::{Error, Result};

/// How long one connection attempt may take before the next address is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connect to `host:port`; on success also return the address that answered.
pub(crate) fn connect(host: &str, port: u16) -> Result<(TcpStream, SocketAddr)> {
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
