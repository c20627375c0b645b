//! The names a web listener answers to, so that a page on another site
//! cannot reach it through DNS rebinding.
//!
//! A rebinding page is served from a name its author controls
//! (`evil.example`) whose address is then switched to this server's, often
//! loopback (exempt from per-address limits and flood control by default).
//! The browser still sends `Host: evil.example` and, on the WebSocket,
//! `Origin: http://evil.example`: they match each other, so the own-origin
//! rule alone would let it in. So while `web_origins` is empty a listener
//! answers only to:
//!
//! - an IP address (`127.0.0.1:8080`, `[::1]:8080`): a browser sends one
//!   only when the address is in the URL, and an address cannot be rebound;
//!   this is also how a wildcard listener (`0.0.0.0`, `[::]`) answers on
//!   each of the machine's addresses, and behind a forwarded port;
//! - `localhost` and names under it (`chat.localhost`), on a loopback or
//!   wildcard listener: browsers resolve them to loopback themselves
//!   (RFC 6761), and nobody can register them in the DNS;
//! - the names in `web_hosts`, which the operator vouches for (the
//!   machine's name on a LAN, a public name).
//!
//! The port is not compared: rebinding changes the address behind a name,
//! never the port in the URL, and a forwarded port may differ from ours.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The host part of a `Host` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Host {
    /// An IP address (IPv6 was in brackets).
    Address(IpAddr),
    /// A name, lower case, without a final dot.
    Name(String),
}

/// Reads a `Host` value: `NAME[:PORT]`, `IPV4[:PORT]` or `[IPV6][:PORT]`.
/// `None` if it is none of these.
pub(super) fn parse(value: &[u8]) -> Option<Host> {
    let value = std::str::from_utf8(value.trim_ascii()).ok()?;
    if let Some(rest) = value.strip_prefix('[') {
        let (address, port) = rest.split_once(']')?;
        let port = if port.is_empty() {
            ""
        } else {
            port.strip_prefix(':')?
        };
        if !is_port(port) {
            return None;
        }
        return address
            .parse::<Ipv6Addr>()
            .ok()
            .map(|ip| Host::Address(IpAddr::V6(ip)));
    }
    let (host, port) = value.split_once(':').unwrap_or((value, ""));
    if !is_port(port) {
        return None;
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(Host::Address(IpAddr::V4(ip)));
    }
    name(host).map(Host::Name)
}

/// A port as `Host` may carry it: up to five digits (none: the default).
fn is_port(port: &str) -> bool {
    port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
}

/// `text` as a host name: lower case, without a final dot; `None` unless
/// it is letters, digits, `-`, `_` and dots, with no empty label.
fn name(text: &str) -> Option<String> {
    let text = text.strip_suffix('.').unwrap_or(text);
    let fits = !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    fits.then(|| text.to_ascii_lowercase())
}

/// Whether a listener on `listener` answers to `host`, with `names` (from
/// `web_hosts`, lower case) listed by the operator.
pub(super) fn allowed(host: &Host, names: &[String], listener: IpAddr) -> bool {
    match host {
        Host::Address(_) => true,
        Host::Name(name) => {
            let listener = listener.to_canonical();
            let local = listener.is_loopback() || listener.is_unspecified();
            let localhost = name == "localhost" || name.ends_with(".localhost");
            (local && localhost) || names.iter().any(|listed| listed == name)
        }
    }
}

/// Checks one `web_hosts` entry: a host name, without scheme, port or path.
pub fn check_host_name(entry: &str) -> Result<(), String> {
    if entry.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() {
        return Err(format!(
            "{entry:?} is an IP address: addresses are always answered to, list names only"
        ));
    }
    match name(entry) {
        Some(_) => Ok(()),
        None => Err(format!(
            "{entry:?} is not a host name like chat.example.org or mybox.lan (no scheme, port or path)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(value: &str) -> Option<Host> {
        parse(value.as_bytes())
    }

    fn named(name: &str) -> Option<Host> {
        Some(Host::Name(name.to_owned()))
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn host_headers_are_read_with_or_without_a_port() {
        assert_eq!(host("127.0.0.1:8080"), Some(Host::Address(ip("127.0.0.1"))));
        assert_eq!(host("127.0.0.1"), Some(Host::Address(ip("127.0.0.1"))));
        assert_eq!(host("[::1]:8080"), Some(Host::Address(ip("::1"))));
        assert_eq!(host("[::1]"), Some(Host::Address(ip("::1"))));
        assert_eq!(host(" LocalHost:80 "), named("localhost"));
        assert_eq!(host("chat.example.org."), named("chat.example.org"));
        assert_eq!(host("evil.example:"), named("evil.example"));
        for bad in [
            "",
            ":80",
            "[::1",
            "::1",
            "[::1]x",
            "[nonsense]",
            "a b",
            "a:b",
            "a:1:2",
            "a..b",
            "user@host",
            "host/path",
            "a:123456",
            "é.example",
        ] {
            assert_eq!(host(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn addresses_localhost_and_listed_names_are_answered_to() {
        let listed = vec!["mybox.lan".to_owned()];
        let (loopback, wildcard, lan) = (ip("127.0.0.1"), ip("::"), ip("192.0.2.7"));
        let answers = |value: &str, listener: IpAddr| {
            let found = host(value).unwrap_or_else(|| panic!("{value} is a host"));
            allowed(&found, &listed, listener)
        };
        for listener in [loopback, wildcard, lan] {
            assert!(answers("127.0.0.1:8080", listener));
            assert!(answers("[2001:db8::1]:8080", listener));
            assert!(answers("MyBox.lan:8080", listener));
            assert!(!answers("evil.example:8080", listener));
            assert!(!answers("localhost.evil.example", listener));
            assert!(!answers("127.0.0.1.nip.io", listener));
        }
        for listener in [loopback, wildcard, ip("::1"), ip("::ffff:127.0.0.1")] {
            assert!(answers("localhost:8080", listener));
            assert!(answers("chat.localhost", listener));
        }
        assert!(!answers("localhost:8080", lan));
    }

    #[test]
    fn web_hosts_entries_are_names() {
        assert!(check_host_name("chat.example.org").is_ok());
        assert!(check_host_name("mybox").is_ok());
        for bad in [
            "",
            "http://chat.example.org",
            "chat.example.org:8080",
            "a/b",
        ] {
            assert!(check_host_name(bad).is_err(), "{bad:?}");
        }
        let address = check_host_name("192.0.2.7");
        assert!(
            address
                .as_ref()
                .is_err_and(|why| why.contains("always answered")),
            "{address:?}"
        );
        assert!(check_host_name("[::1]").is_err());
    }
}
