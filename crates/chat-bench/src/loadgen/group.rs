//! The clients of one server under test, and what a measurement window of
//! theirs counts: deliveries and their latency, sends, shed and late
//! messages, and apart, the deliveries on a second server (cluster node);
//! for searchers, the searches they sent and what came back.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use hdrhistogram::Histogram;
use rustls::ClientConfig;

use crate::dialect::Dialect;

/// Longest latency the histograms hold: 60 s.
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// Counters of one measurement window of a group.
#[derive(Debug)]
pub struct Window {
    /// Markers sent at or after this time are counted (ns since start).
    pub from_ns: u64,
    /// ... up to, not including, this time.
    pub until_ns: u64,
    /// Messages written to a sender's buffer.
    pub sent: u64,
    /// Messages not sent because the sender's backlog was full.
    pub shed: u64,
    /// Messages the pacing owed but the generator was too late to send.
    pub lagged: u64,
    /// Markers received by receivers.
    pub delivered: u64,
    /// Latency of each delivery, ns.
    pub hist: Histogram<u64>,
    /// Of the deliveries, those to receivers on the second server ...
    pub delivered_remote: u64,
    /// ... and their latency, ns.
    pub hist_remote: Histogram<u64>,
}

/// What a group's searchers sent and got back since the counters were
/// last reset ([`Gen::start_searching`](super::Gen::start_searching)).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Searches {
    /// Search lines written to a searcher's buffer.
    pub sent: u64,
    /// Searches not sent: the searcher was gone or its output backed up.
    pub shed: u64,
    /// Searches after which something came back before that searcher's
    /// next search: answered, whatever the answer says.
    pub answered: u64,
    /// Lines (LF-terminated) the searchers received.
    pub lines: u64,
}

/// The clients of one server under test.
#[derive(Debug)]
pub struct Group {
    pub dialect: Dialect,
    pub addr: SocketAddr,
    /// Speak TLS with this configuration.
    pub(super) tls: Option<Arc<ClientConfig>>,
    /// A second server (cluster node): receivers alternate between the two.
    pub(super) remote_addr: Option<SocketAddr>,
    pub(super) next_remote: bool,
    /// Receivers (connected or connecting) on the second server.
    pub remote_receivers: usize,
    pub(super) senders: Vec<usize>,
    pub(super) rr: usize,
    /// Searchers' keys, in the order they connected.
    pub(super) searchers: Vec<usize>,
    pub(super) search_rr: usize,
    /// Searchers with a search sent and nothing back since.
    pub awaiting_answer: usize,
    pub searches: Searches,
    /// Clients (not churners) that are connected or connecting.
    pub live: usize,
    /// Of those, the ready ones.
    pub ready: usize,
    /// Clients (not churners) the server closed or that failed.
    pub lost: usize,
    /// When a byte last arrived for this group (ns since start).
    pub last_rx_ns: u64,
    /// Bytes the group's clients read, and the reads that returned some,
    /// since the group began (the kernel-cost workload takes differences):
    /// what the server wrote, framing included, and how often the
    /// receiving side woke to read it.
    pub rx_bytes: u64,
    pub rx_reads: u64,
    /// Lines (LF-terminated) idle clients received since the group began:
    /// their welcome, and the history a join replays.
    pub idle_lines: u64,
    pub window: Window,
    /// Churners in flight, done (ready then left) and failed.
    pub churn_inflight: usize,
    pub churn_done: u64,
    pub churn_failed: u64,
}

fn histogram() -> io::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).map_err(|e| io::Error::other(e.to_string()))
}

impl Group {
    /// A group with no clients yet, for the server at `addr`.
    pub(super) fn new(dialect: Dialect, addr: SocketAddr) -> io::Result<Group> {
        Ok(Group {
            dialect,
            addr,
            tls: None,
            remote_addr: None,
            next_remote: false,
            remote_receivers: 0,
            senders: Vec::new(),
            rr: 0,
            searchers: Vec::new(),
            search_rr: 0,
            awaiting_answer: 0,
            searches: Searches::default(),
            live: 0,
            ready: 0,
            lost: 0,
            last_rx_ns: 0,
            rx_bytes: 0,
            rx_reads: 0,
            idle_lines: 0,
            window: Window {
                from_ns: u64::MAX,
                until_ns: u64::MAX,
                sent: 0,
                shed: 0,
                lagged: 0,
                delivered: 0,
                hist: histogram()?,
                delivered_remote: 0,
                hist_remote: histogram()?,
            },
            churn_inflight: 0,
            churn_done: 0,
            churn_failed: 0,
        })
    }
}
