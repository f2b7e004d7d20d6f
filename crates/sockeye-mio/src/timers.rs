//! One thread's engine deadlines: a min-heap with at most one live entry
//! per connection.
//!
//! An engine's next deadline moves later with every message (an idle
//! timer restarts); pushing an entry each time would cost a heap insert per
//! message. Instead a connection keeps the deadline of its entry in the
//! heap and pushes only an earlier one; when an entry comes due early, the
//! engine's `handle_timeout` does nothing yet and the connection arms its
//! later deadline then. An entry whose connection re-armed earlier or went
//! away is skipped when it comes out.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

/// A deadline of the connection in slab slot `key` with serial `serial`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    pub(crate) at: Duration,
    pub(crate) serial: u64,
    pub(crate) key: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<Entry>>,
}

impl Timers {
    /// Arms `want` for a connection whose live entry is `armed`; returns
    /// the connection's live entry afterwards.
    pub(crate) fn arm(
        &mut self,
        armed: Option<Duration>,
        want: Option<Duration>,
        serial: u64,
        key: usize,
    ) -> Option<Duration> {
        match (armed, want) {
            (_, None) => armed,
            (Some(armed), Some(want)) if armed <= want => Some(armed),
            (_, Some(at)) => {
                self.heap.push(Reverse(Entry { at, serial, key }));
                Some(at)
            }
        }
    }

    /// The next entry due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Duration) -> Option<Entry> {
        match self.heap.peek() {
            Some(Reverse(entry)) if entry.at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// When the earliest entry is due.
    pub(crate) fn next(&self) -> Option<Duration> {
        self.heap.peek().map(|Reverse(entry)| entry.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn only_an_earlier_deadline_is_pushed() {
        let mut timers = Timers::default();
        let armed = timers.arm(None, Some(10 * MS), 1, 0);
        assert_eq!(armed, Some(10 * MS));
        // Later: the live entry stays, nothing is pushed.
        assert_eq!(timers.arm(armed, Some(20 * MS), 1, 0), Some(10 * MS));
        // Earlier: pushed, and the 10 ms entry is stale from now on.
        assert_eq!(timers.arm(armed, Some(5 * MS), 1, 0), Some(5 * MS));
        assert_eq!(timers.next(), Some(5 * MS));
        assert_eq!(timers.pop_due(4 * MS), None);
        assert_eq!(timers.pop_due(6 * MS).map(|e| e.at), Some(5 * MS));
        assert_eq!(timers.pop_due(6 * MS), None);
        assert_eq!(timers.pop_due(10 * MS).map(|e| e.at), Some(10 * MS));
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn no_deadline_keeps_what_is_armed() {
        let mut timers = Timers::default();
        assert_eq!(timers.arm(None, None, 1, 0), None);
        assert_eq!(timers.arm(Some(MS), None, 1, 0), Some(MS));
        assert_eq!(timers.next(), None);
    }
}
