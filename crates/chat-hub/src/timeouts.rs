//! Timeouts: clients silent too long (`idle_timeout`), and, while the server
//! is full, clients that never said anything (`handshake_timeout`), so a
//! full server cannot be held by connections that do nothing.

use crate::clients::Clients;
use crate::{ClientId, HubConfig};

/// Sweeps run once a second, however often the hub ticks.
#[derive(Debug, Default)]
pub(crate) struct Sweep {
    last: i64,
}

impl Sweep {
    /// Is a sweep due at `second`? (Then it is the last one.)
    pub(crate) fn due(&mut self, second: i64) -> bool {
        let due = second != self.last;
        self.last = second;
        due
    }
}

/// The clients to close at `second`, and why. `full`: the server is at
/// `max_clients`.
pub(crate) fn expired(
    clients: &Clients,
    config: &HubConfig,
    full: bool,
    second: i64,
) -> Vec<(ClientId, &'static str)> {
    let (idle, handshake) = (config.idle_timeout as i64, config.handshake_timeout as i64);
    if idle == 0 && !(full && handshake > 0) {
        return Vec::new();
    }
    clients
        .iter()
        .filter_map(|(id, client)| {
            if idle > 0 && second - client.last_active >= idle {
                Some((id, "idle timeout"))
            } else if full
                && handshake > 0
                && !client.spoke
                && second - client.connected_at >= handshake
            {
                Some((id, "handshake timeout"))
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_is_due_once_per_second() {
        let mut sweep = Sweep::default();
        assert!(sweep.due(10));
        assert!(!sweep.due(10));
        assert!(sweep.due(11));
    }

    #[test]
    fn with_both_timeouts_off_nobody_expires() {
        let config = HubConfig {
            idle_timeout: 0,
            handshake_timeout: 0,
            ..HubConfig::default()
        };
        assert!(expired(&Clients::default(), &config, true, 1000).is_empty());
    }
}
