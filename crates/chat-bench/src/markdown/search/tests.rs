//! The store-search section from fixed figures: both store modes
//! summarised beside their searched runs, every window a row, and a run
//! that could not measure saying why.

use super::super::tests::{assert_filled, results, sweep};
use crate::dialect::Dialect;
use crate::loadgen::Searches;
use crate::markdown::markdown;
use crate::report::Results;
use crate::workloads::fanout::Run;
use crate::workloads::store_search::{Config, Prefill, SearchPoint, SearchRun, StoreSearch};

/// A point of one run: `searches` is (sent, answered, lines), zero when
/// the store was alone.
fn point(
    dialect: Dialect,
    searched: bool,
    target: f64,
    p50: f64,
    p99: f64,
    searches: (u64, u64, u64),
) -> SearchPoint {
    let fanout = Run {
        offered: target,
        delivered_rate: target,
        ratio: 1.0,
        p50_ms: p50,
        p99_ms: p99,
        server_cpu: 0.5,
        ..Run::default()
    };
    let (sent, answered, lines) = searches;
    SearchPoint {
        dialect,
        searched,
        target,
        runs: vec![SearchRun {
            fanout,
            searches: Searches {
                sent,
                answered,
                lines,
                ..Searches::default()
            },
            last_answered: true,
        }],
    }
}

/// Batch: alone sustains 2M, searched 1M (p99 8 ms there against 2 ms).
/// Always: alone sustains 2M, searched nothing (it delivers half at 1M).
fn store_search() -> StoreSearch {
    let (sqlite, always) = (Dialect::OursSqlite, Dialect::OursAlways);
    let none = (0, 0, 0);
    let mut always_searched = point(always, true, 1e6, 50.0, 900.0, (100, 40, 800));
    always_searched.runs[0].fanout.ratio = 0.5;
    StoreSearch {
        config: Config {
            receivers: 100,
            senders: 4,
            rates: vec![1e6, 2e6],
            runs: 1,
            secs: 1.0,
            searchers: 20,
            prefill_lines: 100_000,
        },
        prefills: vec![
            Prefill {
                dialect: sqlite,
                lines: 100_000,
                answer_lines: 20,
            },
            Prefill {
                dialect: always,
                lines: 100_000,
                answer_lines: 19,
            },
        ],
        points: vec![
            point(sqlite, false, 1e6, 1.0, 2.0, none),
            point(sqlite, true, 1e6, 3.0, 8.0, (100, 98, 1960)),
            point(always, false, 1e6, 2.0, 5.0, none),
            always_searched,
            point(sqlite, false, 2e6, 1.5, 3.0, none),
            point(sqlite, true, 2e6, 90.0, 500.0, (100, 60, 1200)),
            point(always, false, 2e6, 2.5, 6.0, none),
        ],
        skipped: vec![(Dialect::OursAlways, "only 3/20 searchers got ready".into())],
    }
}

fn with(store_search: Result<StoreSearch, String>) -> Results {
    let mut r = results(Ok(sweep(Dialect::OursCluster)));
    r.store_search = Some(store_search);
    r
}

#[test]
fn alone_beside_searched_for_each_store_mode() {
    let md = markdown(&with(Ok(store_search())), "cargo xtask bench", None);
    assert_filled(&md);
    assert!(
        md.contains("\n## Fan-out with the history store while clients search\n"),
        "{md}"
    );
    assert!(
        md.contains("while 20 more clients, from the bench's loopback addresses, send `/search WORD`, each 5 times a second."),
        "{md}"
    );
    assert!(md.contains("(46 × `x`)"), "{md}");
    assert!(
        md.contains("`archive`, in which 100000 lines were said"),
        "{md}"
    );
    assert!(
        md.contains("\n```\ncargo xtask bench --only store-search\n```\n"),
        "{md}"
    );
    assert!(
        md.contains("\nAfter the warm-up, one search brought back 20 lines on chat-server-sqlite, 19 lines on chat-server-always.\n"),
        "{md}"
    );
    let batch = "
| SQLite, batch | store alone | store + searchers | what the searches cost |
|---|---|---|---|
| best sustained deliveries/s | 2.00M | 1.00M | 2.00× (alone / with searchers) |
| p50 ms at 1.00M offered (the highest rate both sustain) | 1.000 (1.000–1.000) | 3.000 (3.000–3.000) | 3.00× (with searchers / alone) |
| p99 ms at 1.00M offered | 2.000 (2.000–2.000) | 8.000 (8.000–8.000) | 4.00× (with searchers / alone) |
| searches sent / answered / answer lines per window at 1.00M | — | 100 / 98 / 1960 | |
";
    assert!(md.contains(batch), "{md}");
    let always = "
| SQLite, always | store alone | store + searchers | what the searches cost |
|---|---|---|---|
| best sustained deliveries/s | 2.00M | — | — (alone / with searchers) |
| p50 and p99 at a common rate | — | — | no rate both sustained |
";
    assert!(md.contains(always), "{md}");
    assert!(
        md.contains("\n### R = 100 receivers, S = 4 senders, alone and with 20 searchers\n"),
        "{md}"
    );
    for row in [
        "| chat-server-sqlite | none | 1.00M | 1.00M (1.00M–1.00M) | 1.0000 | 1.000 | 2.000 (2.000–2.000) | 0.50 | — | — | — | sustained |\n",
        "| chat-server-sqlite | 20 | 1.00M | 1.00M (1.00M–1.00M) | 1.0000 | 3.000 | 8.000 (8.000–8.000) | 0.50 | 100 | 98 | 1960 | sustained |\n",
        "| chat-server-always | 20 | 1.00M | 1.00M (1.00M–1.00M) | 0.5000 | 50.000 | 900.000 (900.000–900.000) | 0.50 | 100 | 40 | 800 | not sustained |\n",
    ] {
        assert!(md.contains(row), "no {row:?} in\n{md}");
    }
    assert!(
        md.contains("\nchat-server-always skipped: only 3/20 searchers got ready.\n"),
        "{md}"
    );
    // After the history store's section, before ping-pong; each table goes
    // straight from its rule to its rows (the summaries are tables of their
    // own, a blank line apart).
    let (start, end) = (
        md.find("## Fan-out with the history store while"),
        md.find("## Ping-pong"),
    );
    let (Some(start), Some(end)) = (start, end) else {
        panic!("no section, or no ping-pong after it:\n{md}");
    };
    assert!(start < end, "{md}");
    assert!(!md[start..end].contains("|---|\n\n"), "{md}");
}

#[test]
fn the_run_s_json_and_table_hold_the_same_figures() {
    let r = with(Ok(store_search()));
    let json = r.json();
    let s = &json["store_search"];
    assert_eq!(s["ran"], true);
    assert_eq!(s["searches_per_client_per_s"], 5.0);
    assert_eq!(s["word"].as_str().map(str::len), Some(46));
    assert_eq!(s["comparisons"][0]["server"], "chat-server-sqlite");
    assert_eq!(s["comparisons"][0]["alone_over_searched_best"], 2.0);
    assert_eq!(
        s["comparisons"][0]["searched_p99_ms_at_common"]["median"],
        8.0
    );
    assert_eq!(
        s["comparisons"][0]["searches_at_common"]["answered"]["median"],
        98.0
    );
    assert_eq!(s["comparisons"][1]["common_rate"], serde_json::Value::Null);
    assert_eq!(s["points"][1]["searched"], true);
    assert_eq!(s["points"][1]["runs"][0]["answer_lines"], 1960);
    assert_eq!(s["prefills"][1]["answer_lines"], 19);
    let table = r.table();
    assert!(
        table.contains("history store fan-out R=100 S=4, alone and with 20 searchers at 5/s each"),
        "{table}"
    );
    assert!(
        table.contains("chat-server-sqlite: best sustained alone 2.00M, with searchers 1.00M; at 1.00M: p99 2.00 vs 8.00 ms\n"),
        "{table}"
    );
    let mut not_run = with(Ok(store_search()));
    not_run.store_search = None;
    assert_eq!(not_run.json()["store_search"]["ran"], false);
}

#[test]
fn a_run_that_could_not_measure_says_why_and_one_left_out_leaves_no_trace() {
    let r = with(Err("chat-server-sqlite did not start".into()));
    let md = markdown(&r, "x", None);
    assert_filled(&md);
    assert!(
        md.contains("## Fan-out with the history store while clients search"),
        "{md}"
    );
    assert!(
        md.contains("\nNot measured: chat-server-sqlite did not start.\n"),
        "{md}"
    );
    assert!(!md.contains("| store alone |"), "{md}");
    assert_eq!(
        r.json()["store_search"]["skipped"],
        "chat-server-sqlite did not start"
    );
    assert!(r.table().contains(
        "history store fan-out with searchers: skipped: chat-server-sqlite did not start"
    ));
    let mut r = with(Ok(store_search()));
    r.store_search = None;
    let md = markdown(&r, "x", None);
    assert!(!md.contains("while clients search"), "{md}");
}
