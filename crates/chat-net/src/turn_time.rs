//! How long the reactor's turns take: a fixed-bucket histogram, cheap
//! enough to record every turn (one clock read and one array increment), and
//! shaped like a Prometheus histogram so it can be exported as it is.

use std::time::Duration;

/// Upper bounds of the buckets, in microseconds. A turn that takes
/// milliseconds delays every client by as much, so the buckets are finest
/// there; the last bucket (`+Inf`) is implicit.
pub const TURN_BUCKETS_MICROS: [u64; 12] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 1_000_000,
];

/// Turns counted per bucket (not cumulative), with their total time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TurnTimes {
    /// `buckets[i]`: turns that took at most `TURN_BUCKETS_MICROS[i]` and
    /// more than the bound before; the last entry counts the slower rest.
    pub buckets: [u64; TURN_BUCKETS_MICROS.len() + 1],
    /// Every turn's time added up, in nanoseconds.
    pub total_nanos: u64,
}

impl TurnTimes {
    /// Counts one turn that took `spent`.
    pub fn record(&mut self, spent: Duration) {
        let micros = u64::try_from(spent.as_micros()).unwrap_or(u64::MAX);
        let bucket = TURN_BUCKETS_MICROS.partition_point(|&bound| bound < micros);
        if let Some(count) = self.buckets.get_mut(bucket) {
            *count += 1;
        }
        let nanos = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
        self.total_nanos = self.total_nanos.saturating_add(nanos);
    }

    /// Turns counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_turn_lands_in_the_first_bucket_that_holds_it() {
        let mut times = TurnTimes::default();
        for micros in [0, 50, 51, 999_999, 1_000_000, 5_000_000] {
            times.record(Duration::from_micros(micros));
        }
        assert_eq!(times.buckets[0], 2);
        assert_eq!(times.buckets[1], 1);
        assert_eq!(times.buckets[11], 2);
        assert_eq!(times.buckets[12], 1);
        assert_eq!(times.count(), 6);
        assert_eq!(times.total_nanos, 7_000_100_000);
    }
}
