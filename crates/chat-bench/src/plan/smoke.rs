//! The smoke run: seconds of every workload against chat-server alone,
//! small counts, each checked exactly (every message delivered once).

use super::{HISTORY_LINES, Options, Workload, pin, start_targets};
use crate::dialect::Dialect;
use crate::loadgen::Gen;
use crate::workloads::history_join;
use crate::workloads::store_search::{self, StoreSearch};
use crate::workloads::{churn, conns, failover, fanout, logins, rtt, webhooks};

/// The smoke run: small counts against chat-server, every count checked.
/// Returns the failures (empty: passed).
pub fn smoke(opts: &Options, log: &mut dyn FnMut(&str)) -> Result<Vec<String>, String> {
    pin(opts, log);
    let io = |e: std::io::Error| e.to_string();
    let mut lg = Gen::new().map_err(io)?;
    // `--only logins,webhooks,failover` (or any of them) runs those alone: they start
    // servers of their own and take seconds, the rest a minute.
    let alone = [Workload::Logins, Workload::Webhooks, Workload::Failover];
    let beside_only = (opts.workloads.iter()).all(|w| alone.contains(w));
    let mut failures = Vec::new();
    if !beside_only {
        failures = smoke_chat(&mut lg, opts, log)?;
    }
    if opts.wants(Workload::Logins) {
        let config = logins::Config {
            slots: 10,
            secs: 1.0,
            runs: 1,
        };
        let logins = logins::run(&mut lg, &opts.launch, &config, log).map_err(io)?;
        failures.extend(logins::smoke_failures(&logins, &config));
    }
    if opts.wants(Workload::Webhooks) {
        let config = webhooks::Config {
            posters: 2,
            rates: vec![Some(200.0), None],
            secs: 1.0,
            runs: 1,
        };
        let posts = webhooks::run(&mut lg, &opts.launch, &config, log).map_err(io)?;
        failures.extend(webhooks::smoke_failures(&posts, &config));
    }
    if opts.wants(Workload::Failover) {
        failures.extend(failover::smoke(&opts.launch, beside_only, log));
    }
    Ok(failures)
}

/// The smoke of every workload but logins and webhooks.
fn smoke_chat(
    lg: &mut Gen,
    opts: &Options,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<String>, String> {
    let io = |e: std::io::Error| e.to_string();
    let mut targets = start_targets(lg, &opts.launch, &[Dialect::Ours], log)?;
    let mut failures = Vec::new();
    let config = fanout::Config {
        receivers: 10,
        senders: 2,
        rates: vec![20_000.0],
        runs: 2,
        secs: 0.5,
    };
    let sweep = fanout::run(lg, &mut targets, &config, log).map_err(io)?;
    failures.extend(fanout::smoke_failures("fanout", &sweep, config.secs));
    // The same fan-out, briefly, over each other transport: TLS (the
    // generator's TLS clients and the server's TLS listener), IRC
    // (registration, the join, PRIVMSG in and out) and WebSocket (the
    // generator's frames and the web listener's): every message once.
    let brief = fanout::Config {
        runs: 1,
        ..config.clone()
    };
    let transports = [
        (Dialect::OursTls, "tls fanout"),
        (Dialect::OursIrc, "irc fanout"),
        (Dialect::OursWeb, "web fanout"),
    ];
    for (dialect, name) in transports {
        let mut targets = start_targets(lg, &opts.launch, &[dialect], log)?;
        let sweep = fanout::run(lg, &mut targets, &brief, log).map_err(io)?;
        drop(targets);
        failures.extend(fanout::smoke_failures(name, &sweep, brief.secs));
    }
    // The store's fan-out alone and searched, batched and "always": every
    // room line delivered once, every searcher's searches sent and its
    // last one answered.
    let store_targets = [Dialect::OursSqlite, Dialect::OursAlways];
    let mut store_targets = start_targets(lg, &opts.launch, &store_targets, log)?;
    let search_config = store_search::Config {
        receivers: config.receivers,
        senders: config.senders,
        rates: config.rates.clone(),
        runs: 1,
        secs: config.secs,
        searchers: 4,
        prefill_lines: 2_000,
    };
    let searched = store_search::run(lg, &mut store_targets, &search_config, log).map_err(io)?;
    drop(store_targets);
    failures.extend(searched_exactly(&searched));
    let rtts = rtt::run(lg, &mut targets, 200, 1, log).map_err(io)?;
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
    let churns = churn::run(lg, &mut targets, &churn_config, log).map_err(io)?;
    match churns.first() {
        Some(c) if c.failed() == 0 && c.churned.iter().all(|r| r.ratio == 1.0) => {
            if c.cycles_per_s().median < 1.0 {
                failures.push("churn: no client came and left".into());
            }
        }
        _ => failures.push("churn: lost messages or failed churners".into()),
    }
    drop(targets);
    let conns = conns::run(lg, &opts.launch, &[Dialect::Ours], 200, 1, log).map_err(io)?;
    match conns.first().and_then(|c| c.runs.first()) {
        Some(run) if run.clients == 200 && run.survived => {}
        Some(run) => failures.push(format!("conns: {} of 200 clients ready", run.clients)),
        None => failures.push("conns: no result".into()),
    }
    let config = history_join::Config {
        clients: 100,
        histories: HISTORY_LINES.to_vec(),
        runs: 1,
    };
    let joins = history_join::run(lg, &opts.launch, &config, log).map_err(io)?;
    failures.extend(history_join::smoke_failures(&joins, &config));
    Ok(failures)
}

/// Failures of the smoke's store-search run: a room line lost, a server or
/// variant missing, the warm-up not found by a search, or searches not
/// sent at the searchers' rate or their last ones unanswered.
fn searched_exactly(s: &StoreSearch) -> Vec<String> {
    let c = &s.config;
    let mut failures = Vec::new();
    if !s.skipped.is_empty() {
        failures.push(format!("store-search skipped: {:?}", s.skipped));
    }
    let expected_points = 2 * 2 * c.rates.len();
    if s.points.len() != expected_points {
        failures.push(format!(
            "store-search: {} points measured, not {expected_points}",
            s.points.len()
        ));
    }
    // The warm-up's lines all hold the word: a search brings back the
    // newest of them (`/search` shows at most 20), then its `search:` line.
    // Fewer is an answer without matches, such as "busy".
    let matches = 20.min(c.prefill_lines as u64);
    for p in &s.prefills {
        if p.answer_lines < matches + 1 {
            failures.push(format!(
                "store-search {}: a search after the warm-up brought back {} lines, not its {matches} matches and its answer",
                p.dialect.key(),
                p.answer_lines
            ));
        }
    }
    // Each searcher sends at its rate from the window's start: at most
    // the window's worth, and at least one each.
    let n = c.searchers as u64;
    let most = (store_search::SEARCHES_PER_CLIENT_PER_S * c.secs).ceil() as u64 * n;
    for p in &s.points {
        let name = format!("store-search {} {}", p.dialect.key(), p.variant());
        for (i, run) in p.runs.iter().enumerate() {
            let f = &run.fanout;
            let (expected, delivered) = (f.offered * c.secs, f.delivered_rate * c.secs);
            if f.ratio != 1.0 || f.shed != 0 || f.lost_clients != 0 || expected < 1.0 {
                failures.push(format!(
                    "{name} run {i}: delivered {delivered:.0} of {expected:.0}, shed {}, clients lost {}",
                    f.shed, f.lost_clients
                ));
            }
            let q = &run.searches;
            let sent_right = if p.searched {
                (n..=most).contains(&q.sent) && q.shed == 0
            } else {
                q.sent == 0
            };
            let answered_right = q.answered <= q.sent
                && q.lines >= q.answered
                && (!p.searched || (q.answered >= n && run.last_answered));
            if !sent_right || !answered_right {
                failures.push(format!(
                    "{name} run {i}: searches sent {} (shed {}), answered {}, lines {}, last ones answered: {}",
                    q.sent, q.shed, q.answered, q.lines, run.last_answered
                ));
            }
        }
    }
    failures
}
