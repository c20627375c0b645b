//! Ping-pong: one sender, one receiver, one message in flight; the next
//! leaves as soon as the previous arrived. The generator busy-polls, so the
//! figure is the server's relay time plus two loopback hops.

use std::io;
use std::time::{Duration, Instant};

use crate::dialect::Dialect;
use crate::loadgen::{Gen, Role};
use crate::stats::{Spread, spread};
use crate::workloads::{Target, connect_many, ms};

/// One server's ping-pong runs.
#[derive(Debug, Clone)]
pub struct Rtt {
    pub dialect: Dialect,
    /// Per run: (p50 µs, p99 µs, pings lost).
    pub runs: Vec<(f64, f64, u64)>,
}

impl Rtt {
    pub fn p50(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.0))
    }
    pub fn p99(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.1))
    }
    pub fn lost(&self) -> u64 {
        self.runs.iter().map(|r| r.2).sum()
    }
}

/// Runs `pings` ping-pongs per run, `runs` times, over every target.
pub fn run(
    lg: &mut Gen,
    targets: &mut [Target],
    pings: u64,
    runs: usize,
    log: &mut dyn FnMut(&str),
) -> io::Result<Vec<Rtt>> {
    let mut pairs = Vec::new();
    for t in targets.iter() {
        let (ready_r, _) = connect_many(lg, t.group, Role::Receiver, 1, 4, secs(5))?;
        let sender = lg.connect(t.group, Role::Sender)?;
        let ok = lg.wait_ready(t.group, 2, secs(5))?;
        if ready_r == 1 && ok {
            pairs.push((t.group, sender, t.server.dialect));
        } else {
            log(&format!(
                "rtt: {} clients did not get ready",
                t.server.dialect.key()
            ));
        }
    }
    let groups: Vec<usize> = pairs.iter().map(|p| p.0).collect();
    lg.settle(&groups, Duration::from_millis(200), secs(5))?;
    let mut out: Vec<Rtt> = pairs
        .iter()
        .map(|p| Rtt {
            dialect: p.2,
            runs: Vec::new(),
        })
        .collect();
    for _ in 0..runs {
        for (k, &(group, sender, _)) in pairs.iter().enumerate() {
            lg.open_window(group, None);
            let mut lost = 0;
            for i in 0..pings {
                lg.send_one(sender)?;
                let start = Instant::now();
                while lg.groups[group].window.delivered < i + 1 - lost {
                    if start.elapsed() > secs(1) {
                        lost += 1;
                        break;
                    }
                    lg.turn(Some(Duration::ZERO))?;
                }
            }
            lg.close_window(group);
            let h = &lg.groups[group].window.hist;
            out[k]
                .runs
                .push((ms(h, 0.5) * 1e3, ms(h, 0.99) * 1e3, lost));
        }
    }
    for r in &out {
        log(&format!(
            "rtt {:<11} p50 {} µs  p99 {} µs  lost {}",
            r.dialect.key(),
            r.p50().show(1),
            r.p99().show(1),
            r.lost()
        ));
    }
    for &(group, _, _) in &pairs {
        lg.teardown(group);
    }
    Ok(out)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
