//! BENCHMARKS.md's failover section: per fault (the master killed, the
//! master frozen), the recovery times and the lines lost, duplicated and
//! out of order; or why it was not measured.

use std::fmt::Write as _;

use super::Doc;
use crate::report::Results;
use crate::workloads::failover::FREEZE;
use crate::workloads::sentinel::DOWN_AFTER;

/// The section, when the workload ran.
pub(super) fn section(r: &Results, doc: &mut Doc) {
    let all = match &r.failover {
        None => return,
        Some(Err(why)) => {
            doc.put("failover-skipped", &[("why", why)]);
            return;
        }
        Some(Ok(all)) => all,
    };
    let Some(c) = all.first().map(|f| &f.config) else {
        return;
    };
    let mut rows = String::new();
    for f in all {
        let figures = f.figures().map(|(_, value)| value);
        let (fault, runs) = (f.fault.key(), f.runs.len());
        let _ = writeln!(rows, "| {fault} | {runs} | {} |", figures.join(" | "));
    }
    let m = &r.machine;
    doc.put(
        "failover",
        &[
            ("nproc", &m.nproc.to_string()),
            ("cpu", &m.cpu),
            ("kernel", &m.kernel),
            ("down_after", &DOWN_AFTER.as_millis().to_string()),
            ("senders", &c.senders.to_string()),
            ("receivers", &c.receivers.to_string()),
            ("rate", &format!("{:.0}", c.rate)),
            ("before", &format!("{:.0}", c.before.as_secs_f64())),
            ("after", &format!("{:.0}", c.after.as_secs_f64())),
            ("freeze", &FREEZE.as_secs().to_string()),
            ("runs", &r.runs.to_string()),
            ("rows", &rows),
        ],
    );
}

#[cfg(test)]
mod tests;
