//! What a bench run leaves behind: the table on stdout, results.json, the
//! SVG plot of p99 against offered rate, and BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;
use serde_json::{Value, json};

use crate::dialect::Dialect;
use crate::plan::Workload;
use crate::stats::{Spread, spread};
use crate::sys::Machine;
use crate::workloads::churn::{self, Churn};
use crate::workloads::conns::Conns;
use crate::workloads::failover::{self, Failover};
use crate::workloads::fanout::{self, Comparison, Point, Sweep};
use crate::workloads::history_join::HistoryJoin;
use crate::workloads::irc_fanout::{self, IrcFanout};
use crate::workloads::kernel::KernelCost;
use crate::workloads::logins::Logins;
use crate::workloads::rtt::Rtt;
use crate::workloads::store_search::StoreSearch;
use crate::workloads::webhooks::Posts;

/// Everything a full run measured.
#[derive(Debug)]
pub struct Results {
    pub machine: Machine,
    pub runs: usize,
    pub secs: f64,
    /// Peers that are not installed.
    pub missing: Vec<Dialect>,
    pub sweeps: Vec<Sweep>,
    pub rtts: Vec<Rtt>,
    pub churn_config: churn::Config,
    pub churns: Vec<Churn>,
    pub conns: Vec<Conns>,
    /// chat-server's joins replaying no history, 50 and 1,000 lines.
    pub history_joins: Vec<HistoryJoin>,
    /// The line protocol beside IRC and Redis, R = 100 and 1,000 (None:
    /// not run; Err: could not run).
    pub irc: Option<Result<IrcFanout, String>>,
    /// Plain beside TLS, R = 100 (None: not run; Err: could not run).
    pub tls: Option<Result<Sweep, String>>,
    /// Plain beside WebSocket, R = 100 (None: not run; Err: could not run).
    pub web: Option<Result<Sweep, String>>,
    /// One node beside two cluster nodes, R = 100 (None: not run; Err:
    /// could not run, e.g. no redis-server).
    pub cluster: Option<Result<Sweep, String>>,
    /// The history store off, batched and "always", R = 100.
    pub store: Option<Result<Sweep, String>>,
    /// The SQLite store's R = 100 fan-out alone and while clients search
    /// (None: not run; Err: could not run).
    pub store_search: Option<Result<StoreSearch, String>>,
    /// What a delivery costs the kernel, every server, R = 100 (None: not
    /// run; Err: not measured, e.g. no perf).
    pub kernel: Option<Result<KernelCost, String>>,
    /// Logins beside chat, by password and by token (empty: not run).
    pub logins: Vec<Logins>,
    /// Webhook posts beside chat, per offered rate (empty: not run).
    pub webhooks: Vec<Posts>,
    /// Sentinel failovers under a flood, per fault (None: not run; Err:
    /// could not run, e.g. no redis-sentinel).
    pub failover: Option<Result<Vec<Failover>, String>>,
    /// The workloads that ran.
    pub workloads: Vec<Workload>,
    pub elapsed: Duration,
}

/// chat-server plain beside its TLS listener, in a sweep.
pub fn tls_comparison(s: &Sweep) -> Comparison {
    fanout::compare(s, Dialect::Ours, Dialect::OursTls)
}

/// chat-server plain beside its web listener (WebSocket clients), in a sweep.
pub fn web_comparison(s: &Sweep) -> Comparison {
    fanout::compare(s, Dialect::Ours, Dialect::OursWeb)
}

/// chat-server with its history in memory beside the SQLite store
/// (`history_sync = "batch"`, the default), in a sweep.
pub fn store_comparison(s: &Sweep) -> Comparison {
    fanout::compare(s, Dialect::OursMemory, Dialect::OursSqlite)
}

/// chat-server with its history in memory beside `history_sync =
/// "always"`, in a sweep.
pub fn always_comparison(s: &Sweep) -> Comparison {
    fanout::compare(s, Dialect::OursMemory, Dialect::OursAlways)
}

/// chat-server on one node beside two cluster nodes, in a sweep.
pub fn cluster_comparison(s: &Sweep) -> Comparison {
    fanout::compare(s, Dialect::Ours, Dialect::OursCluster)
}

/// `ncat --chat` beside chat-server, ncat as the base (so the CPU cost is
/// ours over ncat's), in a fan-out sweep with the peers.
pub fn ncat_comparison(s: &Sweep) -> Comparison {
    fanout::compare(s, Dialect::Ncat, Dialect::Ours)
}

fn opt_json(x: Option<f64>) -> Value {
    x.map_or(Value::Null, |v| json!(v))
}

fn comparison_json(c: &Comparison) -> Value {
    json!({
        "base_best_deliveries_per_s": opt_json(c.base_best),
        "other_best_deliveries_per_s": opt_json(c.other_best),
        "base_over_other_best": opt_json(c.throughput_cost()),
        "common_rate": opt_json(c.common),
        "base_p99_ms_at_common": c.base_p99.map_or(Value::Null, |s| s.json()),
        "other_p99_ms_at_common": c.other_p99.map_or(Value::Null, |s| s.json()),
        "base_server_cpu_ns_per_delivery_at_common": opt_json(c.base_cpu_ns),
        "other_server_cpu_ns_per_delivery_at_common": opt_json(c.other_cpu_ns),
        "other_over_base_cpu_per_delivery": opt_json(c.cpu_cost()),
    })
}

fn sweep_json(s: &Sweep) -> Value {
    json!({
        "receivers": s.config.receivers,
        "senders": s.config.senders,
        "skipped": s.skipped.iter().map(|(d, why)| json!({"server": d.key(), "why": why})).collect::<Vec<_>>(),
        "points": s.points.iter().map(point_json).collect::<Vec<_>>(),
    })
}

fn beside_json(r: &Option<Result<Sweep, String>>, compare: fn(&Sweep) -> Comparison) -> Value {
    match r {
        None => json!({"ran": false}),
        Some(Err(why)) => json!({"ran": false, "skipped": why}),
        Some(Ok(s)) => {
            let mut v = sweep_json(s);
            v["ran"] = json!(true);
            v["comparison"] = comparison_json(&compare(s));
            v
        }
    }
}

fn irc_json(r: &Option<Result<IrcFanout, String>>) -> Value {
    match r {
        None => json!({"ran": false}),
        Some(Err(why)) => json!({"ran": false, "skipped": why}),
        Some(Ok(irc)) => json!({
            "ran": true,
            "redis": irc.redis,
            "sweeps": irc.sweeps.iter().map(|s| {
                let mut v = sweep_json(s);
                v["line_vs_irc"] = comparison_json(&irc_fanout::line_vs_irc(s));
                v["redis_vs_irc"] = comparison_json(&irc_fanout::redis_vs_irc(s));
                v["irc_over_redis_best"] = opt_json(irc_fanout::over_redis(s));
                v["irc_over_line_cpu_per_delivery"] = irc_fanout::cpu_ratios(s)
                    .iter()
                    .map(|&(rate, x)| json!({"rate": rate, "ratio": x}))
                    .collect::<Vec<_>>()
                    .into();
                v
            }).collect::<Vec<_>>(),
        }),
    }
}

/// The IRC fan-out's lines of the table: each sweep, then IRC beside the
/// line protocol and Redis.
fn irc_rows(t: &mut String, r: &Option<Result<IrcFanout, String>>, runs: usize) {
    match r {
        None => {}
        Some(Err(why)) => {
            let _ = writeln!(
                t,
                "
IRC fan-out: skipped: {why}"
            );
        }
        Some(Ok(irc)) => {
            for s in &irc.sweeps {
                let _ = writeln!(
                    t,
                    "
IRC fan-out R={} S={}, beside the line protocol and Redis (deliveries/s; median (min–max) of {runs} runs)",
                    s.config.receivers, s.config.senders
                );
                sweep_rows(t, s);
                let c = irc_fanout::line_vs_irc(s);
                let _ = writeln!(t, "{}", comparison_line(&c, "IRC cost"));
                let ratios = irc_fanout::cpu_ratios(s);
                let shown: Vec<String> = ratios
                    .iter()
                    .map(|(rate, x)| format!("{} {x:.2}×", m(*rate)))
                    .collect();
                let median = spread(ratios.iter().map(|r| r.1)).median;
                let _ = writeln!(
                    t,
                    "IRC / line server CPU per delivery at each rate both sustained: {} (median {median:.2}×)",
                    shown.join(", ")
                );
                if irc.redis {
                    let x = irc_fanout::over_redis(s);
                    let _ = writeln!(
                        t,
                        "IRC / Redis best sustained: {}",
                        x.map_or("—".to_owned(), |x| format!("{x:.2}×"))
                    );
                }
            }
        }
    }
}

fn m(x: f64) -> String {
    format!("{:.2}M", x / 1e6)
}

fn spread_m(s: Spread) -> String {
    format!("{} ({}–{})", m(s.median), m(s.min), m(s.max))
}

fn point_json(p: &Point) -> Value {
    json!({
        "server": p.dialect.key(),
        "receivers": p.receivers,
        "senders": p.senders,
        "target_deliveries_per_s": p.target,
        "sustained": p.sustained(),
        "generator_bound": p.generator_bound(),
        "offered": p.spread(|r| r.offered).json(),
        "delivered_per_s": p.spread(|r| r.delivered_rate).json(),
        "delivered_ratio": p.spread(|r| r.ratio).json(),
        "p50_ms": p.spread(|r| r.p50_ms).json(),
        "p99_ms": p.spread(|r| r.p99_ms).json(),
        "p999_ms": p.spread(|r| r.p999_ms).json(),
        "max_ms": p.spread(|r| r.max_ms).json(),
        "server_syscalls_per_delivery": p.spread(|r| r.syscalls_per_delivery).json(),
        "server_cpu": p.spread(|r| r.server_cpu).json(),
        "server_cpu_ns_per_delivery": fanout::cpu_ns_per_delivery(p),
        "second_node_p99_ms": p.spread(|r| r.p99_remote_ms).json(),
        "second_node_delivered_ratio": p.spread(|r| r.remote_ratio).json(),
        "generator_cpu": p.spread(|r| r.gen_cpu).json(),
        "runs": p.runs.iter().map(|r| json!({
            "offered": r.offered, "delivered_per_s": r.delivered_rate, "ratio": r.ratio,
            "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "p999_ms": r.p999_ms, "max_ms": r.max_ms,
            "syscalls_per_delivery": r.syscalls_per_delivery, "generator_cpu": r.gen_cpu,
            "server_cpu": r.server_cpu, "server_cpu_ns_per_delivery": r.server_cpu_ns_per_delivery,
            "second_node_p99_ms": r.p99_remote_ms,
            "second_node_delivered_ratio": r.remote_ratio,
            "shed": r.shed, "lagged": r.lagged, "lost_clients": r.lost_clients,
        })).collect::<Vec<_>>(),
    })
}

impl Results {
    /// The results as JSON.
    pub fn json(&self) -> Value {
        json!({
            "machine": {
                "nproc": self.machine.nproc, "cpu": self.machine.cpu,
                "kernel": self.machine.kernel, "mem_gib": self.machine.mem_gib,
            },
            "runs_per_figure": self.runs,
            "window_secs": self.secs,
            "elapsed_secs": self.elapsed.as_secs_f64(),
            "missing_peers": self.missing.iter().map(|d| d.key()).collect::<Vec<_>>(),
            "workloads": self.workloads.iter().map(|w| w.name()).collect::<Vec<_>>(),
            "fanout": self.sweeps.iter().map(sweep_json).collect::<Vec<_>>(),
            "irc_fanout": irc_json(&self.irc),
            "tls_fanout": beside_json(&self.tls, tls_comparison),
            "web_fanout": beside_json(&self.web, web_comparison),
            "cluster_fanout": beside_json(&self.cluster, cluster_comparison),
            "store_fanout": beside_json(&self.store, store_comparison),
            "always_fanout": beside_json(&self.store, always_comparison),
            "store_search": match &self.store_search {
                None => json!({"ran": false}),
                Some(Err(why)) => json!({"ran": false, "skipped": why}),
                Some(Ok(s)) => s.json(),
            },
            "kernel_cost": match &self.kernel {
                None => json!({"ran": false}),
                Some(Err(why)) => json!({"ran": false, "not_measured": why}),
                Some(Ok(k)) => k.json(),
            },
            "rtt": self.rtts.iter().map(|r| json!({
                "server": r.dialect.key(), "p50_us": r.p50().json(), "p99_us": r.p99().json(), "lost": r.lost(),
            })).collect::<Vec<_>>(),
            "churn": self.churns.iter().map(|c| json!({
                "server": c.dialect.key(),
                "receivers": self.churn_config.receivers, "senders": self.churn_config.senders,
                "deliveries_per_s": self.churn_config.rate, "churn_target_per_s": self.churn_config.churn_rate,
                "joins_and_leaves_per_s": c.cycles_per_s().json(), "failed": c.failed(),
                "quiet_p99_ms": spread(c.quiet.iter().map(|r| r.p99_ms)).json(),
                "churn_p99_ms": spread(c.churned.iter().map(|r| r.p99_ms)).json(),
                "quiet_ratio": spread(c.quiet.iter().map(|r| r.ratio)).json(),
                "churn_ratio": spread(c.churned.iter().map(|r| r.ratio)).json(),
            })).collect::<Vec<_>>(),
            "conns": self.conns.iter().map(|c| json!({
                "server": c.dialect.key(), "target": c.target,
                "clients": c.clients().json(), "connects_per_s": c.rate().json(),
                "rss_bytes_per_client": c.rss().json(), "kernel_slab_bytes_per_client": c.slab().json(),
                "survived": c.runs.iter().all(|r| r.survived),
            })).collect::<Vec<_>>(),
            "history_joins": self.history_joins.iter().map(|j| json!({
                "history_lines": j.lines, "target": j.target,
                "clients": j.clients().json(), "connects_per_s": j.rate().json(),
                "lines_per_client": j.lines_per_client().json(),
                "survived": j.runs.iter().all(|r| r.survived),
            })).collect::<Vec<_>>(),
            "logins": self.logins.iter().map(|l| json!({
                "mode": l.mode.key(), "at_once": l.slots,
                "logins_per_s": l.per_s().json(), "login_p50_ms": l.p50_ms().json(),
                "login_p99_ms": l.p99_ms().json(), "failed": l.failed(),
                "chat_p99_us_alone": l.chat_alone_p99().json(),
                "chat_p99_us_beside": l.chat_beside_p99().json(),
            })).collect::<Vec<_>>(),
            "webhooks": self.webhooks.iter().map(|p| json!({
                "offered": p.rate_name(), "connections": p.posters,
                "accepted_per_s": p.accepted_per_s().json(),
                "limited_429": p.limited(), "other": p.other(),
                "chat_p99_us_alone": p.chat_alone_p99().json(),
                "chat_p99_us_beside": p.chat_beside_p99().json(),
            })).collect::<Vec<_>>(),
            "failover": match &self.failover {
                None => Value::Null,
                Some(Err(why)) => json!({ "skipped": why }),
                Some(Ok(all)) => all.iter().map(Failover::json).collect::<Vec<_>>().into(),
            },
        })
    }

    /// The table printed on stdout.
    pub fn table(&self) -> String {
        let mut t = String::new();
        for s in &self.sweeps {
            let _ = writeln!(
                t,
                "\nfan-out R={} S={} (deliveries/s; median (min–max) of {} runs)",
                s.config.receivers, s.config.senders, self.runs
            );
            sweep_rows(&mut t, s);
        }
        irc_rows(&mut t, &self.irc, self.runs);
        match &self.kernel {
            None => {}
            Some(Err(why)) => {
                let _ = writeln!(t, "\nkernel cost: not measured: {why}");
            }
            Some(Ok(k)) => t.push_str(&k.table()),
        }
        for (title, r, compare, what) in [
            (
                "TLS fan-out",
                &self.tls,
                tls_comparison as fn(&Sweep) -> Comparison,
                "TLS cost",
            ),
            (
                "WebSocket fan-out",
                &self.web,
                web_comparison,
                "WebSocket cost",
            ),
            (
                "cross-node fan-out (senders on A, receivers on A and B)",
                &self.cluster,
                cluster_comparison,
                "cluster cost",
            ),
            (
                "history store fan-out (memory beside SQLite, batch)",
                &self.store,
                store_comparison,
                "store cost",
            ),
            (
                "history store fan-out (memory beside SQLite, always)",
                &self.store,
                always_comparison,
                "\"always\" cost",
            ),
        ] {
            match r {
                None => {}
                Some(Err(why)) => {
                    let _ = writeln!(t, "\n{title}: skipped: {why}");
                }
                Some(Ok(s)) => {
                    let _ = writeln!(
                        t,
                        "\n{title} R={} S={} (deliveries/s; median (min–max) of {} runs)",
                        s.config.receivers, s.config.senders, self.runs
                    );
                    sweep_rows(&mut t, s);
                    let c = compare(s);
                    let _ = writeln!(t, "{}", comparison_line(&c, what));
                }
            }
        }
        match &self.store_search {
            None => {}
            Some(Err(why)) => {
                let _ = writeln!(t, "\nhistory store fan-out with searchers: skipped: {why}");
            }
            Some(Ok(s)) => t.push_str(&s.table()),
        }
        let _ = writeln!(t, "\nping-pong (µs)");
        for r in &self.rtts {
            let _ = writeln!(
                t,
                "{:<12} p50 {:<24} p99 {:<24} lost {}",
                r.dialect.key(),
                r.p50().show(1),
                r.p99().show(1),
                r.lost()
            );
        }
        let _ = writeln!(
            t,
            "\nchurn ({} joins+leaves/s offered during R={} S={} at {} deliveries/s)",
            self.churn_config.churn_rate,
            self.churn_config.receivers,
            self.churn_config.senders,
            m(self.churn_config.rate)
        );
        for c in &self.churns {
            let _ = writeln!(
                t,
                "{:<12} done/s {:<20} failed {:<5} p99 quiet {:<22} p99 churning {:<22} ratio {:.4}",
                c.dialect.key(),
                c.cycles_per_s().show(0),
                c.failed(),
                spread(c.quiet.iter().map(|r| r.p99_ms)).show(2),
                spread(c.churned.iter().map(|r| r.p99_ms)).show(2),
                spread(c.churned.iter().map(|r| r.ratio)).median
            );
        }
        let _ = writeln!(t, "\nidle clients");
        for c in &self.conns {
            let _ = writeln!(
                t,
                "{:<12} {:>6.0} of {:<6} connects/s {:<26} RSS B/client {:<22} kernel slab B/client {}",
                c.dialect.key(),
                c.clients().median,
                c.target,
                c.rate().show(0),
                c.rss().show(0),
                c.slab().show(0)
            );
        }
        if !self.history_joins.is_empty() {
            let _ = writeln!(t, "\njoins replaying a history (chat-server)");
        }
        for j in &self.history_joins {
            let _ = writeln!(
                t,
                "{:>5} lines {:>6.0} of {:<6} connects/s {:<26} lines/client {}",
                j.lines,
                j.clients().median,
                j.target,
                j.rate().show(0),
                j.lines_per_client().show(1)
            );
        }
        for l in &self.logins {
            let _ = writeln!(
                t,
                "logins by {:<8} {} at once: /s {}  login p99 ms {}  chat p99 µs alone {} beside {}",
                l.mode.key(),
                l.slots,
                l.per_s().show(0),
                l.p99_ms().show(1),
                l.chat_alone_p99().show(0),
                l.chat_beside_p99().show(0)
            );
        }
        for p in &self.webhooks {
            let _ = writeln!(
                t,
                "webhook posts {:>7}: accepted/s {}  429s {}  chat p99 µs alone {} beside {}",
                p.rate_name(),
                p.accepted_per_s().show(0),
                p.limited(),
                p.chat_alone_p99().show(0),
                p.chat_beside_p99().show(0)
            );
        }
        failover::table_rows(&mut t, &self.failover);
        t
    }

    /// The plot: p99 against offered deliveries per second, one line per
    /// server and R.
    pub fn svg(&self, path: &Path) -> Result<(), String> {
        let root = SVGBackend::new(path, (960, 600)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let max_x = self
            .sweeps
            .iter()
            .flat_map(|s| s.points.iter())
            .map(|p| p.target / 1e6)
            .fold(1.0, f64::max);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "fan-out: p99 latency against offered deliveries/s",
                ("sans-serif", 22),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(0.0..max_x * 1.05, (0.01f64..10_000.0).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("offered deliveries per second (millions)")
            .y_desc("p99 latency (ms, log)")
            .draw()
            .map_err(|e| err(&e))?;
        let colors = [
            RGBColor(200, 30, 30),
            RGBColor(30, 90, 200),
            RGBColor(20, 150, 60),
            RGBColor(150, 60, 170),
        ];
        // Ours with its history in memory only, the peers, and ours with its
        // defaults (the SQLite store), swept at R = 100 and 1,000.
        let mut plotted = crate::dialect::ALL.to_vec();
        plotted.push(Dialect::OursSqlite);
        for s in &self.sweeps {
            for (ci, d) in plotted.iter().enumerate() {
                let pts: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .filter(|p| p.dialect == *d)
                    .map(|p| {
                        (
                            p.target / 1e6,
                            p.spread(|r| r.p99_ms).median.clamp(0.01, 10_000.0),
                        )
                    })
                    .collect();
                if pts.is_empty() {
                    continue;
                }
                let width = match s.config.receivers {
                    100 => 3,
                    1000 => 2,
                    _ => 1,
                };
                let style = ShapeStyle::from(&colors[ci]).stroke_width(width);
                let label = format!("{} R={}", d.key(), s.config.receivers);
                chart
                    .draw_series(LineSeries::new(pts.clone(), style))
                    .map_err(|e| err(&e))?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 3, style.filled())))
                    .map_err(|e| err(&e))?;
            }
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.9))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))
    }
}

fn sweep_rows(t: &mut String, s: &Sweep) {
    let second = s.points.iter().any(|p| p.dialect == Dialect::OursCluster);
    let _ = write!(
        t,
        "{:<19} {:>8} {:>24} {:>9} {:>22} {:>9} {:>7} {:>7}",
        "server", "offered", "delivered", "ratio", "p99 ms", "sys/dlv", "srv cpu", "lg cpu"
    );
    if second {
        let _ = write!(t, " {:>9} {:>10}", "B ratio", "B p99 ms");
    }
    let _ = writeln!(t, "  verdict");
    for p in &s.points {
        let _ = write!(
            t,
            "{:<19} {:>8} {:>24} {:>9.4} {:>22} {:>9.4} {:>7.2} {:>7.2}",
            p.dialect.key(),
            m(p.target),
            spread_m(p.spread(|r| r.delivered_rate)),
            p.spread(|r| r.ratio).median,
            p.spread(|r| r.p99_ms).show(2),
            p.spread(|r| r.syscalls_per_delivery).median,
            p.spread(|r| r.server_cpu).median,
            p.spread(|r| r.gen_cpu).median,
        );
        if second {
            if p.dialect == Dialect::OursCluster {
                let _ = write!(
                    t,
                    " {:>9.4} {:>10.2}",
                    p.spread(|r| r.remote_ratio).median,
                    p.spread(|r| r.p99_remote_ms).median
                );
            } else {
                let _ = write!(t, " {:>9} {:>10}", "", "");
            }
        }
        let _ = writeln!(t, "  {}", verdict(p));
    }
    for (d, why) in &s.skipped {
        let _ = writeln!(t, "{:<19} skipped: {why}", d.key());
    }
}

/// One line: best sustained of both, the ratio, p99 and CPU per delivery
/// at the highest rate both sustained.
pub fn comparison_line(c: &Comparison, what: &str) -> String {
    let opt = |x: Option<f64>| x.map_or("—".to_owned(), m);
    let mut line = format!(
        "best sustained: plain one node {}, other {}; {what} (plain / other) {}",
        opt(c.base_best),
        opt(c.other_best),
        c.throughput_cost()
            .map_or("—".to_owned(), |x| format!("{x:.2}×"))
    );
    if let (Some(rate), Some(a), Some(b)) = (c.common, c.base_p99, c.other_p99) {
        line.push_str(&format!(
            "; at {} both sustain: p99 {:.2} vs {:.2} ms",
            m(rate),
            a.median,
            b.median
        ));
        if let (Some(x), Some(y)) = (c.base_cpu_ns, c.other_cpu_ns) {
            line.push_str(&format!(
                ", server CPU {x:.0} vs {y:.0} ns per delivery ({:.2}×)",
                y / x
            ));
        }
    }
    line
}

fn verdict(p: &Point) -> &'static str {
    match (p.sustained(), p.generator_bound()) {
        (true, false) => "sustained",
        (true, true) => "sustained (generator-bound)",
        (false, true) => "NOT sustained (generator-bound)",
        (false, false) => "NOT sustained",
    }
}
