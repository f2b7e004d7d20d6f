//! Times and timeouts as nanoseconds in a `u64`, with [`UNSET`] for "none":
//! half the size of an `Option<Duration>`, for the values every connection
//! keeps (its timer deadlines and the timeouts of its settings).

use core::time::Duration;

/// No deadline, or no timeout.
pub(crate) const UNSET: u64 = u64::MAX;

/// `at` in nanoseconds, saturating below the [`UNSET`] sentinel (584 years).
pub(crate) const fn nanos(at: Duration) -> u64 {
    let nanos = at.as_nanos();
    if nanos >= (UNSET - 1) as u128 {
        UNSET - 1
    } else {
        // In range: checked just above.
        nanos as u64
    }
}
