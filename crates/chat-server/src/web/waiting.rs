//! The web listeners' connections that have not sent their request yet, in
//! the order they came and counted per address, so that neither one address
//! nor a crowd of silent sockets can hold the places everyone's page loads
//! need: an address past its share is refused at once, and when every place
//! is taken the connection that has waited longest makes room.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use chat_hub::address_key;
use chat_net::ConnId;
use chat_net::http::HeadReader;

use super::WebListener;

/// One connection waiting for its request.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) reader: HeadReader,
    pub(super) since: Instant,
    pub(super) peer: SocketAddr,
    pub(super) listener: WebListener,
    /// A hook request whose head was taken, while its body comes.
    pub(super) post: Option<super::hook_requests::PendingPost>,
    /// Requests this connection was answered before, kept alive.
    pub(super) served: u32,
    /// Its place in [`Waiting::arrivals`].
    arrival: u64,
}

/// Every connection waiting for its request.
#[derive(Debug, Default)]
pub(super) struct Waiting {
    conns: HashMap<ConnId, Pending>,
    /// Connections by arrival, oldest first. A counter, not the time: many
    /// connections come in one turn of the reactor, at one `now`.
    arrivals: BTreeMap<u64, ConnId>,
    /// How many wait from each address ([`address_key`]: IPv4, or IPv6 /64).
    per_address: HashMap<IpAddr, usize>,
    next_arrival: u64,
}

impl Waiting {
    pub(super) fn len(&self) -> usize {
        self.conns.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    pub(super) fn contains(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    pub(super) fn get_mut(&mut self, conn: ConnId) -> Option<&mut Pending> {
        self.conns.get_mut(&conn)
    }

    /// How many wait from `ip`'s address.
    pub(super) fn count_from(&self, ip: IpAddr) -> usize {
        self.per_address.get(&address_key(ip)).copied().unwrap_or(0)
    }

    /// `conn` from `peer` on `listener` came in at `now`.
    pub(super) fn add(
        &mut self,
        conn: ConnId,
        peer: SocketAddr,
        listener: WebListener,
        now: Instant,
    ) {
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        let pending = Pending {
            reader: HeadReader::new(),
            since: now,
            peer,
            listener,
            post: None,
            served: 0,
            arrival,
        };
        if let Some(replaced) = self.conns.insert(conn, pending) {
            // A connection id is not reused before its close was reported,
            // so this does not happen; if it did, the counts stay right.
            self.forget(&replaced);
        }
        self.arrivals.insert(arrival, conn);
        *self.per_address.entry(address_key(peer.ip())).or_insert(0) += 1;
    }

    /// `conn` waits no more (answered, upgraded, closed).
    pub(super) fn remove(&mut self, conn: ConnId) -> Option<Pending> {
        let pending = self.conns.remove(&conn)?;
        self.forget(&pending);
        Some(pending)
    }

    fn forget(&mut self, pending: &Pending) {
        self.arrivals.remove(&pending.arrival);
        let key = address_key(pending.peer.ip());
        if let Some(count) = self.per_address.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                self.per_address.remove(&key);
            }
        }
    }

    /// The connection that has waited longest.
    pub(super) fn oldest(&self) -> Option<ConnId> {
        self.arrivals.first_key_value().map(|(_, &conn)| conn)
    }

    /// The connections that have waited longer than `limit` at `now`
    /// (the oldest come first, so the search stops at the first that has not).
    pub(super) fn overdue(&self, now: Instant, limit: Duration) -> Vec<ConnId> {
        self.arrivals
            .values()
            .map_while(|conn| {
                let pending = self.conns.get(conn)?;
                (now.duration_since(pending.since) > limit).then_some(*conn)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener() -> WebListener {
        WebListener {
            protocol: chat_hub::Protocol::Line,
            id: chat_net::ListenerId(0),
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: false,
        }
    }

    fn peer(text: &str) -> SocketAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn connections_are_counted_per_address_and_leave_oldest_first() {
        let mut waiting = Waiting::default();
        let start = Instant::now();
        waiting.add(ConnId(1), peer("10.0.0.1:1"), listener(), start);
        waiting.add(ConnId(2), peer("[2001:db8::1]:1"), listener(), start);
        waiting.add(ConnId(3), peer("[2001:db8::2]:2"), listener(), start);
        let later = start + Duration::from_secs(5);
        waiting.add(ConnId(4), peer("10.0.0.1:2"), listener(), later);
        assert_eq!(
            waiting.count_from("10.0.0.1".parse().unwrap_or(IpAddr::from([0; 4]))),
            2
        );
        // One IPv6 /64 is one address.
        let v6: IpAddr = "2001:db8::99".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(waiting.count_from(v6), 2);
        assert_eq!(waiting.oldest(), Some(ConnId(1)));
        assert_eq!(
            waiting.overdue(later, Duration::from_secs(1)),
            [ConnId(1), ConnId(2), ConnId(3)]
        );
        assert!(waiting.remove(ConnId(1)).is_some());
        assert!(waiting.remove(ConnId(1)).is_none());
        assert_eq!(waiting.oldest(), Some(ConnId(2)));
        assert_eq!(
            waiting.count_from("10.0.0.1".parse().unwrap_or(IpAddr::from([0; 4]))),
            1
        );
        for conn in [2, 3, 4] {
            waiting.remove(ConnId(conn));
        }
        assert!(
            waiting.is_empty() && waiting.per_address.is_empty() && waiting.arrivals.is_empty()
        );
    }
}
