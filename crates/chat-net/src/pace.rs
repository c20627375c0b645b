//! When a loaded turn writes: the reactor's two batching rules, as a small
//! state machine with the clock passed in, so they are tested without
//! sockets or sleeps.
//!
//! A turn is *loaded* when at least [`GATHER_MIN_PENDING`](crate::GATHER_MIN_PENDING)
//! connections have output waiting. A loaded turn
//! 1. *holds* while the core is busy: writes no sooner after the last
//!    loaded turn's writing ended than a share of what that writing took,
//!    capped at [`NetConfig::hold_for`]. Each write then carries what
//!    arrived meanwhile, and the kernel's cost is per write, per segment and
//!    per wake-up of the reader, whatever a write carries (bench/notes.md).
//!    The reactor sleeps in poll through the hold, woken on time by
//!    `hold_timer.rs` (epoll alone counts whole milliseconds).
//! 2. *gathers*: once due, goes on reading without sleeping while input
//!    keeps arriving, for up to [`NetConfig::gather_for`] from the turn's start.
//!
//! The share follows the load. A hold buys CPU with latency, and CPU is
//! only worth buying when the core is short of it: so the pace measures
//! how busy the loop was (wall time outside poll) between two loaded
//! writes, raises the share while that stays above [`BUSY_HIGH`] and
//! lowers it below [`BUSY_LOW`]. At low load the share falls to nothing
//! and a turn writes at once, as a loop without any hold would; a core
//! kept busy by writing holds as long as the writing took, so writing
//! takes at most about half the loop's time.

use std::time::{Duration, Instant};

use crate::NetConfig;

/// Above this share of wall time busy, holds grow. High: a fan-out of
/// 0.5–3M deliveries/s keeps the loop 75–85 % busy, and a hold there only
/// adds latency (bench/notes.md).
pub(crate) const BUSY_HIGH: f64 = 0.9;
/// Below this share of wall time busy, holds shrink.
pub(crate) const BUSY_LOW: f64 = 0.8;
/// How much one loaded turn's busy share moves the average (1/8: the
/// average follows the load within a few milliseconds).
const BUSY_WEIGHT: f64 = 0.125;
/// How far one loaded turn moves the hold's share of the last writing.
const SHARE_STEP: f64 = 0.05;

pub(crate) struct Pace {
    hold_for: Duration,
    gather_for: Duration,
    /// When the last loaded turn's writing ended, and how long it took.
    last_write: Option<(Instant, Duration)>,
    /// Time spent in poll since the last loaded write.
    polled: Duration,
    /// The loop's busy share of wall time, averaged over loaded turns.
    busy: f64,
    /// The hold, as a share of the last loaded writing: 0 to 1.
    share: f64,
}

impl Pace {
    pub(crate) fn new(config: &NetConfig) -> Pace {
        Pace {
            hold_for: config.hold_for,
            gather_for: config.gather_for,
            last_write: None,
            polled: Duration::ZERO,
            busy: 0.0,
            share: 0.0,
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
            .map(|(ended, took)| ended + took.mul_f64(self.share).min(self.hold_for));
        match hold_until {
            Some(until) if now < until && !carried_reads => Some(until - now),
            _ if now.duration_since(began) < self.gather_for => Some(Duration::ZERO),
            _ => None,
        }
    }

    /// The loop spent `spent` in one poll call.
    pub(crate) fn polled(&mut self, spent: Duration) {
        self.polled += spent;
    }

    /// A loaded turn wrote from `started` to `ended`.
    pub(crate) fn wrote(&mut self, started: Instant, ended: Instant) {
        if let Some((last_ended, _)) = self.last_write {
            let cycle = ended.saturating_duration_since(last_ended);
            if !cycle.is_zero() {
                let busy = cycle.saturating_sub(self.polled).as_secs_f64() / cycle.as_secs_f64();
                self.busy += (busy - self.busy) * BUSY_WEIGHT;
                if self.busy > BUSY_HIGH {
                    self.share = (self.share + SHARE_STEP).min(1.0);
                } else if self.busy < BUSY_LOW {
                    self.share = (self.share - SHARE_STEP).max(0.0);
                }
            }
        }
        self.polled = Duration::ZERO;
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

    /// `turns` loaded turns from `at`, each writing for `writing` after a
    /// gap of `gap` of which `asleep` was spent in poll; the time after.
    fn cycles(
        pace: &mut Pace,
        mut at: Instant,
        turns: usize,
        gap: Duration,
        asleep: Duration,
        writing: Duration,
    ) -> Instant {
        for _ in 0..turns {
            pace.polled(asleep);
            at += gap;
            pace.wrote(at, at + writing);
            at += writing;
        }
        at
    }

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
    fn a_busy_loop_holds_as_long_as_the_last_writing_took() {
        let mut pace = pace(1000, 1000);
        // Writing back to back, never asleep: the share grows to all of it.
        let ended = cycles(&mut pace, Instant::now(), 40, 10 * US, US, 300 * US);
        let began = ended + 100 * US;
        // Due at 300 µs after the writing ended: 200 µs to wait.
        assert_eq!(pace.wait(began, began, false), Some(200 * US));
        assert_eq!(pace.wait(began, ended + 299 * US, false), Some(US));
        // Due: gather (no sleep) until `gather_for` from the turn's start.
        assert_eq!(
            pace.wait(began, ended + 300 * US, false),
            Some(Duration::ZERO)
        );
        assert_eq!(pace.wait(began, began + 1000 * US, false), None);
    }

    #[test]
    fn a_loop_with_time_to_spare_stops_holding() {
        let mut pace = pace(1000, 0);
        let busy = cycles(&mut pace, Instant::now(), 40, 10 * US, US, 300 * US);
        assert_eq!(pace.wait(busy, busy, false), Some(300 * US));
        // Then lines come rarely: the loop sleeps 900 µs of every 1.2 ms.
        let idle = cycles(&mut pace, busy, 60, 900 * US, 890 * US, 300 * US);
        assert_eq!(pace.wait(idle, idle, false), None);
    }

    #[test]
    fn between_the_bounds_the_hold_stays_as_it_is() {
        let mut pace = pace(1000, 0);
        let busy = cycles(&mut pace, Instant::now(), 40, 10 * US, US, 300 * US);
        // Busy 85 % of the time, between the bounds: no change.
        let steady = cycles(&mut pace, busy, 60, 430 * US, 110 * US, 300 * US);
        assert_eq!(pace.wait(steady, steady, false), Some(300 * US));
    }

    #[test]
    fn the_hold_is_capped_and_can_be_turned_off() {
        let mut capped = pace(1000, 0);
        let ended = cycles(&mut capped, Instant::now(), 40, 10 * US, US, 5000 * US);
        assert_eq!(capped.wait(ended, ended, false), Some(1000 * US));
        assert_eq!(capped.wait(ended, ended + 1000 * US, false), None);

        let mut off = pace(0, 0);
        let ended = cycles(&mut off, Instant::now(), 40, 10 * US, US, 5000 * US);
        assert_eq!(off.wait(ended, ended, false), None);
    }

    #[test]
    fn input_left_to_read_is_never_slept_on() {
        let mut pace = pace(1000, 1000);
        let ended = cycles(&mut pace, Instant::now(), 40, 10 * US, US, 500 * US);
        assert_eq!(pace.wait(ended, ended, true), Some(Duration::ZERO));
    }
}
