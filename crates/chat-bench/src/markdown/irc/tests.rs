//! The IRC fan-out from fixed figures: its two targets (CPU per delivery
//! beside the line protocol's, the best rate beside Redis's), its section
//! with both sweeps, and a run without it or without Redis saying why.

use super::super::tests::{assert_filled, point, results, sweep, targets_table};
use crate::dialect::Dialect;
use crate::markdown::markdown;
use crate::plan::Workload;
use crate::report::Results;
use crate::workloads::irc_fanout::{self, IrcFanout};

/// Line and IRC both sustain 1M, IRC at `irc_ns` ns per delivery against
/// the line protocol's 200; Redis sustains 0.5M; at 2M only the line
/// protocol does. R = 100 and R = 1,000 alike.
fn with_irc(irc_ns: f64, redis: bool) -> Results {
    let mut sweeps = Vec::new();
    for (receivers, senders) in [(100, 4), (1000, 2)] {
        let mut s = sweep(Dialect::OursIrc);
        s.config.receivers = receivers;
        s.config.senders = senders;
        s.points[1].runs[0].server_cpu_ns_per_delivery = irc_ns;
        if redis {
            s.points.push(point(Dialect::Redis, 5e5, 5e5, 1.0, 0.1));
            s.points.push(point(Dialect::Redis, 1e6, 0.9e6, 300.0, 0.1));
        }
        sweeps.push(s);
    }
    let mut r = results(Ok(sweep(Dialect::OursCluster)));
    r.irc = Some(Ok(IrcFanout { sweeps, redis }));
    r.workloads.push(Workload::IrcFanout);
    r
}

#[test]
fn irc_sits_beside_the_line_protocol_and_redis() {
    let r = with_irc(220.0, true);
    let md = markdown(&r, "cargo xtask bench --only irc-fanout", None);
    assert_filled(&md);
    let table = targets_table(&md);
    assert!(
        table.contains("| IRC fan-out: server CPU per delivery within 1.2× of the line protocol's (R=100 S=4) | at 1.00M, the highest rate both sustained: IRC 220 vs line 200 ns | **met** (1.10×) |\n"),
        "{table}"
    );
    assert!(
        table.contains("| IRC fan-out R=100 S=4: ≥ 2× Redis's best sustained rate | IRC 1.00M vs Redis 0.50M: 2.00×; the line protocol 2.00M in the same sweep | **met** |\n"),
        "{table}"
    );
    assert!(md.contains("\n## IRC fan-out\n"), "{md}");
    assert!(
        md.contains("\nIRC beside the line protocol at R = 1000, S = 2:\n"),
        "{md}"
    );
    assert!(
        md.contains("| | line protocol | IRC | IRC cost |\n|---|---|---|---|\n| best sustained deliveries/s | 2.00M | 1.00M |"),
        "{md}"
    );
    assert!(
        md.contains("| server CPU per delivery at 1.00M (ns) | 200 | 220 | 1.10× (IRC / plain) |\n| best sustained over Redis's (0.50M) | 4.00× | 2.00× | |\n"),
        "{md}"
    );
    assert!(md.contains("| chat-server-irc | 1.00M |"), "{md}");
    // Before the kernel's cost, after the fan-out.
    assert!(md.find("## Fan-out") < md.find("## IRC fan-out"), "{md}");
    assert!(!md.contains("|\n\n|"), "{md}");
    let json = r.json();
    let r100 = &json["irc_fanout"]["sweeps"][0];
    assert_eq!(r100["irc_over_redis_best"], 2.0);
    let cost = r100["line_vs_irc"]["other_over_base_cpu_per_delivery"].as_f64();
    assert_eq!(cost.map(|x| (x * 100.0).round()), Some(110.0));
    let text = r.table();
    assert!(text.contains("\nIRC fan-out R=100 S=4"), "{text}");
    assert!(text.contains("IRC / Redis best sustained: 2.00×"), "{text}");
    assert!(
        text.contains("IRC / line server CPU per delivery at each rate both sustained: 1.00M 1.10× (median 1.10×)"),
        "{text}"
    );
    if let Some(Ok(irc)) = &r.irc {
        assert_eq!(irc_fanout::over_redis(&irc.sweeps[1]), Some(2.0));
        let ratios = irc_fanout::cpu_ratios(&irc.sweeps[1]);
        assert_eq!(ratios.len(), 1, "only 1M is sustained by both: {ratios:?}");
        assert_eq!((ratios[0].1 * 100.0).round(), 110.0);
    }
}

#[test]
fn over_the_bound_without_redis_or_not_run_it_says_so() {
    let md = markdown(&with_irc(300.0, false), "x", None);
    assert_filled(&md);
    let table = targets_table(&md);
    assert!(
        table.contains("IRC 300 vs line 200 ns | **not met** (1.50×) |\n"),
        "{table}"
    );
    assert!(
        table.contains("| IRC fan-out R=100 S=4: ≥ 2× Redis's best sustained rate | Redis not swept (not installed, or --no-peers) | not measured in this run |\n"),
        "{table}"
    );
    assert!(!md.contains("best sustained over Redis's"), "{md}");

    let md = markdown(&results(Ok(sweep(Dialect::OursCluster))), "x", None);
    assert!(!md.contains("## IRC fan-out"), "{md}");
    assert!(
        targets_table(&md).contains("| IRC fan-out: server CPU per delivery within 1.2× of the line protocol's (R=100 S=4) | workload `irc-fanout` not run | not measured in this run |\n"),
        "{md}"
    );
    let mut r = with_irc(220.0, true);
    r.irc = Some(Err("chat-server did not start".into()));
    let md = markdown(&r, "x", None);
    assert_filled(&md);
    assert!(md.contains("\n## IRC fan-out\n"), "{md}");
    assert!(
        md.contains("Not measured: chat-server did not start."),
        "{md}"
    );
}
