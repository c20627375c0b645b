//! BENCHMARKS.md: the figures of one full run, opening with the targets
//! chat-server is held to (each met or not from the run's figures,
//! reported, or not measured in this run), with ratios against Redis and
//! ncat of chat-server's fan-out with its history in memory only and with
//! its defaults (the SQLite store), IRC's fan-out beside the line protocol's and Redis's, what a
//! delivery costs the kernel, the plot, the idle-client
//! figures, the paper projection to a million clients, the cost of TLS, of
//! WebSocket and of a two-node cluster beside plain single-node fan-out,
//! and the history store's fan-out alone and while clients search.
//!
//! The words are in `crates/chat-bench/BENCHMARKS.template.md`, compiled in;
//! this module picks the sections a run measured and fills in its figures.

use std::fmt::Write as _;

use crate::dialect::Dialect;
use crate::perf;
use crate::report::{self, Results};
use crate::stats::spread;
use crate::template::Template;
use crate::workloads::fanout::{self, Comparison, Point, Sweep};
use crate::workloads::kernel::KernelCost;

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

    /// Section `name` filled with `vars`, to go inside another section's
    /// line: its final newline dropped.
    fn part(&self, name: &str, vars: &[(&str, &str)]) -> String {
        let text = self.template.render(name, vars);
        text.trim_end_matches('\n').to_owned()
    }

    /// The target row(s) of section `name` when the run has no figures for
    /// them: each row's target cell (filled with `vars`) in a
    /// `target-not-measured` row that says `why`.
    fn not_measured(&mut self, name: &str, vars: &[(&str, &str)], why: &str) {
        let rows = self.template.render(name, vars);
        for row in rows.lines().filter(|l| l.starts_with("| ")) {
            let target = row["| ".len()..].split(" | ").next().unwrap_or("");
            self.put("target-not-measured", &[("target", target), ("why", why)]);
        }
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

/// A ratio against its upper bound: met or not, with the ratio.
fn within(x: Option<f64>, bound: f64) -> String {
    match x {
        Some(x) => format!("{} ({x:.2}×)", yes(x <= bound)),
        None => "not measured (no rate both sustained)".into(),
    }
}

fn ns(x: Option<f64>) -> String {
    x.map_or("—".into(), |x| format!("{x:.0}"))
}

fn sweep_table(doc: &mut Doc, s: &Sweep, runs: usize) {
    let second = s.points.iter().any(|p| p.dialect == Dialect::OursCluster);
    let mut rows = String::new();
    for p in &s.points {
        let d = p.spread(|r| r.delivered_rate);
        let _ = write!(
            rows,
            "| {} | {} | {} ({}–{}) | {:.4} | {:.3} | {} | {:.3} | {:.2} | {:.2} |",
            server_name(s, p.dialect),
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

/// `d` as a sweep's table names it: where chat-server is swept both with
/// its history in memory only and with its defaults (the SQLite store), the
/// two say which they are; elsewhere its key.
fn server_name(s: &Sweep, d: Dialect) -> &'static str {
    let both = [Dialect::Ours, Dialect::OursSqlite]
        .iter()
        .all(|&x| s.points.iter().any(|p| p.dialect == x));
    match d {
        Dialect::Ours if both => "chat-server, memory only",
        Dialect::OursSqlite if both => "chat-server, defaults (SQLite store)",
        _ => d.key(),
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

    targets::targets(&mut doc, r);

    let mut rows = String::new();
    for s in &r.sweeps {
        let (o, defaults, rd, n) = (
            best(s, Dialect::Ours),
            best(s, Dialect::OursSqlite),
            best(s, Dialect::Redis),
            best(s, Dialect::Ncat),
        );
        let _ = writeln!(
            rows,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.config.receivers,
            s.config.senders,
            o.map_or("—".into(), m),
            defaults.map_or("—".into(), m),
            rd.map_or("—".into(), m),
            n.map_or("—".into(), m),
            ratio(o, rd),
            ratio(defaults, rd),
            ratio(o, n)
        );
    }
    doc.put("fanout", &[("rows", &rows)]);
    for s in &r.sweeps {
        sweep_table(&mut doc, s, r.runs);
    }

    irc::section(&mut doc, r);
    kernel_section(&mut doc, r);
    tls_section(&mut doc, r);
    web_section(&mut doc, r);
    cluster_section(&mut doc, r);
    store_section(&mut doc, r);
    search::section(&mut doc, r);

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

    let mut rows = String::new();
    for j in &r.history_joins {
        let _ = writeln!(
            rows,
            "| {} | {:.0} of {} | {} | {} | {} |",
            j.lines,
            j.clients().median,
            j.target,
            j.rate().show(0),
            j.lines_per_client().show(1),
            j.runs.iter().all(|x| x.survived)
        );
    }
    if !rows.is_empty() {
        doc.put("history-join", &[("rows", &rows)]);
    }
    beside_rows(r, &mut doc);
    failover::section(r, &mut doc);

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
    comparison_rows_beside(doc, c, "plain, one node", other, cost);
}

fn comparison_rows_beside(doc: &mut Doc, c: &Comparison, base: &str, other: &str, cost: &str) {
    doc.put(
        "comparison",
        &[
            ("base", base),
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

fn store_section(doc: &mut Doc, r: &Results) {
    let Some(result) = &r.store else { return };
    doc.put("store", &[]);
    match result {
        Err(why) => doc.put("not-measured", &[("why", why)]),
        Ok(s) => {
            let (memory, batch, always) = ("store off (memory)", "SQLite, batch", "SQLite, always");
            let c = report::store_comparison(s);
            comparison_rows_beside(doc, &c, memory, batch, "store cost");
            let c = report::always_comparison(s);
            comparison_rows_beside(doc, &c, memory, always, "\"always\" cost");
            sweep_table(doc, s, r.runs);
        }
    }
}

fn kernel_section(doc: &mut Doc, r: &Results) {
    let Some(result) = &r.kernel else { return };
    let vars = kernel_vars(result.as_ref().ok());
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    doc.put("kernel-cost", &vars);
    match result {
        Err(why) => doc.put("not-measured", &[("why", why)]),
        Ok(k) => {
            doc.put("kernel-cost-table", &[("rows", &k.markdown_rows())]);
            for line in k.not_measured() {
                doc.put("kernel-cost-not-measured", &[("what", &line)]);
            }
            for (d, why) in &k.skipped {
                doc.put("sweep-skipped", &[("server", d.key()), ("why", why)]);
            }
        }
    }
}

/// The kernel-cost section's figures: the command and the windows (the
/// defaults of a full run when it was not measured).
fn kernel_vars(k: Option<&KernelCost>) -> Vec<(&'static str, String)> {
    let secs = k.map_or(3.0, |k| k.config.secs);
    let rates = k.map_or("2M, 4M and 6M".into(), |k| {
        let r: Vec<String> = k
            .config
            .rates
            .iter()
            .map(|x| format!("{:.0}M", x / 1e6))
            .collect();
        r.join(", ")
    });
    vec![
        ("rates", rates),
        ("secs", format!("{secs:.1}")),
        ("perf_secs", format!("{:.1}", secs / 2.0)),
        (
            "command",
            perf::args(0, secs / 2.0)
                .join(" ")
                .replace(" -p 0 ", " -p $SERVER_PID "),
        ),
    ]
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

fn web_section(doc: &mut Doc, r: &Results) {
    let Some(result) = &r.web else { return };
    doc.put("web", &[]);
    match result {
        Err(why) => doc.put("not-measured", &[("why", why)]),
        Ok(s) => {
            let c = report::web_comparison(s);
            comparison_rows(doc, &c, "WebSocket", "WebSocket cost");
            let verdict = within(c.cpu_cost(), WEB_CPU_TARGET);
            doc.put("web-target", &[("verdict", &verdict)]);
            sweep_table(doc, s, r.runs);
        }
    }
}

/// The bound on server CPU per delivery, WebSocket over plain TCP: framing
/// a line once for all its WebSocket recipients should cost little beside
/// the TCP path it shares.
pub const WEB_CPU_TARGET: f64 = 1.3;

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

mod failover;
mod irc;
mod search;
mod targets;

#[cfg(test)]
mod tests;

/// The logins and webhooks sections: each figure beside chat's p99 with and
/// without the load.
fn beside_rows(r: &Results, doc: &mut Doc) {
    let mut rows = String::new();
    for l in &r.logins {
        let _ = writeln!(
            rows,
            "| {} | {} | {} | {} / {} | {} | {} | {} |",
            l.mode.key(),
            l.slots,
            l.per_s().show(0),
            l.p50_ms().show(1),
            l.p99_ms().show(1),
            l.failed(),
            l.chat_alone_p99().show(0),
            l.chat_beside_p99().show(0)
        );
    }
    if !rows.is_empty() {
        doc.put("logins", &[("rows", &rows)]);
    }
    let mut rows = String::new();
    for p in &r.webhooks {
        let _ = writeln!(
            rows,
            "| {} | {} | {} | {} | {} | {} | {} |",
            p.rate_name(),
            p.posters,
            p.accepted_per_s().show(0),
            p.limited(),
            p.other(),
            p.chat_alone_p99().show(0),
            p.chat_beside_p99().show(0)
        );
    }
    if !rows.is_empty() {
        doc.put("webhooks", &[("rows", &rows)]);
    }
}
