//! Admission: who may come in. Server-wide and per-address limits, bans,
//! the server password, and failed logins.
//!
//! Where `password` is set a new connection is a [`PendingLogin`]: it is in
//! no room, has no nick and sees nothing until its first line is
//! `/pass PASSWORD` (compared in constant time). A wrong password gets one
//! notice and the connection is closed.
//!
//! Guessing is bounded twice over. An address (IPv4, or an IPv6 /64) with
//! [`MAX_FAILURES`] recent failures (passwords or `/oper`) is refused for
//! the rest of the minute: at connect, and again when a waiting login's
//! `/pass` arrives, whose password is then not even compared, so opening
//! many connections first buys no extra guesses. And an address may have
//! at most [`MAX_PENDING_LOGINS_PER_ADDRESS`] connections logging in at
//! once. A `/pass` from a banned address is refused too (a ban made while
//! it waited has already closed it; see `Hub`).
//!
//! **Exempt addresses are not exempt from these.** `exempt` lifts only the
//! per-address connection limit and flood control; the failure lockout and
//! the cap on logins in progress protect the password, so they apply to
//! every address. Behind a proxy (or NAT) everyone shares the proxy's
//! address, hence its failure count: five wrong passwords from behind it
//! lock all of them out for the rest of that minute. That is the price of
//! keeping guesses bounded when addresses cannot tell people apart.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use chat_proto::Frame;
use chat_proto::Refusal;
use ipnet::IpNet;
use subtle::ConstantTimeEq;

use crate::bans::Bans;
use crate::config::canonical;
use crate::{Arrival, ClientId, HubConfig, Protocol};

/// Failed logins (passwords or `/oper`) from one address within
/// [`FAILURE_WINDOW`] seconds: at this many it is refused outright.
pub(crate) const MAX_FAILURES: u32 = 5;
const FAILURE_WINDOW: i64 = 60;

/// Connections from one address (IPv4, or an IPv6 /64) that may be logging
/// in at once, exempt or not: more are refused at connect.
pub(crate) const MAX_PENDING_LOGINS_PER_ADDRESS: u32 = 8;

/// A connection that has not given the password yet.
#[derive(Debug)]
struct PendingLogin {
    peer: SocketAddr,
    protocol: Protocol,
    connected_at: i64,
}

#[derive(Debug, Default)]
struct Failures {
    count: u32,
    since: i64,
}

/// What became of a pending login's input.
#[derive(Debug)]
pub(crate) enum Login {
    /// Not a pending login.
    NotPending,
    /// The right password: the connection becomes a client.
    Accepted { arrival: Arrival },
    /// A wrong password (counted against the address): close it.
    Refused {
        peer: SocketAddr,
        protocol: Protocol,
    },
    /// Turned away before the password was compared (the address reached
    /// the failure limit, or was banned, while it waited): tell it `text`
    /// and close it. Not counted as a failure.
    TurnedAway {
        peer: SocketAddr,
        protocol: Protocol,
        refusal: Refusal<'static>,
    },
}

/// Pending logins, failed logins, connections per address, and bans.
#[derive(Debug, Default)]
pub(crate) struct Admission {
    pending: HashMap<ClientId, PendingLogin>,
    failures: HashMap<IpAddr, Failures>,
    per_address: AddressCounts,
    /// Of those, the connections still logging in.
    pending_per_address: AddressCounts,
    pub(crate) bans: Bans,
}

/// Connection counts per address (IPv6 per /64).
#[derive(Debug, Default)]
struct AddressCounts(HashMap<IpAddr, u32>);

/// What counts as one address for limits and failed logins (never for
/// bans): an IPv4 address, or an IPv6 /64. The web listeners count their
/// connections waiting for a request by it too.
pub fn address_key(ip: IpAddr) -> IpAddr {
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
    ) -> Option<Refusal<'static>> {
        if clients + self.pending.len() >= config.max_clients {
            return Some(Refusal::ServerFull);
        }
        let exempt = config.is_exempt(peer.ip());
        if !exempt && self.per_address.count(peer.ip()) as usize >= config.max_clients_per_ip {
            return Some(Refusal::TooManyConnections);
        }
        if self.bans.covers(peer.ip(), now) {
            return Some(Refusal::Banned);
        }
        if config.password.is_some() {
            if self.too_many_failures(peer.ip(), now) {
                return Some(Refusal::TooManyFailures);
            }
            if self.pending_per_address.count(peer.ip()) >= MAX_PENDING_LOGINS_PER_ADDRESS {
                return Some(Refusal::TooManyLogins);
            }
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
    pub(crate) fn await_password(&mut self, id: ClientId, arrival: Arrival, now: i64) {
        let Arrival { peer, protocol } = arrival;
        let login = PendingLogin {
            peer,
            protocol,
            connected_at: now,
        };
        self.pending_per_address.add(peer.ip());
        if let Some(replaced) = self.pending.insert(id, login) {
            self.pending_per_address.remove(replaced.peer.ip());
        }
    }

    /// Bans `net` for `seconds` from `now`, and ends the pending logins it
    /// covers: they are returned, to be told and closed.
    pub(crate) fn ban(
        &mut self,
        net: IpNet,
        now: i64,
        seconds: i64,
        by: &str,
    ) -> Result<Vec<(ClientId, Protocol)>, String> {
        self.bans.add(net, now, seconds, by)?;
        let mut waiting: Vec<(ClientId, Protocol)> = self
            .pending
            .iter()
            .filter(|(_, login)| Bans::range_covers(net, login.peer.ip()))
            .map(|(&id, login)| (id, login.protocol))
            .collect();
        waiting.sort_unstable_by_key(|&(id, _)| id);
        for &(id, _) in &waiting {
            self.gone(id);
        }
        Ok(waiting)
    }

    /// Bytes from a pending login: only its first line counts, and it must
    /// be `/pass` with the right password. It is not compared at all if the
    /// address is banned or has reached [`MAX_FAILURES`] by now.
    pub(crate) fn login_line(
        &mut self,
        config: &HubConfig,
        id: ClientId,
        line: Frame<'_>,
        now: i64,
    ) -> Login {
        let Some(login) = self.pending.remove(&id) else {
            return Login::NotPending;
        };
        self.pending_per_address.remove(login.peer.ip());
        let turned_away = if self.bans.covers(login.peer.ip(), now) {
            Some(Refusal::Banned)
        } else if self.too_many_failures(login.peer.ip(), now) {
            Some(Refusal::TooManyFailures)
        } else {
            None
        };
        if let Some(refusal) = turned_away {
            self.per_address.remove(login.peer.ip());
            return Login::TurnedAway {
                peer: login.peer,
                protocol: login.protocol,
                refusal,
            };
        }
        let first = match line {
            Frame::Line(line) => Some(line),
            Frame::TooLong => None,
        };
        if password_matches(config.password.as_deref().unwrap_or_default(), first) {
            let (peer, protocol) = (login.peer, login.protocol);
            return Login::Accepted {
                arrival: Arrival { peer, protocol },
            };
        }
        self.record_failure(login.peer.ip(), now);
        self.per_address.remove(login.peer.ip());
        Login::Refused {
            peer: login.peer,
            protocol: login.protocol,
        }
    }

    /// Whether `id` is still to give the password.
    pub(crate) fn is_pending(&self, id: ClientId) -> bool {
        !self.pending.is_empty() && self.pending.contains_key(&id)
    }

    /// A pending login went away; `false` if `id` was not one.
    pub(crate) fn gone(&mut self, id: ClientId) -> bool {
        match self.pending.remove(&id) {
            Some(login) => {
                self.per_address.remove(login.peer.ip());
                self.pending_per_address.remove(login.peer.ip());
                true
            }
            None => false,
        }
    }

    /// Pending logins older than `timeout` seconds (0: none expire), with
    /// the protocol each speaks.
    pub(crate) fn expired_logins(&self, now: i64, timeout: u64) -> Vec<(ClientId, Protocol)> {
        let timeout = timeout as i64;
        if timeout == 0 {
            return Vec::new();
        }
        self.pending
            .iter()
            .filter(|(_, login)| now - login.connected_at >= timeout)
            .map(|(&id, login)| (id, login.protocol))
            .collect()
    }

    /// Has `ip`'s address reached [`MAX_FAILURES`] within the window?
    pub(crate) fn too_many_failures(&mut self, ip: IpAddr, now: i64) -> bool {
        self.failures(ip, now) >= MAX_FAILURES
    }

    /// Failed logins from `ip`'s address within the window that is running.
    pub(crate) fn failures(&mut self, ip: IpAddr, now: i64) -> u32 {
        let key = address_key(ip);
        match self.failures.get(&key) {
            Some(f) if now.saturating_sub(f.since) < FAILURE_WINDOW => f.count,
            Some(_) => {
                self.failures.remove(&key);
                0
            }
            None => 0,
        }
    }

    pub(crate) fn record_failure(&mut self, ip: IpAddr, now: i64) {
        let entry = self.failures.entry(address_key(ip)).or_default();
        if now.saturating_sub(entry.since) >= FAILURE_WINDOW {
            *entry = Failures {
                count: 0,
                since: now,
            };
        }
        entry.count = entry.count.saturating_add(1);
    }
}

/// Is `line` `/pass PASSWORD` with the right password? Compared in
/// constant time; the secret is never logged, right or wrong.
fn password_matches(password: &str, line: Option<&[u8]>) -> bool {
    let given = line.and_then(|line| {
        let text = std::str::from_utf8(line).ok()?;
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

    /// A line-protocol connection from `peer`.
    fn line(peer: SocketAddr) -> Arrival {
        Arrival {
            peer,
            protocol: Protocol::Line,
        }
    }

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
    fn the_first_line_must_be_the_password() {
        let config = with_password();
        let mut admission = Admission::default();
        let id = ClientId(1);
        admission.await_password(id, line(peer("10.0.0.1:5")), 0);
        match admission.login_line(&config, id, Frame::Line(b"/pass sesame"), 0) {
            Login::Accepted { arrival } => assert_eq!(arrival.protocol, Protocol::Line),
            other => panic!("{other:?}"),
        }
        assert!(!admission.gone(id), "no longer pending");
        let login = admission.login_line(&config, id, Frame::Line(b"/pass sesame"), 0);
        assert!(matches!(login, Login::NotPending), "{login:?}");
        admission.await_password(id, line(peer("10.0.0.1:5")), 0);
        let login = admission.login_line(&config, id, Frame::TooLong, 0);
        assert!(matches!(login, Login::Refused { .. }), "{login:?}");
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
            admission.await_password(id, line(from), 0);
            let login = admission.login_line(&config, id, Frame::Line(b"/pass wrong"), 0);
            assert!(matches!(login, Login::Refused { .. }), "{login:?}");
        }
        let refused = admission.refusal(&config, 0, peer("10.0.0.1:6"), 59);
        assert_eq!(refused, Some(Refusal::TooManyFailures));
        assert_eq!(admission.refusal(&config, 0, peer("10.0.0.2:6"), 59), None);
        assert_eq!(admission.refusal(&config, 0, peer("10.0.0.1:6"), 60), None);
    }

    /// Connects `id` from `from` as a pending login; panics if refused.
    fn wait_at_prompt(admission: &mut Admission, config: &HubConfig, id: usize, from: &str) {
        let from = peer(from);
        assert_eq!(admission.refusal(config, 0, from, 0), None, "login {id}");
        admission.arrived(from.ip());
        admission.await_password(ClientId(id), line(from), 0);
    }

    #[test]
    fn a_waiting_login_is_refused_at_pass_time_once_its_address_reached_the_failure_limit() {
        let config = with_password();
        let mut admission = Admission::default();
        // All at the prompt before any guess: the check at connect saw none.
        for id in 0..8 {
            wait_at_prompt(&mut admission, &config, id, "10.0.0.1:5");
        }
        wait_at_prompt(&mut admission, &config, 8, "10.0.0.2:5");
        for id in 0..MAX_FAILURES as usize {
            let login = admission.login_line(&config, ClientId(id), Frame::Line(b"/pass wrong"), 1);
            assert!(matches!(login, Login::Refused { .. }), "{login:?}");
        }
        for id in MAX_FAILURES as usize..8 {
            // Even the right password is not compared any more.
            let login =
                admission.login_line(&config, ClientId(id), Frame::Line(b"/pass sesame"), 2);
            assert!(
                matches!(
                    login,
                    Login::TurnedAway {
                        refusal: Refusal::TooManyFailures,
                        ..
                    }
                ),
                "{login:?}"
            );
        }
        assert_eq!(admission.failures(peer("10.0.0.1:1").ip(), 2), MAX_FAILURES);
        let other = admission.login_line(&config, ClientId(8), Frame::Line(b"/pass sesame"), 2);
        assert!(matches!(other, Login::Accepted { .. }), "{other:?}");
    }

    #[test]
    fn logins_in_progress_are_capped_per_address_even_for_exempt_addresses() {
        let config = with_password();
        let mut admission = Admission::default();
        let cap = MAX_PENDING_LOGINS_PER_ADDRESS as usize;
        for id in 0..cap {
            wait_at_prompt(&mut admission, &config, id, "127.0.0.1:5");
        }
        let busy = Some(Refusal::TooManyLogins);
        assert_eq!(admission.refusal(&config, 0, peer("127.0.0.1:6"), 0), busy);
        // IPv6 counts per /64, like the other per-address limits.
        for id in cap..2 * cap {
            wait_at_prompt(&mut admission, &config, id, &format!("[2001:db8::{id}]:1"));
        }
        assert_eq!(
            admission.refusal(&config, 0, peer("[2001:db8::ff]:1"), 0),
            busy
        );
        assert_eq!(
            admission.refusal(&config, 0, peer("[2001:db9::1]:1"), 0),
            None
        );
        // A login that ends, however it ends, frees its place.
        assert!(admission.gone(ClientId(0)));
        assert_eq!(admission.refusal(&config, 0, peer("127.0.0.1:6"), 0), None);
        let login = admission.login_line(&config, ClientId(cap), Frame::Line(b"/pass sesame"), 0);
        assert!(matches!(login, Login::Accepted { .. }), "{login:?}");
        assert_eq!(
            admission.refusal(&config, 0, peer("[2001:db8::ff]:1"), 0),
            None
        );
        // Without a password nobody waits, so there is nothing to cap.
        let open = HubConfig::default();
        assert_eq!(admission.refusal(&open, 0, peer("127.0.0.1:6"), 0), None);
    }

    #[test]
    fn a_pass_from_an_address_banned_while_it_waited_is_refused() {
        let config = with_password();
        let mut admission = Admission::default();
        wait_at_prompt(&mut admission, &config, 1, "10.0.0.1:5");
        let net = crate::bans::address_net(peer("10.0.0.1:5").ip());
        // (A ban made through the hub ends the logins it covers at once.)
        assert!(admission.bans.add(net, 0, 60, "op").is_ok());
        let login = admission.login_line(&config, ClientId(1), Frame::Line(b"/pass sesame"), 1);
        assert!(
            matches!(
                login,
                Login::TurnedAway {
                    refusal: Refusal::Banned,
                    ..
                }
            ),
            "{login:?}"
        );
        assert_eq!(
            admission.failures(peer("10.0.0.1:1").ip(), 1),
            0,
            "not a failure"
        );
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
        assert_eq!(refused, Some(Refusal::TooManyConnections));
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
            Some(Refusal::ServerFull)
        );
    }
}
