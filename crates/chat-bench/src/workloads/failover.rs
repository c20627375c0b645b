//! A Redis Sentinel failover under a flood: two chat-server nodes (A and
//! B) find their Redis through three sentinels (`workloads/sentinel.rs`);
//! senders on both nodes flood `lobby` at a fixed total rate, each line
//! carrying its sender and a sequence number, and receivers on both nodes
//! record what arrives. Mid-flood the master is lost ([`Fault`]): killed
//! with SIGKILL, or frozen with `DEBUG SLEEP` so the sentinels promote the
//! replica while it still holds the nodes' connections.
//!
//! Measured from the fault: when the sentinels name the replica and it
//! says it is the master (promoted); when both nodes are back (both
//! subscribed on the new master, both `/health` 200); the first line sent after the fault
//! that reached a receiver on the other node (first cross-node); and when
//! the last line sent with no master (between the fault and the
//! promotion) reached its last receiver (caught up). Counted over every
//! receiver, by [`Phases`]s of their sending: lines lost (sent, never
//! received), duplicated, and out of order in their sender's sequence.
//! Every wait is bounded; every process dies with its handle.

mod flood;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::servers::{Launch, OUR_CONFIG, Server};
use crate::stats::{Spread, spread};
use crate::sys;
use crate::workloads::sentinel::{self, SentinelGroup, http_status, local};
use flood::{Flood, Seen, Sent};

/// How the master is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `kill -9`.
    Killed,
    /// Frozen for [`FREEZE`] by `DEBUG SLEEP`: promoted past, it wakes up
    /// with the nodes' writes of the meantime and becomes a replica.
    Frozen,
}

/// How long a frozen master sleeps.
pub const FREEZE: Duration = Duration::from_secs(8);

/// The channel every node subscribes to on the master.
const ROOMS: &str = "chat:rooms";

/// How long anything in a run may take: the promotion, `/health`, the
/// drain.
const WAIT: Duration = Duration::from_secs(30);

impl Fault {
    /// Its name in the report.
    pub fn key(self) -> &'static str {
        match self {
            Fault::Killed => "killed",
            Fault::Frozen => "frozen",
        }
    }
}

/// What a failover run does.
#[derive(Debug, Clone)]
pub struct Config {
    /// Senders on each node.
    pub senders: usize,
    /// Receivers on each node.
    pub receivers: usize,
    /// Lines per second, all senders together.
    pub rate: f64,
    /// Flood before the fault.
    pub before: Duration,
    /// Flood after both nodes are back.
    pub after: Duration,
    pub faults: Vec<Fault>,
    pub runs: usize,
}

impl Config {
    /// The full run's: 2,000 lines/s from two senders on each node to two
    /// receivers on each (and the other senders), both faults.
    pub fn full(runs: usize) -> Config {
        Config {
            senders: 2,
            receivers: 2,
            rate: 2000.0,
            before: Duration::from_secs(2),
            after: Duration::from_secs(3),
            faults: vec![Fault::Killed, Fault::Frozen],
            runs,
        }
    }
}

/// One failover; times in milliseconds from the fault (NaN: never).
#[derive(Debug, Clone, Copy, Default)]
pub struct FailoverRun {
    pub promoted_ms: f64,
    /// Both nodes subscribed on the new master and `/health` 200.
    pub healthy_ms: f64,
    pub first_cross_ms: f64,
    pub caught_up_ms: f64,
    /// Whether each node's `/health` said 503 after the fault.
    pub red: [bool; 2],
    pub sent: u64,
    /// Lines a receiver never got (a line missed by two receivers counts
    /// twice), by [`Phases`] of their sending.
    pub lost: Phases,
    /// When the first and the last lost line were sent, in ms from the
    /// fault (NaN: none lost).
    pub lost_sent_ms: [f64; 2],
    /// Lost lines whose sender and receiver were on the same node, and on
    /// different nodes.
    pub lost_same_cross: [u64; 2],
    /// Lines a receiver got again, by phase.
    pub duplicated: Phases,
    /// Lines a receiver got after a later one of their sender, by phase.
    pub reordered: Phases,
}

/// Counts by when the line was sent: before the fault; with no master
/// (until the promotion); promoted but a node not yet back;
/// after.
pub type Phases = [u64; 4];

/// The phases' names, in the report.
pub const PHASES: [&str; 4] = ["before", "no master", "promoted", "after"];

/// `counts` as `N (before B, no master M, …)`, the zero phases left out.
pub fn show_phases(counts: Phases) -> String {
    let total: u64 = counts.iter().sum();
    let parts: Vec<String> = (PHASES.iter().zip(counts))
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    match parts.is_empty() {
        true => total.to_string(),
        false => format!("{total} ({})", parts.join(", ")),
    }
}

/// The runs of one fault.
#[derive(Debug, Clone)]
pub struct Failover {
    pub fault: Fault,
    pub config: Config,
    pub runs: Vec<FailoverRun>,
}

impl Failover {
    pub fn promoted(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.promoted_ms))
    }
    pub fn healthy(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.healthy_ms))
    }
    pub fn first_cross(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.first_cross_ms))
    }
    pub fn caught_up(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.caught_up_ms))
    }
    pub fn sent(&self) -> u64 {
        self.runs.iter().map(|r| r.sent).sum()
    }
    pub fn lost(&self) -> Phases {
        self.sum(|r| r.lost)
    }
    pub fn duplicated(&self) -> Phases {
        self.sum(|r| r.duplicated)
    }
    pub fn reordered(&self) -> Phases {
        self.sum(|r| r.reordered)
    }
    /// A row's figures, each with its name in the terminal's table (the
    /// markdown table's header names them too).
    pub fn figures(&self) -> [(&'static str, String); 8] {
        [
            ("promoted", self.promoted().show(0)),
            ("both nodes back", self.healthy().show(0)),
            ("first cross-node line", self.first_cross().show(0)),
            ("no-master lines all in", self.caught_up().show(0)),
            ("sent", self.sent().to_string()),
            ("lost", show_phases(self.lost())),
            ("duplicated", show_phases(self.duplicated())),
            ("out of order", show_phases(self.reordered())),
        ]
    }
    fn sum(&self, of: impl Fn(&FailoverRun) -> Phases) -> Phases {
        let mut all = [0; 4];
        for r in &self.runs {
            for (a, x) in all.iter_mut().zip(of(r)) {
                *a += x;
            }
        }
        all
    }
}

/// Runs each fault `config.runs` times, interleaved, each run on a fresh
/// group and fresh nodes. A run that cannot start or recover is logged and
/// left out; none installed is an `Err`.
pub fn run(
    launch: &Launch,
    config: &Config,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<Failover>, String> {
    sentinel::installed()?;
    let mut out: Vec<Failover> = (config.faults.iter())
        .map(|&fault| Failover {
            fault,
            config: config.clone(),
            runs: Vec::new(),
        })
        .collect();
    for i in 0..config.runs {
        for f in &mut out {
            match run_once(launch, config, f.fault, i) {
                Ok(r) => {
                    log(&format!(
                        "failover ({}) run {i}: promoted {:.0} ms, both nodes back {:.0} ms (503 seen {:?}), first cross-node line {:.0} ms, lines sent with no master all in {:.0} ms; {} sent, lost {} (same node/cross {:?}, sent {:.0} to {:.0} ms), duplicated {}, out of order {}",
                        f.fault.key(),
                        r.promoted_ms,
                        r.healthy_ms,
                        r.red,
                        r.first_cross_ms,
                        r.caught_up_ms,
                        r.sent,
                        show_phases(r.lost),
                        r.lost_same_cross,
                        r.lost_sent_ms[0],
                        r.lost_sent_ms[1],
                        show_phases(r.duplicated),
                        show_phases(r.reordered)
                    ));
                    f.runs.push(r);
                }
                Err(e) => log(&format!("failover ({}) run {i} failed: {e}", f.fault.key())),
            }
        }
    }
    Ok(out)
}

/// A node's server.toml: the bench's, on the sentinels, with metrics.
fn node_config(sentinels: &[String], name: &str, metrics: u16) -> String {
    let list: Vec<String> = sentinels.iter().map(|s| format!("\"{s}\"")).collect();
    format!(
        "{OUR_CONFIG}\n[cluster]\nsentinels = [{}]\nmaster_name = \"{}\"\nnode_name = \"{name}\"\n\n\
         [metrics]\nlisten = \"127.0.0.1:{metrics}\"\n",
        list.join(", "),
        sentinel::MASTER_NAME
    )
}

/// Polls `done` every 10 ms until it holds; `Err(what)` after [`WAIT`].
fn until(what: &str, mut done: impl FnMut() -> bool) -> Result<Instant, String> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > WAIT {
            return Err(format!("never within {WAIT:?}: {what}"));
        }
        thread::sleep(Duration::from_millis(10));
    }
    Ok(Instant::now())
}

fn run_once(
    launch: &Launch,
    config: &Config,
    fault: Fault,
    i: usize,
) -> Result<FailoverRun, String> {
    let mut group = SentinelGroup::start(launch, &format!("failover-{}-{i}", fault.key()))?;
    measure(launch, config, fault, &mut group)
        .map_err(|e| format!("{e}; the sentinels' events: {}", group.events()))
}

/// One run on a started `group`.
fn measure(
    launch: &Launch,
    config: &Config,
    fault: Fault,
    group: &mut SentinelGroup,
) -> Result<FailoverRun, String> {
    let sentinels = group.addresses();
    let metrics = [
        sys::free_port().map_err(|e| e.to_string())?,
        sys::free_port().map_err(|e| e.to_string())?,
    ];
    let mut nodes = Vec::new();
    for (name, port) in ["a", "b"].into_iter().zip(metrics) {
        let text = node_config(&sentinels, name, port);
        nodes.push(Server::start_ours_custom(
            launch,
            &format!("failover-{name}"),
            &text,
            false,
        )?);
    }
    let health = |n: usize| http_status(local(metrics[n]), "/health");
    until("both nodes' /health 200", || {
        health(0) == 200 && health(1) == 200
    })?;
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let flood = Flood::start(&addrs, config.senders, config.receivers, config.rate)?;
    until("every receiver hears every sender", || flood.all_heard())?;
    thread::sleep(config.before);

    let old = group.master_port().ok_or("the sentinels name no master")?;
    let fault_at = Instant::now();
    match fault {
        Fault::Killed => group.kill(old),
        Fault::Frozen => {
            let secs = FREEZE.as_secs().to_string();
            // The reply comes after the sleep: the thread's read times out.
            thread::spawn(move || sentinel::query(local(old), &["DEBUG", "SLEEP", &secs]));
        }
    }
    let mut red = [false, false];
    let watch = |red: &mut [bool; 2]| {
        let now = [health(0), health(1)];
        for (seen, status) in red.iter_mut().zip(now) {
            *seen |= status == 503;
        }
        now == [200, 200]
    };
    let mut new = None;
    let promoted = until("a promotion", || {
        watch(&mut red);
        new = group.master_port().filter(|&p| p != old);
        new.is_some_and(SentinelGroup::is_master)
    })?;
    let new = local(new.unwrap_or_default());
    // Back: both nodes subscribed on the new master, both healthy.
    let both = vec![ROOMS.to_owned(), "2".to_owned()];
    let healthy = until("both nodes on the new master, /health 200", || {
        let on_new = sentinel::query(new, &["PUBSUB", "NUMSUB", ROOMS]);
        watch(&mut red) && on_new.is_ok_and(|n| n == both)
    })?;
    let mut end = healthy + config.after;
    if fault == Fault::Frozen {
        // Past the old master's waking up, and its becoming a replica.
        end = end.max(fault_at + FREEZE + config.after);
    }
    thread::sleep(end.saturating_duration_since(Instant::now()));
    let gone = if fault == Fault::Killed {
        vec![old]
    } else {
        Vec::new()
    };
    let survived = group.running(&gone) && nodes.iter_mut().all(Server::running);
    let (sends, seen) = flood.stop()?;
    if !survived {
        return Err("a node, a redis-server or a sentinel died".into());
    }
    Ok(tally(&sends, &seen, fault_at, promoted, healthy, red))
}

/// The figures of a run from what was sent and seen.
fn tally(
    sends: &[Sent],
    seen: &[Seen],
    fault_at: Instant,
    promoted: Instant,
    healthy: Instant,
    red: [bool; 2],
) -> FailoverRun {
    let ms = |t: Instant| t.saturating_duration_since(fault_at).as_secs_f64() * 1e3;
    let phase = |left: Instant| match left {
        t if t < fault_at => 0,
        t if t < promoted => 1,
        t if t < healthy => 2,
        _ => 3,
    };
    let phase_of = |(id, seq): (usize, usize)| {
        let left = sends.get(id).and_then(|s| s.at.get(seq));
        left.map_or(3, |&t| phase(t))
    };
    let mut run = FailoverRun {
        promoted_ms: ms(promoted),
        healthy_ms: ms(healthy),
        red,
        sent: sends.iter().map(|s| s.at.len() as u64).sum(),
        ..FailoverRun::default()
    };
    let signed_ms = |t: Instant| match t.checked_duration_since(fault_at) {
        Some(d) => d.as_secs_f64() * 1e3,
        None => -(fault_at - t).as_secs_f64() * 1e3,
    };
    let mut lost_sent = [f64::INFINITY, f64::NEG_INFINITY];
    let mut first_cross: Option<Instant> = None;
    let mut caught_up: Option<Instant> = None;
    for r in seen {
        for &line in &r.duplicated {
            run.duplicated[phase_of(line)] += 1;
        }
        for &line in &r.reordered {
            run.reordered[phase_of(line)] += 1;
        }
        for (id, sent) in sends.iter().enumerate() {
            let arrived = r.first.get(id).map_or(&[][..], Vec::as_slice);
            for (seq, &left) in sent.at.iter().enumerate() {
                let phase = phase(left);
                let Some(at) = arrived.get(seq).copied().flatten() else {
                    run.lost[phase] += 1;
                    run.lost_same_cross[usize::from(sent.node != r.node)] += 1;
                    lost_sent[0] = lost_sent[0].min(signed_ms(left));
                    lost_sent[1] = lost_sent[1].max(signed_ms(left));
                    continue;
                };
                if phase > 0 && sent.node != r.node && first_cross.is_none_or(|f| at < f) {
                    first_cross = Some(at);
                }
                if phase == 1 && caught_up.is_none_or(|c| at > c) {
                    caught_up = Some(at);
                }
            }
        }
    }
    run.first_cross_ms = first_cross.map_or(f64::NAN, ms);
    run.caught_up_ms = caught_up.map_or(f64::NAN, ms);
    run.lost_sent_ms = match lost_sent[0].is_finite() {
        true => lost_sent,
        false => [f64::NAN; 2],
    };
    run
}

/// The smoke: with `--smoke --only failover` (`asked`), one short run of
/// the killed master, its failures returned; otherwise a line saying it
/// was left out. Without redis-sentinel, a line saying so.
pub fn smoke(launch: &Launch, asked: bool, log: &mut dyn FnMut(&str)) -> Vec<String> {
    if !asked {
        log(
            "failover not smoked: a Sentinel failover takes ~15 s; `--smoke --only failover` runs one",
        );
        return Vec::new();
    }
    let config = Config {
        rate: 500.0,
        before: Duration::from_secs(1),
        after: Duration::from_secs(1),
        faults: vec![Fault::Killed],
        runs: 1,
        ..Config::full(1)
    };
    match run(launch, &config, log) {
        Ok(all) => smoke_failures(&all, &config),
        Err(e) => {
            log(&format!("failover smoke skipped: {e}"));
            Vec::new()
        }
    }
}

/// Failures of a smoke run: a run missing, a line lost, or no line across
/// nodes after the fault. Duplicates are logged and reported, not failed:
/// the target the issue sets is lines lost.
pub fn smoke_failures(all: &[Failover], config: &Config) -> Vec<String> {
    let mut failures = Vec::new();
    for f in all {
        let good = |r: &FailoverRun| r.lost == [0; 4] && r.sent > 0 && r.first_cross_ms.is_finite();
        if f.runs.len() != config.runs || !f.runs.iter().all(good) {
            failures.push(format!("failover ({}): {:?}", f.fault.key(), f.runs));
        }
    }
    if all.len() != config.faults.len() {
        failures.push(format!(
            "failover: {} faults run, not {}",
            all.len(),
            config.faults.len()
        ));
    }
    failures
}

impl Failover {
    /// As results.json has it.
    pub fn json(&self) -> Value {
        let f = self;
        let c = &f.config;
        json!({
            "fault": f.fault.key(), "lines_per_s": c.rate,
            "senders_per_node": c.senders, "receivers_per_node": c.receivers,
            "promoted_ms": f.promoted().json(), "back_ms": f.healthy().json(),
            "first_cross_node_line_ms": f.first_cross().json(),
            "no_master_lines_all_in_ms": f.caught_up().json(),
            "each_run": f.runs.iter().map(|r| json!({
                "promoted_ms": r.promoted_ms, "back_ms": r.healthy_ms, "red_seen": r.red,
                "first_cross_node_line_ms": r.first_cross_ms, "sent": r.sent,
                "lost": r.lost, "lost_same_node_cross_node": r.lost_same_cross,
                "lost_sent_from_to_ms": r.lost_sent_ms.map(|x| if x.is_finite() { json!(x) } else { Value::Null }),
                "duplicated": r.duplicated, "out_of_order": r.reordered,
            })).collect::<Vec<_>>(),
            "phases": PHASES, "sent": f.sent(), "lost": f.lost(),
            "duplicated": f.duplicated(), "out_of_order": f.reordered(), "runs": f.runs.len(),
        })
    }
}

/// The table's rows on stdout.
pub fn table_rows(t: &mut String, failover: &Option<Result<Vec<Failover>, String>>) {
    match failover {
        None => {}
        Some(Err(why)) => {
            let _ = writeln!(
                t,
                "
failover: skipped: {why}"
            );
        }
        Some(Ok(all)) => {
            let _ = writeln!(
                t,
                "
failover (ms from the fault; median (min–max))"
            );
            for f in all {
                let figures = f.figures().map(|(name, value)| format!("{name} {value}"));
                let _ = writeln!(t, "master {:<6} {}", f.fault.key(), figures.join("  "));
            }
        }
    }
}
