//! The failover section from fixed figures: a table of times and counts,
//! or why it was not measured.

use super::super::tests::{assert_filled, results, sweep};
use crate::dialect::Dialect;
use crate::markdown::markdown;

#[test]
fn a_failover_is_a_table_of_times_and_counts_or_says_why_not() {
    use crate::workloads::failover::{Config, Failover, FailoverRun, Fault};
    let run = |promoted_ms: f64| FailoverRun {
        promoted_ms,
        healthy_ms: promoted_ms + 1000.0,
        first_cross_ms: promoted_ms + 30.0,
        caught_up_ms: promoted_ms + 40.0,
        red: [true, true],
        sent: 16_000,
        duplicated: [2, 0, 0, 0],
        ..FailoverRun::default()
    };
    let mut r = results(Ok(sweep(Dialect::OursCluster)));
    r.failover = Some(Ok(vec![Failover {
        fault: Fault::Killed,
        config: Config::full(3),
        runs: vec![run(2200.0), run(2100.0), run(2400.0)],
    }]));
    let md = markdown(&r, "cargo xtask bench", None);
    assert_filled(&md);
    assert!(md.contains("\n## Failover\n"), "{md}");
    assert!(
        md.contains(
            "\n| killed | 3 | 2200 (2100–2400) | 3200 (3100–3400) | 2230 (2130–2430) | 2240 (2140–2440) | 48000 | 0 | 6 (before 6) | 0 |\n"
        ),
        "{md}"
    );
    assert!(md.contains("2,000") || md.contains("2000 lines/s"), "{md}");
    r.failover = Some(Err("redis-sentinel is not installed".into()));
    let md = markdown(&r, "cargo xtask bench", None);
    assert_filled(&md);
    assert!(
        md.contains("not measured in this run: redis-sentinel is not installed."),
        "{md}"
    );
}
