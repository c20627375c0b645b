//! When a loaded turn writes: the reactor's two batching rules, as a small
//! state machine with the clock passed in, so they are tested without
//! sockets or sleeps.
//!
//! A turn is *loaded* when at least [`GATHER_MIN_PENDING`](crate::GATHER_MIN_PENDING)
//! connections have output waiting. A loaded turn
//! 1. *holds*: writes no sooner after the last loaded turn's writing ended
//!    than that writing took, capped at [`NetConfig::hold_for`]. Writing
//!    then takes at most about half the loop's time, and each write carries
//!    what arrived meanwhile: the kernel's cost is per write, per segment
//!    and per wake-up of the reader, whatever a write carries (bench/notes.md).
//!    The reactor sleeps in poll through the hold, woken on time by
//!    `hold_timer.rs` (epoll alone counts whole milliseconds).
//! 2. *gathers*: once due, goes on reading without sleeping while input
//!    keeps arriving, for up to [`NetConfig::gather_for`] from the turn's start.
//!
//! At low load no loaded turn has written lately, nothing holds, and a turn
//! writes at once.

use std::time::{Duration, Instant};

use crate::NetConfig;

pub(crate) struct Pace {
    hold_for: Duration,
    gather_for: Duration,
    /// When the last loaded turn's writing ended, and how long it took.
    last_write: Option<(Instant, Duration)>,
}

impl Pace {
    pub(crate) fn new(config: &NetConfig) -> Pace {
        Pace {
            hold_for: config.hold_for,
            gather_for: config.gather_for,
            last_write: None,
        }
    }

    /// How long a loaded turn that began at `began` polls for input before
    /// it writes, at `now`; `None`: write now. `carried_reads`: connections
    /// still have input to read (never sleep then).
    pub(crate) fn wait(
        &self,
        began: Instant,
        now: Instant,
        carried_reads: bool,
    ) -> Option<Duration> {
        let hold_until = self
            .last_write
            .map(|(ended, took)| ended + took.min(self.hold_for));
        match hold_until {
            Some(until) if now < until && !carried_reads => Some(until - now),
            _ if now.duration_since(began) < self.gather_for => Some(Duration::ZERO),
            _ => None,
        }
    }

    /// A loaded turn wrote from `started` to `ended`.
    pub(crate) fn wrote(&mut self, started: Instant, ended: Instant) {
        self.last_write = Some((ended, ended.duration_since(started)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace(hold_us: u64, gather_us: u64) -> Pace {
        let config = NetConfig {
            hold_for: Duration::from_micros(hold_us),
            gather_for: Duration::from_micros(gather_us),
            ..NetConfig::default()
        };
        Pace::new(&config)
    }

    const US: Duration = Duration::from_micros(1);

    #[test]
    fn without_a_recent_loaded_write_a_turn_only_gathers() {
        let pace = pace(1000, 1000);
        let began = Instant::now();
        assert_eq!(pace.wait(began, began, false), Some(Duration::ZERO));
        assert_eq!(
            pace.wait(began, began + 999 * US, false),
            Some(Duration::ZERO)
        );
        assert_eq!(pace.wait(began, began + 1000 * US, false), None);
    }

    #[test]
    fn a_turn_holds_as_long_as_the_last_writing_took() {
        let mut pace = pace(1000, 1000);
        let t0 = Instant::now();
        pace.wrote(t0, t0 + 300 * US);
        let began = t0 + 400 * US;
        // Due at 300 + 300 µs: 200 µs to wait.
        assert_eq!(pace.wait(began, began, false), Some(200 * US));
        assert_eq!(pace.wait(began, t0 + 599 * US, false), Some(US));
        // Due: gather (no sleep) until `gather_for` from the turn's start.
        assert_eq!(pace.wait(began, t0 + 600 * US, false), Some(Duration::ZERO));
        assert_eq!(pace.wait(began, began + 1000 * US, false), None);
    }

    #[test]
    fn the_hold_is_capped_and_can_be_turned_off() {
        let mut capped = pace(1000, 0);
        let t0 = Instant::now();
        capped.wrote(t0, t0 + 5000 * US);
        let ended = t0 + 5000 * US;
        assert_eq!(capped.wait(ended, ended, false), Some(1000 * US));
        assert_eq!(capped.wait(ended, ended + 1000 * US, false), None);

        let mut off = pace(0, 0);
        off.wrote(t0, ended);
        assert_eq!(off.wait(ended, ended, false), None);
    }

    #[test]
    fn input_left_to_read_is_never_slept_on() {
        let mut pace = pace(1000, 1000);
        let t0 = Instant::now();
        pace.wrote(t0, t0 + 500 * US);
        let began = t0 + 500 * US;
        assert_eq!(pace.wait(began, began, true), Some(Duration::ZERO));
    }
}
