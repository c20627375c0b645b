//! Kernel cost: what one delivery costs the kernel (write calls, packets,
//! wake-ups: where fan-out time goes beyond our own code), chat-server
//! beside Redis and ncat at the same fixed offered rates of the R = 100,
//! S = 4 fan-out.
//!
//! Each window runs the fan-out as the sweep does, and for its middle half
//! `perf stat` counts the server's write-family and read-family system
//! calls, the waits of its loop, packets handed to loopback and CPU time
//! ([`crate::perf`]). The generator knows what arrived meanwhile: markers
//! (deliveries), bytes and the reads that returned them. perf counts for
//! exactly its `sleep`, but starts a little after it is spawned; so the
//! deliveries it saw are the generator's rate between perf's spawn and its
//! exit times the `sleep`'s length (the window is steady in its middle).

use std::io;
use std::time::Duration;

use serde_json::{Value, json};

use crate::dialect::Dialect;
use crate::loadgen::Gen;
use crate::perf::{self, Counts, Probe};
use crate::stats::{Spread, spread};
use crate::workloads::Target;
use crate::workloads::fanout::{self, Run};

/// The kernel-cost configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub receivers: usize,
    pub senders: usize,
    /// Offered deliveries per second, each measured for every server.
    pub rates: Vec<f64>,
    pub runs: usize,
    /// Seconds per window; perf counts the middle half.
    pub secs: f64,
}

/// What the kernel did for one window's deliveries.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cost {
    pub counts: Counts,
    /// Deliveries, bytes read by the group's clients and their reads that
    /// returned data, while perf counted.
    pub deliveries: f64,
    pub bytes: f64,
    pub rx_reads: f64,
}

impl Cost {
    /// write + writev + sendto + sendmsg per delivery.
    pub fn writes_per_delivery(&self) -> f64 {
        self.counts.writes() / self.deliveries
    }
    /// Bytes the clients received per server write (framing included).
    pub fn bytes_per_write(&self) -> f64 {
        self.bytes / self.counts.writes()
    }
    /// Deliveries (lines) per server write.
    pub fn lines_per_write(&self) -> f64 {
        self.deliveries / self.counts.writes()
    }
    /// Packets (TCP segments, ACKs included) the server sent per delivery.
    pub fn packets_per_delivery(&self) -> f64 {
        self.counts.packets / self.deliveries
    }
    /// The server's waits (epoll_wait, select, poll and kin) per second:
    /// its loop turns.
    pub fn waits_per_s(&self) -> f64 {
        self.counts.waits / self.counts.secs
    }
    /// The server's read + recvfrom calls per second.
    pub fn reads_per_s(&self) -> f64 {
        self.counts.reads() / self.counts.secs
    }
    /// The server's CPU time per delivery, ns.
    pub fn cpu_ns_per_delivery(&self) -> f64 {
        self.counts.task_clock_ms * 1e6 / self.deliveries
    }
    /// Reads by the receiving side that returned data, per delivery: its
    /// wake-ups' worth of work.
    pub fn rx_reads_per_delivery(&self) -> f64 {
        self.rx_reads / self.deliveries
    }
}

/// One window: the fan-out figures and, if perf counted, the kernel's.
#[derive(Debug, Clone)]
pub struct KernelRun {
    pub run: Run,
    pub cost: Result<Cost, String>,
}

/// One server at one offered rate.
#[derive(Debug, Clone)]
pub struct KernelPoint {
    pub dialect: Dialect,
    pub target: f64,
    pub runs: Vec<KernelRun>,
}

impl KernelPoint {
    /// The spread of a fan-out figure over the runs.
    pub fn spread(&self, f: impl Fn(&Run) -> f64) -> Spread {
        spread(self.runs.iter().map(|r| f(&r.run)))
    }

    /// The spread of a kernel figure over the runs perf measured (None:
    /// none was).
    pub fn cost(&self, f: impl Fn(&Cost) -> f64) -> Option<Spread> {
        let v: Vec<f64> = self
            .runs
            .iter()
            .filter_map(|r| r.cost.as_ref().ok().map(&f))
            .collect();
        (!v.is_empty()).then(|| spread(v))
    }

    /// Whether the median run met the sweep's bar ([`fanout::sustained`]).
    pub fn sustained(&self) -> bool {
        fanout::sustained(self.runs.iter().map(|r| &r.run))
    }

    /// Why no run was measured (None: at least one was).
    pub fn why_not(&self) -> Option<&str> {
        if self.runs.iter().any(|r| r.cost.is_ok()) {
            return None;
        }
        Some(
            self.runs
                .iter()
                .find_map(|r| r.cost.as_ref().err())
                .map_or("no run", String::as_str),
        )
    }
}

/// The kernel-cost measurements of every server.
#[derive(Debug, Clone)]
pub struct KernelCost {
    pub config: Config,
    pub points: Vec<KernelPoint>,
    /// Servers left out (or left out above some rate), and why.
    pub skipped: Vec<(Dialect, String)>,
}

/// The columns of a point's row, fan-out figures first, kernel figures
/// after (`—` where perf measured nothing; the reason follows the table).
pub const COLUMNS: [&str; 13] = [
    "server",
    "offered/s",
    "delivered share",
    "p99 ms",
    "generator CPU",
    "write calls per delivery",
    "bytes per write",
    "lines per write",
    "packets per delivery",
    "loop waits/s",
    "reads/s",
    "server CPU ns per delivery",
    "receiver reads per delivery",
];

fn m(x: f64) -> String {
    format!("{:.2}M", x / 1e6)
}

impl KernelPoint {
    /// The cells of its row (see [`COLUMNS`]): medians of the runs.
    pub fn cells(&self) -> Vec<String> {
        let c = |f: fn(&Cost) -> f64, digits: usize| {
            self.cost(f)
                .map_or("—".into(), |s| format!("{:.digits$}", s.median))
        };
        vec![
            self.dialect.key().into(),
            m(self.target),
            format!("{:.4}", self.spread(|r| r.ratio).median),
            format!("{:.3}", self.spread(|r| r.p99_ms).median),
            format!("{:.2}", self.spread(|r| r.gen_cpu).median),
            c(Cost::writes_per_delivery, 4),
            c(Cost::bytes_per_write, 0),
            c(Cost::lines_per_write, 1),
            c(Cost::packets_per_delivery, 4),
            c(Cost::waits_per_s, 0),
            c(Cost::reads_per_s, 0),
            c(Cost::cpu_ns_per_delivery, 0),
            c(Cost::rx_reads_per_delivery, 4),
        ]
    }

    fn json(&self) -> Value {
        let c = |f: fn(&Cost) -> f64| self.cost(f).map_or(Value::Null, |s| s.json());
        json!({
            "server": self.dialect.key(),
            "target_deliveries_per_s": self.target,
            "delivered_ratio": self.spread(|r| r.ratio).json(),
            "p99_ms": self.spread(|r| r.p99_ms).json(),
            "generator_cpu": self.spread(|r| r.gen_cpu).json(),
            "not_measured": self.why_not(),
            "write_calls_per_delivery": c(Cost::writes_per_delivery),
            "bytes_per_write": c(Cost::bytes_per_write),
            "lines_per_write": c(Cost::lines_per_write),
            "packets_per_delivery": c(Cost::packets_per_delivery),
            "loop_waits_per_s": c(Cost::waits_per_s),
            "reads_per_s": c(Cost::reads_per_s),
            "server_cpu_ns_per_delivery": c(Cost::cpu_ns_per_delivery),
            "receiver_reads_per_delivery": c(Cost::rx_reads_per_delivery),
            "runs": self.runs.iter().map(|r| match &r.cost {
                Ok(k) => json!({
                    "delivered_ratio": r.run.ratio, "p99_ms": r.run.p99_ms,
                    "perf_secs": k.counts.secs, "deliveries": k.deliveries,
                    "bytes": k.bytes, "receiver_reads": k.rx_reads,
                    "write": k.counts.write, "writev": k.counts.writev,
                    "sendto": k.counts.sendto, "sendmsg": k.counts.sendmsg,
                    "read": k.counts.read, "recvfrom": k.counts.recvfrom,
                    "loop_waits": k.counts.waits, "packets": k.counts.packets,
                    "task_clock_ms": k.counts.task_clock_ms,
                }),
                Err(why) => json!({
                    "delivered_ratio": r.run.ratio, "p99_ms": r.run.p99_ms, "not_measured": why,
                }),
            }).collect::<Vec<_>>(),
        })
    }
}

impl KernelCost {
    /// The table's rows, Markdown.
    pub fn markdown_rows(&self) -> String {
        self.points
            .iter()
            .map(|p| format!("| {} |\n", p.cells().join(" | ")))
            .collect()
    }

    /// perf's server CPU (task-clock) per delivery of `base` and of
    /// `other`, ns (medians), at the highest offered rate both sustained
    /// and perf measured for both: (rate, base, other).
    pub fn cpu_beside(&self, base: Dialect, other: Dialect) -> Option<(f64, f64, f64)> {
        let ns = |p: &KernelPoint| p.cost(Cost::cpu_ns_per_delivery).map(|s| s.median);
        let rate = fanout::highest_common(
            self.points
                .iter()
                .map(|p| (p.dialect, p.target, p.sustained() && ns(p).is_some())),
            base,
            other,
        )?;
        let at = |d| {
            self.points
                .iter()
                .find(|p| p.dialect == d && p.target == rate)
                .and_then(ns)
        };
        Some((rate, at(base)?, at(other)?))
    }

    /// The points perf measured nothing of, and why: one line each.
    pub fn not_measured(&self) -> Vec<String> {
        self.points
            .iter()
            .filter_map(|p| {
                p.why_not()
                    .map(|why| format!("{} at {}: {why}", p.dialect.key(), m(p.target)))
            })
            .collect()
    }

    /// As JSON.
    pub fn json(&self) -> Value {
        json!({
            "ran": true,
            "receivers": self.config.receivers,
            "senders": self.config.senders,
            "window_secs": self.config.secs,
            "perf_secs": self.config.secs / 2.0,
            "command": perf::args(0, self.config.secs / 2.0).join(" "),
            "skipped": self.skipped.iter().map(|(d, why)| json!({"server": d.key(), "why": why})).collect::<Vec<_>>(),
            "points": self.points.iter().map(KernelPoint::json).collect::<Vec<_>>(),
        })
    }

    /// The stdout table.
    pub fn table(&self) -> String {
        let mut t = format!(
            "\nkernel cost R={} S={} (medians; perf stat over the middle {:.1} s of each {:.1} s window)\n",
            self.config.receivers,
            self.config.senders,
            self.config.secs / 2.0,
            self.config.secs
        );
        let short = [
            "server", "offered", "share", "p99ms", "genCPU", "wr/dlv", "B/wr", "ln/wr", "pkt/dlv",
            "waits/s", "reads/s", "ns/dlv", "rxrd/dlv",
        ];
        t.push_str(&row(&short.map(String::from)));
        for p in &self.points {
            t.push_str(&row(&p.cells()));
        }
        for line in self.not_measured() {
            t.push_str(&format!("not measured: {line}\n"));
        }
        for (d, why) in &self.skipped {
            t.push_str(&format!("{} skipped: {why}\n", d.key()));
        }
        t
    }
}

fn row(cells: &[String]) -> String {
    let mut s = format!("{:<12}", cells.first().map_or("", String::as_str));
    for c in cells.iter().skip(1) {
        s.push_str(&format!(" {c:>9}"));
    }
    s.push('\n');
    s
}

/// Measures every server of `targets` at every rate of `config`. A server
/// that loses clients at a rate is not measured above it (its room is no
/// longer R receivers).
pub fn run(
    lg: &mut Gen,
    targets: &mut [Target],
    config: &Config,
    log: &mut dyn FnMut(&str),
) -> io::Result<KernelCost> {
    let (r, s) = (config.receivers, config.senders);
    let mut out = KernelCost {
        config: config.clone(),
        points: Vec::new(),
        skipped: Vec::new(),
    };
    let mut alive = Vec::new();
    for i in fanout::eligible(targets, r + s, &mut out.skipped) {
        let t = &targets[i];
        match fanout::connect(lg, t, r, s)? {
            Ok(()) => alive.push(i),
            Err(why) => out.skipped.push((t.server.dialect, why)),
        }
    }
    let groups: Vec<usize> = alive.iter().map(|&i| targets[i].group).collect();
    lg.settle(&groups, Duration::from_millis(300), Duration::from_secs(10))?;
    for &rate in &config.rates {
        let mut still = Vec::new();
        for &i in &alive {
            let mut point = KernelPoint {
                dialect: targets[i].server.dialect,
                target: rate,
                runs: Vec::new(),
            };
            for _ in 0..config.runs {
                point
                    .runs
                    .push(measure(lg, &mut targets[i], r, rate, config.secs)?);
            }
            let lost: usize = point.runs.iter().map(|x| x.run.lost_clients).sum();
            log(&format!(
                "kernel-cost {:<11} offered {} delivered {:.4} {}",
                point.dialect.key(),
                m(rate),
                point.spread(|x| x.ratio).median,
                point.cost(Cost::writes_per_delivery).map_or_else(
                    || format!("not measured: {}", point.why_not().unwrap_or("")),
                    |w| format!("{:.4} writes per delivery", w.median)
                ),
            ));
            if lost == 0 {
                still.push(i);
            } else {
                out.skipped.push((
                    point.dialect,
                    format!("lost {lost} clients at {}; not measured above", m(rate)),
                ));
            }
            out.points.push(point);
        }
        alive = still;
    }
    for t in targets.iter() {
        lg.teardown(t.group);
    }
    lg.settle(&[], Duration::from_millis(200), Duration::from_secs(1))?;
    Ok(out)
}

/// The generator's counters at a moment: seconds into the window,
/// deliveries, bytes read, reads that returned data.
#[derive(Debug, Clone, Copy)]
struct Mark {
    at: f64,
    delivered: f64,
    bytes: f64,
    reads: f64,
}

fn mark(lg: &Gen, group: usize, at: f64) -> Mark {
    let g = &lg.groups[group];
    Mark {
        at,
        delivered: g.window.delivered as f64,
        bytes: g.rx_bytes as f64,
        reads: g.rx_reads as f64,
    }
}

/// One window with perf attached for its middle half.
fn measure(
    lg: &mut Gen,
    target: &mut Target,
    receivers: usize,
    rate: f64,
    secs: f64,
) -> io::Result<KernelRun> {
    let (group, pid) = (target.group, target.server.pid);
    let count_secs = secs / 2.0;
    let mut probe: Option<Probe> = None;
    let mut begin: Option<Mark> = None;
    let mut end: Option<(Mark, Result<Counts, String>)> = None;
    let mut observe = |lg: &Gen, at: f64| {
        if begin.is_none() && at >= secs / 4.0 {
            begin = Some(mark(lg, group, at));
            match Probe::start(pid, count_secs) {
                Ok(p) => probe = Some(p),
                Err(why) => end = Some((mark(lg, group, at), Err(why))),
            }
        } else if let Some(p) = probe.as_mut()
            && let Some(result) = p.poll()
        {
            end = Some((mark(lg, group, at), result));
            probe = None;
        }
    };
    let run = fanout::window_observed(lg, target, receivers, rate, secs, &mut observe)?;
    let cost = match (begin, end, probe) {
        (Some(b), Some((e, Ok(counts))), _) => cost(b, e, counts),
        (_, Some((_, Err(why))), _) => Err(why),
        (_, None, Some(p)) => {
            // Counts from after the load stopped would be the drain's: reap
            // perf, keep nothing.
            drop(p);
            Err(format!(
                "perf outlasted the {secs:.1} s window (it starts late on a busy machine)"
            ))
        }
        _ => Err("the window was too short to start perf".into()),
    };
    Ok(KernelRun { run, cost })
}

/// The kernel's figures from perf's counts and the generator's marks at
/// perf's spawn and exit.
fn cost(begin: Mark, end: Mark, counts: Counts) -> Result<Cost, String> {
    let span = end.at - begin.at;
    if span <= 0.0 || counts.secs <= 0.0 {
        return Err("perf counted for no time".into());
    }
    // perf counted for `counts.secs` of the `span` it was alive.
    let scale = counts.secs.min(span) / span;
    let deliveries = (end.delivered - begin.delivered) * scale;
    if deliveries < 1.0 {
        return Err("nothing was delivered while perf counted".into());
    }
    if counts.writes() < 1.0 {
        return Err("perf counted no write calls".into());
    }
    Ok(Cost {
        counts,
        deliveries,
        bytes: (end.bytes - begin.bytes) * scale,
        rx_reads: (end.reads - begin.reads) * scale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(secs: f64) -> Counts {
        Counts {
            writev: 1000.0,
            write: 10.0,
            read: 300.0,
            waits: 150.0,
            packets: 2000.0,
            task_clock_ms: 500.0,
            secs,
            ..Counts::default()
        }
    }

    #[test]
    fn perf_counts_a_part_of_its_span() {
        let b = Mark {
            at: 0.5,
            delivered: 0.0,
            bytes: 0.0,
            reads: 0.0,
        };
        let e = Mark {
            at: 2.0,
            delivered: 3.0e6,
            bytes: 2.1e8,
            reads: 6.0e4,
        };
        // Alive 1.5 s, counted 1.0 s: two thirds of what arrived meanwhile.
        let c = cost(b, e, counts(1.0)).expect("measured");
        assert_eq!(c.deliveries, 2.0e6);
        assert_eq!(c.writes_per_delivery(), 1010.0 / 2.0e6);
        assert_eq!(c.packets_per_delivery(), 0.001);
        assert_eq!(c.cpu_ns_per_delivery(), 250.0);
        assert_eq!(c.waits_per_s(), 150.0);
        assert_eq!(c.reads_per_s(), 300.0);
        assert_eq!(c.rx_reads_per_delivery(), 0.02);
        assert_eq!(c.bytes_per_write().round(), (1.4e8 / 1010.0_f64).round());
        let none = Mark {
            delivered: 0.0,
            ..e
        };
        assert!(cost(b, none, counts(1.0)).is_err());
        assert!(cost(e, e, counts(1.0)).is_err());
    }
}
