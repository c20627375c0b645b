//! The workloads (fanout, its IRC dialect, kernel cost, rtt, conns, churn, the store's
//! fan-out beside searches, joins that replay a history) and what they share: a server under test with
//! its client group, and connecting many clients at a bounded rate of
//! connections in flight.

pub mod beside;
pub mod churn;
pub mod conns;
pub mod failover;
pub mod fanout;
pub mod history_join;
pub mod irc_fanout;
pub mod kernel;
pub mod logins;
pub mod rtt;
pub mod sentinel;
pub mod store_search;
pub mod webhooks;

use std::io;
use std::time::{Duration, Instant};

use crate::loadgen::{Gen, Role};
use crate::servers::Server;

/// A server under test and the generator's group of clients for it.
#[derive(Debug)]
pub struct Target {
    pub server: Server,
    pub group: usize,
}

/// Connects `n` clients of `role` to `group`, at most `in_flight` not yet
/// ready at once, and waits until they are ready. Returns how many became
/// ready and how long it took.
pub fn connect_many(
    lg: &mut Gen,
    group: usize,
    role: Role,
    n: usize,
    in_flight: usize,
    timeout: Duration,
) -> io::Result<(usize, Duration)> {
    let start = Instant::now();
    let base = lg.groups[group].ready;
    let lost0 = lg.groups[group].lost;
    let mut started = 0;
    let mut failed = 0;
    loop {
        let g = &lg.groups[group];
        let pending = g.live.saturating_sub(g.ready);
        if started < n && pending < in_flight {
            for _ in 0..(in_flight - pending).min(n - started) {
                started += 1;
                if lg.connect(group, role).is_err() {
                    failed += 1;
                }
            }
        }
        lg.turn(Some(Duration::from_millis(1)))?;
        let g = &lg.groups[group];
        let done = g.ready.saturating_sub(base);
        let lost = g.lost.saturating_sub(lost0);
        if done + lost + failed >= n || start.elapsed() > timeout {
            return Ok((done, start.elapsed()));
        }
    }
}

/// Latency in milliseconds at `q` of a histogram in nanoseconds.
pub fn ms(hist: &hdrhistogram::Histogram<u64>, q: f64) -> f64 {
    if hist.is_empty() {
        return f64::NAN;
    }
    hist.value_at_quantile(q) as f64 / 1e6
}
