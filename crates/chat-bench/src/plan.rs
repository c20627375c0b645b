//! What a bench run does, in order: the full run (every workload, every
//! installed server) and the smoke run (seconds, chat-server only, counts
//! checked exactly).

use std::time::Instant;

use crate::dialect::{self, Dialect};
use crate::loadgen::Gen;
use crate::report::Results;
use crate::servers::{Launch, Server};
use crate::sys;
use crate::workloads::{Target, churn, conns, fanout, rtt};

/// Choices of a run.
#[derive(Debug, Clone)]
pub struct Options {
    pub launch: Launch,
    /// Runs per figure (median shown with min and max).
    pub runs: usize,
    /// Seconds per fan-out window.
    pub secs: f64,
    /// Also compare Redis and ncat where installed.
    pub peers: bool,
    /// Include R = 10,000.
    pub r10k: bool,
    /// Idle clients for conns.
    pub conns: usize,
    /// CPU for the generator (None: not pinned).
    pub gen_cpu: Option<usize>,
}

fn start_targets(
    lg: &mut Gen,
    launch: &Launch,
    dialects: &[Dialect],
    log: &mut dyn FnMut(&str),
) -> Result<Vec<Target>, String> {
    let mut targets = Vec::new();
    for &d in dialects {
        let server = Server::start(d, launch)?;
        log(&format!(
            "started {} on {} (pid {})",
            d.key(),
            server.addr,
            server.pid
        ));
        let group = lg.add_group(d, server.addr).map_err(|e| e.to_string())?;
        targets.push(Target { server, group });
    }
    Ok(targets)
}

fn pin(opts: &Options, log: &mut dyn FnMut(&str)) {
    if let Some(cpu) = opts.gen_cpu
        && let Err(e) = sys::pin_self(cpu)
    {
        log(&format!("cannot pin the generator to CPU {cpu}: {e}"));
    }
}

/// The full bench.
pub fn full(opts: &Options, log: &mut dyn FnMut(&str)) -> Result<Results, String> {
    let began = Instant::now();
    pin(opts, log);
    let mut dialects = vec![Dialect::Ours];
    let mut missing = Vec::new();
    if opts.peers {
        for d in dialect::ALL.into_iter().skip(1) {
            if crate::servers::installed(d) {
                dialects.push(d);
            } else {
                missing.push(d);
            }
        }
    }
    let io = |e: std::io::Error| e.to_string();
    let mut lg = Gen::new().map_err(io)?;
    let mut targets = start_targets(&mut lg, &opts.launch, &dialects, log)?;
    let m = 1e6;
    let mut sweeps = Vec::new();
    let configs = [
        (
            100,
            4,
            vec![0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 14.0],
        ),
        (
            1000,
            2,
            vec![0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0],
        ),
        (10_000, 1, vec![1.0, 2.0, 4.0, 6.0, 8.0, 10.0]),
    ];
    for (r, s, rates) in configs {
        if r == 10_000 && !opts.r10k {
            continue;
        }
        let config = fanout::Config {
            receivers: r,
            senders: s,
            rates: rates.into_iter().map(|x| x * m).collect(),
            runs: opts.runs,
            secs: opts.secs,
        };
        sweeps.push(fanout::run(&mut lg, &mut targets, &config, log).map_err(io)?);
    }
    let rtts = rtt::run(&mut lg, &mut targets, 5000, opts.runs, log).map_err(io)?;
    let churn_config = churn::Config {
        receivers: 100,
        senders: 4,
        rate: 1.0 * m,
        churn_rate: 1000.0,
        runs: opts.runs,
        secs: opts.secs.max(1.5),
    };
    let churns = churn::run(&mut lg, &mut targets, &churn_config, log).map_err(io)?;
    drop(targets);
    let conns =
        conns::run(&mut lg, &opts.launch, &dialects, opts.conns, opts.runs, log).map_err(io)?;
    Ok(Results {
        machine: sys::machine(),
        runs: opts.runs,
        secs: opts.secs,
        missing,
        sweeps,
        rtts,
        churn_config,
        churns,
        conns,
        elapsed: began.elapsed(),
    })
}

/// The smoke run: small counts against chat-server, every count checked.
/// Returns the failures (empty: passed).
pub fn smoke(opts: &Options, log: &mut dyn FnMut(&str)) -> Result<Vec<String>, String> {
    pin(opts, log);
    let io = |e: std::io::Error| e.to_string();
    let mut lg = Gen::new().map_err(io)?;
    let mut targets = start_targets(&mut lg, &opts.launch, &[Dialect::Ours], log)?;
    let mut failures = Vec::new();
    let config = fanout::Config {
        receivers: 10,
        senders: 2,
        rates: vec![20_000.0],
        runs: 2,
        secs: 0.5,
    };
    let sweep = fanout::run(&mut lg, &mut targets, &config, log).map_err(io)?;
    if !sweep.skipped.is_empty() {
        failures.push(format!("fanout skipped: {:?}", sweep.skipped));
    }
    for p in &sweep.points {
        for (i, run) in p.runs.iter().enumerate() {
            let expected = run.offered * config.secs;
            let delivered = run.delivered_rate * config.secs;
            if run.ratio != 1.0 || run.shed != 0 || run.lost_clients != 0 || expected < 1.0 {
                failures.push(format!(
                    "fanout run {i}: delivered {delivered:.0} of {expected:.0}, shed {}, clients lost {}",
                    run.shed, run.lost_clients
                ));
            }
        }
    }
    let rtts = rtt::run(&mut lg, &mut targets, 200, 1, log).map_err(io)?;
    match rtts.first() {
        Some(r) if r.lost() == 0 && r.runs.len() == 1 => {}
        Some(r) => failures.push(format!("rtt: {} pings lost", r.lost())),
        None => failures.push("rtt: no result".into()),
    }
    let churn_config = churn::Config {
        receivers: 10,
        senders: 1,
        rate: 10_000.0,
        churn_rate: 100.0,
        runs: 1,
        secs: 0.5,
    };
    let churns = churn::run(&mut lg, &mut targets, &churn_config, log).map_err(io)?;
    match churns.first() {
        Some(c) if c.failed() == 0 && c.churned.iter().all(|r| r.ratio == 1.0) => {
            if c.cycles_per_s().median < 1.0 {
                failures.push("churn: no client came and left".into());
            }
        }
        _ => failures.push("churn: lost messages or failed churners".into()),
    }
    drop(targets);
    let conns = conns::run(&mut lg, &opts.launch, &[Dialect::Ours], 200, 1, log).map_err(io)?;
    match conns.first().and_then(|c| c.runs.first()) {
        Some(run) if run.clients == 200 && run.survived => {}
        Some(run) => failures.push(format!("conns: {} of 200 clients ready", run.clients)),
        None => failures.push("conns: no result".into()),
    }
    Ok(failures)
}
