//! A message-rate limit per connection: a token bucket fed with the time.

use std::time::Duration;

/// At most `messages` messages per `per`, with bursts up to `messages`.
///
/// ```
/// use sockeye_io::server::RateLimit;
/// use std::time::Duration;
///
/// let limit = RateLimit::new(2, Duration::from_secs(1));
/// let mut limiter = limit.start();
/// let t0 = Duration::ZERO;
/// assert!(limiter.allow(t0) && limiter.allow(t0));
/// assert!(!limiter.allow(t0)); // a third message in the same instant
/// assert!(limiter.allow(Duration::from_millis(500))); // half a second earns one back
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    messages: u32,
    per: Duration,
}

impl RateLimit {
    /// `messages` per `per` (a `messages` of 0 is taken as 1).
    pub fn new(messages: u32, per: Duration) -> Self {
        Self {
            messages: messages.max(1),
            per,
        }
    }

    /// Messages allowed per window.
    pub fn messages(&self) -> u32 {
        self.messages
    }

    /// The window.
    pub fn per(&self) -> Duration {
        self.per
    }

    /// A full bucket.
    pub fn start(&self) -> RateLimiter {
        RateLimiter {
            limit: *self,
            ready_at: Duration::ZERO,
        }
    }
}

/// The state of one connection's [`RateLimit`].
///
/// Kept as the time at which the bucket would be full again (the generic
/// cell rate algorithm): one number, no floating point, no timer.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    /// When every token spent so far has been earned back.
    ready_at: Duration,
}

impl RateLimiter {
    /// Take a token for a message arriving at `now` (on any monotonic scale,
    /// the same for every call); false when the bucket is empty, in which
    /// case nothing is taken.
    pub fn allow(&mut self, now: Duration) -> bool {
        let cost = self.limit.per / self.limit.messages;
        let start = self.ready_at.max(now);
        let after = start + cost;
        // The bucket holds `per` worth of tokens.
        if after > now + self.limit.per {
            return false;
        }
        self.ready_at = after;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn allows_a_full_burst_then_refuses() {
        let mut limiter = RateLimit::new(5, ms(1000)).start();
        for _ in 0..5 {
            assert!(limiter.allow(ms(10)));
        }
        assert!(!limiter.allow(ms(10)));
        assert!(!limiter.allow(ms(150)));
    }

    #[test]
    fn earns_tokens_back_at_the_configured_rate() {
        let mut limiter = RateLimit::new(4, ms(1000)).start();
        for _ in 0..4 {
            assert!(limiter.allow(ms(0)));
        }
        assert!(!limiter.allow(ms(249)));
        assert!(limiter.allow(ms(250)));
        assert!(!limiter.allow(ms(251)));
        // After a long quiet spell the bucket is full again, never fuller.
        for _ in 0..4 {
            assert!(limiter.allow(ms(10_000)));
        }
        assert!(!limiter.allow(ms(10_000)));
    }

    #[test]
    fn a_steady_rate_at_the_limit_is_always_allowed() {
        let mut limiter = RateLimit::new(10, ms(1000)).start();
        for n in 0..1000 {
            assert!(limiter.allow(ms(n * 100)), "message {n}");
        }
    }

    #[test]
    fn a_refused_message_costs_nothing() {
        let mut limiter = RateLimit::new(1, ms(1000)).start();
        assert!(limiter.allow(ms(0)));
        for t in 1..100 {
            assert!(!limiter.allow(ms(t)));
        }
        assert!(limiter.allow(ms(1000)));
    }
}
