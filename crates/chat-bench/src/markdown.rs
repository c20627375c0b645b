//! BENCHMARKS.md: the figures of one full run beside the targets of issue 3,
//! with ratios against Redis and ncat, the plot, the idle-client figures,
//! the paper projection to a million clients, and the cost of TLS (issue 5)
//! and of a two-node cluster (issue 7) beside plain single-node fan-out.

use std::fmt::Write as _;

use crate::dialect::Dialect;
use crate::report::{self, Results};
use crate::stats::spread;
use crate::workloads::fanout::{self, Comparison, Point, Sweep};

fn m(x: f64) -> String {
    format!("{:.2}M", x / 1e6)
}

fn best(s: &Sweep, d: Dialect) -> Option<f64> {
    s.best(d).map(|p| p.spread(|r| r.delivered_rate).median)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

fn yes(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**not met**" }
}

fn sweep_table(md: &mut String, s: &Sweep, runs: usize) {
    let _ = writeln!(
        md,
        "\n### R = {} receivers, S = {} senders\n\nMedian (min–max) of {runs} runs per rate; a server's sweep stops at its first rate not sustained.\n",
        s.config.receivers, s.config.senders
    );
    let second = s.points.iter().any(|p| p.dialect == Dialect::OursCluster);
    md.push_str("| server | offered/s | delivered/s | delivered share | p50 ms | p99 ms | server syscalls per delivery | server CPU (cores) | generator CPU |");
    if second {
        md.push_str(" share on node B | p99 ms on node B |");
    }
    md.push_str(" verdict |\n|---|---|---|---|---|---|---|---|---|");
    if second {
        md.push_str("---|---|");
    }
    md.push_str("---|\n");
    for p in &s.points {
        let d = p.spread(|r| r.delivered_rate);
        let _ = write!(
            md,
            "| {} | {} | {} ({}–{}) | {:.4} | {:.3} | {} | {:.3} | {:.2} | {:.2} |",
            p.dialect.key(),
            m(p.target),
            m(d.median),
            m(d.min),
            m(d.max),
            p.spread(|r| r.ratio).median,
            p.spread(|r| r.p50_ms).median,
            p.spread(|r| r.p99_ms).show(3),
            p.spread(|r| r.syscalls_per_delivery).median,
            p.spread(|r| r.server_cpu).median,
            p.spread(|r| r.gen_cpu).median,
        );
        if second {
            if p.dialect == Dialect::OursCluster {
                let _ = write!(
                    md,
                    " {:.4} | {} |",
                    p.spread(|r| r.remote_ratio).median,
                    p.spread(|r| r.p99_remote_ms).show(3)
                );
            } else {
                md.push_str(" | |");
            }
        }
        let _ = writeln!(md, " {} |", verdict(p));
    }
    for (d, why) in &s.skipped {
        let _ = writeln!(md, "\n{} skipped: {why}.", d.key());
    }
}

fn verdict(p: &Point) -> &'static str {
    match (p.sustained(), p.generator_bound()) {
        (true, false) => "sustained",
        (true, true) => "sustained, generator-bound",
        (false, true) => "not sustained, generator-bound",
        (false, false) => "not sustained",
    }
}

/// BENCHMARKS.md for `r`; `command` is how it was run, `notes` any
/// hand-written analysis (bench/notes.md) to include.
pub fn markdown(r: &Results, command: &str, notes: Option<&str>) -> String {
    let mut md = String::new();
    let mc = &r.machine;
    let _ = writeln!(
        md,
        "# Benchmarks\n\n*Written by `chat-bench` (crates/chat-bench); do not edit by hand: notes belong in `bench/notes.md`, which is copied in below.*\n\nOne run of:\n\n```\n{command}\n```\n\non {} CPUs ({}), Linux {}, {:.0} GiB; chat-server pinned to CPU 0 and the peers too, the one-thread mio generator pinned to CPU 1; release build; console off; {} runs per figure, {:.1} s per fan-out window; the whole run took {:.0} s. Raw figures: `bench/results.json`.\n\nEvery figure is a median with its min and max, and ours and the peers run interleaved in the same run, so the ratios hold better than the absolute numbers, which move with whatever else the machine does.",
        mc.nproc,
        mc.cpu,
        mc.kernel,
        mc.mem_gib,
        r.runs,
        r.secs,
        r.elapsed.as_secs_f64()
    );
    if !r.missing.is_empty() {
        let names: Vec<&str> = r.missing.iter().map(|d| d.key()).collect();
        let _ = writeln!(
            md,
            "\nNot installed, so not compared: {}.",
            names.join(", ")
        );
    }
    md.push_str("\nThe peers come from Debian: `apt-get install redis-server ncat`. `.ci/run` does not install them; `cargo xtask bench --smoke` needs neither.\n");

    // Targets.
    md.push_str(
        "\n## Targets of issue 3\n\n| # | target | measured | verdict |\n|---|---|---|---|\n",
    );
    for s in &r.sweeps {
        if s.config.receivers > 1000 {
            continue;
        }
        let ours = best(s, Dialect::Ours);
        let redis = best(s, Dialect::Redis);
        let ncat = best(s, Dialect::Ncat);
        let gen_bound = s.best(Dialect::Ours).is_some_and(Point::generator_bound);
        let ok = matches!((ours, redis), (Some(o), Some(rd)) if o >= 2.0 * rd);
        let _ = writeln!(
            md,
            "| 1 | fan-out R={} S={}: ≥ 2× Redis, approach ncat | ours {}{} vs Redis {} ({}) and ncat {} ({}) | {} |",
            s.config.receivers,
            s.config.senders,
            ours.map_or("—".into(), m),
            if gen_bound { " (generator-bound)" } else { "" },
            redis.map_or("—".into(), m),
            ratio(ours, redis),
            ncat.map_or("—".into(), m),
            ratio(ours, ncat),
            if redis.is_none() {
                "no Redis figure"
            } else {
                yes(ok)
            }
        );
    }
    if let Some(s) = r.sweeps.iter().find(|s| s.config.receivers == 100) {
        let at2 = s.at(Dialect::Ours, 2e6).map(|p| p.spread(|x| x.p99_ms));
        let _ = writeln!(
            md,
            "| 2 | p99 ≤ 3 ms at 2M deliveries/s (R=100) | {} ms | {} |",
            at2.map_or("—".into(), |x| x.show(3)),
            yes(at2.is_some_and(|x| x.median <= 3.0))
        );
        let mut worse = Vec::new();
        let mut compared = 0;
        for p in s
            .points
            .iter()
            .filter(|p| p.dialect == Dialect::Redis && p.sustained())
        {
            if let Some(o) = s.at(Dialect::Ours, p.target).filter(|o| o.sustained()) {
                compared += 1;
                let (a, b) = (o.spread(|x| x.p99_ms).median, p.spread(|x| x.p99_ms).median);
                if a >= b {
                    worse.push(format!("{}: {a:.3} vs {b:.3} ms", m(p.target)));
                }
            }
        }
        let _ = writeln!(
            md,
            "| 2 | p99 below Redis's at every rate both sustain (R=100) | {} rates compared; ours not below at: {} | {} |",
            compared,
            if worse.is_empty() {
                "none".into()
            } else {
                worse.join(", ")
            },
            yes(compared > 0 && worse.is_empty())
        );
    }
    if let Some(c) = r.conns.iter().find(|c| c.dialect == Dialect::Ours) {
        let _ = writeln!(
            md,
            "| 3 | 19,000 idle clients | {:.0} of {} | {} |",
            c.clients().median,
            c.target,
            yes(c.clients().median >= 19_000.0)
        );
        let _ = writeln!(
            md,
            "| 3 | RSS ≤ 1 KiB per idle client | {} B | {} |",
            c.rss().show(0),
            yes(c.rss().median <= 1024.0)
        );
        let _ = writeln!(
            md,
            "| 3 | ≥ 20k connects+welcomes/s | {} /s | {} |",
            c.rate().show(0),
            yes(c.rate().median >= 20_000.0)
        );
    }
    if let Some(t) = r.rtts.iter().find(|t| t.dialect == Dialect::Ours) {
        let _ = writeln!(
            md,
            "| 4 | ping-pong p50 ≤ 30 µs, p99 ≤ 60 µs | p50 {} µs, p99 {} µs | {} |",
            t.p50().show(1),
            t.p99().show(1),
            yes(t.p50().median <= 30.0 && t.p99().median <= 60.0)
        );
    }
    md.push_str("| 5 | projection to 1,000,000 clients | below | on paper |\n");

    // Fan-out.
    md.push_str("\n## Fan-out\n\nR receivers in one room, S senders, 64-byte payloads, open-loop pacing (token bucket) at the offered rate. Sustained = ≥ 99.9 % of the offered deliveries arrive and p99 ≤ 200 ms. *Server syscalls per delivery* are the server's `syscr + syscw` (/proc/PID/io) over the window divided by the deliveries. A point is generator-bound when the generator could not offer the rate (offered < 97 % of the target) or used more than 95 % of its core.\n\n![p99 latency against offered deliveries/s](bench/fanout.svg)\n");
    md.push_str("\n| R | S | ours best sustained | Redis best | ncat best | ours / Redis | ours / ncat |\n|---|---|---|---|---|---|---|\n");
    for s in &r.sweeps {
        let (o, rd, n) = (
            best(s, Dialect::Ours),
            best(s, Dialect::Redis),
            best(s, Dialect::Ncat),
        );
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            s.config.receivers,
            s.config.senders,
            o.map_or("—".into(), m),
            rd.map_or("—".into(), m),
            n.map_or("—".into(), m),
            ratio(o, rd),
            ratio(o, n)
        );
    }
    for s in &r.sweeps {
        sweep_table(&mut md, s, r.runs);
    }

    tls_section(&mut md, r);
    cluster_section(&mut md, r);

    // Ping-pong.
    md.push_str("\n## Ping-pong\n\nOne sender, one receiver, one message in flight, the generator busy-polling: the time from the sender's write to the receiver's read (client → server → other client).\n\n| server | p50 µs | p99 µs | lost |\n|---|---|---|---|\n");
    for t in &r.rtts {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            t.dialect.key(),
            t.p50().show(1),
            t.p99().show(1),
            t.lost()
        );
    }

    // Conns.
    md.push_str("\n## Idle clients at the file limit\n\nA fresh server per run; clients connect from 127.0.0.2–127.0.0.254 (so ephemeral ports never run short), at most 256 waiting for their welcome at once (for Redis: the reply to `SUBSCRIBE lobby`; for ncat: its `<announce>` lines). RSS per client is the server's VmRSS growth divided by the clients; kernel slab per client is the growth of `Slab` in /proc/meminfo divided by the clients, and covers *both* ends of each loopback connection. The process file limit here is 20,000; ncat stops at 1,020 (`--max-conns`; its select() loop cannot go past 1,024).\n\n| server | clients | connects+welcomes/s | server RSS B/client | kernel slab B/client (both ends) | server survived |\n|---|---|---|---|---|---|\n");
    for c in &r.conns {
        let _ = writeln!(
            md,
            "| {} | {:.0} of {} | {} | {} | {} | {} |",
            c.dialect.key(),
            c.clients().median,
            c.target,
            c.rate().show(0),
            c.rss().show(0),
            c.slab().show(0),
            c.runs.iter().all(|x| x.survived)
        );
    }

    // Projection.
    if let Some(c) = r.conns.iter().find(|c| c.dialect == Dialect::Ours) {
        let rss = c.rss().median.max(0.0);
        let kernel = c.slab().median.max(0.0) / 2.0;
        let total = (rss + kernel) * 1e6;
        let _ = writeln!(
            md,
            "\n## On paper: 1,000,000 clients\n\nWith the file limit raised (`ulimit -n 1100000`, `fs.nr_open` and `fs.file-max` above it) and clients spread over enough source addresses, an idle client costs what it costs at 19,000, since nothing per client grows with the number of clients (join notices stop at `announce_limit`, read buffers are shared, idle queues are freed):\n\n| per idle client | measured | × 1,000,000 |\n|---|---|---|\n| chat-server RSS | {rss:.0} B | {:.2} GiB |\n| kernel: the server's end of the TCP socket (half the slab growth: `tcp_sock`, socket inode, file, dentry, epoll item; no buffers while idle) | {kernel:.0} B | {:.2} GiB |\n| total | {:.0} B | {:.2} GiB |\n\nA busy client adds its socket buffers: up to `tcp_rmem`/`tcp_wmem` as the kernel autotunes them (a few KiB to MiBs) and its output queue in the server (capped by `max_queue_bytes`). The one thread's limit at a million is not memory but work: a message to a room of a million is a million queue entries and, with batching, about one `writev` per recipient per loop turn.",
            rss * 1e6 / f64::from(1u32 << 30),
            kernel * 1e6 / f64::from(1u32 << 30),
            rss + kernel,
            total / f64::from(1u32 << 30),
        );
    }

    // Churn.
    let cc = &r.churn_config;
    let _ = writeln!(
        md,
        "\n## Churn\n\nR={} S={} fan-out at {} deliveries/s, first quiet, then with {} clients/s connecting, getting their welcome and leaving (at most 256 in flight). In chat-server's room of ~100 every join and leave is announced (the room is under `announce_limit`).\n\n| server | joins+leaves/s done | failed | p99 quiet ms | p99 churning ms | delivered share churning |\n|---|---|---|---|---|---|",
        cc.receivers,
        cc.senders,
        m(cc.rate),
        cc.churn_rate
    );
    for c in &r.churns {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {:.4} |",
            c.dialect.key(),
            c.cycles_per_s().show(0),
            c.failed(),
            spread(c.quiet.iter().map(|x| x.p99_ms)).show(3),
            spread(c.churned.iter().map(|x| x.p99_ms)).show(3),
            spread(c.churned.iter().map(|x| x.ratio)).median
        );
    }

    md.push_str("\n## Method\n\n- Markers: every 64-byte payload starts with `~` + 16 hex digits of nanoseconds since the generator started + `;`. Receivers scan their byte stream for markers (a marker split across reads is still found; unit tests in `marker.rs`), so ncat's mid-line prefixes and Redis's RESP framing need no parser; a marker ncat's prefix cuts in two is lost and counted as lost.\n- Latency: one clock read per `read()` on the receiver side, recorded in an HDR histogram (1 ns – 60 s, 3 digits).\n- Senders: a token bucket releases messages at the offered rate whatever the server does (open loop). A sender with 1 MiB unsent takes no more (shed, counted as lost); a generator that falls 20 ms behind loses the tokens (counted, and the point is marked generator-bound).\n- Each window is followed by a drain (until every delivery arrived or 300 ms passed without a byte); markers from earlier windows are not counted.\n- chat-server runs with a temporary server.toml: `flood_rate = 0.0`, `max_clients = 19500`, `max_clients_per_ip = 19500`, `max_queue_bytes = 4194304`, `keepalive = 0`, console off. Redis: `--save \"\" --appendonly no --maxclients 19500`. ncat: `ncat -l --chat --max-conns 1020 127.0.0.1 PORT`.\n- TLS fan-out: chat-server's TLS listener (`listen = [{ addr, tls = { cert, key } }]`, TLS 1.3 with rustls and ring) with a certificate rcgen makes at start; the generator's clients wrap each socket in a rustls `ClientConnection` (one socket read is fed to rustls from memory, the plaintext is scanned like any other), trusting only that certificate.\n- Cross-node fan-out: two chat-server nodes with `[cluster]` (`node_name` a and b) on one `redis-server --save \"\" --appendonly no`; senders on A, receivers alternating A, B; each node waits until it logs `cluster: connected` before any client connects.\n- Server CPU: `utime + stime` of /proc/PID/stat (every thread; for the cluster, both nodes and Redis; 10 ms ticks) from the window's start to the drain's end, shown as cores used over that time and as CPU time per delivery.\n- Only loopback addresses are used; every wait has a deadline.\n");

    if let Some(notes) = notes {
        md.push_str("\n## Notes and profile\n\n");
        md.push_str(notes.trim());
        md.push('\n');
    }
    md
}

fn opt_m(x: Option<f64>) -> String {
    x.map_or("—".into(), m)
}

fn times(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{v:.2}×"))
}

/// The summary rows of a comparison: best sustained, p99 and CPU per
/// delivery at the highest rate both sustained.
fn comparison_rows(md: &mut String, c: &Comparison, other: &str, cost: &str) {
    let _ = writeln!(
        md,
        "| | plain, one node | {other} | {cost} |\n|---|---|---|---|\n| best sustained deliveries/s | {} | {} | {} (plain / {other}) |",
        opt_m(c.base_best),
        opt_m(c.other_best),
        times(c.throughput_cost())
    );
    match (c.common, c.base_p99, c.other_p99) {
        (Some(rate), Some(a), Some(b)) => {
            let _ = writeln!(
                md,
                "| p99 ms at {} offered (the highest rate both sustain) | {} | {} | {} |",
                m(rate),
                a.show(3),
                b.show(3),
                if a.median > 0.0 {
                    format!("{:.2}×", b.median / a.median)
                } else {
                    "—".into()
                }
            );
            let _ = writeln!(
                md,
                "| server CPU per delivery at {} (ns) | {} | {} | {} ({other} / plain) |",
                m(rate),
                c.base_cpu_ns.map_or("—".into(), |x| format!("{x:.0}")),
                c.other_cpu_ns.map_or("—".into(), |x| format!("{x:.0}")),
                times(c.cpu_cost())
            );
        }
        _ => md.push_str("| p99 at a common rate | — | — | no rate both sustained |\n"),
    }
}

fn tls_section(md: &mut String, r: &Results) {
    let Some(result) = &r.tls else { return };
    md.push_str("\n## TLS fan-out (issue 5)\n\nThe R = 100, S = 4 fan-out again, with every client on chat-server's TLS listener (TLS 1.3, rustls with ring, a self-signed certificate made at start) and the generator's clients speaking TLS through rustls in the same one-thread loop. A plain single-node chat-server is swept in the same run, window for window interleaved with the TLS one, with the same rates, runs and verdicts (≥ 99.9 % delivered, p99 ≤ 200 ms), so both saw the same machine. The *TLS cost* is plain's best sustained rate over TLS's; the server's CPU per delivery (its CPU time over the window and the drain after it, divided by the deliveries) is compared at the highest rate both sustained, where both did the same work. The generator also decrypts every delivery, so a generator-bound TLS point says little of the server.\n\n");
    match result {
        Err(why) => {
            let _ = writeln!(md, "Not measured: {why}.");
        }
        Ok(s) => {
            comparison_rows(md, &report::tls_comparison(s), "TLS", "TLS cost");
            sweep_table(md, s, r.runs);
        }
    }
}

fn cluster_section(md: &mut String, r: &Results) {
    let Some(result) = &r.cluster else { return };
    md.push_str("\n## Cross-node fan-out (issue 7)\n\nTwo chat-server nodes (`[cluster]`, nodes a and b) on one `redis-server`; the S = 4 senders on node A, the R = 100 receivers alternating between A and B (50 each), everyone in `lobby`. A's receivers get a line directly; B's through Redis (A's bridge thread PUBLISHes it on the cluster's channel and XADDs it to the room's history stream, B's subscriber thread hands it to B's reactor). Deliveries per second count both nodes' receivers; the share delivered and p99 on node B are shown apart. Both nodes (with their bridge threads) and Redis are pinned to CPU 0, the one core a single node has to itself in the plain runs, and the generator to CPU 1: so this measures what the cluster's path costs on one core, not what a second machine would add. A plain single-node chat-server is swept in the same run, interleaved, with the same rates and verdicts (one rate lower, 0.25M, is added for the cluster).\n\n");
    match result {
        Err(why) => {
            let _ = writeln!(md, "Not measured: {why}.");
        }
        Ok(s) => {
            let c = report::cluster_comparison(s);
            comparison_rows(md, &c, "two nodes", "cluster cost");
            if let Some(p) = c.common.and_then(|t| s.at(Dialect::OursCluster, t)) {
                let _ = writeln!(
                    md,
                    "| p99 ms on node B alone at {} | | {} | |",
                    m(p.target),
                    p.spread(|x| x.p99_remote_ms).show(3)
                );
            }
            if let Some(p) = s.best(Dialect::OursCluster) {
                let _ = writeln!(
                    md,
                    "\nAt its best sustained rate the cluster used {:.2} cores of CPU 0 ({:.0} ns per delivery).",
                    p.spread(|x| x.server_cpu).median,
                    fanout::cpu_ns_per_delivery(p)
                );
            }
            sweep_table(md, s, r.runs);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::plan::Workload;
    use crate::sys::Machine;
    use crate::workloads::churn;
    use crate::workloads::fanout::{Config, Run};

    fn point(dialect: Dialect, target: f64, delivered: f64, p99: f64, cpu: f64) -> Point {
        let run = Run {
            offered: target,
            delivered_rate: delivered,
            ratio: delivered / target,
            p99_ms: p99,
            server_cpu: cpu,
            server_cpu_ns_per_delivery: cpu / delivered * 1e9,
            p99_remote_ms: if dialect == Dialect::OursCluster {
                p99 + 1.0
            } else {
                f64::NAN
            },
            remote_ratio: f64::NAN,
            ..Run::default()
        };
        Point {
            dialect,
            receivers: 100,
            senders: 4,
            target,
            runs: vec![run],
        }
    }

    fn sweep(other: Dialect) -> Sweep {
        Sweep {
            config: Config {
                receivers: 100,
                senders: 4,
                rates: vec![1e6, 2e6],
                runs: 1,
                secs: 1.0,
            },
            points: vec![
                point(Dialect::Ours, 1e6, 1e6, 1.0, 0.2),
                point(other, 1e6, 1e6, 2.0, 0.4),
                point(Dialect::Ours, 2e6, 2e6, 1.5, 0.4),
                point(other, 2e6, 1.5e6, 900.0, 0.9),
            ],
            skipped: Vec::new(),
        }
    }

    fn results(cluster: Result<Sweep, String>) -> Results {
        Results {
            machine: Machine {
                nproc: 2,
                cpu: "test".into(),
                kernel: "test".into(),
                mem_gib: 1.0,
            },
            runs: 1,
            secs: 1.0,
            missing: Vec::new(),
            sweeps: Vec::new(),
            rtts: Vec::new(),
            churn_config: churn::Config {
                receivers: 100,
                senders: 4,
                rate: 1e6,
                churn_rate: 1000.0,
                runs: 1,
                secs: 1.5,
            },
            churns: Vec::new(),
            conns: Vec::new(),
            tls: Some(Ok(sweep(Dialect::OursTls))),
            cluster: Some(cluster),
            workloads: vec![Workload::TlsFanout, Workload::ClusterFanout],
            elapsed: Duration::from_secs(1),
        }
    }

    #[test]
    fn tls_and_cluster_sit_beside_plain() {
        let r = results(Ok(sweep(Dialect::OursCluster)));
        let c = report::tls_comparison(&sweep(Dialect::OursTls));
        assert_eq!(c.common, Some(1e6));
        assert_eq!(c.throughput_cost(), Some(2.0));
        assert_eq!(c.cpu_cost().map(|x| (x * 100.0).round()), Some(200.0));
        let md = markdown(&r, "test", None);
        assert!(md.contains("## TLS fan-out (issue 5)"), "{md}");
        assert!(
            md.contains("| best sustained deliveries/s | 2.00M | 1.00M | 2.00× (plain / TLS) |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| server CPU per delivery at 1.00M (ns) | 200 | 400 | 2.00× (TLS / plain) |"
            ),
            "{md}"
        );
        assert!(md.contains("## Cross-node fan-out (issue 7)"), "{md}");
        assert!(
            md.contains("| p99 ms on node B alone at 1.00M | | 3.000 (3.000–3.000) | |"),
            "{md}"
        );
        assert!(md.contains("share on node B"), "{md}");
        let json = r.json();
        assert_eq!(
            json["tls_fanout"]["comparison"]["base_over_other_best"],
            2.0
        );
        assert_eq!(json["cluster_fanout"]["ran"], true);
        let table = r.table();
        assert!(table.contains("TLS cost (plain / other) 2.00×"), "{table}");
    }

    #[test]
    fn a_missing_redis_is_a_note() {
        let r = results(Err("redis-server is not installed".into()));
        let md = markdown(&r, "test", None);
        assert!(
            md.contains("Not measured: redis-server is not installed."),
            "{md}"
        );
        assert_eq!(
            r.json()["cluster_fanout"]["skipped"],
            "redis-server is not installed"
        );
        assert!(r.table().contains("skipped: redis-server is not installed"));
    }
}
