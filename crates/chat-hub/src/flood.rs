//! Flood control, IRC's fakelag: every client has a token bucket of
//! `flood_burst` lines refilled at `flood_rate` lines a second.
//!
//! A line that finds the bucket empty is not dropped but delayed, and
//! released as tokens come back (on each tick). A client whose delayed lines
//! pile past [`HubConfig::flood_queue`] is warned once; past four times that,
//! it is disconnected. Well-behaved clients never notice, and a flooder costs
//! the others nothing but its own bounded queue.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::{ClientId, HubConfig};

/// One client's bucket and delayed lines. Small and inline: the queue
/// allocates only for a client that actually floods.
#[derive(Debug, Default)]
pub(crate) struct FloodState {
    tokens: f32,
    /// Milliseconds since the epoch when `tokens` was last refilled.
    refilled_at: i64,
    delayed: VecDeque<Bytes>,
    warned: bool,
    /// In an `exempt` range: never delayed.
    exempt: bool,
}

/// What the flood gate decided for one line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    Pass,
    Delayed,
    Warn,
    Disconnect,
}

/// What a tick releases for one flooding client.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Release {
    /// This line may be said now.
    Line(Bytes),
    /// Lines wait for tokens: ask again next tick.
    Later,
    /// Nothing is delayed any more.
    Done,
}

/// The clients with delayed lines, which each tick visits.
#[derive(Debug, Default)]
pub(crate) struct Flooding(Vec<ClientId>);

impl Flooding {
    /// The clients to visit this tick; those still waiting come back with
    /// [`Flooding::still`].
    pub(crate) fn take(&mut self) -> Vec<ClientId> {
        std::mem::take(&mut self.0)
    }

    pub(crate) fn still(&mut self, id: ClientId) {
        if !self.0.contains(&id) {
            self.0.push(id);
        }
    }
}

impl FloodState {
    pub(crate) fn new(config: &HubConfig, exempt: bool, now_ms: i64) -> FloodState {
        FloodState {
            tokens: config.flood_burst as f32,
            refilled_at: now_ms,
            exempt,
            ..FloodState::default()
        }
    }

    fn refill(&mut self, config: &HubConfig, now_ms: i64) {
        let elapsed = (now_ms - self.refilled_at).max(0) as f64 / 1000.0;
        self.refilled_at = now_ms;
        let tokens = f64::from(self.tokens) + elapsed * config.flood_rate;
        self.tokens = tokens.min(f64::from(config.flood_burst)) as f32;
    }

    /// Lets `line` through, or delays it (a copy is kept) and says how far
    /// the client has gone. A delayed client is put on `flooding`.
    pub(crate) fn gate(
        &mut self,
        config: &HubConfig,
        flooding: &mut Flooding,
        id: ClientId,
        line: &[u8],
        now_ms: i64,
    ) -> Gate {
        if config.flood_rate <= 0.0 || self.exempt {
            return Gate::Pass;
        }
        self.refill(config, now_ms);
        if self.delayed.is_empty() && self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Gate::Pass;
        }
        self.delayed.push_back(Bytes::copy_from_slice(line));
        flooding.still(id);
        let queued = self.delayed.len();
        if queued > 4 * config.flood_queue() {
            Gate::Disconnect
        } else if queued > config.flood_queue() && !self.warned {
            self.warned = true;
            Gate::Warn
        } else {
            Gate::Delayed
        }
    }

    /// The next delayed line, if a token has come back for it.
    pub(crate) fn release(&mut self, config: &HubConfig, now_ms: i64) -> Release {
        self.refill(config, now_ms);
        if self.delayed.is_empty() {
            self.warned = false;
            self.delayed = VecDeque::new(); // give the memory back
            return Release::Done;
        }
        if self.tokens < 1.0 {
            return Release::Later;
        }
        self.tokens -= 1.0;
        self.delayed
            .pop_front()
            .map_or(Release::Done, Release::Line)
    }

    /// The oldest delayed line, regardless of tokens (the client is leaving:
    /// what it sent is said now rather than lost).
    pub(crate) fn take_delayed(&mut self) -> Option<Bytes> {
        self.delayed.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rate: f64, burst: u32) -> HubConfig {
        HubConfig {
            flood_rate: rate,
            flood_burst: burst,
            ..HubConfig::default()
        }
    }

    #[test]
    fn a_burst_passes_then_lines_wait_for_tokens_in_order() {
        let config = config(1.0, 2);
        let mut flooding = Flooding::default();
        let mut state = FloodState::new(&config, false, 0);
        let id = ClientId(1);
        let gates: Vec<Gate> = [b"a", b"b", b"c", b"d"]
            .iter()
            .map(|line| state.gate(&config, &mut flooding, id, *line, 0))
            .collect();
        assert_eq!(
            gates,
            [Gate::Pass, Gate::Pass, Gate::Delayed, Gate::Delayed]
        );
        assert_eq!(flooding.take(), [id]);
        assert_eq!(state.release(&config, 500), Release::Later);
        assert_eq!(
            state.release(&config, 1000),
            Release::Line(Bytes::from_static(b"c"))
        );
        assert_eq!(
            state.release(&config, 2000),
            Release::Line(Bytes::from_static(b"d"))
        );
        assert_eq!(state.release(&config, 2000), Release::Done);
    }

    #[test]
    fn a_flooder_is_warned_once_then_disconnected() {
        let config = config(1.0, 1);
        let mut flooding = Flooding::default();
        let mut state = FloodState::new(&config, false, 0);
        let gates: Vec<Gate> = (0..40)
            .map(|_| state.gate(&config, &mut flooding, ClientId(1), b"x", 0))
            .collect();
        let queue = config.flood_queue();
        assert_eq!(gates[queue + 1], Gate::Warn);
        assert_eq!(gates.iter().filter(|g| **g == Gate::Warn).count(), 1);
        assert_eq!(gates[4 * queue + 1], Gate::Disconnect);
    }

    #[test]
    fn exempt_clients_and_rate_zero_always_pass() {
        let mut flooding = Flooding::default();
        let off = config(0.0, 1);
        let mut state = FloodState::new(&off, false, 0);
        let on = config(1.0, 1);
        let mut exempt = FloodState::new(&on, true, 0);
        for _ in 0..100 {
            assert_eq!(
                state.gate(&off, &mut flooding, ClientId(1), b"x", 0),
                Gate::Pass
            );
            assert_eq!(
                exempt.gate(&on, &mut flooding, ClientId(2), b"x", 0),
                Gate::Pass
            );
        }
        assert!(flooding.take().is_empty());
    }
}
