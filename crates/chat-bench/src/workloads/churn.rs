//! Churn: a steady fan-out (R=100, S=4) while clients connect, get their
//! welcome and leave at a fixed rate; the same fan-out without churn is
//! measured alongside, so the cost of churn shows as the difference.

use std::io;
use std::time::Duration;

use crate::dialect::Dialect;
use crate::loadgen::{Gen, Role};
use crate::stats::{Spread, spread};
use crate::workloads::fanout::{Run, window};
use crate::workloads::{Target, connect_many};

/// The churn settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub receivers: usize,
    pub senders: usize,
    /// Offered deliveries per second of the fan-out.
    pub rate: f64,
    /// Clients connecting (and leaving) per second.
    pub churn_rate: f64,
    pub runs: usize,
    pub secs: f64,
}

/// One server's churn runs.
#[derive(Debug, Clone)]
pub struct Churn {
    pub dialect: Dialect,
    pub quiet: Vec<Run>,
    pub churned: Vec<Run>,
    /// Per churn run: clients that came and left per second, and failures.
    pub cycles: Vec<(f64, u64)>,
}

impl Churn {
    pub fn cycles_per_s(&self) -> Spread {
        spread(self.cycles.iter().map(|c| c.0))
    }
    pub fn failed(&self) -> u64 {
        self.cycles.iter().map(|c| c.1).sum()
    }
}

/// Runs churn over every target.
pub fn run(
    lg: &mut Gen,
    targets: &mut [Target],
    config: &Config,
    log: &mut dyn FnMut(&str),
) -> io::Result<Vec<Churn>> {
    let (r, s) = (config.receivers, config.senders);
    let mut alive = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let burst = t.server.dialect.connect_burst();
        let (gr, _) = connect_many(
            lg,
            t.group,
            Role::Receiver,
            r,
            burst,
            Duration::from_secs(30),
        )?;
        let (gs, _) = connect_many(lg, t.group, Role::Sender, s, 16, Duration::from_secs(10))?;
        if gr == r && gs == s {
            alive.push(i);
        } else {
            log(&format!(
                "churn: {} clients did not get ready",
                t.server.dialect.key()
            ));
        }
    }
    let groups: Vec<usize> = alive.iter().map(|&i| targets[i].group).collect();
    lg.settle(&groups, Duration::from_millis(300), Duration::from_secs(10))?;
    let mut out: Vec<Churn> = alive
        .iter()
        .map(|&i| Churn {
            dialect: targets[i].server.dialect,
            quiet: Vec::new(),
            churned: Vec::new(),
            cycles: Vec::new(),
        })
        .collect();
    for _ in 0..config.runs {
        for (k, &i) in alive.iter().enumerate() {
            let t = &mut targets[i];
            out[k]
                .quiet
                .push(window(lg, t, r, config.rate, config.secs)?);
            lg.start_churn(t.group, config.churn_rate, t.server.dialect.connect_burst());
            let run = window(lg, t, r, config.rate, config.secs)?;
            lg.stop_churn();
            lg.settle(
                &[t.group],
                Duration::from_millis(100),
                Duration::from_secs(2),
            )?;
            let g = &lg.groups[t.group];
            out[k]
                .cycles
                .push((g.churn_done as f64 / config.secs, g.churn_failed));
            out[k].churned.push(run);
        }
    }
    for c in &out {
        log(&format!(
            "churn {:<11} {} joins+leaves/s, failed {}; p99 {} ms quiet vs {} ms churning; delivered {:.4} vs {:.4}",
            c.dialect.key(),
            c.cycles_per_s().show(0),
            c.failed(),
            spread(c.quiet.iter().map(|r| r.p99_ms)).show(2),
            spread(c.churned.iter().map(|r| r.p99_ms)).show(2),
            spread(c.quiet.iter().map(|r| r.ratio)).median,
            spread(c.churned.iter().map(|r| r.ratio)).median,
        ));
    }
    for &i in &alive {
        lg.teardown(targets[i].group);
    }
    Ok(out)
}
