//! Logins beside chat: a fresh chat-server with accounts (the SQLite
//! history file keeps them), one account per login client, registered over
//! the wire at setup (`/nick`, `/register`, `/token`). Then, for a window,
//! `slots` clients each cycle connect → `/login NAME PASSWORD` → wait for
//! `you are logged in` → `/quit`, while a chatting pair measures the chat
//! round trip (`workloads/beside.rs`); the same pair's round trip alone
//! comes first. Measured: logins per second, the login's latency (from
//! `/login` sent to its answer) and chat p50/p99 with and without the
//! storm. The same with `/resume NAME TOKEN` (a login token, no argon2)
//! runs beside it for contrast.
//!
//! Each client connects from its own loopback address ([`beside::source`]):
//! the server caps logins in flight per address, as a guard against
//! password guessing, and 100 people logging in come from 100 addresses.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::servers::{Launch, OUR_CONFIG, Server};
use crate::stats::{Spread, spread};
use crate::workloads::beside::{self, LineClient, Pings};

/// What a logins run does.
#[derive(Debug, Clone)]
pub struct Config {
    /// Clients logging in at once (each with its own account).
    pub slots: usize,
    /// Seconds of each window (chat alone, then with the storm).
    pub secs: f64,
    pub runs: usize,
}

/// How the clients log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `/login NAME PASSWORD`: argon2 on the account thread.
    Password,
    /// `/resume NAME TOKEN`: a login token, no argon2.
    Token,
}

impl Mode {
    pub fn key(self) -> &'static str {
        match self {
            Mode::Password => "password",
            Mode::Token => "token",
        }
    }
}

/// One window of logins beside chat.
#[derive(Debug, Clone, Copy)]
pub struct LoginRun {
    pub logins: u64,
    pub failed: u64,
    pub per_s: f64,
    /// Latency of a login, ms.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub chat_alone: Pings,
    pub chat_beside: Pings,
}

/// The runs of one mode.
#[derive(Debug, Clone)]
pub struct Logins {
    pub mode: Mode,
    pub slots: usize,
    pub runs: Vec<LoginRun>,
}

impl Logins {
    pub fn per_s(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.per_s))
    }
    pub fn p50_ms(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.p50_ms))
    }
    pub fn p99_ms(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.p99_ms))
    }
    pub fn chat_alone_p99(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.chat_alone.p99_us))
    }
    pub fn chat_beside_p99(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.chat_beside.p99_us))
    }
    pub fn failed(&self) -> u64 {
        self.runs.iter().map(|r| r.failed).sum()
    }
}

const PASSWORD: &str = "bench-password-not-secret";

/// An account's name and its login token.
#[derive(Debug, Clone)]
struct Account {
    name: String,
    token: String,
}

/// Runs both modes `config.runs` times on one server, interleaved run by run.
pub fn run(
    lg: &mut crate::loadgen::Gen,
    launch: &Launch,
    config: &Config,
    log: &mut dyn FnMut(&str),
) -> io::Result<Vec<Logins>> {
    let settings = OUR_CONFIG.replace(
        "history_store = \"memory\"",
        "history_store = \"sqlite\"\nhistory_path = \"logins.sqlite3\"\n\n[accounts]\nmax_connections_per_account = 4",
    );
    let mut server = match Server::start_ours_custom(launch, "logins", &settings, false) {
        Ok(s) => s,
        Err(e) => {
            log(&format!("logins: {e}"));
            return Ok(Vec::new());
        }
    };
    let began = Instant::now();
    let accounts = register(server.addr, config.slots)?;
    log(&format!(
        "logins: {} accounts registered in {:.1} s",
        accounts.len(),
        began.elapsed().as_secs_f64()
    ));
    let pair = beside::chat_pair(lg, server.addr)?;
    let window = Duration::from_secs_f64(config.secs);
    let max_pings = (config.secs / beside::PING_EVERY.as_secs_f64()) as u64 + 1;
    let mut out: Vec<Logins> = [Mode::Password, Mode::Token]
        .into_iter()
        .map(|mode| Logins {
            mode,
            slots: config.slots,
            runs: Vec::new(),
        })
        .collect();
    for _ in 0..config.runs {
        for logins in &mut out {
            let chat_alone = beside::ping_for(lg, pair, window, max_pings)?;
            let storm = Storm::start(server.addr, &accounts, logins.mode);
            let chat_beside = beside::ping_for(lg, pair, window, max_pings)?;
            let (done, failed, hist, took) = storm.stop()?;
            let run = LoginRun {
                logins: done,
                failed,
                per_s: done as f64 / took.as_secs_f64(),
                p50_ms: crate::workloads::ms(&hist, 0.5),
                p99_ms: crate::workloads::ms(&hist, 0.99),
                chat_alone,
                chat_beside,
            };
            log(&format!(
                "logins {:<8} {} at once: {:.0}/s ({} failed), login p50 {:.1} ms p99 {:.1} ms; chat p99 {:.0} µs alone, {:.0} µs beside",
                logins.mode.key(),
                config.slots,
                run.per_s,
                run.failed,
                run.p50_ms,
                run.p99_ms,
                chat_alone.p99_us,
                chat_beside.p99_us
            ));
            logins.runs.push(run);
        }
    }
    if !server.running() {
        log("logins: the server did not survive");
    }
    lg.teardown(pair.group);
    Ok(out)
}

/// Registers `n` accounts, each from its own address, at once; each also
/// asks for a login token.
fn register(addr: SocketAddr, n: usize) -> io::Result<Vec<Account>> {
    let handles: Vec<_> = (0..n)
        .map(|i| {
            thread::spawn(move || -> io::Result<Account> {
                let name = format!("bench{i}");
                let mut c = LineClient::connect(addr, beside::source(i))?;
                c.send(&format!("/nick {name}"))?;
                c.wait_for(&format!("is now known as {name}"))?;
                c.send(&format!("/register {PASSWORD}"))?;
                c.wait_for("you are logged in as")?;
                c.send("/token")?;
                let line = c.wait_for("login token: ")?;
                let token = (line.split("login token: ").nth(1))
                    .and_then(|rest| rest.split(' ').next())
                    .unwrap_or_default()
                    .to_owned();
                c.send("/quit")?;
                Ok(Account { name, token })
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(io::Error::other("a registration panicked")))
        })
        .collect()
}

/// The login clients, one thread each, cycling until stopped.
struct Storm {
    stop: Arc<AtomicBool>,
    began: Instant,
    threads: Vec<thread::JoinHandle<io::Result<Tally>>>,
}

/// One client's logins: done, failed, and their latencies in ns.
struct Tally {
    done: u64,
    failed: u64,
    hist: Histogram<u64>,
}

impl Storm {
    fn start(addr: SocketAddr, accounts: &[Account], mode: Mode) -> Storm {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (accounts.iter().enumerate())
            .map(|(i, account)| {
                let (stop, account) = (Arc::clone(&stop), account.clone());
                let asked = match mode {
                    Mode::Password => format!("/login {} {PASSWORD}", account.name),
                    Mode::Token => format!("/resume {} {}", account.name, account.token),
                };
                thread::spawn(move || cycle(addr, beside::source(i), &asked, &stop))
            })
            .collect();
        Storm {
            stop,
            began: Instant::now(),
            threads,
        }
    }

    /// Stops the clients after their current login: logins done, failed,
    /// their latencies (ns) and how long they ran.
    fn stop(self) -> io::Result<(u64, u64, Histogram<u64>, Duration)> {
        self.stop.store(true, Ordering::Relaxed);
        let took = self.began.elapsed();
        let mut hist = new_hist()?;
        let (mut done, mut failed) = (0, 0);
        for t in self.threads {
            match t.join() {
                Ok(Ok(tally)) => {
                    done += tally.done;
                    failed += tally.failed;
                    let _ = hist.add(&tally.hist);
                }
                Ok(Err(_)) | Err(_) => failed += 1,
            }
        }
        Ok((done, failed, hist, took))
    }
}

/// Login latencies, 1 ns to a minute.
fn new_hist() -> io::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| io::Error::other(e.to_string()))
}

/// One client's cycles: connect, log in with `asked`, quit.
fn cycle(
    addr: SocketAddr,
    from: std::net::IpAddr,
    asked: &str,
    stop: &AtomicBool,
) -> io::Result<Tally> {
    let mut hist = new_hist()?;
    let (mut done, mut failed) = (0, 0);
    while !stop.load(Ordering::Relaxed) {
        let once = || -> io::Result<Duration> {
            let mut c = LineClient::connect(addr, from)?;
            let sent = Instant::now();
            c.send(asked)?;
            c.wait_for("you are logged in as")?;
            let took = sent.elapsed();
            c.send("/quit")?;
            Ok(took)
        };
        match once() {
            Ok(took) => {
                done += 1;
                hist.saturating_record(took.as_nanos() as u64);
            }
            Err(_) => failed += 1,
        }
    }
    Ok(Tally { done, failed, hist })
}

/// Failures of a smoke run: a mode not run, a login failed or none done,
/// a ping lost.
pub fn smoke_failures(all: &[Logins], config: &Config) -> Vec<String> {
    let mut failures = Vec::new();
    if all.len() != 2 {
        failures.push(format!("logins: {} modes run, not 2", all.len()));
    }
    for l in all {
        let good = |r: &LoginRun| {
            r.failed == 0
                && r.logins > 0
                && r.chat_alone.lost == 0
                && r.chat_beside.lost == 0
                && r.chat_beside.sent > 0
        };
        if l.runs.len() != config.runs || !l.runs.iter().all(good) {
            failures.push(format!("logins {}: {:?}", l.mode.key(), l.runs));
        }
    }
    failures
}
