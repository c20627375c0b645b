//! What a bench run does, in order: the full run (every workload, every
//! installed server; or the workloads chosen with `--only`/`--skip`) and the
//! smoke run (seconds, chat-server only, counts checked exactly).

use std::time::Instant;

use crate::dialect::{self, Dialect};
use crate::loadgen::Gen;
use crate::report::Results;
use crate::servers::{Launch, Server};
use crate::sys;
use crate::workloads::fanout::Sweep;
use crate::workloads::history_join;
use crate::workloads::irc_fanout;
use crate::workloads::kernel::{self, KernelCost};
use crate::workloads::store_search::{self, StoreSearch};
use crate::workloads::{Target, churn, conns, failover, fanout, logins, rtt, webhooks};

/// A workload of the full run, as `--only` and `--skip` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Fan-out sweeps at R = 100, 1,000 (and 10,000), every server; at
    /// R = 100 and 1,000 chat-server with its defaults (the SQLite store)
    /// too, swept alone after the others.
    Fanout,
    /// Fan-out sweeps at R = 100 and 1,000 over IRC beside the line
    /// protocol and Redis: what IRC costs.
    IrcFanout,
    /// Ping-pong, every server.
    Rtt,
    /// Fan-out with clients coming and going, every server.
    Churn,
    /// Idle clients up to the file limit, every server.
    Conns,
    /// Clients joining a room with no history, 50 and 1,000 lines of it,
    /// chat-server only: what replaying a history costs a join.
    HistoryJoin,
    /// Fan-out R = 100 over TLS beside plain: what TLS costs.
    TlsFanout,
    /// Fan-out R = 100 over WebSocket beside plain TCP: what WebSocket costs.
    WebFanout,
    /// Fan-out R = 100 across two cluster nodes beside one node: what the
    /// cluster costs.
    ClusterFanout,
    /// Fan-out R = 100 with the history store off, batched and "always":
    /// what the store costs.
    StoreFanout,
    /// Fan-out R = 100 with the SQLite store (batched and "always"),
    /// alone and while other clients send `/search` at the flood limit.
    StoreSearch,
    /// Fan-out R = 100 at fixed rates with `perf stat` on each server:
    /// what a delivery costs the kernel.
    KernelCost,
    /// 100 clients logging in at once (password, then token) beside chat:
    /// logins/s and chat p99 with and without them.
    Logins,
    /// Webhook posts over keep-alive connections (1,000/s and as fast as
    /// answered) beside chat: posts/s and chat p99 with and without them.
    Webhooks,
    /// A Redis Sentinel failover under a flood across two cluster nodes:
    /// the recovery time, lines lost and duplicated.
    Failover,
}

impl Workload {
    /// Every workload, in the order the full run takes them.
    pub const ALL: [Workload; 15] = [
        Workload::Fanout,
        Workload::IrcFanout,
        Workload::KernelCost,
        Workload::Rtt,
        Workload::Churn,
        Workload::TlsFanout,
        Workload::WebFanout,
        Workload::ClusterFanout,
        Workload::StoreFanout,
        Workload::StoreSearch,
        Workload::Conns,
        Workload::HistoryJoin,
        Workload::Logins,
        Workload::Webhooks,
        Workload::Failover,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Fanout => "fanout",
            Workload::IrcFanout => "irc-fanout",
            Workload::Rtt => "rtt",
            Workload::Churn => "churn",
            Workload::Conns => "conns",
            Workload::HistoryJoin => "history-join",
            Workload::TlsFanout => "tls-fanout",
            Workload::WebFanout => "web-fanout",
            Workload::ClusterFanout => "cluster-fanout",
            Workload::StoreFanout => "store-fanout",
            Workload::StoreSearch => "store-search",
            Workload::KernelCost => "kernel-cost",
            Workload::Logins => "logins",
            Workload::Webhooks => "webhooks",
            Workload::Failover => "failover",
        }
    }

    /// The workload called `name`.
    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name.trim())
    }
}

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
    /// The workloads of the full run (default: [`Workload::ALL`]).
    pub workloads: Vec<Workload>,
}

impl Options {
    fn wants(&self, w: Workload) -> bool {
        self.workloads.contains(&w)
    }
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
        if let Some(config) = &server.tls {
            lg.set_tls(group, config.clone());
        }
        if let Some(b) = server.remote_addr {
            log(&format!(
                "  ... with node B on {b} (receivers alternate A, B)"
            ));
            lg.set_remote(group, b).map_err(|e| e.to_string())?;
        }
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

/// Offered deliveries/s of the R = 100 sweeps, in millions: up to past
/// where chat-server stops, so the grid's top never caps a figure.
const R100_RATES: [f64; 16] = [
    0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 24.0,
];
/// The cluster's sweep also steps 1M between 8M and 14M, where the two
/// nodes' edge lies: a 2M step there moves its ratio to one node by
/// 10–15 %.
const CLUSTER_EDGE_RATES: [f64; 3] = [9.0, 11.0, 13.0];

/// One fan-out sweep of the full run: R receivers, S senders and the
/// offered deliveries/s, in millions.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub receivers: usize,
    pub senders: usize,
    pub rates: &'static [f64],
    /// Whether chat-server with its default configuration (the SQLite
    /// store) is swept too, beside the memory-only one the others get.
    pub defaults: bool,
}

/// The fan-out sweeps of the full run (R = 10,000 unless `--no-r10k`), the
/// ones BENCHMARKS.md's targets name.
pub const FANOUT: [Shape; 3] = [
    Shape {
        receivers: 100,
        senders: 4,
        rates: &R100_RATES,
        defaults: true,
    },
    Shape {
        receivers: 1000,
        senders: 2,
        rates: &[
            0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0,
        ],
        defaults: true,
    },
    Shape {
        receivers: 10_000,
        senders: 1,
        rates: &[1.0, 2.0, 4.0, 6.0, 8.0, 10.0],
        defaults: false,
    },
];

/// The full bench (the workloads `opts` names).
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
    let m = 1e6;
    let mut sweeps = Vec::new();
    let mut rtts = Vec::new();
    let mut churns = Vec::new();
    let churn_config = churn::Config {
        receivers: 100,
        senders: 4,
        rate: 1.0 * m,
        churn_rate: 1000.0,
        runs: opts.runs,
        secs: opts.secs.max(1.5),
    };
    if [Workload::Fanout, Workload::Rtt, Workload::Churn]
        .into_iter()
        .any(|w| opts.wants(w))
    {
        let mut targets = start_targets(&mut lg, &opts.launch, &dialects, log)?;
        for shape in &FANOUT {
            if !opts.wants(Workload::Fanout) || (shape.receivers == 10_000 && !opts.r10k) {
                continue;
            }
            let config = fanout::Config {
                receivers: shape.receivers,
                senders: shape.senders,
                rates: shape.rates.iter().map(|x| x * m).collect(),
                runs: opts.runs,
                secs: opts.secs,
            };
            let mut sweep = fanout::run(&mut lg, &mut targets, &config, log).map_err(io)?;
            if shape.defaults {
                sweep_defaults(&mut lg, &opts.launch, &config, &mut sweep, log).map_err(io)?;
            }
            sweeps.push(sweep);
        }
        if opts.wants(Workload::Rtt) {
            rtts = rtt::run(&mut lg, &mut targets, 5000, opts.runs, log).map_err(io)?;
        }
        if opts.wants(Workload::Churn) {
            churns = churn::run(&mut lg, &mut targets, &churn_config, log).map_err(io)?;
        }
    }
    let irc = opts.wants(Workload::IrcFanout).then(|| {
        let shapes = &FANOUT[..2];
        let window = (opts.runs, opts.secs);
        irc_fanout::run(&mut lg, &opts.launch, shapes, opts.peers, window, log)
    });
    let kernel = opts
        .wants(Workload::KernelCost)
        .then(|| kernel_cost(&mut lg, opts, &dialects, log));
    let tls = opts
        .wants(Workload::TlsFanout)
        .then(|| beside(&mut lg, opts, Dialect::OursTls, R100_RATES.to_vec(), log));
    let web = opts
        .wants(Workload::WebFanout)
        .then(|| beside(&mut lg, opts, Dialect::OursWeb, R100_RATES.to_vec(), log));
    let cluster = opts.wants(Workload::ClusterFanout).then(|| {
        if crate::servers::installed(Dialect::OursCluster) {
            let mut rates = vec![0.25];
            rates.extend(R100_RATES);
            rates.extend(CLUSTER_EDGE_RATES);
            rates.sort_by(f64::total_cmp);
            beside(&mut lg, opts, Dialect::OursCluster, rates, log)
        } else {
            log("cluster-fanout skipped: redis-server is not installed");
            Err("redis-server is not installed (`apt-get install redis-server`)".into())
        }
    });
    let store = opts.wants(Workload::StoreFanout).then(|| {
        let dialects = [
            Dialect::OursMemory,
            Dialect::OursSqlite,
            Dialect::OursAlways,
        ];
        sweep_r100(&mut lg, opts, &dialects, R100_RATES.to_vec(), log)
    });
    let store_search = opts
        .wants(Workload::StoreSearch)
        .then(|| store_searched(&mut lg, opts, log));
    let conns = if opts.wants(Workload::Conns) {
        conns::run(&mut lg, &opts.launch, &dialects, opts.conns, opts.runs, log).map_err(io)?
    } else {
        Vec::new()
    };
    let history_joins = if opts.wants(Workload::HistoryJoin) {
        let config = history_join::Config {
            clients: HISTORY_JOINERS,
            histories: HISTORY_LINES.to_vec(),
            runs: opts.runs,
        };
        history_join::run(&mut lg, &opts.launch, &config, log).map_err(io)?
    } else {
        Vec::new()
    };
    let logins = match opts.wants(Workload::Logins) {
        true => logins::run(&mut lg, &opts.launch, &logins_config(opts.runs), log).map_err(io)?,
        false => Vec::new(),
    };
    let webhooks = match opts.wants(Workload::Webhooks) {
        true => {
            webhooks::run(&mut lg, &opts.launch, &webhooks_config(opts.runs), log).map_err(io)?
        }
        false => Vec::new(),
    };
    let failover = opts.wants(Workload::Failover).then(|| {
        let r = failover::run(&opts.launch, &failover::Config::full(opts.runs), log);
        r.inspect_err(|e| log(&format!("failover skipped: {e}")))
    });
    Ok(Results {
        machine: sys::machine(),
        failover,
        logins,
        webhooks,
        runs: opts.runs,
        secs: opts.secs,
        missing,
        sweeps,
        rtts,
        churn_config,
        churns,
        conns,
        history_joins,
        irc,
        tls,
        web,
        cluster,
        store,
        store_search,
        kernel,
        workloads: opts.workloads.clone(),
        elapsed: began.elapsed(),
    })
}

/// chat-server with its default configuration ([`Dialect::OursSqlite`]:
/// the SQLite store, batched, and the bench's settings every chat-server
/// gets) swept with `config` into `sweep`: on a server of its own, started
/// for this sweep and stopped after it, and swept alone, after the servers
/// of `sweep`. Its store thread indexes lines for `/search` in its quiet
/// moments; interleaved, those would be the other servers' windows on the
/// same CPU. A server that cannot start is skipped, with why.
fn sweep_defaults(
    lg: &mut Gen,
    launch: &Launch,
    config: &fanout::Config,
    sweep: &mut Sweep,
    log: &mut dyn FnMut(&str),
) -> std::io::Result<()> {
    let d = Dialect::OursSqlite;
    let mut targets = match start_targets(lg, launch, &[d], log) {
        Ok(t) => t,
        Err(why) => {
            log(&format!("{} skipped: {why}", d.key()));
            sweep.skipped.push((d, why));
            return Ok(());
        }
    };
    let defaults = fanout::run(lg, &mut targets, config, log)?;
    sweep.points.extend(defaults.points);
    sweep.skipped.extend(defaults.skipped);
    Ok(())
}

/// The logins workload of the full run: 100 at once, as the issue asks.
fn logins_config(runs: usize) -> logins::Config {
    logins::Config {
        slots: 100,
        secs: 5.0,
        runs,
    }
}

/// The webhooks workload of the full run: 1,000 posts/s (as the issue
/// asks) and as fast as answered, over 8 keep-alive connections.
fn webhooks_config(runs: usize) -> webhooks::Config {
    webhooks::Config {
        posters: 8,
        rates: vec![Some(1000.0), None],
        secs: 5.0,
        runs,
    }
}

/// Clients that join per history-join run.
const HISTORY_JOINERS: usize = 5000;
/// The histories a join replays in the history-join workload: none (the
/// plain join), `history_lines`' default, and the most a room keeps.
const HISTORY_LINES: [usize; 3] = [0, 50, 1000];

/// Offered deliveries/s at which the kernel's cost is measured, in
/// millions: below, near and past where ours and Redis stop (BENCHMARKS.md).
const KERNEL_RATES: [f64; 3] = [2.0, 4.0, 6.0];

/// The kernel-cost workload: `dialects` (ours and the installed peers) at
/// R = 100, S = 4 and [`KERNEL_RATES`], with `perf stat` on each server.
/// Without a working perf nothing runs and the reason is the result.
fn kernel_cost(
    lg: &mut Gen,
    opts: &Options,
    dialects: &[Dialect],
    log: &mut dyn FnMut(&str),
) -> Result<KernelCost, String> {
    if let Err(why) = crate::perf::available() {
        log(&format!("kernel-cost not measured: {why}"));
        return Err(why);
    }
    let mut targets = start_targets(lg, &opts.launch, dialects, log)?;
    let config = kernel::Config {
        receivers: 100,
        senders: 4,
        rates: KERNEL_RATES.iter().map(|x| x * 1e6).collect(),
        runs: opts.runs,
        // perf needs a few hundred ms to attach: count 1.5 s at least.
        secs: (opts.secs * 2.0).max(3.0),
    };
    kernel::run(lg, &mut targets, &config, log).map_err(|e| e.to_string())
}

/// Clients that search while the store's fan-out runs: as many as a
/// small abuse takes, from the bench's loopback addresses.
const SEARCHERS: usize = 20;
/// Lines said in the searchers' room before the sweep, so that each
/// search has many lines to match.
const PREFILL_LINES: usize = 100_000;

/// The store-search workload: chat-server with the SQLite store, batched
/// and "always", each alone and searched at every rate of the R = 100
/// sweep. Servers that cannot start are reported, not fatal.
fn store_searched(
    lg: &mut Gen,
    opts: &Options,
    log: &mut dyn FnMut(&str),
) -> Result<StoreSearch, String> {
    let dialects = [Dialect::OursSqlite, Dialect::OursAlways];
    let mut targets = start_targets(lg, &opts.launch, &dialects, log)?;
    let config = store_search::Config {
        receivers: 100,
        senders: 4,
        rates: R100_RATES.iter().map(|x| x * 1e6).collect(),
        runs: opts.runs,
        secs: opts.secs,
        searchers: SEARCHERS,
        prefill_lines: PREFILL_LINES,
    };
    store_search::run(lg, &mut targets, &config, log).map_err(|e| e.to_string())
}

/// An R = 100, S = 4 sweep of plain single-node chat-server and `other`
/// (its TLS, WebSocket or cluster variant), interleaved run by run. A variant that
/// cannot start is reported, not fatal.
fn beside(
    lg: &mut Gen,
    opts: &Options,
    other: Dialect,
    rates_m: Vec<f64>,
    log: &mut dyn FnMut(&str),
) -> Result<Sweep, String> {
    sweep_r100(lg, opts, &[Dialect::Ours, other], rates_m, log)
}

/// An R = 100, S = 4 sweep of `dialects`, interleaved run by run. One that
/// cannot start is reported, not fatal.
fn sweep_r100(
    lg: &mut Gen,
    opts: &Options,
    dialects: &[Dialect],
    rates_m: Vec<f64>,
    log: &mut dyn FnMut(&str),
) -> Result<Sweep, String> {
    let mut targets = match start_targets(lg, &opts.launch, dialects, log) {
        Ok(t) => t,
        Err(e) => {
            let keys: Vec<&str> = dialects.iter().map(|d| d.key()).collect();
            log(&format!("{} skipped: {e}", keys.join(" beside ")));
            return Err(e);
        }
    };
    let config = fanout::Config {
        receivers: 100,
        senders: 4,
        rates: rates_m.into_iter().map(|x| x * 1e6).collect(),
        runs: opts.runs,
        secs: opts.secs,
    };
    fanout::run(lg, &mut targets, &config, log).map_err(|e| e.to_string())
}

mod smoke;

pub use smoke::smoke;
