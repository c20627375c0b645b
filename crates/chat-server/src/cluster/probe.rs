//! Health that proves delivery: the command thread publishes a ping on
//! this node's own channel every [`PING_PERIOD`], the subscriber hears it
//! come back, and the node counts as up only while one came back within
//! [`FRESH`].
//!
//! A connection that answers commands proves little: a subscription can
//! go silent (a wedged connection, a master demoted under it, a proxy that
//! stops forwarding) while publications keep answering "OK" and every
//! other check stays green. The ping takes the path a room line takes
//! (the command connection, Redis's pub/sub, the subscription), so only
//! delivery turns it green. Its round trips go into a histogram
//! (`chat_cluster_roundtrip_seconds`).
//!
//! Shared by the bridge threads and the reactor through atomics: reading
//! it never waits.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often a ping is published.
pub(super) const PING_PERIOD: Duration = Duration::from_secs(1);
/// How recent the last ping heard back must be for the node to be up:
/// three periods, so one late ping does not flap it, and red at most
/// this long after pub/sub went silent.
pub(super) const FRESH: Duration = Duration::from_secs(3);

/// Upper bounds of the round-trip histogram's buckets, in microseconds.
pub(super) const ROUNDTRIP_BUCKETS_MICROS: [u64; 10] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 100_000, 500_000, 2_500_000,
];

/// The start of a ping's JSON: `{"ping":MICROS}`, a node channel's only
/// message that starts so.
const PING_PREFIX: &str = "{\"ping\":";

/// Pings sent and heard, and their round trips.
#[derive(Debug)]
pub struct Probe {
    base: Instant,
    /// Microseconds after `base` when the last ping came back, plus one;
    /// 0: none yet.
    last_heard: AtomicU64,
    /// Microseconds after `base` of the last connection: pings sent before
    /// it prove nothing of the new one.
    since: AtomicU64,
    buckets: [AtomicU64; ROUNDTRIP_BUCKETS_MICROS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Default for Probe {
    fn default() -> Probe {
        Probe {
            base: Instant::now(),
            last_heard: AtomicU64::new(0),
            since: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }
}

impl Probe {
    fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_micros()).unwrap_or(u64::MAX)
    }

    /// The command thread connected (again): only a ping sent from now on
    /// proves delivery.
    pub(super) fn connected(&self) {
        self.since
            .store(self.micros(Instant::now()), Ordering::Release);
        self.last_heard.store(0, Ordering::Release);
    }

    /// A ping to publish now.
    pub(super) fn ping(&self) -> String {
        format!("{PING_PREFIX}{}}}", self.micros(Instant::now()))
    }

    /// `payload` was heard on this node's channel: `true` if it was a
    /// ping (then counted), `false` if it is something else.
    pub(super) fn heard(&self, payload: &str) -> bool {
        let Some(rest) = payload.strip_prefix(PING_PREFIX) else {
            return false;
        };
        let Ok(sent) = rest.trim_end_matches('}').parse::<u64>() else {
            return true; // a ping, but garbled: not proof of anything
        };
        let now = self.micros(Instant::now());
        let took = now.saturating_sub(sent);
        if sent >= self.since.load(Ordering::Acquire) {
            self.last_heard.store(now + 1, Ordering::Release);
        }
        if let Some(i) = ROUNDTRIP_BUCKETS_MICROS.iter().position(|&b| took <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(took, Ordering::Relaxed);
        true
    }

    /// Whether a ping came back within [`FRESH`].
    pub fn up(&self) -> bool {
        self.up_at(Instant::now())
    }

    fn up_at(&self, now: Instant) -> bool {
        match self.last_heard.load(Ordering::Acquire) {
            0 => false,
            heard => self.micros(now).saturating_sub(heard - 1) <= FRESH.as_micros() as u64,
        }
    }

    /// `chat_cluster_roundtrip_seconds`, in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let name = "chat_cluster_roundtrip_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time a ping took from this node's publication back to its subscription.\n# TYPE {name} histogram"
        );
        let mut cumulative = 0;
        for (bound, count) in ROUNDTRIP_BUCKETS_MICROS.iter().zip(&self.buckets) {
            cumulative += count.load(Ordering::Relaxed);
            let seconds = *bound as f64 / 1e6;
            let _ = writeln!(out, "{name}_bucket{{le=\"{seconds}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_only_while_a_ping_came_back_lately() {
        let probe = Probe::default();
        assert!(!probe.up(), "no ping heard yet");
        assert!(!probe.heard("{\"kick\":\"bob\"}"));
        assert!(probe.heard(&probe.ping()));
        assert!(probe.up());
        let later = Instant::now() + FRESH + Duration::from_millis(10);
        assert!(!probe.up_at(later), "silent for longer than FRESH");
        let mut text = String::new();
        probe.render(&mut text);
        assert!(
            text.contains("chat_cluster_roundtrip_seconds_count 1"),
            "{text}"
        );
        assert!(text.contains("# TYPE chat_cluster_roundtrip_seconds histogram"));
    }
}
