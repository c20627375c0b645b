//! BENCHMARKS.md's IRC fan-out: its two target rows (server CPU per
//! delivery beside the line protocol's, the best sustained rate beside
//! Redis's, both at R = 100) and its section (per sweep, IRC beside the
//! line protocol and Redis, then the sweep's table).

use super::{Doc, best, comparison_rows_beside, m, ns, ratio, sweep_table, within, yes};
use crate::dialect::Dialect;
use crate::plan::Workload;
use crate::report::Results;
use crate::workloads::fanout::{Point, Sweep};
use crate::workloads::irc_fanout::{self, CPU_TARGET, IrcFanout, OVER_REDIS};

/// The R = 100 sweep of the IRC fan-out, or why there is none.
fn r100(r: &Results) -> Result<(&IrcFanout, &Sweep), String> {
    match &r.irc {
        None => Err(format!("workload `{}` not run", Workload::IrcFanout.name())),
        Some(Err(why)) => Err(why.clone()),
        Some(Ok(irc)) => irc
            .sweep(100)
            .map(|s| (irc, s))
            .ok_or_else(|| "R=100 not swept".into()),
    }
}

/// `d`'s best sustained rate as shown: "—" when it was not swept.
fn shown(s: &Sweep, d: Dialect) -> String {
    match best(s, d) {
        Some(x) => m(x),
        None if s.points.iter().any(|p| p.dialect == d) => "none sustained".into(),
        None => "—".into(),
    }
}

/// The target rows: IRC's CPU per delivery over the line protocol's, and
/// IRC's best over Redis's, at R = 100.
pub(super) fn targets(doc: &mut Doc, r: &Results) {
    let (irc, s) = match r100(r) {
        Ok(found) => found,
        Err(why) => {
            doc.not_measured("target-irc-cpu", &[], &why);
            return doc.not_measured("target-irc-redis", &[], &why);
        }
    };
    let c = irc_fanout::line_vs_irc(s);
    match c.common {
        Some(rate) => doc.put(
            "target-irc-cpu",
            &[
                ("rate", &m(rate)),
                ("irc", &ns(c.other_cpu_ns)),
                ("line", &ns(c.base_cpu_ns)),
                ("verdict", &within(c.cpu_cost(), CPU_TARGET)),
            ],
        ),
        None => doc.not_measured("target-irc-cpu", &[], "no rate both sustained"),
    }
    if !irc.redis {
        return doc.not_measured(
            "target-irc-redis",
            &[],
            "Redis not swept (not installed, or --no-peers)",
        );
    }
    let (ours, redis) = (best(s, Dialect::OursIrc), best(s, Dialect::Redis));
    let gen_bound = s.best(Dialect::OursIrc).is_some_and(Point::generator_bound);
    let verdict = match (ours, redis) {
        (Some(o), Some(rd)) => yes(o >= OVER_REDIS * rd),
        (Some(_), None) => yes(true),
        (None, _) => yes(false),
    };
    doc.put(
        "target-irc-redis",
        &[
            ("irc", &shown(s, Dialect::OursIrc)),
            (
                "generator_bound",
                if gen_bound { " (generator-bound)" } else { "" },
            ),
            ("redis", &shown(s, Dialect::Redis)),
            ("irc_over_redis", &ratio(ours, redis)),
            ("line", &shown(s, Dialect::Ours)),
            ("verdict", verdict),
        ],
    );
}

/// The section: the method, then per sweep IRC beside the line protocol
/// (and Redis), then its table.
pub(super) fn section(doc: &mut Doc, r: &Results) {
    let Some(result) = &r.irc else { return };
    doc.put("irc", &[]);
    let irc = match result {
        Err(why) => return doc.put("not-measured", &[("why", why)]),
        Ok(irc) => irc,
    };
    for s in &irc.sweeps {
        doc.put(
            "irc-comparison",
            &[
                ("receivers", &s.config.receivers.to_string()),
                ("senders", &s.config.senders.to_string()),
            ],
        );
        let c = irc_fanout::line_vs_irc(s);
        comparison_rows_beside(doc, &c, "line protocol", "IRC", "IRC cost");
        if irc.redis {
            let redis = best(s, Dialect::Redis);
            doc.put(
                "irc-redis",
                &[
                    ("redis", &shown(s, Dialect::Redis)),
                    ("line_over_redis", &ratio(best(s, Dialect::Ours), redis)),
                    ("irc_over_redis", &ratio(best(s, Dialect::OursIrc), redis)),
                ],
            );
        }
        sweep_table(doc, s, r.runs);
    }
}

#[cfg(test)]
mod tests;
