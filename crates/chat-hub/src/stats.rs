//! The counters `/stats` shows: what the hub counts itself ([`Counters`]),
//! the snapshot it hands out ([`HubStats`]), and the console's line.

use chat_proto::Refusal;

use crate::Now;
use crate::reasons::{self, DISCONNECTS, REFUSALS, ReasonCounts};

/// Counters shown by `/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubStats {
    pub connections: u64,
    pub messages_in: u64,
    /// Lines queued to connections, each recipient counted.
    pub deliveries: u64,
    /// Lines encoded for the wire: a line sent to many is encoded once per
    /// wire shape among its recipients.
    pub encodings: u64,
    /// Connections turned away (limits, bans, failed logins).
    pub refused: u64,
    /// Clients disconnected for flooding.
    pub flooders: u64,
    /// Cluster requests (mostly cross-node lines) dropped because the
    /// channel toward Redis was full.
    pub cluster_dropped: u64,
    /// Waiting messages and read markers the account store could not take
    /// (kept in memory only, so lost at a restart).
    pub account_records_dropped: u64,
    /// Refusals by reason (wrong passwords included), for the metrics.
    pub refusals: ReasonCounts,
    /// Clients gone by reason, for the metrics.
    pub disconnects: ReasonCounts,
}

/// What the hub counts itself; deliveries and cluster drops are counted
/// where they happen (`Delivery`, `Node`).
#[derive(Debug)]
pub(crate) struct Counters {
    connections: u64,
    messages_in: u64,
    refused: u64,
    flooders: u64,
    account_records_dropped: u64,
    refusals: ReasonCounts,
    disconnects: ReasonCounts,
    started: Option<Now>,
}

impl Default for Counters {
    fn default() -> Counters {
        Counters {
            connections: 0,
            messages_in: 0,
            refused: 0,
            flooders: 0,
            account_records_dropped: 0,
            refusals: ReasonCounts::new(REFUSALS),
            disconnects: ReasonCounts::new(DISCONNECTS),
            started: None,
        }
    }
}

impl Counters {
    pub(crate) fn start(&mut self, now: Now) {
        self.started = Some(now);
    }

    pub(crate) fn connected(&mut self) {
        self.connections += 1;
    }

    pub(crate) fn message(&mut self) {
        self.messages_in += 1;
    }

    pub(crate) fn flooder(&mut self) {
        self.flooders += 1;
    }

    /// A connection was refused, told `text`. Returns how many so far.
    pub(crate) fn refused(&mut self, refusal: &Refusal<'_>) -> u64 {
        self.refusals.add(reasons::refusal_reason(refusal));
        self.refused += 1;
        self.refused
    }

    /// A login failed on a wrong password (counted by reason only: it is
    /// logged every time, and `/stats`' `refused` counts admission refusals).
    pub(crate) fn record_dropped(&mut self) {
        self.account_records_dropped += 1;
    }

    pub(crate) fn wrong_password(&mut self) {
        self.refusals.add("password");
    }

    /// A client left, for `why` (the words its room hears).
    pub(crate) fn left(&mut self, why: &str) {
        self.disconnects.add(reasons::disconnect_reason(why));
    }

    pub(crate) fn snapshot(&self, out: (u64, u64), cluster_dropped: u64) -> HubStats {
        let (deliveries, encodings) = out;
        HubStats {
            connections: self.connections,
            messages_in: self.messages_in,
            deliveries,
            encodings,
            refused: self.refused,
            flooders: self.flooders,
            cluster_dropped,
            account_records_dropped: self.account_records_dropped,
            refusals: self.refusals,
            disconnects: self.disconnects,
        }
    }

    /// Seconds since the server started.
    pub(crate) fn uptime(&self, now: Now) -> i64 {
        self.started
            .map_or(0, |started| (now - started).num_seconds())
    }
}

/// What `/stats` shows besides the counters.
#[derive(Debug)]
pub(crate) struct Gauges {
    pub(crate) clients: usize,
    pub(crate) rooms: usize,
    /// Bytes read and written by the server.
    pub(crate) io: (u64, u64),
    pub(crate) uptime: i64,
    /// Bytes of history held in memory, and the budget.
    pub(crate) history: (usize, usize),
}

/// The console's `/stats` line.
pub(crate) fn line(stats: &HubStats, gauges: &Gauges) -> String {
    let Gauges {
        clients,
        rooms,
        io: (bytes_in, bytes_out),
        uptime,
        history: (held, budget),
    } = gauges;
    format!(
        "clients {clients} rooms {rooms} connections {} messages in {} deliveries {} bytes in {bytes_in} bytes out {bytes_out} uptime {uptime}s history {held} of {budget} bytes",
        stats.connections, stats.messages_in, stats.deliveries,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_is_counted_by_reason() {
        let mut counters = Counters::default();
        let told: Vec<u64> = (0..3)
            .map(|_| counters.refused(&Refusal::ServerFull))
            .collect();
        assert_eq!(told, [1, 2, 3]);
        let stats = counters.snapshot((0, 0), 0);
        assert_eq!(stats.refused, 3);
        let full = stats.refusals.iter().find(|&(name, _)| name == "full");
        assert_eq!(full, Some(("full", 3)));
    }
}
