//! Presence across instances: who is online in a room, on every instance,
//! with the entries of an instance that died expiring by themselves.
//!
//! Each instance states its own members of each room (`set` on
//! `redis::RedisPresence` or `nats::NatsPresence`, features `redis` and
//! `nats`) and asks for the room's members everywhere (`online`). The
//! backends:
//!
//! * **Redis**: one key per room and instance,
//!   `<prefix>presence:<room>:<instance hex>`, holding the names (one per
//!   line), written with a TTL of [`PresenceOptions::ttl`] and rewritten
//!   every [`PresenceOptions::interval`] and at once on a change; `online`
//!   reads the room's keys (`SCAN` + `MGET`).
//! * **NATS**: every interval and at once on a change, each instance
//!   publishes its names for each room on `<prefix>presence.<room>`
//!   (payload: version byte `1`, the 8-byte big-endian instance id, the
//!   names one per line; no names: it left the room); each instance keeps
//!   what it heard and `online` counts entries heard within the TTL.
//!
//! Staleness bound: an instance that dies without a word disappears from
//! every other instance's `online` at most [`PresenceOptions::ttl`] after its
//! last refresh, so at most `ttl` after it died. A change on a live
//! instance is visible elsewhere after one broker round trip (Redis) or one
//! delivery (NATS); an instance that starts learns the others' members at
//! once on Redis and within one `interval` on NATS.

// The shared parts are used by the backends only.
#![cfg_attr(not(any(feature = "redis", feature = "nats")), allow(dead_code))]

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use super::wire::{TopicError, check_topic};

/// Timing of presence refreshes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PresenceOptions {
    /// How often each instance refreshes its entries. Default 1 s.
    pub interval: Duration,
    /// How long an entry lives without a refresh: the staleness bound for
    /// an instance that dies. At least two intervals. Default 3 s.
    pub ttl: Duration,
}

impl Default for PresenceOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            ttl: Duration::from_secs(3),
        }
    }
}

impl PresenceOptions {
    /// The options with `interval` and a TTL of three intervals.
    pub fn every(interval: Duration) -> Self {
        Self {
            interval,
            ttl: interval * 3,
        }
    }

    /// The staleness bound: how long a dead instance's names can still be
    /// listed (the TTL, at least two intervals).
    pub fn staleness_bound(&self) -> Duration {
        self.ttl.max(self.interval * 2)
    }
}

/// This instance's members of each room, and a wake-up for the refresher.
#[derive(Default)]
pub(crate) struct Local {
    rooms: Mutex<BTreeMap<String, Vec<String>>>,
    pub changed: Notify,
}

impl Local {
    /// Replace this instance's names in `room` (none: it is not in the
    /// room). Names with a line break cannot be stored and are left out.
    pub fn set(&self, room: &str, names: Vec<String>) -> Result<(), TopicError> {
        check_topic(room)?;
        let names: Vec<String> = names
            .into_iter()
            .filter(|name| !name.is_empty() && !name.contains(['\n', '\r']))
            .collect();
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        if names.is_empty() {
            rooms.remove(room);
        } else {
            rooms.insert(room.to_owned(), names);
        }
        drop(rooms);
        self.changed.notify_one();
        Ok(())
    }

    pub fn names(&self, room: &str) -> Vec<String> {
        self.rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(room)
            .cloned()
            .unwrap_or_default()
    }

    pub fn snapshot(&self) -> BTreeMap<String, Vec<String>> {
        self.rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Names one per line.
pub(crate) fn join_names(names: &[String]) -> Vec<u8> {
    names.join("\n").into_bytes()
}

/// The names of [`join_names`] (invalid UTF-8 is replaced).
pub(crate) fn split_names(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .split('\n')
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_drop_what_cannot_be_stored_and_empty_leaves() {
        let local = Local::default();
        local
            .set("red", vec!["ann".into(), "b\nc".into(), String::new()])
            .unwrap();
        assert_eq!(local.names("red"), ["ann"]);
        assert_eq!(split_names(&join_names(&local.names("red"))), ["ann"]);
        local.set("red", Vec::new()).unwrap();
        assert!(local.snapshot().is_empty());
        assert_eq!(
            local.set("a b", Vec::new()),
            Err(TopicError::Character(' '))
        );
    }
}
