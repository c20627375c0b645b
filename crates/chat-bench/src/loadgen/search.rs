//! Searchers: the clients of a group that send one fixed command line
//! (`/search WORD`), paced per client, while another group's fan-out runs,
//! and count what comes back without reading its words: lines, and the
//! searches something came back for before that client's next one.
//!
//! Pacing is open loop, as for the fan-out's senders: a searcher does not
//! wait for an answer before its next search, as a client sending at the
//! flood limit would not.

use std::io;
use std::time::{Duration, Instant};

use super::client::flush;
use super::{Gen, Role, SENDER_BACKLOG_CAP, Searches};
use crate::bucket::TokenBucket;

/// The searchers' pacing: one bucket for the group, its tokens handed out
/// round robin, so each of n searchers sends at the bucket's rate / n.
pub(super) struct Searching {
    pub(super) group: usize,
    bucket: TokenBucket,
    /// The command, LF included.
    line: Vec<u8>,
    /// No search is sent from this time on (ns since the generator began).
    until_ns: u64,
}

impl Gen {
    /// Starts `group`'s searchers sending `line` (one command, LF
    /// included), each `per_client` times a second, for `secs`; the
    /// group's search counters start again from zero.
    pub fn start_searching(&mut self, group: usize, line: &[u8], per_client: f64, secs: f64) {
        let now = self.now_ns();
        let g = &mut self.groups[group];
        g.searches = Searches::default();
        let searchers = g.searchers.len().max(1) as f64;
        self.searching = Some(Searching {
            group,
            // After a stall of the generator each searcher gets at most one
            // search more, never a burst past its rate.
            bucket: TokenBucket::new(per_client * searchers, searchers, now),
            line: line.to_vec(),
            until_ns: now.saturating_add((secs * 1e9) as u64),
        });
    }

    /// Stops the searchers (answers on their way are still counted).
    pub fn stop_searching(&mut self) {
        self.searching = None;
    }

    pub(super) fn search_step(&mut self) {
        let now = self.now_ns();
        let Gen {
            searching,
            groups,
            clients,
            ..
        } = self;
        let Some(s) = searching else { return };
        if now >= s.until_ns {
            *searching = None;
            return;
        }
        let n = s.bucket.take(now);
        let g = &mut groups[s.group];
        let mut failed = Vec::new();
        for _ in 0..n {
            if g.searchers.is_empty() {
                g.searches.shed += 1;
                continue;
            }
            let key = g.searchers[g.search_rr % g.searchers.len()];
            g.search_rr = g.search_rr.wrapping_add(1);
            match clients.get_mut(key) {
                Some(c)
                    if c.role == Role::Searcher
                        && c.connected
                        && c.out.len() - c.out_pos < SENDER_BACKLOG_CAP =>
                {
                    c.out.extend_from_slice(&s.line);
                    g.searches.sent += 1;
                    if !c.awaiting_answer {
                        c.awaiting_answer = true;
                        g.awaiting_answer += 1;
                    }
                    if flush(c).is_err() {
                        failed.push(key);
                    }
                }
                _ => g.searches.shed += 1,
            }
        }
        for key in failed {
            self.close(key, true);
        }
    }

    /// The `i`-th searcher of `group` still connected.
    pub fn searcher(&self, group: usize, i: usize) -> Option<usize> {
        self.groups[group].searchers.get(i).copied()
    }

    /// Writes `bytes` (whole lines) from client `key` now.
    pub fn send_lines(&mut self, key: usize, bytes: &[u8]) -> io::Result<()> {
        let Some(c) = self.clients.get_mut(key) else {
            return Err(io::Error::other("the client is gone"));
        };
        c.out.extend_from_slice(bytes);
        flush(c)
    }

    /// Sends one search (`line`, LF included) from searcher `key` now, as
    /// the paced ones are sent and counted.
    pub fn ask(&mut self, key: usize, line: &[u8]) -> io::Result<()> {
        let Some(c) = self.clients.get_mut(key) else {
            return Err(io::Error::other("the searcher is gone"));
        };
        let g = &mut self.groups[c.group];
        g.searches.sent += 1;
        if !c.awaiting_answer {
            c.awaiting_answer = true;
            g.awaiting_answer += 1;
        }
        c.out.extend_from_slice(line);
        flush(c)
    }

    /// Turns the loop until every searcher of `group` has had something
    /// back for its last search, or `timeout`; whether they all had.
    pub fn wait_answers(&mut self, group: usize, timeout: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + timeout;
        while self.groups[group].awaiting_answer > 0 {
            if Instant::now() > deadline {
                return Ok(false);
            }
            self.turn(Some(Duration::from_millis(5)))?;
        }
        Ok(true)
    }
}
