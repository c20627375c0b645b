//! BENCHMARKS.md: the figures of one full run beside the targets of issue 3,
//! with ratios against Redis and ncat, the plot, the idle-client figures,
//! the paper projection to a million clients, and the cost of TLS (issue 5)
//! and of a two-node cluster (issue 7) beside plain single-node fan-out.
//!
//! The words are in `crates/chat-bench/BENCHMARKS.template.md`, compiled in;
//! this module picks the sections a run measured and fills in its figures.

use std::fmt::Write as _;

use crate::dialect::Dialect;
use crate::report::{self, Results};
use crate::stats::spread;
use crate::template::Template;
use crate::workloads::fanout::{self, Comparison, Point, Sweep};

/// The template BENCHMARKS.md is written from.
pub const TEMPLATE: &str = include_str!("../BENCHMARKS.template.md");

/// BENCHMARKS.md as it is being written.
struct Doc {
    template: Template,
    md: String,
}

impl Doc {
    /// Appends section `name` of the template, filled with `vars`.
    fn put(&mut self, name: &str, vars: &[(&str, &str)]) {
        let text = self.template.render(name, vars);
        self.md.push_str(&text);
    }
}

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

fn sweep_table(doc: &mut Doc, s: &Sweep, runs: usize) {
    let second = s.points.iter().any(|p| p.dialect == Dialect::OursCluster);
    let mut rows = String::new();
    for p in &s.points {
        let d = p.spread(|r| r.delivered_rate);
        let _ = write!(
            rows,
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
                    rows,
                    " {:.4} | {} |",
                    p.spread(|r| r.remote_ratio).median,
                    p.spread(|r| r.p99_remote_ms).show(3)
                );
            } else {
                rows.push_str(" | |");
            }
        }
        let _ = writeln!(rows, " {} |", verdict(p));
    }
    doc.put(
        if second { "sweep-two-nodes" } else { "sweep" },
        &[
            ("receivers", &s.config.receivers.to_string()),
            ("senders", &s.config.senders.to_string()),
            ("runs", &runs.to_string()),
            ("rows", &rows),
        ],
    );
    for (d, why) in &s.skipped {
        doc.put("sweep-skipped", &[("server", d.key()), ("why", why)]);
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
    let mut doc = Doc {
        template: Template::parse(TEMPLATE),
        md: String::new(),
    };
    let mc = &r.machine;
    doc.put(
        "header",
        &[
            ("command", command),
            ("nproc", &mc.nproc.to_string()),
            ("cpu", &mc.cpu),
            ("kernel", &mc.kernel),
            ("mem_gib", &format!("{:.0}", mc.mem_gib)),
            ("runs", &r.runs.to_string()),
            ("secs", &format!("{:.1}", r.secs)),
            ("elapsed", &format!("{:.0}", r.elapsed.as_secs_f64())),
        ],
    );
    if !r.missing.is_empty() {
        let names: Vec<&str> = r.missing.iter().map(|d| d.key()).collect();
        doc.put("missing", &[("peers", &names.join(", "))]);
    }
    doc.put("peers", &[]);

    doc.put("targets", &[]);
    for s in &r.sweeps {
        if s.config.receivers > 1000 {
            continue;
        }
        let ours = best(s, Dialect::Ours);
        let redis = best(s, Dialect::Redis);
        let ncat = best(s, Dialect::Ncat);
        let gen_bound = s.best(Dialect::Ours).is_some_and(Point::generator_bound);
        let ok = matches!((ours, redis), (Some(o), Some(rd)) if o >= 2.0 * rd);
        doc.put(
            "target-fanout",
            &[
                ("receivers", &s.config.receivers.to_string()),
                ("senders", &s.config.senders.to_string()),
                ("ours", &ours.map_or("—".into(), m)),
                (
                    "generator_bound",
                    if gen_bound { " (generator-bound)" } else { "" },
                ),
                ("redis", &redis.map_or("—".into(), m)),
                ("ours_over_redis", &ratio(ours, redis)),
                ("ncat", &ncat.map_or("—".into(), m)),
                ("ours_over_ncat", &ratio(ours, ncat)),
                (
                    "verdict",
                    if redis.is_none() {
                        "no Redis figure"
                    } else {
                        yes(ok)
                    },
                ),
            ],
        );
    }
    if let Some(s) = r.sweeps.iter().find(|s| s.config.receivers == 100) {
        let at2 = s.at(Dialect::Ours, 2e6).map(|p| p.spread(|x| x.p99_ms));
        doc.put(
            "target-p99",
            &[
                ("p99", &at2.map_or("—".into(), |x| x.show(3))),
                ("verdict", yes(at2.is_some_and(|x| x.median <= 3.0))),
            ],
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
        let met = compared > 0 && worse.is_empty();
        let worse = if worse.is_empty() {
            "none".into()
        } else {
            worse.join(", ")
        };
        doc.put(
            "target-p99-redis",
            &[
                ("compared", &compared.to_string()),
                ("worse", &worse),
                ("verdict", yes(met)),
            ],
        );
    }
    if let Some(c) = r.conns.iter().find(|c| c.dialect == Dialect::Ours) {
        doc.put(
            "target-idle",
            &[
                ("clients", &format!("{:.0}", c.clients().median)),
                ("target", &c.target.to_string()),
                ("clients_verdict", yes(c.clients().median >= 19_000.0)),
                ("rss", &c.rss().show(0)),
                ("rss_verdict", yes(c.rss().median <= 1024.0)),
                ("rate", &c.rate().show(0)),
                ("rate_verdict", yes(c.rate().median >= 20_000.0)),
            ],
        );
    }
    if let Some(t) = r.rtts.iter().find(|t| t.dialect == Dialect::Ours) {
        doc.put(
            "target-ping-pong",
            &[
                ("p50", &t.p50().show(1)),
                ("p99", &t.p99().show(1)),
                (
                    "verdict",
                    yes(t.p50().median <= 30.0 && t.p99().median <= 60.0),
                ),
            ],
        );
    }
    doc.put("target-projection", &[]);

    let mut rows = String::new();
    for s in &r.sweeps {
        let (o, rd, n) = (
            best(s, Dialect::Ours),
            best(s, Dialect::Redis),
            best(s, Dialect::Ncat),
        );
        let _ = writeln!(
            rows,
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
    doc.put("fanout", &[("rows", &rows)]);
    for s in &r.sweeps {
        sweep_table(&mut doc, s, r.runs);
    }

    tls_section(&mut doc, r);
    cluster_section(&mut doc, r);

    let mut rows = String::new();
    for t in &r.rtts {
        let _ = writeln!(
            rows,
            "| {} | {} | {} | {} |",
            t.dialect.key(),
            t.p50().show(1),
            t.p99().show(1),
            t.lost()
        );
    }
    doc.put("ping-pong", &[("rows", &rows)]);

    let mut rows = String::new();
    for c in &r.conns {
        let _ = writeln!(
            rows,
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
    doc.put("idle", &[("rows", &rows)]);

    if let Some(c) = r.conns.iter().find(|c| c.dialect == Dialect::Ours) {
        let rss = c.rss().median.max(0.0);
        let kernel = c.slab().median.max(0.0) / 2.0;
        let gib = |bytes: f64| format!("{:.2}", bytes * 1e6 / f64::from(1u32 << 30));
        doc.put(
            "projection",
            &[
                ("rss", &format!("{rss:.0}")),
                ("rss_gib", &gib(rss)),
                ("kernel", &format!("{kernel:.0}")),
                ("kernel_gib", &gib(kernel)),
                ("total", &format!("{:.0}", rss + kernel)),
                ("total_gib", &gib(rss + kernel)),
            ],
        );
    }

    let cc = &r.churn_config;
    let mut rows = String::new();
    for c in &r.churns {
        let _ = writeln!(
            rows,
            "| {} | {} | {} | {} | {} | {:.4} |",
            c.dialect.key(),
            c.cycles_per_s().show(0),
            c.failed(),
            spread(c.quiet.iter().map(|x| x.p99_ms)).show(3),
            spread(c.churned.iter().map(|x| x.p99_ms)).show(3),
            spread(c.churned.iter().map(|x| x.ratio)).median
        );
    }
    doc.put(
        "churn",
        &[
            ("receivers", &cc.receivers.to_string()),
            ("senders", &cc.senders.to_string()),
            ("rate", &m(cc.rate)),
            ("churn_rate", &cc.churn_rate.to_string()),
            ("rows", &rows),
        ],
    );

    doc.put("method", &[]);
    if let Some(notes) = notes {
        doc.put("notes", &[("notes", &format!("{}\n", notes.trim()))]);
    }
    doc.md
}

fn opt_m(x: Option<f64>) -> String {
    x.map_or("—".into(), m)
}

fn times(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{v:.2}×"))
}

/// The summary rows of a comparison: best sustained, p99 and CPU per
/// delivery at the highest rate both sustained.
fn comparison_rows(doc: &mut Doc, c: &Comparison, other: &str, cost: &str) {
    doc.put(
        "comparison",
        &[
            ("other", other),
            ("cost", cost),
            ("base_best", &opt_m(c.base_best)),
            ("other_best", &opt_m(c.other_best)),
            ("throughput_cost", &times(c.throughput_cost())),
        ],
    );
    match (c.common, c.base_p99, c.other_p99) {
        (Some(rate), Some(a), Some(b)) => {
            let p99_ratio = if a.median > 0.0 {
                format!("{:.2}×", b.median / a.median)
            } else {
                "—".into()
            };
            let ns = |x: Option<f64>| x.map_or("—".into(), |x| format!("{x:.0}"));
            doc.put(
                "comparison-common",
                &[
                    ("other", other),
                    ("rate", &m(rate)),
                    ("base_p99", &a.show(3)),
                    ("other_p99", &b.show(3)),
                    ("p99_ratio", &p99_ratio),
                    ("base_cpu", &ns(c.base_cpu_ns)),
                    ("other_cpu", &ns(c.other_cpu_ns)),
                    ("cpu_cost", &times(c.cpu_cost())),
                ],
            );
        }
        _ => doc.put("comparison-no-common", &[]),
    }
}

fn tls_section(doc: &mut Doc, r: &Results) {
    let Some(result) = &r.tls else { return };
    doc.put("tls", &[]);
    match result {
        Err(why) => doc.put("not-measured", &[("why", why)]),
        Ok(s) => {
            comparison_rows(doc, &report::tls_comparison(s), "TLS", "TLS cost");
            sweep_table(doc, s, r.runs);
        }
    }
}

fn cluster_section(doc: &mut Doc, r: &Results) {
    let Some(result) = &r.cluster else { return };
    doc.put("cluster", &[]);
    match result {
        Err(why) => doc.put("not-measured", &[("why", why)]),
        Ok(s) => {
            let c = report::cluster_comparison(s);
            comparison_rows(doc, &c, "two nodes", "cluster cost");
            if let Some(p) = c.common.and_then(|t| s.at(Dialect::OursCluster, t)) {
                doc.put(
                    "cluster-node-b",
                    &[
                        ("rate", &m(p.target)),
                        ("p99", &p.spread(|x| x.p99_remote_ms).show(3)),
                    ],
                );
            }
            if let Some(p) = s.best(Dialect::OursCluster) {
                doc.put(
                    "cluster-cpu",
                    &[
                        (
                            "cores",
                            &format!("{:.2}", p.spread(|x| x.server_cpu).median),
                        ),
                        ("ns", &format!("{:.0}", fanout::cpu_ns_per_delivery(p))),
                    ],
                );
            }
            sweep_table(doc, s, r.runs);
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

    /// Every section present: three sweeps with the peers (one skipped),
    /// ping-pong, idle clients, churn, TLS, a cluster, missing peers, notes.
    fn full_results() -> Results {
        use crate::workloads::churn::Churn;
        use crate::workloads::conns::{Conns, ConnsRun};
        use crate::workloads::rtt::Rtt;
        let mut sweeps = Vec::new();
        for receivers in [100, 1000, 10_000] {
            let mut s = sweep(Dialect::Redis);
            s.config.receivers = receivers;
            s.points.push(point(Dialect::Ncat, 1e6, 1e6, 0.5, 0.1));
            s.points.push(point(Dialect::Redis, 5e5, 5e5, 1.0, 0.1));
            if receivers == 10_000 {
                s.skipped.push((Dialect::Ncat, "too many clients".into()));
            }
            if receivers == 100 {
                s.points.push(point(Dialect::Ours, 5e5, 5e5, 3.0, 0.1));
            }
            if receivers == 1000 {
                s.points[2].runs[0].gen_cpu = 0.99;
            }
            sweeps.push(s);
        }
        let run = |p99| Run {
            p99_ms: p99,
            ratio: 0.9995,
            ..Run::default()
        };
        let conns = |dialect, rss| Conns {
            dialect,
            target: 19_000,
            runs: vec![ConnsRun {
                clients: 19_000,
                rate: 25_000.0,
                rss_per_client: rss,
                slab_per_client: 2000.0,
                survived: true,
                ..ConnsRun::default()
            }],
        };
        Results {
            missing: vec![Dialect::Ncat],
            sweeps,
            rtts: vec![
                Rtt {
                    dialect: Dialect::Ours,
                    runs: vec![(20.0, 40.0, 0), (22.0, 45.0, 1)],
                },
                Rtt {
                    dialect: Dialect::Redis,
                    runs: vec![(25.0, 50.0, 0)],
                },
            ],
            churns: vec![Churn {
                dialect: Dialect::Ours,
                quiet: vec![run(1.0)],
                churned: vec![run(2.0)],
                cycles: vec![(1000.0, 0)],
            }],
            conns: vec![conns(Dialect::Ours, 900.0), conns(Dialect::Redis, 1500.0)],
            ..results(Ok(sweep(Dialect::OursCluster)))
        }
    }

    /// Every placeholder filled, whichever sections a run fills.
    fn assert_filled(md: &str) {
        assert!(!md.contains("{{"), "a placeholder is left:\n{md}");
        assert!(!md.contains("<!--"), "a template comment is left:\n{md}");
    }

    #[test]
    fn the_template_is_filled_from_the_figures() {
        let md = markdown(
            &full_results(),
            "cargo xtask bench",
            Some("\nSome notes.\n\n"),
        );
        assert_filled(&md);
        for heading in [
            "# Benchmarks\n",
            "\n## Targets of issue 3\n",
            "\n## Fan-out\n",
            "\n### R = 100 receivers, S = 4 senders\n",
            "\n### R = 10000 receivers, S = 4 senders\n",
            "\n## TLS fan-out (issue 5)\n",
            "\n## Cross-node fan-out (issue 7)\n",
            "\n## Ping-pong\n",
            "\n## Idle clients at the file limit\n",
            "\n## On paper: 1,000,000 clients\n",
            "\n## Churn\n",
            "\n## Method\n",
            "\n## Notes and profile\n\nSome notes.\n",
        ] {
            assert!(md.contains(heading), "no {heading:?} in\n{md}");
        }
        assert!(md.starts_with("# Benchmarks\n"), "{md}");
        assert!(md.contains("\n```\ncargo xtask bench\n```\n"), "{md}");
        assert!(md.contains("on 2 CPUs (test), Linux test, 1 GiB;"), "{md}");
        assert!(
            md.contains("\nNot installed, so not compared: ncat.\n"),
            "{md}"
        );
        assert!(
            md.contains("| 1 | fan-out R=1000 S=4: ≥ 2× Redis, approach ncat | ours 2.00M (generator-bound) vs Redis 1.00M (2.00×) and ncat 1.00M (2.00×) | **met** |\n"),
            "{md}"
        );
        assert!(
            md.contains("| 2 | p99 below Redis's at every rate both sustain (R=100) | 2 rates compared; ours not below at: 0.50M: 3.000 vs 1.000 ms | **not met** |\n"),
            "{md}"
        );
        assert!(md.contains("| total | 1900 B | 1.77 GiB |\n"), "{md}");
        assert!(md.contains("\nncat skipped: too many clients.\n"), "{md}");
        assert!(
            md.contains("\nAt its best sustained rate the cluster used 0.40 cores of CPU 0 (400 ns per delivery).\n"),
            "{md}"
        );
        // A table goes straight from its rule to its rows, and ends the file
        // with one newline.
        assert!(!md.contains("|\n\n|"), "{md}");
        assert!(
            md.ends_with("Some notes.\n") && !md.ends_with("\n\n"),
            "{md}"
        );
    }

    #[test]
    fn sections_left_out_leave_no_trace() {
        let mut r = results(Err("no redis".into()));
        let mut tls = sweep(Dialect::OursTls);
        tls.points[1].runs[0].p99_ms = 500.0;
        r.tls = Some(Ok(tls));
        let md = markdown(&r, "x", None);
        assert_filled(&md);
        assert!(
            md.contains("| p99 at a common rate | — | — | no rate both sustained |\n"),
            "{md}"
        );
        for absent in ["Not installed", "## On paper", "## Notes", "| 3 |", "| 4 |"] {
            assert!(!md.contains(absent), "{absent:?} in\n{md}");
        }
        // Empty tables keep their header and rule, and nothing else.
        assert!(
            md.contains("| server | p50 µs | p99 µs | lost |\n|---|---|---|---|\n\n## Idle"),
            "{md}"
        );
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
