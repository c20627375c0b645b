//! Joining a room with history: a fresh chat-server with `history_lines =
//! K` (so a join replays K lines), K lines said in `lobby` by one sender,
//! then N clients connected (at most 256 waiting for their welcome at
//! once), each sent the welcome and the K lines on joining. Measured: the
//! connect-and-welcome rate, and the lines each client got, which must
//! hold the history. K = 0 runs beside it as the same join with nothing to
//! replay.

use std::io;
use std::time::Duration;

use crate::dialect::Dialect;
use crate::loadgen::{Gen, Role};
use crate::servers::{Launch, Server};
use crate::stats::{Spread, spread};
use crate::workloads::connect_many;

/// What a history-join run does.
#[derive(Debug, Clone)]
pub struct Config {
    /// Clients that join per run.
    pub clients: usize,
    /// Lines of history in the room (and `history_lines`), one figure each.
    pub histories: Vec<usize>,
    pub runs: usize,
}

/// One run: a fresh server, its room filled, the clients joined.
#[derive(Debug, Clone, Default)]
pub struct JoinRun {
    /// Clients that got their welcome.
    pub clients: usize,
    /// Clients welcomed per second.
    pub rate: f64,
    /// Lines each client got, welcome and history and notices, on average.
    pub lines_per_client: f64,
    /// Whether the server still ran at the end.
    pub survived: bool,
}

/// The runs with one history length.
#[derive(Debug, Clone)]
pub struct HistoryJoin {
    /// Lines of history each join replays.
    pub lines: usize,
    pub target: usize,
    pub runs: Vec<JoinRun>,
}

impl HistoryJoin {
    pub fn rate(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.rate))
    }
    pub fn clients(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.clients as f64))
    }
    pub fn lines_per_client(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.lines_per_client))
    }
}

/// A line said to fill the room: about as long as a fan-out payload.
const FILL_LINE: &[u8] = b"history to replay: a line of chat about sixty-four bytes long\n";

/// Runs each history length `config.runs` times, interleaved run by run so
/// that a drift of the machine falls on every length alike.
pub fn run(
    lg: &mut Gen,
    launch: &Launch,
    config: &Config,
    log: &mut dyn FnMut(&str),
) -> io::Result<Vec<HistoryJoin>> {
    let mut out: Vec<HistoryJoin> = (config.histories.iter())
        .map(|&lines| HistoryJoin {
            lines,
            target: config.clients,
            runs: Vec::new(),
        })
        .collect();
    for _ in 0..config.runs {
        for joins in &mut out {
            match one(lg, launch, joins.lines, config.clients, log)? {
                Some(run) => joins.runs.push(run),
                None => return Ok(out),
            }
        }
    }
    Ok(out)
}

/// One run with `history` lines in the room; `None`: the server did not
/// start (logged).
fn one(
    lg: &mut Gen,
    launch: &Launch,
    history: usize,
    clients: usize,
    log: &mut dyn FnMut(&str),
) -> io::Result<Option<JoinRun>> {
    // history_lines = 0 keeps none: the plain join, nothing replayed.
    let settings = format!("history_lines = {history}\n");
    let mut server = match Server::start_ours_with(launch, &settings) {
        Ok(s) => s,
        Err(e) => {
            log(&format!("history-join: {e}"));
            return Ok(None);
        }
    };
    let group = lg.add_group(Dialect::Ours, server.addr)?;
    let timeout = Duration::from_secs(10);
    if history > 0 {
        let sender = lg.connect(group, Role::Sender)?;
        if !lg.wait_ready(group, 1, timeout)? {
            return Err(io::Error::other("history-join: the sender got no welcome"));
        }
        lg.send_lines(sender, &FILL_LINE.repeat(history))?;
    }
    lg.settle(&[group], Duration::from_millis(200), Duration::from_secs(5))?;
    let lines_before = lg.groups[group].idle_lines;
    let (ready, took) = connect_many(
        lg,
        group,
        Role::Idle,
        clients,
        Dialect::Ours.connect_burst(),
        Duration::from_secs(60),
    )?;
    lg.settle(
        &[group],
        Duration::from_millis(300),
        Duration::from_secs(10),
    )?;
    let lines = lg.groups[group].idle_lines - lines_before;
    let run = JoinRun {
        clients: ready,
        rate: ready as f64 / took.as_secs_f64(),
        lines_per_client: lines as f64 / ready.max(1) as f64,
        survived: server.running(),
    };
    log(&format!(
        "history-join {history:>5} lines: {} of {clients} clients, {:.0}/s, {:.1} lines each",
        run.clients, run.rate, run.lines_per_client
    ));
    lg.teardown(group);
    drop(server);
    lg.settle(&[], Duration::from_millis(100), Duration::from_millis(300))?;
    Ok(Some(run))
}

/// Failures of the smoke's history-join runs: a length not run, a client
/// not welcomed, the server gone, or a client sent fewer lines than its
/// history.
pub fn smoke_failures(joins: &[HistoryJoin], config: &Config) -> Vec<String> {
    let mut failures = Vec::new();
    if joins.len() != config.histories.len() {
        failures.push(format!(
            "history-join: {} history lengths run, not {}",
            joins.len(),
            config.histories.len()
        ));
    }
    for j in joins {
        let good = |r: &JoinRun| {
            r.clients == j.target && r.survived && r.lines_per_client >= j.lines as f64 + 1.0
        };
        if j.runs.len() != config.runs || !j.runs.iter().all(good) {
            failures.push(format!(
                "history-join {} lines: {:?} (each of {} clients welcomed and sent the history)",
                j.lines, j.runs, j.target
            ));
        }
    }
    failures
}
