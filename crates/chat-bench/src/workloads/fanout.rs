//! Fan-out: R receivers and S senders in one room; a sweep of offered
//! delivery rates, each run a few times, up to the first rate a server does
//! not sustain (≥ 99.9 % delivered and p99 ≤ 200 ms).
//!
//! The same sweep measures the TLS and cluster variants of chat-server
//! beside the plain single node ([`compare`] sets one beside the other).

use std::io;
use std::time::{Duration, Instant};

use crate::dialect::Dialect;
use crate::loadgen::{Gen, Role};
use crate::stats::{Spread, spread};
use crate::sys;
use crate::workloads::{Target, connect_many, ms};

/// Sustained means at least this share delivered ...
pub const MIN_DELIVERED: f64 = 0.999;
/// ... and p99 at most this, in ms.
pub const MAX_P99_MS: f64 = 200.0;

/// One fan-out configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub receivers: usize,
    pub senders: usize,
    /// Offered deliveries per second, ascending.
    pub rates: Vec<f64>,
    pub runs: usize,
    pub secs: f64,
}

/// One measurement window.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Deliveries per second the generator offered (sent + shed) × R / s.
    pub offered: f64,
    pub delivered_rate: f64,
    /// Delivered / offered.
    pub ratio: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Server read + write syscalls per delivery.
    pub syscalls_per_delivery: f64,
    /// Server CPU use from the window's start to the drain's end (1.0 =
    /// one core; every process and thread of the server under test) ...
    pub server_cpu: f64,
    /// ... and that CPU time per delivery, ns.
    pub server_cpu_ns_per_delivery: f64,
    /// Receivers on a second node (cluster): p99 of their deliveries ...
    pub p99_remote_ms: f64,
    /// ... and their delivered share (NaN without a second node).
    pub remote_ratio: f64,
    /// Generator CPU use during the window (1.0 = one core).
    pub gen_cpu: f64,
    /// Messages refused by a full sender backlog (server backpressure).
    pub shed: u64,
    /// Messages the generator was too late to offer.
    pub lagged: u64,
    /// Clients the server dropped.
    pub lost_clients: usize,
}

/// A rate of the sweep for one server: its runs.
#[derive(Debug, Clone)]
pub struct Point {
    pub dialect: Dialect,
    pub receivers: usize,
    pub senders: usize,
    pub target: f64,
    pub runs: Vec<Run>,
}

impl Point {
    /// The spread of one figure over the runs.
    pub fn spread(&self, f: impl Fn(&Run) -> f64) -> Spread {
        spread(self.runs.iter().map(f))
    }

    /// Whether the median run met the bar.
    pub fn sustained(&self) -> bool {
        sustained(&self.runs)
    }

    /// Whether the generator, not the server, was the limit.
    pub fn generator_bound(&self) -> bool {
        self.spread(|r| r.offered).median < 0.97 * self.target
            || self.spread(|r| r.gen_cpu).median > 0.95
    }
}

/// Whether the median of `runs` met the bar: at least [`MIN_DELIVERED`]
/// delivered, p99 at most [`MAX_P99_MS`], and no client lost.
pub fn sustained<'a>(runs: impl IntoIterator<Item = &'a Run>) -> bool {
    let runs: Vec<&Run> = runs.into_iter().collect();
    spread(runs.iter().map(|r| r.ratio)).median >= MIN_DELIVERED
        && spread(runs.iter().map(|r| r.p99_ms)).median <= MAX_P99_MS
        && runs.iter().all(|r| r.lost_clients == 0)
}

/// The highest offered rate at which both `base` and `other` have a point
/// that passed, of `points`: (server, offered rate, passed) each.
pub fn highest_common(
    points: impl IntoIterator<Item = (Dialect, f64, bool)>,
    base: Dialect,
    other: Dialect,
) -> Option<f64> {
    let passed: Vec<(Dialect, f64)> = points
        .into_iter()
        .filter(|&(_, _, ok)| ok)
        .map(|(d, t, _)| (d, t))
        .collect();
    passed
        .iter()
        .filter(|&&(d, t)| d == other && passed.contains(&(base, t)))
        .map(|&(_, t)| t)
        .max_by(f64::total_cmp)
}

/// The sweep of one configuration, every server.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub config: Config,
    pub points: Vec<Point>,
    /// Servers left out, and why.
    pub skipped: Vec<(Dialect, String)>,
}

impl Sweep {
    /// The highest sustained point of `dialect`.
    pub fn best(&self, dialect: Dialect) -> Option<&Point> {
        self.points
            .iter()
            .filter(|p| p.dialect == dialect && p.sustained())
            .max_by(|a, b| {
                a.spread(|r| r.delivered_rate)
                    .median
                    .total_cmp(&b.spread(|r| r.delivered_rate).median)
            })
    }

    /// The point of `dialect` at `target`, if measured.
    pub fn at(&self, dialect: Dialect, target: f64) -> Option<&Point> {
        self.points
            .iter()
            .find(|p| p.dialect == dialect && p.target == target)
    }
}

/// The indexes of `targets` whose server takes `clients` clients (and a
/// few to spare); the others go to `skipped`, with why.
pub fn eligible(
    targets: &[Target],
    clients: usize,
    skipped: &mut Vec<(Dialect, String)>,
) -> Vec<usize> {
    let mut eligible = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        if clients + 8 > t.server.dialect.max_clients() {
            let why = format!("{clients} clients exceed its limit");
            skipped.push((t.server.dialect, why));
        } else {
            eligible.push(i);
        }
    }
    eligible
}

/// Runs the sweep of `config` over `targets`; `log` hears progress.
pub fn run(
    lg: &mut Gen,
    targets: &mut [Target],
    config: &Config,
    log: &mut dyn FnMut(&str),
) -> io::Result<Sweep> {
    let (r, s) = (config.receivers, config.senders);
    let mut sweep = Sweep {
        config: config.clone(),
        points: Vec::new(),
        skipped: Vec::new(),
    };
    let eligible = eligible(targets, r + s, &mut sweep.skipped);
    // Connect every server's clients at once when the file limit allows, so
    // the runs interleave; otherwise one server at a time.
    let budget = sys::fd_limit().saturating_sub(300) as usize;
    let batches: Vec<Vec<usize>> = if eligible.len() * (r + s) <= budget {
        vec![eligible]
    } else {
        eligible.into_iter().map(|i| vec![i]).collect()
    };
    for batch in batches {
        let mut alive = Vec::new();
        for &i in &batch {
            let t = &targets[i];
            match connect(lg, t, r, s)? {
                Ok(()) => alive.push(i),
                Err(why) => sweep.skipped.push((t.server.dialect, why)),
            }
        }
        let groups: Vec<usize> = alive.iter().map(|&i| targets[i].group).collect();
        lg.settle(&groups, ms_(300), secs(10.0))?;
        for &rate in &config.rates {
            if alive.is_empty() {
                break;
            }
            let mut points: Vec<Point> = alive
                .iter()
                .map(|&i| Point {
                    dialect: targets[i].server.dialect,
                    receivers: r,
                    senders: s,
                    target: rate,
                    runs: Vec::new(),
                })
                .collect();
            for _ in 0..config.runs {
                for (k, &i) in alive.iter().enumerate() {
                    let run = window(lg, &mut targets[i], r, rate, config.secs)?;
                    points[k].runs.push(run);
                }
            }
            let mut still = Vec::new();
            for (k, p) in points.into_iter().enumerate() {
                let verdict = if !p.sustained() {
                    "not sustained"
                } else if p.generator_bound() {
                    "sustained, generator-bound"
                } else {
                    "sustained"
                };
                log(&format!(
                    "fanout R={r} S={s} {:<11} offered {:>6.2}M/s delivered {:>6.2}M/s ({:.4}) p50 {:>7.3} p99 {:>8.3} ms  {verdict}",
                    p.dialect.key(),
                    p.spread(|x| x.offered).median / 1e6,
                    p.spread(|x| x.delivered_rate).median / 1e6,
                    p.spread(|x| x.ratio).median,
                    p.spread(|x| x.p50_ms).median,
                    p.spread(|x| x.p99_ms).median,
                ));
                // A generator-bound point says nothing of the server: go on,
                // unless the generator offered far less than asked.
                let hopeless = p.spread(|x| x.offered).median < 0.8 * p.target;
                if p.sustained() && !hopeless {
                    still.push(alive[k]);
                }
                sweep.points.push(p);
            }
            alive = still;
        }
        for &i in &batch {
            lg.teardown(targets[i].group);
        }
        lg.settle(&[], ms_(200), secs(1.0))?;
    }
    Ok(sweep)
}

/// Connects `r` receivers and `s` senders to `t`; if not all got ready,
/// tears the group down and says so.
pub fn connect(lg: &mut Gen, t: &Target, r: usize, s: usize) -> io::Result<Result<(), String>> {
    let burst = t.server.dialect.connect_burst();
    let (got_r, _) = connect_many(lg, t.group, Role::Receiver, r, burst, secs(60.0))?;
    let (got_s, _) = connect_many(lg, t.group, Role::Sender, s, burst, secs(10.0))?;
    if got_r < r || got_s < s {
        lg.teardown(t.group);
        return Ok(Err(format!(
            "only {got_r}/{r} receivers and {got_s}/{s} senders got ready"
        )));
    }
    Ok(Ok(()))
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn ms_(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// One window: `rate` deliveries per second offered to `target`'s R
/// receivers for `secs`, then a drain until everything arrived or the
/// stream stayed quiet for 300 ms.
pub fn window(
    lg: &mut Gen,
    target: &mut Target,
    receivers: usize,
    rate: f64,
    secs_: f64,
) -> io::Result<Run> {
    window_observed(lg, target, receivers, rate, secs_, &mut |_, _| {})
}

/// [`window`], calling `observe` with the generator and the seconds since
/// the window opened after every turn while it is open: how the
/// kernel-cost workload starts `perf` in the window's middle and notes the
/// generator's counters when it ends.
pub fn window_observed(
    lg: &mut Gen,
    target: &mut Target,
    receivers: usize,
    rate: f64,
    secs_: f64,
    observe: &mut dyn FnMut(&Gen, f64),
) -> io::Result<Run> {
    let g = target.group;
    let lost0 = lg.groups[g].lost;
    let sys0 = target.server.syscalls();
    let server_cpu0 = target.server.cpu_ns();
    let cpu0 = sys::cpu_time_ns();
    let start = Instant::now();
    lg.open_window(g, Some(rate / receivers as f64));
    let length = secs(secs_);
    while start.elapsed() < length {
        lg.turn(Some(Duration::from_millis(1)))?;
        observe(lg, start.elapsed().as_secs_f64());
    }
    lg.close_window(g);
    let wall = start.elapsed().as_secs_f64();
    let cpu = (sys::cpu_time_ns() - cpu0) as f64 / 1e9 / wall;
    let drain = Instant::now();
    loop {
        let w = &lg.groups[g].window;
        if w.delivered >= w.sent * receivers as u64 || drain.elapsed() > secs(5.0) {
            break;
        }
        let quiet = lg.now_ns().saturating_sub(lg.groups[g].last_rx_ns);
        if quiet > 300_000_000 {
            break;
        }
        lg.turn(Some(Duration::from_millis(1)))?;
    }
    let sys1 = target.server.syscalls();
    let server_cpu1 = target.server.cpu_ns();
    let with_drain = start.elapsed().as_secs_f64();
    let grp = &lg.groups[g];
    let w = &grp.window;
    let offered_msgs = (w.sent + w.shed) as f64;
    let expected = offered_msgs * receivers as f64;
    let expected_remote = offered_msgs * grp.remote_receivers as f64;
    let server_cpu_ns = match (server_cpu0, server_cpu1) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64,
        _ => f64::NAN,
    };
    let syscalls = match (sys0, sys1) {
        (Some((r0, w0)), Some((r1, w1))) => (r1 - r0 + w1 - w0) as f64,
        _ => f64::NAN,
    };
    Ok(Run {
        offered: expected / secs_,
        delivered_rate: w.delivered as f64 / secs_,
        ratio: if expected > 0.0 {
            w.delivered as f64 / expected
        } else {
            1.0
        },
        p50_ms: ms(&w.hist, 0.5),
        p99_ms: ms(&w.hist, 0.99),
        p999_ms: ms(&w.hist, 0.999),
        max_ms: w.hist.max() as f64 / 1e6,
        syscalls_per_delivery: syscalls / w.delivered.max(1) as f64,
        server_cpu: server_cpu_ns / 1e9 / with_drain,
        server_cpu_ns_per_delivery: server_cpu_ns / w.delivered.max(1) as f64,
        p99_remote_ms: ms(&w.hist_remote, 0.99),
        remote_ratio: if expected_remote > 0.0 {
            w.delivered_remote as f64 / expected_remote
        } else {
            f64::NAN
        },
        gen_cpu: cpu,
        shed: w.shed,
        lagged: w.lagged,
        lost_clients: grp.lost.saturating_sub(lost0),
    })
}

/// One variant of chat-server set beside another measured in the same
/// sweep (interleaved, so both saw the same machine).
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Best sustained deliveries/s (median) of the base and of the other.
    pub base_best: Option<f64>,
    pub other_best: Option<f64>,
    /// The highest offered rate both sustained ...
    pub common: Option<f64>,
    /// ... p99 there (ms) ...
    pub base_p99: Option<Spread>,
    pub other_p99: Option<Spread>,
    /// ... and server CPU per delivery there (ns; NaN when unknown).
    pub base_cpu_ns: Option<f64>,
    pub other_cpu_ns: Option<f64>,
}

impl Comparison {
    /// Base best / other best: how many times more the base sustains.
    pub fn throughput_cost(&self) -> Option<f64> {
        match (self.base_best, self.other_best) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        }
    }

    /// Other CPU per delivery / base CPU per delivery at the common rate.
    pub fn cpu_cost(&self) -> Option<f64> {
        match (self.base_cpu_ns, self.other_cpu_ns) {
            (Some(a), Some(b)) if a > 0.0 && a.is_finite() && b.is_finite() => Some(b / a),
            _ => None,
        }
    }
}

/// Server CPU per delivery of a point, ns (median over its runs).
pub fn cpu_ns_per_delivery(p: &Point) -> f64 {
    p.spread(|r| r.server_cpu_ns_per_delivery).median
}

/// Sets `other` beside `base` in `sweep`.
pub fn compare(sweep: &Sweep, base: Dialect, other: Dialect) -> Comparison {
    let best = |d| {
        sweep
            .best(d)
            .map(|p: &Point| p.spread(|r| r.delivered_rate).median)
    };
    let common = highest_common(
        sweep
            .points
            .iter()
            .map(|p| (p.dialect, p.target, p.sustained())),
        base,
        other,
    );
    let at = |d| common.and_then(|t| sweep.at(d, t));
    let cpu = |d| {
        at(d)
            .map(cpu_ns_per_delivery)
            .filter(|x| x.is_finite() && *x > 0.0)
    };
    Comparison {
        base_best: best(base),
        other_best: best(other),
        common,
        base_p99: at(base).map(|p| p.spread(|r| r.p99_ms)),
        other_p99: at(other).map(|p| p.spread(|r| r.p99_ms)),
        base_cpu_ns: cpu(base),
        other_cpu_ns: cpu(other),
    }
}

/// Failures of a smoke sweep: anything but every message delivered once.
pub fn smoke_failures(name: &str, sweep: &Sweep, secs: f64) -> Vec<String> {
    let mut failures = Vec::new();
    if !sweep.skipped.is_empty() {
        failures.push(format!("{name} skipped: {:?}", sweep.skipped));
    }
    if sweep.points.is_empty() {
        failures.push(format!("{name}: nothing measured"));
    }
    for p in &sweep.points {
        for (i, run) in p.runs.iter().enumerate() {
            let expected = run.offered * secs;
            let delivered = run.delivered_rate * secs;
            if run.ratio != 1.0 || run.shed != 0 || run.lost_clients != 0 || expected < 1.0 {
                failures.push(format!(
                    "{name} run {i}: delivered {delivered:.0} of {expected:.0}, shed {}, clients lost {}",
                    run.shed, run.lost_clients
                ));
            }
        }
    }
    failures
}
