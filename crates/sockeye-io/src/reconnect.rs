//! A client that reconnects: the policy, written once for every runtime.
//!
//! * [`ReconnectPolicy`]: exponential backoff (initial delay, factor, cap),
//!   jitter, the most attempts, the size of the outbox;
//! * [`Backoff`]: the delays that policy gives, jittered from a seeded
//!   generator (deterministic for a fixed [`ReconnectPolicy::seed`]);
//! * [`Outbox`]: messages sent while disconnected, bounded; when full, the
//!   message is handed back ([`SendError::Full`]), never dropped;
//! * [`should_reconnect`]: no reconnect after a normal close (1000) or after
//!   the application closed the connection;
//! * [`Event`]: what the client reports: connected, a message, disconnected,
//!   an attempt failed, gave up;
//! * [`ReconnectingClient`] (feature `async`): the client itself, over any
//!   runtime through a small [`Connector`] (connect and sleep), which is all
//!   an adapter provides.

#[cfg(feature = "async")]
mod client;

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use crate::{CloseStatus, Error, Message, Response};

#[cfg(feature = "async")]
pub use client::{Attempt, Connected, Connector, ReconnectingClient};

/// How a random delay is drawn from the backoff's exponential delay `d`
/// (the "full" and "equal" jitter of the usual exponential-backoff schemes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jitter {
    /// Exactly `d`: every client retries at the same moments.
    None,
    /// Uniform in `[0, d]`: spreads retries the most.
    Full,
    /// Uniform in `[d/2, d]`: spread, but never much sooner than `d`.
    Equal,
}

/// When and how often a [`ReconnectingClient`] tries again.
///
/// Retry `n` (counted from 0 after a connection was lost or an attempt
/// failed) waits `min(max_delay, initial_delay * factor^n)`, jittered. The
/// first connection is attempted at once.
///
/// ```
/// use std::time::Duration;
/// use sockeye_io::reconnect::{Jitter, ReconnectPolicy};
///
/// let mut policy = ReconnectPolicy::default();
/// policy.initial_delay = Duration::from_millis(100);
/// policy.max_delay = Duration::from_secs(5);
/// policy.jitter = Jitter::Equal;
/// policy.max_attempts = Some(5);
/// policy.seed = Some(42); // the same delays on every run
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// The delay before the first retry. Default 500 ms.
    pub initial_delay: Duration,
    /// What each further retry multiplies the delay by (at least 1).
    /// Default 2.
    pub factor: f64,
    /// The longest delay before jitter. Default 30 s.
    pub max_delay: Duration,
    /// How the delay is randomised. Default [`Jitter::Full`].
    pub jitter: Jitter,
    /// Consecutive failed connection attempts before giving up (`None`:
    /// never give up). A successful connection starts the count again.
    /// Default 10.
    pub max_attempts: Option<u32>,
    /// Messages kept while disconnected. Default 1024.
    pub outbox_capacity: usize,
    /// The jitter generator's seed; `None` draws one per client. Default `None`.
    pub seed: Option<u64>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_delay: Duration::from_millis(500),
            factor: 2.0,
            max_delay: Duration::from_secs(30),
            jitter: Jitter::Full,
            max_attempts: Some(10),
            outbox_capacity: 1024,
            seed: None,
        }
    }
}

/// The delays of a [`ReconnectPolicy`], with its jitter drawn from a small
/// seeded generator (SplitMix64: not for secrets, only for spreading retries).
///
/// ```
/// use std::time::Duration;
/// use sockeye_io::reconnect::{Backoff, Jitter, ReconnectPolicy};
///
/// let mut policy = ReconnectPolicy::default();
/// policy.initial_delay = Duration::from_millis(100);
/// policy.jitter = Jitter::None;
/// let mut backoff = Backoff::new(&policy);
/// assert_eq!(backoff.delay(0), Duration::from_millis(100));
/// assert_eq!(backoff.delay(3), Duration::from_millis(800));
/// assert_eq!(backoff.delay(60), Duration::from_secs(30)); // capped
/// ```
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    factor: f64,
    cap: Duration,
    jitter: Jitter,
    state: u64,
}

impl Backoff {
    /// The backoff of `policy`, seeded with its seed or a fresh one.
    pub fn new(policy: &ReconnectPolicy) -> Self {
        Backoff {
            initial: policy.initial_delay,
            factor: if policy.factor.is_finite() {
                policy.factor.max(1.0)
            } else {
                1.0
            },
            cap: policy.max_delay,
            jitter: policy.jitter,
            state: policy.seed.unwrap_or_else(fresh_seed),
        }
    }

    /// The delay before retry `retry` (0 for the first), before jitter:
    /// `min(cap, initial * factor^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
        let seconds = self.initial.as_secs_f64() * self.factor.powi(exponent);
        let cap = self.cap.as_secs_f64();
        // Compared as floats first: the product may be infinite.
        if !seconds.is_finite() || seconds >= cap {
            self.cap
        } else {
            Duration::from_secs_f64(seconds)
        }
    }

    /// The shortest and longest delay the jitter can give for `retry`.
    pub fn bounds(&self, retry: u32) -> (Duration, Duration) {
        let ceiling = self.ceiling(retry);
        match self.jitter {
            Jitter::None => (ceiling, ceiling),
            Jitter::Full => (Duration::ZERO, ceiling),
            Jitter::Equal => (ceiling / 2, ceiling),
        }
    }

    /// The (jittered) delay before retry `retry`, within [`bounds`](Self::bounds).
    pub fn delay(&mut self, retry: u32) -> Duration {
        let (low, high) = self.bounds(retry);
        if low == high {
            return low;
        }
        low + (high - low).mul_f64(self.unit())
    }

    /// A uniform draw from `[0, 1]`.
    fn unit(&mut self) -> f64 {
        // SplitMix64 (Steele, Lea, Flood 2014).
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // The top 53 bits, as a fraction of the largest 53-bit value.
        (z >> 11) as f64 / ((1u64 << 53) - 1) as f64
    }
}

/// A seed that differs between clients, from the standard library's
/// per-process random hasher keys.
fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// Counts failed attempts and says how long to wait before the next one,
/// or to give up, under a [`ReconnectPolicy`].
#[derive(Clone, Debug)]
pub struct Schedule {
    backoff: Backoff,
    max_attempts: Option<u32>,
    failures: u32,
}

impl Schedule {
    /// The schedule of `policy`.
    pub fn new(policy: &ReconnectPolicy) -> Self {
        Schedule {
            backoff: Backoff::new(policy),
            max_attempts: policy.max_attempts,
            failures: 0,
        }
    }

    /// A connection was established: the count starts again.
    pub fn connected(&mut self) {
        self.failures = 0;
    }

    /// Consecutive failed attempts so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// An established connection was lost: the delay before the first retry.
    pub fn lost(&mut self) -> Duration {
        self.failures = 0;
        self.backoff.delay(0)
    }

    /// An attempt failed: the delay before the next one, or `None` to give
    /// up after [`ReconnectPolicy::max_attempts`] failures in a row.
    pub fn failed(&mut self) -> Option<Duration> {
        self.failures = self.failures.saturating_add(1);
        if self.max_attempts.is_some_and(|max| self.failures >= max) {
            return None;
        }
        Some(self.backoff.delay(self.failures))
    }

    /// The backoff, for its bounds.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }
}

/// Whether a client whose connection ended with `close` should connect
/// again: not after a normal closure (1000, the peer meant to end it) and
/// not when the application closed it itself (`closed_by_application`).
///
/// ```
/// use sockeye_io::CloseStatus;
/// use sockeye_io::reconnect::should_reconnect;
///
/// let going_away = CloseStatus { code: 1001, reason: "restart".into(), was_clean: true };
/// assert!(should_reconnect(&going_away, false));
/// assert!(!should_reconnect(&going_away, true));
/// assert!(!should_reconnect(&CloseStatus { code: 1000, reason: String::new(), was_clean: true }, false));
/// assert!(should_reconnect(&CloseStatus::abnormal("reset"), false));
/// ```
pub fn should_reconnect(close: &CloseStatus, closed_by_application: bool) -> bool {
    !closed_by_application && !close.is_normal()
}

/// Messages sent while disconnected, in order, at most `capacity` of them.
#[derive(Clone, Debug, Default)]
pub struct Outbox {
    queue: VecDeque<Message>,
    capacity: usize,
}

impl Outbox {
    /// An empty outbox holding up to `capacity` messages.
    pub fn new(capacity: usize) -> Self {
        Outbox {
            queue: VecDeque::new(),
            capacity,
        }
    }

    /// Queue `message` last.
    ///
    /// # Errors
    /// [`SendError::Full`], holding `message`, when the outbox is full: the
    /// caller decides whether to drop it, wait or retry.
    pub fn push(&mut self, message: Message) -> Result<(), SendError> {
        if self.queue.len() >= self.capacity {
            return Err(SendError::Full(message));
        }
        self.queue.push_back(message);
        Ok(())
    }

    /// The oldest message, still queued.
    pub fn front(&self) -> Option<&Message> {
        self.queue.front()
    }

    /// Take the oldest message out.
    pub fn pop(&mut self) -> Option<Message> {
        self.queue.pop_front()
    }

    /// Take every queued message out, oldest first.
    pub fn drain(&mut self) -> Vec<Message> {
        self.queue.drain(..).collect()
    }

    /// Messages queued.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// Why a reconnecting client did not take a message. [`Full`](Self::Full)
/// and [`Closed`](Self::Closed) hand the message back.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// Disconnected, and the outbox is full.
    Full(Message),
    /// The client was closed or gave up: nothing more will be sent.
    Closed(Message),
    /// The message was handed to the connection, and writing it failed; the
    /// connection is lost and the client will reconnect (if the policy
    /// allows). Whether the peer got it is unknown.
    Failed(Error),
}

impl SendError {
    /// The message that was not sent, when the client still has it.
    pub fn into_message(self) -> Option<Message> {
        match self {
            SendError::Full(message) | SendError::Closed(message) => Some(message),
            SendError::Failed(_) => None,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Full(_) => f.write_str("the outbox is full"),
            SendError::Closed(_) => f.write_str("the client is closed"),
            SendError::Failed(error) => write!(f, "sending failed: {error}"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Failed(error) => Some(error),
            _ => None,
        }
    }
}

/// What a reconnecting client reports, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A connection is open and the outbox has been written to it.
    Connected {
        /// What the server's `101` said.
        response: Response,
        /// Which connection this is: 1 for the first, 2 after one reconnect...
        connection: u32,
    },
    /// A message from the server (including its close frame, as
    /// [`Message::Close`]).
    Message(Message),
    /// The open connection ended.
    Disconnected {
        /// How it ended.
        close: CloseStatus,
        /// The error that ended it, if one did.
        error: Option<Error>,
        /// The delay before the next attempt; `None` when the client stops
        /// (a normal closure, or the application closed it).
        reconnect_in: Option<Duration>,
    },
    /// A connection attempt failed.
    AttemptFailed {
        /// Consecutive failed attempts, this one included.
        attempt: u32,
        /// Why it failed.
        error: Error,
        /// The delay before the next attempt; `None` when the client gives up
        /// ([`Event::GaveUp`] follows).
        retry_in: Option<Duration>,
    },
    /// [`ReconnectPolicy::max_attempts`] attempts failed in a row; the client
    /// stops.
    GaveUp {
        /// The failed attempts.
        attempts: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(jitter: Jitter) -> ReconnectPolicy {
        ReconnectPolicy {
            initial_delay: Duration::from_millis(100),
            factor: 2.0,
            max_delay: Duration::from_secs(1),
            jitter,
            max_attempts: Some(4),
            outbox_capacity: 2,
            seed: Some(7),
        }
    }

    #[test]
    fn delays_grow_by_the_factor_up_to_the_cap() {
        let backoff = Backoff::new(&policy(Jitter::None));
        let ceilings: Vec<u128> = (0..6).map(|n| backoff.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn a_factor_below_one_or_not_finite_is_taken_as_one() {
        for factor in [0.5, f64::NAN, f64::INFINITY] {
            let mut p = policy(Jitter::None);
            p.factor = factor;
            let backoff = Backoff::new(&p);
            assert_eq!(backoff.ceiling(5), Duration::from_millis(100), "{factor}");
        }
    }

    #[test]
    fn jittered_delays_stay_within_their_bounds() {
        for jitter in [Jitter::Full, Jitter::Equal] {
            let mut backoff = Backoff::new(&policy(jitter));
            for retry in 0..50 {
                let (low, high) = backoff.bounds(retry);
                let delay = backoff.delay(retry);
                assert!(
                    low <= delay && delay <= high,
                    "{jitter:?} {retry}: {delay:?}"
                );
            }
        }
        let equal = Backoff::new(&policy(Jitter::Equal));
        assert_eq!(
            equal.bounds(1),
            (Duration::from_millis(100), Duration::from_millis(200))
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_delays_and_another_seed_others() {
        let draw = |seed| {
            let mut p = policy(Jitter::Full);
            p.seed = Some(seed);
            let mut backoff = Backoff::new(&p);
            (0..8).map(|n| backoff.delay(n)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        // Full jitter spreads: not every draw sits at a bound.
        let delays = draw(7);
        assert!(delays.iter().any(|d| !d.is_zero()));
    }

    #[test]
    fn schedule_gives_up_after_max_attempts_failures_in_a_row() {
        let mut schedule = Schedule::new(&policy(Jitter::None));
        assert_eq!(schedule.failed(), Some(Duration::from_millis(200)));
        assert_eq!(schedule.failed(), Some(Duration::from_millis(400)));
        assert_eq!(schedule.failed(), Some(Duration::from_millis(800)));
        assert_eq!(schedule.failed(), None);
        assert_eq!(schedule.failures(), 4);
        schedule.connected();
        assert_eq!(schedule.lost(), Duration::from_millis(100));
        assert_eq!(schedule.failed(), Some(Duration::from_millis(200)));
    }

    #[test]
    fn schedule_without_a_limit_never_gives_up() {
        let mut p = policy(Jitter::None);
        p.max_attempts = None;
        let mut schedule = Schedule::new(&p);
        for _ in 0..1000 {
            assert!(schedule.failed().is_some());
        }
        assert_eq!(schedule.failed(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn no_reconnect_after_a_normal_close_or_an_application_close() {
        let normal = CloseStatus {
            code: 1000,
            reason: String::new(),
            was_clean: true,
        };
        assert!(!should_reconnect(&normal, false));
        let away = CloseStatus {
            code: 1001,
            ..normal.clone()
        };
        assert!(should_reconnect(&away, false));
        assert!(!should_reconnect(&away, true));
        assert!(should_reconnect(&CloseStatus::abnormal("gone"), false));
        assert!(!should_reconnect(&CloseStatus::abnormal("gone"), true));
    }

    #[test]
    fn a_full_outbox_hands_the_message_back_and_keeps_the_order() {
        let mut outbox = Outbox::new(2);
        outbox.push(Message::text("1")).unwrap();
        outbox.push(Message::text("2")).unwrap();
        let refused = outbox.push(Message::text("3")).unwrap_err();
        assert!(matches!(&refused, SendError::Full(_)));
        assert_eq!(refused.into_message(), Some(Message::text("3")));
        assert_eq!(outbox.front(), Some(&Message::text("1")));
        assert_eq!(outbox.pop(), Some(Message::text("1")));
        outbox.push(Message::text("4")).unwrap();
        assert_eq!(outbox.drain(), [Message::text("2"), Message::text("4")]);
        assert!(outbox.is_empty());
    }
}
