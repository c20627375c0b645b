//! Admission: who may come in. Server-wide and per-address limits, bans,
//! the server password, and failed logins.
//!
//! Where `password` is set a new connection is a [`PendingLogin`]: it is in
//! no room, has no nick and sees nothing until its first line is
//! `/pass PASSWORD` (compared in constant time). A wrong password gets one
//! notice and the connection is closed; an address with too many recent
//! failures (passwords or `/oper`) is refused at once for a while.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use chat_proto::{Frame, LineDecoder, raw_message};
use subtle::ConstantTimeEq;

use crate::bans::Bans;
use crate::config::canonical;
use crate::{ClientId, Framing, HubConfig};

/// Failed logins (passwords or `/oper`) from one address within
/// [`FAILURE_WINDOW`] seconds: at this many it is refused outright.
pub(crate) const MAX_FAILURES: u32 = 5;
const FAILURE_WINDOW: i64 = 60;

/// A connection that has not given the password yet.
#[derive(Debug)]
struct PendingLogin {
    peer: SocketAddr,
    framing: Framing,
    decoder: LineDecoder,
    connected_at: i64,
}

#[derive(Debug, Default)]
struct Failures {
    count: u32,
    since: i64,
}

/// A line a pending login sent: whole, or too long.
pub(crate) type LoginLine = Result<Vec<u8>, ()>;

/// What became of a pending login's input.
#[derive(Debug)]
pub(crate) enum Login {
    /// No whole line yet (or not a pending login).
    Waiting,
    /// The right password: the connection becomes a client. `decoder` holds
    /// a partial line that came behind `/pass`, `rest` the whole ones.
    Accepted {
        peer: SocketAddr,
        decoder: LineDecoder,
        rest: Vec<LoginLine>,
    },
    /// A wrong password (counted against the address): close it.
    Refused { peer: SocketAddr, framing: Framing },
}

/// Pending logins, failed logins, connections per address, and bans.
#[derive(Debug, Default)]
pub(crate) struct Admission {
    pending: HashMap<ClientId, PendingLogin>,
    failures: HashMap<IpAddr, Failures>,
    per_address: AddressCounts,
    pub(crate) bans: Bans,
}

/// Connection counts per address (IPv6 per /64).
#[derive(Debug, Default)]
struct AddressCounts(HashMap<IpAddr, u32>);

/// What counts as one address for limits and failed logins (never for
/// bans): an IPv4 address, or an IPv6 /64.
pub(crate) fn address_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

impl AddressCounts {
    fn count(&self, ip: IpAddr) -> u32 {
        self.0.get(&address_key(ip)).copied().unwrap_or(0)
    }

    fn add(&mut self, ip: IpAddr) {
        *self.0.entry(address_key(ip)).or_insert(0) += 1;
    }

    fn remove(&mut self, ip: IpAddr) {
        let key = address_key(ip);
        if let Some(n) = self.0.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(&key);
            }
        }
    }
}

impl Admission {
    /// Why `peer` may not come in now, if it may not. `clients` is how many
    /// are in already.
    pub(crate) fn refusal(
        &mut self,
        config: &HubConfig,
        clients: usize,
        peer: SocketAddr,
        now: i64,
    ) -> Option<&'static str> {
        if clients + self.pending.len() >= config.max_clients {
            return Some("server full");
        }
        let exempt = config.is_exempt(peer.ip());
        if !exempt && self.per_address.count(peer.ip()) as usize >= config.max_clients_per_ip {
            return Some("too many connections from your address");
        }
        if self.bans.covers(peer.ip(), now) {
            return Some("you are banned from this server");
        }
        if config.password.is_some() && self.too_many_failures(peer.ip(), now) {
            return Some("too many failed logins from your address; try again later");
        }
        None
    }

    /// The server is at `max_clients`, counting pending logins.
    pub(crate) fn is_full(&self, config: &HubConfig, clients: usize) -> bool {
        clients + self.pending.len() >= config.max_clients
    }

    /// A connection from `ip` came in (a pending login or a client).
    pub(crate) fn arrived(&mut self, ip: IpAddr) {
        self.per_address.add(ip);
    }

    /// A client from `ip` left.
    pub(crate) fn left(&mut self, ip: IpAddr) {
        self.per_address.remove(ip);
    }

    /// `id` must give the password before anything else.
    pub(crate) fn await_password(
        &mut self,
        config: &HubConfig,
        id: ClientId,
        peer: SocketAddr,
        now: i64,
    ) {
        let login = PendingLogin {
            peer,
            framing: config.framing,
            decoder: LineDecoder::new(config.max_line_bytes),
            connected_at: now,
        };
        self.pending.insert(id, login);
    }

    /// Bytes from a pending login: only its first line counts, and it must
    /// be `/pass` with the right password.
    pub(crate) fn login_input(
        &mut self,
        config: &HubConfig,
        id: ClientId,
        data: &[u8],
        now: i64,
    ) -> Login {
        let Some(login) = self.pending.get_mut(&id) else {
            return Login::Waiting;
        };
        // Logging in is rare: owned lines are fine here, unlike the hot path.
        let mut lines: Vec<LoginLine> = Vec::new();
        match login.framing {
            Framing::Raw => lines.push(
                raw_message(data, config.max_line_bytes)
                    .map(<[u8]>::to_vec)
                    .ok_or(()),
            ),
            Framing::Line => login.decoder.decode(data, |frame| {
                lines.push(match frame {
                    Frame::Line(line) => Ok(line.to_vec()),
                    Frame::TooLong => Err(()),
                });
            }),
        }
        if lines.is_empty() {
            return Login::Waiting;
        }
        let Some(login) = self.pending.remove(&id) else {
            return Login::Waiting;
        };
        let mut rest = lines.into_iter();
        let first = rest.next().and_then(Result::ok);
        if password_matches(config.password.as_deref().unwrap_or_default(), first) {
            return Login::Accepted {
                peer: login.peer,
                decoder: login.decoder,
                rest: rest.collect(),
            };
        }
        self.record_failure(login.peer.ip(), now);
        self.per_address.remove(login.peer.ip());
        Login::Refused {
            peer: login.peer,
            framing: login.framing,
        }
    }

    /// A pending login went away; `false` if `id` was not one.
    pub(crate) fn gone(&mut self, id: ClientId) -> bool {
        match self.pending.remove(&id) {
            Some(login) => {
                self.per_address.remove(login.peer.ip());
                true
            }
            None => false,
        }
    }

    /// Pending logins older than `timeout` seconds (0: none expire).
    pub(crate) fn expired_logins(&self, now: i64, timeout: u64) -> Vec<ClientId> {
        let timeout = timeout as i64;
        if timeout == 0 {
            return Vec::new();
        }
        self.pending
            .iter()
            .filter(|(_, login)| now - login.connected_at >= timeout)
            .map(|(&id, _)| id)
            .collect()
    }

    pub(crate) fn too_many_failures(&mut self, ip: IpAddr, now: i64) -> bool {
        let key = address_key(ip);
        match self.failures.get(&key) {
            Some(f) if now - f.since < FAILURE_WINDOW => f.count >= MAX_FAILURES,
            Some(_) => {
                self.failures.remove(&key);
                false
            }
            None => false,
        }
    }

    pub(crate) fn record_failure(&mut self, ip: IpAddr, now: i64) {
        let entry = self.failures.entry(address_key(ip)).or_default();
        if now - entry.since >= FAILURE_WINDOW {
            *entry = Failures {
                count: 0,
                since: now,
            };
        }
        entry.count += 1;
    }
}

/// Is `line` `/pass PASSWORD` with the right password? Compared in
/// constant time; the secret is never logged, right or wrong.
fn password_matches(password: &str, line: Option<Vec<u8>>) -> bool {
    let given = line.and_then(|line| {
        let text = String::from_utf8(line).ok()?;
        let rest = text
            .strip_prefix("/pass ")
            .or_else(|| text.strip_prefix("/PASS "))?;
        Some(rest.trim().to_owned())
    });
    given.is_some_and(|given| bool::from(given.as_bytes().ct_eq(password.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(text: &str) -> SocketAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn with_password() -> HubConfig {
        HubConfig {
            password: Some("sesame".into()),
            ..HubConfig::default()
        }
    }

    #[test]
    fn the_first_line_must_be_the_password_and_what_follows_is_kept() {
        let config = with_password();
        let mut admission = Admission::default();
        let id = ClientId(1);
        admission.await_password(&config, id, peer("10.0.0.1:5"), 0);
        assert!(matches!(
            admission.login_input(&config, id, b"/pass ses", 0),
            Login::Waiting
        ));
        match admission.login_input(&config, id, b"ame\nhello\npart", 0) {
            Login::Accepted { rest, .. } => assert_eq!(rest, [Ok(b"hello".to_vec())]),
            other => panic!("{other:?}"),
        }
        assert!(!admission.gone(id), "no longer pending");
    }

    #[test]
    fn five_wrong_passwords_refuse_the_address_for_a_minute() {
        let config = with_password();
        let mut admission = Admission::default();
        for n in 0..MAX_FAILURES {
            let id = ClientId(n as usize);
            let from = peer("10.0.0.1:5");
            assert_eq!(admission.refusal(&config, 0, from, 0), None);
            admission.arrived(from.ip());
            admission.await_password(&config, id, from, 0);
            let login = admission.login_input(&config, id, b"/pass wrong\n", 0);
            assert!(matches!(login, Login::Refused { .. }), "{login:?}");
        }
        let refused = admission.refusal(&config, 0, peer("10.0.0.1:6"), 59);
        assert_eq!(
            refused,
            Some("too many failed logins from your address; try again later")
        );
        assert_eq!(admission.refusal(&config, 0, peer("10.0.0.2:6"), 59), None);
        assert_eq!(admission.refusal(&config, 0, peer("10.0.0.1:6"), 60), None);
    }

    #[test]
    fn per_address_limits_count_ipv6_per_slash_64_and_spare_exempt_ranges() {
        let config = HubConfig {
            max_clients_per_ip: 1,
            ..HubConfig::default()
        };
        let mut admission = Admission::default();
        admission.arrived(peer("[2001:db8::1]:1").ip());
        let refused = admission.refusal(&config, 0, peer("[2001:db8::2]:1"), 0);
        assert_eq!(refused, Some("too many connections from your address"));
        assert_eq!(
            admission.refusal(&config, 0, peer("[2001:db9::2]:1"), 0),
            None
        );
        admission.arrived(peer("127.0.0.1:1").ip());
        assert_eq!(admission.refusal(&config, 0, peer("127.0.0.1:2"), 0), None);
        admission.left(peer("[2001:db8::1]:1").ip());
        assert_eq!(
            admission.refusal(&config, 0, peer("[2001:db8::2]:1"), 0),
            None
        );
        assert_eq!(
            admission.refusal(&config, 10_000, peer("[2001:db8::2]:1"), 0),
            Some("server full")
        );
    }
}
