//! Webhook posts beside chat: a fresh chat-server with a line listener, a
//! web listener and one hook into `lobby`. For a window, `posters`
//! keep-alive connections post Slack-shaped JSON to `POST /hooks/TOKEN`,
//! together at a fixed rate or each as fast as its answers come, while a
//! chatting pair in the same room (so it gets every post too) measures the
//! chat round trip (`workloads/beside.rs`); the pair's round trip alone
//! comes first. Measured: posts answered `200` per second, `429`s, other
//! answers, reconnects (a connection is closed after
//! `MAX_REQUESTS_PER_CONN` answers), and chat p50/p99 with and without the
//! posts.
//!
//! The hook's rate limit (`webhook_rate`/`webhook_burst`, top-level keys)
//! is set far above any rate the bench offers, so the figure is the
//! server's cost, not the limit's; a real hook keeps the default (5/s).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::servers::{Launch, OUR_CONFIG, Server};
use crate::stats::{Spread, spread};
use crate::workloads::beside::{self, Pings};

/// The bench hook's token.
const TOKEN: &str = "bench-hook-0123456789abcdef";

/// What a webhooks run does.
#[derive(Debug, Clone)]
pub struct Config {
    /// Keep-alive connections posting.
    pub posters: usize,
    /// Offered posts per second, together; `None`: as fast as answered.
    pub rates: Vec<Option<f64>>,
    /// Seconds of each window (chat alone, then beside the posts).
    pub secs: f64,
    pub runs: usize,
}

/// One window of posts beside chat.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostRun {
    /// Answered 200 per second.
    pub accepted_per_s: f64,
    pub accepted: u64,
    pub limited: u64,
    /// Other answers and failed requests.
    pub other: u64,
    pub reconnects: u64,
    pub chat_alone: Pings,
    pub chat_beside: Pings,
}

/// The runs at one offered rate.
#[derive(Debug, Clone)]
pub struct Posts {
    pub rate: Option<f64>,
    pub posters: usize,
    pub runs: Vec<PostRun>,
}

impl Posts {
    pub fn accepted_per_s(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.accepted_per_s))
    }
    pub fn chat_alone_p99(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.chat_alone.p99_us))
    }
    pub fn chat_beside_p99(&self) -> Spread {
        spread(self.runs.iter().map(|r| r.chat_beside.p99_us))
    }
    pub fn limited(&self) -> u64 {
        self.runs.iter().map(|r| r.limited).sum()
    }
    pub fn other(&self) -> u64 {
        self.runs.iter().map(|r| r.other).sum()
    }
    /// The rate as the report names it.
    pub fn rate_name(&self) -> String {
        self.rate
            .map_or_else(|| "max".to_owned(), |r| format!("{r:.0}/s"))
    }
}

/// The bench's server.toml with a web listener and the hook.
fn config() -> String {
    let base = OUR_CONFIG.replace(
        "listen = [\"127.0.0.1:0\"]",
        "listen = [\"127.0.0.1:0\", { addr = \"127.0.0.1:0\", web = true }]\n\
         webhook_rate = 1000000.0\nwebhook_burst = 1000000",
    );
    format!("{base}\n[[webhooks]]\nname = \"bench\"\nroom = \"lobby\"\ntoken = \"{TOKEN}\"\n")
}

/// Runs every rate `config.runs` times on one server, interleaved.
pub fn run(
    lg: &mut crate::loadgen::Gen,
    launch: &Launch,
    config: &Config,
    log: &mut dyn FnMut(&str),
) -> io::Result<Vec<Posts>> {
    let mut server = match Server::start_ours_custom(launch, "webhooks", &self::config(), true) {
        Ok(s) => s,
        Err(e) => {
            log(&format!("webhooks: {e}"));
            return Ok(Vec::new());
        }
    };
    let Some(web) = server.web_addr else {
        log("webhooks: the server has no web listener");
        return Ok(Vec::new());
    };
    let pair = beside::chat_pair(lg, server.addr)?;
    let window = Duration::from_secs_f64(config.secs);
    let max_pings = (config.secs / beside::PING_EVERY.as_secs_f64()) as u64 + 1;
    let mut out: Vec<Posts> = (config.rates.iter())
        .map(|&rate| Posts {
            rate,
            posters: config.posters,
            runs: Vec::new(),
        })
        .collect();
    for _ in 0..config.runs {
        for posts in &mut out {
            let chat_alone = beside::ping_for(lg, pair, window, max_pings)?;
            let each = posts.rate.map(|r| r / config.posters as f64);
            let stop = Arc::new(AtomicBool::new(false));
            let began = Instant::now();
            let threads: Vec<_> = (0..config.posters)
                .map(|_| {
                    let stop = Arc::clone(&stop);
                    thread::spawn(move || post(web, each, &stop))
                })
                .collect();
            let chat_beside = beside::ping_for(lg, pair, window, max_pings)?;
            stop.store(true, Ordering::Relaxed);
            let took = began.elapsed();
            let mut run = PostRun {
                chat_alone,
                chat_beside,
                ..PostRun::default()
            };
            for t in threads {
                let c = t.join().unwrap_or_default();
                run.accepted += c.accepted;
                run.limited += c.limited;
                run.other += c.other;
                run.reconnects += c.reconnects;
            }
            run.accepted_per_s = run.accepted as f64 / took.as_secs_f64();
            log(&format!(
                "webhooks {:>7} on {} connections: {:.0} accepted/s, {} limited (429), {} other, {} reconnects; chat p99 {:.0} µs alone, {:.0} µs beside",
                posts.rate_name(),
                config.posters,
                run.accepted_per_s,
                run.limited,
                run.other,
                run.reconnects,
                chat_alone.p99_us,
                chat_beside.p99_us
            ));
            posts.runs.push(run);
        }
    }
    if !server.running() {
        log("webhooks: the server did not survive");
    }
    lg.teardown(pair.group);
    Ok(out)
}

/// What one poster's answers were.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    accepted: u64,
    limited: u64,
    other: u64,
    reconnects: u64,
}

/// Posts to `web` until stopped: at `rate` per second (paced from the
/// start, so a late answer is caught up on) or as fast as answered.
fn post(web: SocketAddr, rate: Option<f64>, stop: &AtomicBool) -> Counts {
    let mut counts = Counts::default();
    let body = r#"{"text": "deploy 42 of the bench finished: all green"}"#;
    let request = format!(
        "POST /hooks/{TOKEN} HTTP/1.1\r\nHost: {web}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let start = Instant::now();
    let mut conn: Option<(TcpStream, BufReader<TcpStream>)> = None;
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(sent as f64 / rate);
            let now = Instant::now();
            if due > now {
                thread::sleep((due - now).min(Duration::from_millis(50)));
                continue;
            }
        }
        if conn.is_none() {
            counts.reconnects += 1;
            conn = beside::connect_from(web, beside::source(0))
                .and_then(|s| Ok((s.try_clone()?, BufReader::new(s))))
                .ok();
        }
        let Some((stream, reader)) = &mut conn else {
            counts.other += 1;
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        sent += 1;
        let answer = stream
            .write_all(request.as_bytes())
            .and_then(|()| read_answer(reader));
        match answer {
            Ok((status, keep)) => {
                match status {
                    200 => counts.accepted += 1,
                    429 => counts.limited += 1,
                    _ => counts.other += 1,
                }
                if !keep {
                    conn = None;
                }
            }
            Err(_) => {
                counts.other += 1;
                conn = None;
            }
        }
    }
    // The first connection is no reconnect.
    counts.reconnects = counts.reconnects.saturating_sub(1);
    counts
}

/// Reads one answer: its status, and whether the connection stays open.
fn read_answer(reader: &mut BufReader<TcpStream>) -> io::Result<(u16, bool)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = (line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::other(format!("not an answer: {line:?}")))?;
    let (mut length, mut keep) = (0usize, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::Error::other("closed in the head"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("connection") {
                keep = value.eq_ignore_ascii_case("keep-alive");
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, keep))
}

/// Failures of a smoke run: a rate not run, a post not accepted (a 429 or
/// another answer), none accepted, a ping lost, or a fixed rate not kept
/// within a tenth.
pub fn smoke_failures(all: &[Posts], config: &Config) -> Vec<String> {
    let mut failures = Vec::new();
    if all.len() != config.rates.len() {
        failures.push(format!(
            "webhooks: {} rates run, not {}",
            all.len(),
            config.rates.len()
        ));
    }
    for p in all {
        let good = |r: &PostRun| {
            let kept = p
                .rate
                .is_none_or(|rate| (r.accepted_per_s - rate).abs() <= rate / 10.0);
            r.limited == 0
                && r.other == 0
                && r.accepted > 0
                && kept
                && r.chat_alone.lost == 0
                && r.chat_beside.lost == 0
        };
        if p.runs.len() != config.runs || !p.runs.iter().all(good) {
            failures.push(format!("webhooks {}: {:?}", p.rate_name(), p.runs));
        }
    }
    failures
}
