//! The connection's timer table: a fixed set of named deadlines.

use core::time::Duration;

/// No deadline.
const UNSET: u64 = u64::MAX;

/// `at` in nanoseconds, saturating below the [`UNSET`] sentinel (584 years).
const fn nanos(at: Duration) -> u64 {
    let nanos = at.as_nanos();
    if nanos >= (UNSET - 1) as u128 {
        UNSET - 1
    } else {
        // In range: checked just above.
        nanos as u64
    }
}

/// The timers a connection may arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The closing handshake's deadline (RFC 6455 §7.1.1): while the
    /// connection is open, waiting for the peer's close frame after sending
    /// ours; once it is closed, a client's wait for the server to close the
    /// transport. The two never overlap, so they share one slot.
    Close = 0,
    /// When a peer that sent nothing since the last keepalive ping is declared
    /// dead. Checked before `Keepalive`, which may re-arm it.
    PongDeadline = 1,
    /// When to send the next keepalive ping.
    Keepalive = 2,
    /// When to check whether the connection has been idle.
    Idle = 3,
}

const TIMER_COUNT: usize = 4;
const ALL: [Timer; TIMER_COUNT] = [
    Timer::Close,
    Timer::PongDeadline,
    Timer::Keepalive,
    Timer::Idle,
];

/// Deadlines in nanoseconds since the caller's epoch, [`UNSET`] when absent:
/// half the size of `Option<Duration>` per slot, which every connection pays
/// for. A deadline beyond `u64::MAX - 1` ns (584 years) is kept as that.
/// Beside them, the latest time an input brought, for the rules that start
/// a timer while parsing (which `poll_event` does without the time).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timers {
    deadlines: [u64; TIMER_COUNT],
    now: u64,
}

impl Timers {
    /// No timer armed; the time is `now`.
    pub(crate) fn new(now: Duration) -> Self {
        Self {
            deadlines: [UNSET; TIMER_COUNT],
            now: nanos(now),
        }
    }

    /// Record the time an input brought. Time never runs backwards here: an
    /// earlier `now` than one already seen is ignored.
    pub(crate) fn advance_to(&mut self, now: Duration) {
        self.now = self.now.max(nanos(now));
    }

    /// The latest time an input brought.
    pub(crate) fn now(&self) -> Duration {
        Duration::from_nanos(self.now)
    }

    pub(crate) fn set(&mut self, timer: Timer, at: Duration) {
        self.deadlines[timer as usize] = nanos(at);
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadlines = [UNSET; TIMER_COUNT];
    }

    pub(crate) fn is_set(&self, timer: Timer) -> bool {
        self.deadlines[timer as usize] != UNSET
    }

    /// The earliest armed deadline.
    pub(crate) fn earliest(&self) -> Option<Duration> {
        let earliest = self.deadlines.iter().copied().min()?;
        (earliest != UNSET).then(|| Duration::from_nanos(earliest))
    }

    /// Disarm and return the timers whose deadline is at or before `now`, in table order.
    pub(crate) fn expire(&mut self, now: Duration) -> impl Iterator<Item = Timer> + use<> {
        self.advance_to(now);
        let now = nanos(now);
        let mut fired = [false; TIMER_COUNT];
        for (slot, deadline) in fired.iter_mut().zip(self.deadlines.iter_mut()) {
            if *deadline <= now {
                *slot = true;
                *deadline = UNSET;
            }
        }
        ALL.into_iter()
            .zip(fired)
            .filter_map(|(timer, fired)| fired.then_some(timer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_and_expiry() {
        let mut timers = Timers::new(Duration::ZERO);
        assert_eq!(timers.earliest(), None);
        timers.set(Timer::Idle, Duration::from_secs(9));
        timers.set(Timer::Close, Duration::from_secs(5));
        assert_eq!(timers.earliest(), Some(Duration::from_secs(5)));
        assert_eq!(timers.expire(Duration::from_secs(4)).count(), 0);
        let fired: alloc::vec::Vec<_> = timers.expire(Duration::from_secs(5)).collect();
        assert_eq!(fired, [Timer::Close]);
        assert_eq!(timers.earliest(), Some(Duration::from_secs(9)));
        assert!(!timers.is_set(Timer::Close));
    }

    #[test]
    fn far_deadlines_stay_armed_and_never_fire_early() {
        let mut timers = Timers::new(Duration::ZERO);
        timers.set(Timer::Keepalive, Duration::MAX);
        assert!(timers.is_set(Timer::Keepalive));
        assert_eq!(timers.earliest(), Some(Duration::from_nanos(u64::MAX - 1)));
        assert_eq!(timers.expire(Duration::from_secs(1 << 33)).count(), 0);
        assert_eq!(timers.expire(Duration::MAX).count(), 1);
        assert_eq!(timers.earliest(), None);
    }
}
