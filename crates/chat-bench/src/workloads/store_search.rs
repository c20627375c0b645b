//! Fan-out with the history store while clients search: the store's R =
//! 100, S = 4 fan-out on chat-server with the SQLite store, each window
//! measured twice on the same server, interleaved: the store alone, and
//! while a second group of clients sends `/search WORD` at the rate a
//! client outside `exempt` may send lines (chat-hub's default
//! `flood_rate`).
//!
//! The searchers sit in a room of their own ([`ROOM`]), filled before the
//! sweep with lines holding the word, so that the fan-out's room stays R
//! receivers as in the store's own sweep and what comes back on a
//! searcher's connection is only answers. The word ([`word`]) is the
//! payload's filler, in every line of both rooms: the search index (one
//! for every room) matches every block it holds, and each search comes
//! back with its room's newest lines. What comes back is counted, never
//! read: the answers' words may change.
//!
//! Every window ends with one more search, waited for: the store answers
//! a search once every line said before it is committed, so the window's
//! lines are written by then, not in the next server's window. (Indexing
//! for `/search` waits for the store's quiet moments, or for 50,000 lines
//! behind: it may fall in the next window, as it would on a busy server.)

use std::io;
use std::time::Duration;

use serde_json::{Value, json};

use crate::dialect::Dialect;
use crate::loadgen::{Gen, PAYLOAD_LEN, Role, Searches};
use crate::marker::{self, MARKER_LEN};
use crate::stats::{Spread, spread};
use crate::workloads::fanout::{self, Run};
use crate::workloads::{Target, connect_many};

/// The searchers' room.
pub const ROOM: &str = "archive";

/// Searches a second each searcher sends: chat-hub's default `flood_rate`,
/// the most lines a second a client outside `exempt` may send before its
/// lines are delayed. The bench's server.toml turns flood control off (the
/// fan-out's senders send far more) and loopback is `exempt` anyway, so
/// the searchers keep to it themselves.
pub const SEARCHES_PER_CLIENT_PER_S: f64 = 5.0;

/// Lines of the warm-up sent before each search that waits for them: far
/// fewer than the store's channel holds (65536), so none is dropped.
const PREFILL_CHUNK: usize = 10_000;

/// The longest the searchers' last answers, or the catch-up search after a
/// window, may take.
const ANSWER_WAIT: Duration = Duration::from_secs(30);

/// The word every search asks for: the filler after the marker in every
/// fan-out payload (a run of `x`, one token to the search index).
pub fn word() -> String {
    "x".repeat(PAYLOAD_LEN - MARKER_LEN)
}

/// The searchers' command line, LF included.
fn search_line() -> Vec<u8> {
    format!("/search {}\n", word()).into_bytes()
}

/// The workload's settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub receivers: usize,
    pub senders: usize,
    /// Offered deliveries per second of the fan-out, ascending.
    pub rates: Vec<f64>,
    pub runs: usize,
    pub secs: f64,
    /// Clients searching, each at [`SEARCHES_PER_CLIENT_PER_S`].
    pub searchers: usize,
    /// Lines said in [`ROOM`] before the sweep.
    pub prefill_lines: usize,
}

/// One window: the fan-out's figures and the searchers' counts (zero when
/// the store was alone).
#[derive(Debug, Clone, Default)]
pub struct SearchRun {
    pub fanout: Run,
    pub searches: Searches,
    /// Every searcher had something back for its last search (an earlier
    /// one may have had nothing: the server answers only a client's
    /// newest), and so had the catch-up search after the window.
    pub last_answered: bool,
}

/// One server at one offered rate, alone or searched.
#[derive(Debug, Clone)]
pub struct SearchPoint {
    pub dialect: Dialect,
    /// Whether the searchers searched during its windows.
    pub searched: bool,
    pub target: f64,
    pub runs: Vec<SearchRun>,
}

impl SearchPoint {
    /// The spread of a fan-out figure over the runs.
    pub fn spread(&self, f: impl Fn(&Run) -> f64) -> Spread {
        spread(self.runs.iter().map(|r| f(&r.fanout)))
    }

    /// The spread of a searchers' count over the runs.
    pub fn searches(&self, f: impl Fn(&Searches) -> u64) -> Spread {
        spread(self.runs.iter().map(|r| f(&r.searches) as f64))
    }

    /// Whether the median run met the sweep's bar ([`fanout::sustained`]).
    pub fn sustained(&self) -> bool {
        fanout::sustained(self.runs.iter().map(|r| &r.fanout))
    }

    /// "store alone" or "store + searchers".
    pub fn variant(&self) -> &'static str {
        if self.searched {
            "store + searchers"
        } else {
            "store alone"
        }
    }
}

/// What the warm-up left on one server.
#[derive(Debug, Clone)]
pub struct Prefill {
    pub dialect: Dialect,
    /// Lines said in [`ROOM`].
    pub lines: usize,
    /// Lines that came back for a search after the last of them.
    pub answer_lines: u64,
}

/// The workload's measurements, every server.
#[derive(Debug, Clone)]
pub struct StoreSearch {
    pub config: Config,
    pub prefills: Vec<Prefill>,
    pub points: Vec<SearchPoint>,
    /// Servers left out, and why.
    pub skipped: Vec<(Dialect, String)>,
}

/// One server alone beside searched: best sustained rates, and the
/// points at the highest offered rate both sustained.
#[derive(Debug, Clone, Copy)]
pub struct Beside<'a> {
    pub alone_best: Option<f64>,
    pub searched_best: Option<f64>,
    pub common: Option<f64>,
    pub alone: Option<&'a SearchPoint>,
    pub searched: Option<&'a SearchPoint>,
}

impl Beside<'_> {
    /// Alone's best over searched's: how many times more it sustains.
    pub fn throughput_cost(&self) -> Option<f64> {
        match (self.alone_best, self.searched_best) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        }
    }
}

impl StoreSearch {
    /// The servers measured, in order.
    pub fn dialects(&self) -> Vec<Dialect> {
        let mut out: Vec<Dialect> = Vec::new();
        for p in &self.points {
            if !out.contains(&p.dialect) {
                out.push(p.dialect);
            }
        }
        out
    }

    fn variant(&self, dialect: Dialect, searched: bool) -> impl Iterator<Item = &SearchPoint> {
        self.points
            .iter()
            .filter(move |p| p.dialect == dialect && p.searched == searched)
    }

    /// The highest sustained point of `dialect`, alone or searched.
    pub fn best(&self, dialect: Dialect, searched: bool) -> Option<&SearchPoint> {
        self.variant(dialect, searched)
            .filter(|p| p.sustained())
            .max_by(|a, b| {
                let rate = |p: &SearchPoint| p.spread(|r| r.delivered_rate).median;
                rate(a).total_cmp(&rate(b))
            })
    }

    /// `dialect` alone beside searched.
    pub fn beside(&self, dialect: Dialect) -> Beside<'_> {
        let best = |searched| {
            self.best(dialect, searched)
                .map(|p| p.spread(|r| r.delivered_rate).median)
        };
        let at = |searched, target| self.variant(dialect, searched).find(|p| p.target == target);
        let common = self
            .variant(dialect, true)
            .filter(|p| p.sustained() && at(false, p.target).is_some_and(SearchPoint::sustained))
            .map(|p| p.target)
            .max_by(f64::total_cmp);
        Beside {
            alone_best: best(false),
            searched_best: best(true),
            common,
            alone: common.and_then(|t| at(false, t)),
            searched: common.and_then(|t| at(true, t)),
        }
    }

    /// As JSON.
    pub fn json(&self) -> Value {
        let c = &self.config;
        let opt = |x: Option<f64>| x.map_or(Value::Null, |v| json!(v));
        let latency = |p: Option<&SearchPoint>, f: fn(&Run) -> f64| {
            p.map_or(Value::Null, |p| p.spread(f).json())
        };
        json!({
            "ran": true,
            "receivers": c.receivers,
            "senders": c.senders,
            "searchers": c.searchers,
            "searches_per_client_per_s": SEARCHES_PER_CLIENT_PER_S,
            "room": ROOM,
            "word": word(),
            "prefill_lines": c.prefill_lines,
            "window_secs": c.secs,
            "skipped": self.skipped.iter().map(|(d, why)| json!({"server": d.key(), "why": why})).collect::<Vec<_>>(),
            "prefills": self.prefills.iter().map(|p| json!({
                "server": p.dialect.key(), "lines": p.lines, "answer_lines": p.answer_lines,
            })).collect::<Vec<_>>(),
            "comparisons": self.dialects().into_iter().map(|d| {
                let b = self.beside(d);
                json!({
                    "server": d.key(),
                    "alone_best_deliveries_per_s": opt(b.alone_best),
                    "searched_best_deliveries_per_s": opt(b.searched_best),
                    "alone_over_searched_best": opt(b.throughput_cost()),
                    "common_rate": opt(b.common),
                    "alone_p50_ms_at_common": latency(b.alone, |r| r.p50_ms),
                    "alone_p99_ms_at_common": latency(b.alone, |r| r.p99_ms),
                    "searched_p50_ms_at_common": latency(b.searched, |r| r.p50_ms),
                    "searched_p99_ms_at_common": latency(b.searched, |r| r.p99_ms),
                    "searches_at_common": b.searched.map_or(Value::Null, searches_json),
                })
            }).collect::<Vec<_>>(),
            "points": self.points.iter().map(point_json).collect::<Vec<_>>(),
        })
    }

    /// The stdout table.
    pub fn table(&self) -> String {
        let c = &self.config;
        let mut t = format!(
            "\nhistory store fan-out R={} S={}, alone and with {} searchers at {SEARCHES_PER_CLIENT_PER_S}/s each (medians)\n",
            c.receivers, c.senders, c.searchers
        );
        t.push_str(&format!(
            "{:<19} {:<18} {:>8} {:>9} {:>9} {:>9} {:>10} {:>7} {:>8} {:>8} {:>8}  verdict\n",
            "server",
            "",
            "offered",
            "delivered",
            "ratio",
            "p50 ms",
            "p99 ms",
            "srv cpu",
            "searches",
            "answered",
            "lines"
        ));
        for p in &self.points {
            t.push_str(&format!(
                "{:<19} {:<18} {:>8} {:>9} {:>9.4} {:>9.3} {:>10.3} {:>7.2} {:>8.0} {:>8.0} {:>8.0}  {}\n",
                p.dialect.key(),
                p.variant(),
                m(p.target),
                m(p.spread(|r| r.delivered_rate).median),
                p.spread(|r| r.ratio).median,
                p.spread(|r| r.p50_ms).median,
                p.spread(|r| r.p99_ms).median,
                p.spread(|r| r.server_cpu).median,
                p.searches(|s| s.sent).median,
                p.searches(|s| s.answered).median,
                p.searches(|s| s.lines).median,
                if p.sustained() { "sustained" } else { "NOT sustained" },
            ));
        }
        for d in self.dialects() {
            let b = self.beside(d);
            let opt = |x: Option<f64>| x.map_or("—".to_owned(), m);
            t.push_str(&format!(
                "{}: best sustained alone {}, with searchers {}",
                d.key(),
                opt(b.alone_best),
                opt(b.searched_best)
            ));
            if let (Some(rate), Some(a), Some(s)) = (b.common, b.alone, b.searched) {
                t.push_str(&format!(
                    "; at {}: p99 {:.2} vs {:.2} ms",
                    m(rate),
                    a.spread(|r| r.p99_ms).median,
                    s.spread(|r| r.p99_ms).median
                ));
            }
            t.push('\n');
        }
        for (d, why) in &self.skipped {
            t.push_str(&format!("{} skipped: {why}\n", d.key()));
        }
        t
    }
}

fn m(x: f64) -> String {
    format!("{:.2}M", x / 1e6)
}

fn searches_json(p: &SearchPoint) -> Value {
    json!({
        "sent": p.searches(|s| s.sent).json(),
        "shed": p.searches(|s| s.shed).json(),
        "answered": p.searches(|s| s.answered).json(),
        "answer_lines": p.searches(|s| s.lines).json(),
    })
}

fn point_json(p: &SearchPoint) -> Value {
    json!({
        "server": p.dialect.key(),
        "searched": p.searched,
        "target_deliveries_per_s": p.target,
        "sustained": p.sustained(),
        "offered": p.spread(|r| r.offered).json(),
        "delivered_per_s": p.spread(|r| r.delivered_rate).json(),
        "delivered_ratio": p.spread(|r| r.ratio).json(),
        "p50_ms": p.spread(|r| r.p50_ms).json(),
        "p99_ms": p.spread(|r| r.p99_ms).json(),
        "p999_ms": p.spread(|r| r.p999_ms).json(),
        "server_cpu": p.spread(|r| r.server_cpu).json(),
        "server_cpu_ns_per_delivery": p.spread(|r| r.server_cpu_ns_per_delivery).median,
        "generator_cpu": p.spread(|r| r.gen_cpu).json(),
        "searches": searches_json(p),
        "runs": p.runs.iter().map(|r| json!({
            "offered": r.fanout.offered, "delivered_per_s": r.fanout.delivered_rate,
            "ratio": r.fanout.ratio, "p50_ms": r.fanout.p50_ms, "p99_ms": r.fanout.p99_ms,
            "server_cpu": r.fanout.server_cpu, "shed": r.fanout.shed,
            "lost_clients": r.fanout.lost_clients,
            "searches_sent": r.searches.sent, "searches_shed": r.searches.shed,
            "searches_answered": r.searches.answered, "answer_lines": r.searches.lines,
            "last_searches_answered": r.last_answered,
        })).collect::<Vec<_>>(),
    })
}

/// A server of the workload: its fan-out clients (the target's group) and
/// its searchers.
struct Station {
    target: usize,
    searchers: usize,
}

/// Runs the workload over `targets` (chat-servers with the SQLite store);
/// `log` hears progress.
pub fn run(
    lg: &mut Gen,
    targets: &mut [Target],
    config: &Config,
    log: &mut dyn FnMut(&str),
) -> io::Result<StoreSearch> {
    let (r, s) = (config.receivers, config.senders);
    let mut out = StoreSearch {
        config: config.clone(),
        prefills: Vec::new(),
        points: Vec::new(),
        skipped: Vec::new(),
    };
    let mut stations = Vec::new();
    for i in fanout::eligible(targets, r + s + config.searchers, &mut out.skipped) {
        let t = &targets[i];
        let dialect = t.server.dialect;
        let searchers = lg.add_group(dialect, t.server.addr)?;
        let ready = match prepare_searchers(lg, searchers, config)? {
            Ok(answer_lines) => {
                log(&format!(
                    "store-search {:<19} {} lines said in {ROOM}; a search then brought back {answer_lines} lines",
                    dialect.key(),
                    config.prefill_lines
                ));
                out.prefills.push(Prefill {
                    dialect,
                    lines: config.prefill_lines,
                    answer_lines,
                });
                fanout::connect(lg, t, r, s)?
            }
            Err(why) => Err(why),
        };
        match ready {
            Ok(()) => stations.push(Station {
                target: i,
                searchers,
            }),
            Err(why) => {
                lg.teardown(searchers);
                out.skipped.push((dialect, why));
            }
        }
    }
    let mut groups: Vec<usize> = stations.iter().map(|st| targets[st.target].group).collect();
    groups.extend(stations.iter().map(|st| st.searchers));
    lg.settle(&groups, Duration::from_millis(300), Duration::from_secs(10))?;
    for st in &stations {
        if !search_after_the_writes(lg, st.searchers)? {
            let dialect = targets[st.target].server.dialect;
            log(&format!(
                "store-search {}: no answer to the search before the sweep",
                dialect.key()
            ));
        }
    }
    // Each server alone, then searched, window for window.
    let mut alive: Vec<(usize, bool)> = (0..stations.len())
        .flat_map(|k| [(k, false), (k, true)])
        .collect();
    for &rate in &config.rates {
        if alive.is_empty() {
            break;
        }
        let mut points: Vec<SearchPoint> = alive
            .iter()
            .map(|&(k, searched)| SearchPoint {
                dialect: targets[stations[k].target].server.dialect,
                searched,
                target: rate,
                runs: Vec::new(),
            })
            .collect();
        for _ in 0..config.runs {
            for (point, &(k, searched)) in points.iter_mut().zip(&alive) {
                let st = &stations[k];
                let run = window(
                    lg,
                    &mut targets[st.target],
                    st.searchers,
                    config,
                    rate,
                    searched,
                )?;
                point.runs.push(run);
            }
        }
        let mut still = Vec::new();
        for (p, &variant) in points.into_iter().zip(&alive) {
            log(&format!(
                "store-search {:<19} {:<18} offered {:>6.2}M/s delivered {:>6.2}M/s ({:.4}) p50 {:>7.3} p99 {:>8.3} ms  searches {:.0} answered {:.0}  {}",
                p.dialect.key(),
                p.variant(),
                p.spread(|x| x.offered).median / 1e6,
                p.spread(|x| x.delivered_rate).median / 1e6,
                p.spread(|x| x.ratio).median,
                p.spread(|x| x.p50_ms).median,
                p.spread(|x| x.p99_ms).median,
                p.searches(|x| x.sent).median,
                p.searches(|x| x.answered).median,
                if p.sustained() {
                    "sustained"
                } else {
                    "not sustained"
                },
            ));
            let hopeless = p.spread(|x| x.offered).median < 0.8 * p.target;
            if p.sustained() && !hopeless {
                still.push(variant);
            }
            out.points.push(p);
        }
        alive = still;
    }
    for st in &stations {
        lg.teardown(targets[st.target].group);
        lg.teardown(st.searchers);
    }
    lg.settle(&[], Duration::from_millis(200), Duration::from_secs(1))?;
    Ok(out)
}

/// Connects the searchers, fills [`ROOM`] from the first of them alone,
/// then brings the others in. Ok: the lines that came back for the search
/// after the warm-up's last line; Err: why the server is left out.
fn prepare_searchers(
    lg: &mut Gen,
    group: usize,
    config: &Config,
) -> io::Result<Result<u64, String>> {
    let n = config.searchers.max(1);
    let (ready, _) = connect_many(lg, group, Role::Searcher, n, 256, Duration::from_secs(10))?;
    if ready < n {
        return Ok(Err(format!("only {ready}/{n} searchers got ready")));
    }
    let join = format!("/join {ROOM}\n").into_bytes();
    let Some(filler) = lg.searcher(group, 0) else {
        return Ok(Err("no searcher".into()));
    };
    lg.send_lines(filler, &join)?;
    lg.settle(&[group], Duration::from_millis(100), Duration::from_secs(2))?;
    // The same 64 bytes as a fan-out payload, marked at time 0.
    let mut line = [b'x'; PAYLOAD_LEN];
    marker::encode(&mut line[..MARKER_LEN], 0);
    let mut chunk = Vec::with_capacity((PAYLOAD_LEN + 1) * PREFILL_CHUNK);
    let search = search_line();
    let mut said = 0;
    let mut answer_lines = 0;
    while said < config.prefill_lines {
        let lines = PREFILL_CHUNK.min(config.prefill_lines - said);
        chunk.clear();
        for _ in 0..lines {
            chunk.extend_from_slice(&line);
            chunk.push(b'\n');
        }
        lg.send_lines(filler, &chunk)?;
        said += lines;
        // The store answers a search once every line said before it is
        // committed: the next chunk waits for that.
        let before = lg.groups[group].searches.lines;
        lg.ask(filler, &search)?;
        if !lg.wait_answers(group, ANSWER_WAIT)? {
            return Ok(Err(format!(
                "no answer to a search after {said} lines of the warm-up"
            )));
        }
        lg.settle(&[group], Duration::from_millis(50), Duration::from_secs(1))?;
        answer_lines = lg.groups[group].searches.lines - before;
    }
    for i in 1..n {
        if let Some(key) = lg.searcher(group, i) {
            lg.send_lines(key, &join)?;
        }
    }
    Ok(Ok(answer_lines))
}

/// One search from the first searcher, waited for: the store answers it
/// once every line said before it is committed.
fn search_after_the_writes(lg: &mut Gen, group: usize) -> io::Result<bool> {
    let Some(key) = lg.searcher(group, 0) else {
        return Ok(false);
    };
    lg.ask(key, &search_line())?;
    let answered = lg.wait_answers(group, ANSWER_WAIT)?;
    lg.settle(&[group], Duration::from_millis(50), Duration::from_secs(1))?;
    Ok(answered)
}

/// One fan-out window at `rate`, with the searchers searching throughout
/// it if `searched`; then their last answers, then the catch-up search.
fn window(
    lg: &mut Gen,
    target: &mut Target,
    searchers: usize,
    config: &Config,
    rate: f64,
    searched: bool,
) -> io::Result<SearchRun> {
    if searched {
        let line = search_line();
        lg.start_searching(searchers, &line, SEARCHES_PER_CLIENT_PER_S, config.secs);
    }
    let fanout = fanout::window(lg, target, config.receivers, rate, config.secs)?;
    let (searches, last_answered) = if searched {
        let answered = lg.wait_answers(searchers, ANSWER_WAIT)?;
        lg.stop_searching();
        lg.settle(
            &[searchers],
            Duration::from_millis(50),
            Duration::from_secs(1),
        )?;
        (lg.groups[searchers].searches, answered)
    } else {
        (Searches::default(), true)
    };
    lg.stop_searching();
    let caught_up = search_after_the_writes(lg, searchers)?;
    Ok(SearchRun {
        fanout,
        searches,
        last_answered: last_answered && caught_up,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searchers_keep_to_the_hubs_default_flood_rate() {
        let hub = chat_hub::HubConfig::default();
        assert_eq!(SEARCHES_PER_CLIENT_PER_S, hub.flood_rate);
    }

    #[test]
    fn the_word_is_the_payloads_filler() {
        let mut payload = [b'x'; PAYLOAD_LEN];
        marker::encode(&mut payload[..MARKER_LEN], 12_345);
        let text = std::str::from_utf8(&payload).expect("ascii");
        let tokens: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .collect();
        assert_eq!(tokens.last().copied(), Some(word().as_str()));
        assert_eq!(
            search_line(),
            format!("/search {}\n", "x".repeat(46)).into_bytes()
        );
    }

    fn point(searched: bool, target: f64, ratio: f64, p99: f64) -> SearchPoint {
        SearchPoint {
            dialect: Dialect::OursSqlite,
            searched,
            target,
            runs: vec![SearchRun {
                fanout: Run {
                    offered: target,
                    delivered_rate: target * ratio,
                    ratio,
                    p99_ms: p99,
                    ..Run::default()
                },
                searches: Searches::default(),
                last_answered: true,
            }],
        }
    }

    #[test]
    fn alone_and_searched_side_by_side() {
        let config = Config {
            receivers: 100,
            senders: 4,
            rates: vec![1e6, 2e6, 3e6],
            runs: 1,
            secs: 1.0,
            searchers: 20,
            prefill_lines: 1000,
        };
        let s = StoreSearch {
            config,
            prefills: Vec::new(),
            points: vec![
                point(false, 1e6, 1.0, 2.0),
                point(true, 1e6, 1.0, 9.0),
                point(false, 2e6, 1.0, 3.0),
                point(true, 2e6, 0.5, 900.0),
                point(false, 3e6, 1.0, 4.0),
            ],
            skipped: Vec::new(),
        };
        let b = s.beside(Dialect::OursSqlite);
        assert_eq!((b.alone_best, b.searched_best), (Some(3e6), Some(1e6)));
        assert_eq!(b.throughput_cost(), Some(3.0));
        assert_eq!(b.common, Some(1e6));
        assert_eq!(b.searched.map(|p| p.spread(|r| r.p99_ms).median), Some(9.0));
        assert_eq!(b.alone.map(|p| p.searched), Some(false));
        assert!(s.beside(Dialect::OursAlways).common.is_none());
        assert_eq!(s.dialects(), [Dialect::OursSqlite]);
    }
}
