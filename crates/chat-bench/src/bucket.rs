//! Open-loop pacing: a token bucket that releases messages at a target rate
//! whatever the server does, so latency measures the server, not a queue the
//! generator built by waiting for replies.

/// Releases `rate` tokens per second, at most `burst` at once. Tokens that
/// overflow the burst (the generator fell behind) are counted, not kept.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last_ns: u64,
    overflow: f64,
}

impl TokenBucket {
    /// A bucket starting empty at `now_ns`.
    pub fn new(rate: f64, burst: f64, now_ns: u64) -> TokenBucket {
        TokenBucket {
            rate: rate.max(0.0),
            burst: burst.max(1.0),
            tokens: 0.0,
            last_ns: now_ns,
            overflow: 0.0,
        }
    }

    /// Takes every whole token available at `now_ns`.
    pub fn take(&mut self, now_ns: u64) -> u64 {
        let dt = now_ns.saturating_sub(self.last_ns) as f64 / 1e9;
        self.last_ns = self.last_ns.max(now_ns);
        self.tokens += self.rate * dt;
        if self.tokens > self.burst {
            self.overflow += self.tokens - self.burst;
            self.tokens = self.burst;
        }
        let whole = self.tokens.floor();
        self.tokens -= whole;
        whole as u64
    }

    /// Tokens lost because the caller did not come back within the burst.
    pub fn overflow(&self) -> u64 {
        self.overflow.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn releases_the_rate_over_time() {
        let mut b = TokenBucket::new(1000.0, 100.0, 0);
        let total: u64 = (1..=1000).map(|i| b.take(i * MS)).sum();
        assert_eq!(total, 1000);
        assert_eq!(b.overflow(), 0);
    }

    #[test]
    fn keeps_fractions() {
        let mut b = TokenBucket::new(300.0, 10.0, 0);
        // 300/s polled every ms: 0.3 tokens per poll, nothing lost (the last
        // token may still be a rounding error short of whole).
        let total: u64 = (1..=10_000).map(|i| b.take(i * MS)).sum();
        assert!((2999..=3000).contains(&total), "{total}");
        assert_eq!(b.overflow(), 0);
    }

    #[test]
    fn caps_bursts_and_counts_overflow() {
        let mut b = TokenBucket::new(1000.0, 50.0, 0);
        assert_eq!(b.take(1000 * MS), 50);
        assert_eq!(b.overflow(), 950);
        assert_eq!(b.take(1010 * MS), 10);
    }

    #[test]
    fn time_going_backwards_gives_nothing() {
        let mut b = TokenBucket::new(1000.0, 50.0, 10 * MS);
        assert_eq!(b.take(5 * MS), 0);
        assert_eq!(b.take(11 * MS), 1);
    }
}
