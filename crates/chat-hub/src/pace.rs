//! How often one client may ask the whole cluster: `/who` and `/rooms`
//! read every node's member list in Redis, so each client gets one such
//! query a second ([`QUERY_INTERVAL_MS`]), after a first two at once
//! ([`QUERY_BURST`]: `/who` then `/rooms` is fine); one sooner is refused
//! with `Refusal::SlowDown` rather than queued. A single server answers from
//! memory and is not paced.

use std::collections::HashMap;

use crate::ClientId;

/// The least time between two cluster queries of one client, once its
/// burst is used.
pub(crate) const QUERY_INTERVAL_MS: i64 = 1000;
/// Cluster queries a client may make at once.
pub(crate) const QUERY_BURST: i64 = 2;

/// When each client's pace is back to a full burst (a token bucket kept
/// as one time: GCRA).
#[derive(Debug, Default)]
pub(crate) struct QueryPace {
    full_at: HashMap<ClientId, i64>,
}

impl QueryPace {
    /// May `id` ask the cluster at `now_ms`? If so, it is counted.
    pub(crate) fn allow(&mut self, id: ClientId, now_ms: i64) -> bool {
        let full_at = self.full_at.get(&id).map_or(now_ms, |&at| at.max(now_ms));
        let ahead = full_at.saturating_sub(now_ms);
        if ahead > (QUERY_BURST - 1) * QUERY_INTERVAL_MS {
            return false;
        }
        self.full_at
            .insert(id, full_at.saturating_add(QUERY_INTERVAL_MS));
        true
    }

    /// `id` left.
    pub(crate) fn forget(&mut self, id: ClientId) {
        self.full_at.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_queries_at_once_then_one_a_second_per_client() {
        let mut pace = QueryPace::default();
        let (one, two) = (ClientId(1), ClientId(2));
        assert!(pace.allow(one, 10_000));
        assert!(pace.allow(one, 10_000), "a burst of two");
        assert!(!pace.allow(one, 10_999), "too soon");
        assert!(pace.allow(two, 10_999), "another client has its own pace");
        assert!(pace.allow(one, 11_000));
        assert!(!pace.allow(one, 11_500));
        assert!(pace.allow(one, 12_000));
        // Asking every 100 ms from 12.1 s to 22 s: once a second.
        let allowed = (1..=100).filter(|i| pace.allow(one, 12_000 + i * 100));
        assert_eq!(allowed.count(), 10, "one a second, however fast it asks");
        pace.forget(one);
        assert!(pace.allow(one, 22_050), "a new client with the same id");
        assert!(pace.allow(one, 22_050));
    }
}
