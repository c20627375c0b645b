//! The table BENCHMARKS.md opens with: the targets chat-server is held to,
//! each row from the run's figures with its verdict, or "not measured in
//! this run" where the workload it needs was left out or could not run.

use super::{Doc, best, m, ns, ratio, within, yes};
use crate::dialect::Dialect;
use crate::plan::{self, Shape, Workload};
use crate::report::{self, Results};
use crate::workloads::fanout::{Point, Sweep};

/// Fan-out: ours sustains at least this many times Redis's best (Redis
/// pub/sub is the fast general-purpose fan-out to beat).
const OVER_REDIS: f64 = 2.0;
/// The bound on server CPU per delivery, ours over ncat's (ncat relays
/// bytes and does no chat work: near it means the chat costs little).
const NCAT_CPU_TARGET: f64 = 1.5;
/// The offered rate of the p99 targets, deliveries/s.
const P99_RATE: f64 = 2e6;
/// The p99 bound at [`P99_RATE`] on one node (ms) ...
const P99_MS: f64 = 3.0;
/// ... and across two nodes (ms).
const CLUSTER_P99_MS: f64 = 10.0;
/// Two nodes sustain at least this share of one node's best (what the
/// cluster's path through Redis may cost).
const CLUSTER_SHARE: f64 = 0.8;

/// The targets table, its rows in the template's order.
pub(super) fn targets(doc: &mut Doc, r: &Results) {
    doc.put("targets", &[]);
    let [r100, r1000, r10k] = &plan::FANOUT;
    for shape in [r100, r1000] {
        fanout(doc, r, shape, "target-fanout");
        fanout_defaults(doc, r, shape);
    }
    fanout(doc, r, r10k, "target-fanout-reported");
    super::irc::targets(doc, r);
    cpu(doc, r);
    p99(doc, r);
    ping_pong(doc, r);
    doc.put("target-allocations", &[]);
    idle(doc, r);
    cluster(doc, r);
    if r.conns.iter().any(|c| c.dialect == Dialect::Ours) {
        doc.put("target-projection", &[]);
    } else {
        doc.not_measured("target-projection", &[], &not_run(Workload::Conns));
    }
}

fn not_run(w: Workload) -> String {
    format!("workload `{}` not run", w.name())
}

/// The fan-out sweep of R = `receivers`, or why there is none.
fn sweep(r: &Results, receivers: usize) -> Result<&Sweep, String> {
    if !r.workloads.contains(&Workload::Fanout) {
        return Err(not_run(Workload::Fanout));
    }
    r.sweeps
        .iter()
        .find(|s| s.config.receivers == receivers)
        .ok_or_else(|| format!("R={receivers} not swept"))
}

/// Whether `d` was swept at all (not missing, skipped or left out).
fn swept(s: &Sweep, d: Dialect) -> bool {
    s.points.iter().any(|p| p.dialect == d)
}

/// The sweep of R = `receivers` if the defaults were swept in it, or why
/// they have no figures.
fn defaults_sweep(r: &Results, receivers: usize) -> Result<&Sweep, String> {
    let s = sweep(r, receivers)?;
    if swept(s, Dialect::OursSqlite) {
        return Ok(s);
    }
    let skipped = s.skipped.iter().find(|(d, _)| *d == Dialect::OursSqlite);
    Err(skipped.map_or("the defaults not swept".into(), |(_, why)| {
        format!("the defaults skipped: {why}")
    }))
}

/// `d`'s best sustained rate as shown: "—" when it was not swept.
fn shown_best(s: &Sweep, d: Dialect) -> String {
    match best(s, d) {
        Some(x) => m(x),
        None if swept(s, d) => "none sustained".into(),
        None => "—".into(),
    }
}

/// Rows 1–3: ours against Redis (and ncat, for reference) at R = `shape`'s.
fn fanout(doc: &mut Doc, r: &Results, shape: &Shape, section: &str) {
    let s = match sweep(r, shape.receivers) {
        Ok(s) => s,
        Err(why) => {
            let (receivers, senders) = (shape.receivers.to_string(), shape.senders.to_string());
            let vars = [("receivers", receivers.as_str()), ("senders", &senders)];
            return doc.not_measured(section, &vars, &why);
        }
    };
    let (ours, redis, ncat) = (
        best(s, Dialect::Ours),
        best(s, Dialect::Redis),
        best(s, Dialect::Ncat),
    );
    let gen_bound = s.best(Dialect::Ours).is_some_and(Point::generator_bound);
    let verdict = over_redis(s, Dialect::Ours);
    doc.put(
        section,
        &[
            ("receivers", &s.config.receivers.to_string()),
            ("senders", &s.config.senders.to_string()),
            ("ours", &shown_best(s, Dialect::Ours)),
            (
                "generator_bound",
                if gen_bound { " (generator-bound)" } else { "" },
            ),
            ("redis", &shown_best(s, Dialect::Redis)),
            ("ours_over_redis", &ratio(ours, redis)),
            ("ncat", &shown_best(s, Dialect::Ncat)),
            ("ours_over_ncat", &ratio(ours, ncat)),
            ("verdict", verdict),
        ],
    );
}

/// Whether `ours`'s best sustained step is at least [`OVER_REDIS`] times
/// Redis's. Steps, not the rates delivered there: a sustained step
/// delivered at least 99.9 % of its rate, and what it delivered beyond
/// that is the generator's jitter (16.00M against 8.00M delivered read
/// 1.9995×). The grid is the resolution: each edge lies below the next
/// step.
fn over_redis(s: &Sweep, ours: Dialect) -> &'static str {
    let step = |d| s.best(d).map(|p: &Point| p.target);
    match (step(ours), step(Dialect::Redis)) {
        _ if !swept(s, Dialect::Redis) => "no Redis figure",
        (Some(o), Some(rd)) => yes(o >= OVER_REDIS * rd),
        // Redis sustained no rate at all.
        (Some(_), None) => yes(true),
        (None, _) => yes(false),
    }
}

/// The row after each of rows 1 and 2: chat-server with its defaults (the
/// SQLite store) against Redis, swept alone after it in the same sweep.
fn fanout_defaults(doc: &mut Doc, r: &Results, shape: &Shape) {
    let section = "target-fanout-defaults";
    let s = match defaults_sweep(r, shape.receivers) {
        Ok(s) => s,
        Err(why) => {
            let (receivers, senders) = (shape.receivers.to_string(), shape.senders.to_string());
            let vars = [("receivers", receivers.as_str()), ("senders", &senders)];
            return doc.not_measured(section, &vars, &why);
        }
    };
    let d = Dialect::OursSqlite;
    let (ours, redis) = (best(s, d), best(s, Dialect::Redis));
    let gen_bound = s.best(d).is_some_and(Point::generator_bound);
    doc.put(
        section,
        &[
            ("receivers", &s.config.receivers.to_string()),
            ("senders", &s.config.senders.to_string()),
            ("ours", &shown_best(s, d)),
            (
                "generator_bound",
                if gen_bound { " (generator-bound)" } else { "" },
            ),
            ("redis", &shown_best(s, Dialect::Redis)),
            ("ours_over_redis", &ratio(ours, redis)),
            ("memory", &shown_best(s, Dialect::Ours)),
            ("verdict", over_redis(s, d)),
        ],
    );
}

/// Row 4: server CPU per delivery, ours over ncat's, from the R = 100 sweep
/// (the comparison the TLS, WebSocket and cluster sections make), with
/// perf's figure from the kernel-cost workload beside it when it ran.
fn cpu(doc: &mut Doc, r: &Results) {
    let s = match sweep(r, plan::FANOUT[0].receivers) {
        Ok(s) => s,
        Err(why) => return doc.not_measured("target-cpu", &[], &why),
    };
    let c = report::ncat_comparison(s);
    let perf = match &r.kernel {
        Some(Ok(k)) => {
            let at = k.cpu_beside(Dialect::Ncat, Dialect::Ours);
            let (ncat, ours) = (at.map(|x| x.1), at.map(|x| x.2));
            doc.part(
                "target-cpu-perf-part",
                &[
                    ("rate", &at.map_or("—".into(), |x| m(x.0))),
                    ("ours", &ns(ours)),
                    ("ncat", &ns(ncat)),
                    ("ratio", &ratio(ours, ncat)),
                ],
            )
        }
        _ => String::new(),
    };
    let verdict = if swept(s, Dialect::Ncat) {
        within(c.cpu_cost(), NCAT_CPU_TARGET)
    } else {
        "no ncat figure".into()
    };
    doc.put(
        "target-cpu",
        &[
            ("rate", &c.common.map_or("—".into(), m)),
            ("ours", &ns(c.other_cpu_ns)),
            ("ncat", &ns(c.base_cpu_ns)),
            ("perf", &perf),
            ("verdict", &verdict),
        ],
    );
}

/// chat-server in the p99 rows: with its history in memory only, and with
/// its defaults (the SQLite store); the row's `server` and who the
/// measured cell names.
const P99_SERVERS: [(Dialect, &str, &str); 2] = [
    (Dialect::Ours, ", history in memory only", "ours"),
    (
        Dialect::OursSqlite,
        " with the defaults (SQLite store)",
        "the defaults",
    ),
];

/// Rows 5 and 6 (each for memory only, then for the defaults): p99 at
/// 2M/s, and below Redis's, at R = 100.
fn p99(doc: &mut Doc, r: &Results) {
    let receivers = plan::FANOUT[0].receivers;
    for (d, server, _) in P99_SERVERS {
        let vars = [("server", server)];
        match p99_sweep(r, receivers, d) {
            Ok(s) => p99_at(doc, s, d, server),
            Err(why) => doc.not_measured("target-p99", &vars, &why),
        }
    }
    for (d, server, who) in P99_SERVERS {
        let vars = [("server", server)];
        match p99_sweep(r, receivers, d) {
            Ok(s) => p99_redis(doc, s, d, server, who),
            Err(why) => doc.not_measured("target-p99-redis", &vars, &why),
        }
    }
}

/// The sweep of R = `receivers` with `d`'s figures, or why there is none.
fn p99_sweep(r: &Results, receivers: usize, d: Dialect) -> Result<&Sweep, String> {
    match d {
        Dialect::OursSqlite => defaults_sweep(r, receivers),
        _ => sweep(r, receivers),
    }
}

/// Row 5: `d`'s p99 at [`P99_RATE`].
fn p99_at(doc: &mut Doc, s: &Sweep, d: Dialect, server: &str) {
    let at = s.at(d, P99_RATE).map(|p| p.spread(|x| x.p99_ms));
    doc.put(
        "target-p99",
        &[
            ("server", server),
            ("p99", &at.map_or("—".into(), |x| x.show(3))),
            ("verdict", yes(at.is_some_and(|x| x.median <= P99_MS))),
        ],
    );
}

/// Row 6: `d`'s p99 against Redis's at every rate both sustained.
fn p99_redis(doc: &mut Doc, s: &Sweep, d: Dialect, server: &str, who: &str) {
    let mut worse = Vec::new();
    let mut compared = 0;
    for p in s
        .points
        .iter()
        .filter(|p| p.dialect == Dialect::Redis && p.sustained())
    {
        if let Some(o) = s.at(d, p.target).filter(|o| o.sustained()) {
            compared += 1;
            let (a, b) = (o.spread(|x| x.p99_ms).median, p.spread(|x| x.p99_ms).median);
            if a >= b {
                worse.push(format!("{}: {a:.3} vs {b:.3} ms", m(p.target)));
            }
        }
    }
    let verdict = if swept(s, Dialect::Redis) {
        yes(compared > 0 && worse.is_empty())
    } else {
        "no Redis figure"
    };
    let worse = if worse.is_empty() {
        "none".into()
    } else {
        worse.join(", ")
    };
    doc.put(
        "target-p99-redis",
        &[
            ("server", server),
            ("compared", &compared.to_string()),
            ("who", who),
            ("worse", &worse),
            ("verdict", verdict),
        ],
    );
}

/// Row 7: ping-pong.
fn ping_pong(doc: &mut Doc, r: &Results) {
    let Some(t) = r.rtts.iter().find(|t| t.dialect == Dialect::Ours) else {
        return doc.not_measured("target-ping-pong", &[], &not_run(Workload::Rtt));
    };
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

/// Row 9: idle clients, their RSS and how fast they connect.
fn idle(doc: &mut Doc, r: &Results) {
    let Some(c) = r.conns.iter().find(|c| c.dialect == Dialect::Ours) else {
        return doc.not_measured("target-idle", &[], &not_run(Workload::Conns));
    };
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

/// Rows 10 and 11: two nodes through Redis beside one node, in the cluster
/// workload's own sweep.
fn cluster(doc: &mut Doc, r: &Results) {
    let s = match &r.cluster {
        Some(Ok(s)) => s,
        Some(Err(why)) => {
            doc.not_measured("target-cluster", &[], why);
            return doc.not_measured("target-cluster-p99", &[], why);
        }
        None => {
            let why = not_run(Workload::ClusterFanout);
            doc.not_measured("target-cluster", &[], &why);
            return doc.not_measured("target-cluster-p99", &[], &why);
        }
    };
    let c = report::cluster_comparison(s);
    let share = c
        .base_best
        .filter(|b| *b > 0.0)
        .map(|b| c.other_best.unwrap_or(0.0) / b);
    doc.put(
        "target-cluster",
        &[
            ("cluster", &shown_best(s, Dialect::OursCluster)),
            ("single", &shown_best(s, Dialect::Ours)),
            (
                "share",
                &share.map_or("—".into(), |x| format!("{:.0} %", x * 100.0)),
            ),
            (
                "verdict",
                share.map_or("no single-node figure", |x| yes(x >= CLUSTER_SHARE)),
            ),
        ],
    );
    let at = s.at(Dialect::OursCluster, P99_RATE);
    let all = at.map(|p| p.spread(|x| x.p99_ms));
    // Node B's own p99, where its receivers were told apart.
    let node_b = at
        .filter(|p| p.runs.iter().any(|x| x.p99_remote_ms.is_finite()))
        .map(|p| p.spread(|x| x.p99_remote_ms));
    let worst = all.map(|a| node_b.map_or(a.median, |b| a.median.max(b.median)));
    doc.put(
        "target-cluster-p99",
        &[
            ("p99", &all.map_or("—".into(), |x| x.show(3))),
            ("p99_b", &node_b.map_or("—".into(), |x| x.show(3))),
            ("verdict", yes(worst.is_some_and(|x| x <= CLUSTER_P99_MS))),
        ],
    );
}

#[cfg(test)]
mod tests;
