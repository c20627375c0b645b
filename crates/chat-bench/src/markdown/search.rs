//! The section of the history store's fan-out while clients search: for
//! each store mode the store alone beside the store with searchers (best
//! sustained rate; p50, p99 and the searchers' counts at the highest rate
//! both sustained), then every window's figures.

use std::fmt::Write as _;

use super::{Doc, m};
use crate::dialect::Dialect;
use crate::report::Results;
use crate::workloads::store_search::{self, Beside, SEARCHES_PER_CLIENT_PER_S, SearchPoint};

/// The section, if the run had the workload.
pub(super) fn section(doc: &mut Doc, r: &Results) {
    let Some(result) = &r.store_search else {
        return;
    };
    let config = result.as_ref().ok().map(|s| &s.config);
    let prefill = config.map_or("no".to_owned(), |c| c.prefill_lines.to_string());
    doc.put(
        "store-search",
        &[
            (
                "receivers",
                &config.map_or(100, |c| c.receivers).to_string(),
            ),
            ("senders", &config.map_or(4, |c| c.senders).to_string()),
            ("searchers", &config.map_or(0, |c| c.searchers).to_string()),
            ("per_client", &format!("{SEARCHES_PER_CLIENT_PER_S}")),
            ("word_len", &store_search::word().len().to_string()),
            ("room", store_search::ROOM),
            ("prefill", &prefill),
        ],
    );
    let s = match result {
        Err(why) => return doc.put("not-measured", &[("why", why)]),
        Ok(s) => s,
    };
    if !s.prefills.is_empty() {
        let answers: Vec<String> = s
            .prefills
            .iter()
            .map(|p| format!("{} lines on {}", p.answer_lines, p.dialect.key()))
            .collect();
        doc.put("store-search-prefill", &[("answers", &answers.join(", "))]);
    }
    for d in s.dialects() {
        summary(doc, d, &s.beside(d));
    }
    let mut rows = String::new();
    for p in &s.points {
        rows.push_str(&row(p, s.config.searchers));
    }
    doc.put(
        "store-search-sweep",
        &[
            ("receivers", &s.config.receivers.to_string()),
            ("senders", &s.config.senders.to_string()),
            ("searchers", &s.config.searchers.to_string()),
            ("runs", &s.config.runs.to_string()),
            ("rows", &rows),
        ],
    );
    for (d, why) in &s.skipped {
        doc.put("sweep-skipped", &[("server", d.key()), ("why", why)]);
    }
}

/// What the store mode of `d` is called in the summary.
fn mode(d: Dialect) -> &'static str {
    match d {
        Dialect::OursAlways => "SQLite, always",
        Dialect::OursSqlite => "SQLite, batch",
        _ => d.key(),
    }
}

fn times(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{v:.2}×"))
}

/// `b` over `a`, when `a` is above zero.
fn over(b: f64, a: f64) -> Option<f64> {
    (a > 0.0 && a.is_finite() && b.is_finite()).then(|| b / a)
}

fn summary(doc: &mut Doc, d: Dialect, b: &Beside<'_>) {
    let opt_m = |x: Option<f64>| x.map_or("—".to_owned(), m);
    doc.put(
        "store-search-summary",
        &[
            ("mode", mode(d)),
            ("alone_best", &opt_m(b.alone_best)),
            ("searched_best", &opt_m(b.searched_best)),
            ("best_cost", &times(b.throughput_cost())),
        ],
    );
    let (Some(rate), Some(alone), Some(searched)) = (b.common, b.alone, b.searched) else {
        return doc.put("store-search-no-common", &[]);
    };
    let (a50, s50) = (alone.spread(|r| r.p50_ms), searched.spread(|r| r.p50_ms));
    let (a99, s99) = (alone.spread(|r| r.p99_ms), searched.spread(|r| r.p99_ms));
    doc.put(
        "store-search-common",
        &[
            ("rate", &m(rate)),
            ("alone_p50", &a50.show(3)),
            ("searched_p50", &s50.show(3)),
            ("p50_cost", &times(over(s50.median, a50.median))),
            ("alone_p99", &a99.show(3)),
            ("searched_p99", &s99.show(3)),
            ("p99_cost", &times(over(s99.median, a99.median))),
            ("searches", &searches(searched)),
        ],
    );
}

/// Sent / answered / answer lines, medians per window.
fn searches(p: &SearchPoint) -> String {
    format!(
        "{:.0} / {:.0} / {:.0}",
        p.searches(|s| s.sent).median,
        p.searches(|s| s.answered).median,
        p.searches(|s| s.lines).median
    )
}

fn row(p: &SearchPoint, searchers: usize) -> String {
    let d = p.spread(|r| r.delivered_rate);
    let (count, cells) = if p.searched {
        let cell = |f: fn(&store_search::SearchPoint) -> f64| format!("{:.0}", f(p));
        (
            searchers.to_string(),
            [
                cell(|p| p.searches(|s| s.sent).median),
                cell(|p| p.searches(|s| s.answered).median),
                cell(|p| p.searches(|s| s.lines).median),
            ],
        )
    } else {
        ("none".to_owned(), ["—", "—", "—"].map(String::from))
    };
    let mut row = String::new();
    let _ = writeln!(
        row,
        "| {} | {count} | {} | {} ({}–{}) | {:.4} | {:.3} | {} | {:.2} | {} | {} |",
        p.dialect.key(),
        m(p.target),
        m(d.median),
        m(d.min),
        m(d.max),
        p.spread(|r| r.ratio).median,
        p.spread(|r| r.p50_ms).median,
        p.spread(|r| r.p99_ms).show(3),
        p.spread(|r| r.server_cpu).median,
        cells.join(" | "),
        if p.sustained() {
            "sustained"
        } else {
            "not sustained"
        },
    );
    row
}

#[cfg(test)]
mod tests;
