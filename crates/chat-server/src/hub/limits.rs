//! Limits that keep one client, or one address, from harming the others:
//! admission (`max_clients`, `max_clients_per_ip`), flood control and
//! timeouts.
//!
//! Flood control is IRC's fakelag: every client has a token bucket of
//! `flood_burst` lines refilled at `flood_rate` lines a second. A line that
//! finds the bucket empty is not dropped but delayed, and released as tokens
//! come back (on [`Hub::tick`]). A client whose delayed lines pile past
//! [`Limits::flood_queue`] is warned once; past four times that, it is
//! disconnected. Well-behaved clients never notice, and a flooder costs the
//! others nothing but its own bounded queue.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use ipnet::IpNet;

use chat_proto::{Body, Notice};

use super::{ClientId, Hub, Now, Outbox};

/// The limits, from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Addresses the per-address and flood limits do not apply to.
    pub exempt: Vec<IpNet>,
    pub max_clients: usize,
    /// Per address; IPv6 addresses count per /64.
    pub max_clients_per_ip: usize,
    /// Lines per second per client; 0 turns flood control off.
    pub flood_rate: f64,
    pub flood_burst: u32,
    /// Seconds a client may stay silent after connecting while the server
    /// is full; 0 = never closed for that.
    pub handshake_timeout: u64,
    /// Seconds without a line before a client is closed; 0 = off.
    pub idle_timeout: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            // Parsing literals that are known good; `filter_map` only to
            // avoid an unwrap.
            exempt: ["127.0.0.0/8", "::1/128"]
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
            max_clients: 10_000,
            max_clients_per_ip: 20,
            flood_rate: 5.0,
            flood_burst: 10,
            handshake_timeout: 10,
            idle_timeout: 0,
        }
    }
}

impl Limits {
    /// Delayed lines a flooding client may have before it is warned.
    pub fn flood_queue(&self) -> usize {
        (self.flood_burst as usize).max(8)
    }

    pub fn is_exempt(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.exempt.iter().any(|net| net.contains(&ip))
    }
}

/// An IPv4-mapped IPv6 address is its IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What counts as one address: an IPv4 address, or an IPv6 /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// Per-client flood state. Small and inline: the queue allocates only for a
/// client that actually floods.
#[derive(Debug, Default)]
pub(crate) struct FloodState {
    tokens: f32,
    /// Milliseconds since the epoch when `tokens` was last refilled.
    refilled_at: i64,
    delayed: VecDeque<Bytes>,
    warned: bool,
}

/// Connection counts per address.
#[derive(Debug, Default)]
pub(crate) struct AddressCounts(HashMap<IpAddr, u32>);

impl AddressCounts {
    fn count(&self, ip: IpAddr) -> u32 {
        self.0.get(&address_key(ip)).copied().unwrap_or(0)
    }

    pub(crate) fn add(&mut self, ip: IpAddr) {
        *self.0.entry(address_key(ip)).or_insert(0) += 1;
    }

    pub(crate) fn remove(&mut self, ip: IpAddr) {
        let key = address_key(ip);
        if let Some(n) = self.0.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(&key);
            }
        }
    }
}

/// Why a new connection is turned away.
pub(crate) fn refusal(hub: &Hub, peer: SocketAddr) -> Option<&'static str> {
    let limits = &hub.config.limits;
    if hub.clients.len() + hub.admission.pending.len() >= limits.max_clients {
        return Some("server full");
    }
    let exempt = limits.is_exempt(peer.ip());
    if !exempt && hub.per_address.count(peer.ip()) as usize >= limits.max_clients_per_ip {
        return Some("too many connections from your address");
    }
    None
}

impl FloodState {
    pub(crate) fn new(burst: u32, now_ms: i64) -> FloodState {
        FloodState {
            tokens: burst as f32,
            refilled_at: now_ms,
            ..FloodState::default()
        }
    }

    fn refill(&mut self, limits: &Limits, now_ms: i64) {
        let elapsed = (now_ms - self.refilled_at).max(0) as f64 / 1000.0;
        self.refilled_at = now_ms;
        let tokens = f64::from(self.tokens) + elapsed * limits.flood_rate;
        self.tokens = tokens.min(f64::from(limits.flood_burst)) as f32;
    }
}

/// What the flood gate decided for one line.
pub(crate) enum Gate {
    Pass,
    Delayed,
    Warn,
    Disconnect,
}

impl Hub {
    /// Lets a line through, delays it, or says the client floods.
    pub(crate) fn flood_gate(&mut self, id: ClientId, line: &[u8], now: Now) -> Gate {
        let limits = &self.config.limits;
        if limits.flood_rate <= 0.0 {
            return Gate::Pass;
        }
        let Some(client) = self.clients.get_mut(id) else {
            return Gate::Pass;
        };
        if client.exempt {
            return Gate::Pass;
        }
        let flood = &mut client.flood;
        flood.refill(limits, now.timestamp_millis());
        if flood.delayed.is_empty() && flood.tokens >= 1.0 {
            flood.tokens -= 1.0;
            return Gate::Pass;
        }
        flood.delayed.push_back(Bytes::copy_from_slice(line));
        if !self.flooding.contains(&id) {
            self.flooding.push(id);
        }
        let queued = flood.delayed.len();
        if queued > 4 * limits.flood_queue() {
            Gate::Disconnect
        } else if queued > limits.flood_queue() && !flood.warned {
            flood.warned = true;
            Gate::Warn
        } else {
            Gate::Delayed
        }
    }

    /// Time passes: delayed lines are released as tokens come back, and
    /// timeouts are enforced. The server calls this a few times a second.
    pub fn tick(&mut self, out: &mut dyn Outbox, now: Now) {
        self.release_delayed(out, now);
        self.cluster_tick(out, now);
        let second = now.timestamp();
        if second != self.last_sweep {
            self.last_sweep = second;
            self.sweep_timeouts(out, now);
        }
    }

    /// A connection that never logs in is closed after `handshake_timeout`.
    fn sweep_logins(&mut self, out: &mut dyn Outbox, now: Now) {
        let timeout = self.config.limits.handshake_timeout as i64;
        if timeout == 0 || self.admission.pending.is_empty() {
            return;
        }
        let second = now.timestamp();
        let expired: Vec<ClientId> = self
            .admission
            .pending
            .iter()
            .filter(|(_, login)| second - login.connected_at >= timeout)
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            let body = Body::Notice(Notice::Error {
                text: "login timed out",
            });
            out.send(id, self.encoder.encode(self.config.framing, now, &body));
            self.login_gone(id);
            out.close(id);
        }
    }

    fn release_delayed(&mut self, out: &mut dyn Outbox, now: Now) {
        let flooding = std::mem::take(&mut self.flooding);
        for id in flooding {
            loop {
                let limits = &self.config.limits;
                let Some(client) = self.clients.get_mut(id) else {
                    break;
                };
                let flood = &mut client.flood;
                flood.refill(limits, now.timestamp_millis());
                if flood.delayed.is_empty() {
                    flood.warned = false;
                    flood.delayed = VecDeque::new(); // give the memory back
                    break;
                }
                if flood.tokens < 1.0 {
                    self.flooding.push(id);
                    break;
                }
                flood.tokens -= 1.0;
                let Some(line) = flood.delayed.pop_front() else {
                    break;
                };
                self.process_line(out, id, &line, now);
            }
        }
    }

    /// A client is leaving: its delayed lines are said now, so nothing it
    /// sent is lost.
    pub(crate) fn flush_delayed(&mut self, out: &mut dyn Outbox, id: ClientId, now: Now) {
        while let Some(line) = self
            .clients
            .get_mut(id)
            .and_then(|c| c.flood.delayed.pop_front())
        {
            self.process_line(out, id, &line, now);
        }
    }

    fn sweep_timeouts(&mut self, out: &mut dyn Outbox, now: Now) {
        self.sweep_logins(out, now);
        let limits = &self.config.limits;
        let full = self.clients.len() + self.admission.pending.len() >= limits.max_clients;
        if limits.idle_timeout == 0 && !(full && limits.handshake_timeout > 0) {
            return;
        }
        let second = now.timestamp();
        let (idle, handshake) = (limits.idle_timeout as i64, limits.handshake_timeout as i64);
        let expired: Vec<(ClientId, &'static str)> = self
            .clients
            .iter()
            .filter_map(|(id, client)| {
                if idle > 0 && second - client.last_active >= idle {
                    Some((id, "idle timeout"))
                } else if full
                    && handshake > 0
                    && !client.spoke
                    && second - client.connected_at >= handshake
                {
                    Some((id, "handshake timeout"))
                } else {
                    None
                }
            })
            .collect();
        for (id, why) in expired {
            self.info(out, id, &format!("closing: {why}"), now);
            self.remove(out, id, why, now);
            out.close(id);
        }
    }
}
