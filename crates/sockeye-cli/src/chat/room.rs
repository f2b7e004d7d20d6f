//! The room: who is online, and broadcasting to them without ever waiting.
//!
//! Each member has a bounded queue of outgoing JSON texts, drained by its own
//! task. Broadcasting only `try_send`s into those queues; a member whose queue
//! is full has fallen behind, is removed at once and told (through its
//! [`Notify`]) to close with 1008 (policy violation). One slow reader can
//! therefore never hold up the others, and no queue grows without bound.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, mpsc};

use super::protocol::{Outbound, now_millis};

/// Outgoing messages a member may have waiting before it counts as too slow.
pub const QUEUE_CAPACITY: usize = 256;

/// A member's handle, held by its connection task.
pub struct Membership {
    /// The member's id in the room.
    pub id: u64,
    /// The name it goes by.
    pub name: String,
    /// Texts to send to it.
    pub outbox: mpsc::Receiver<Arc<str>>,
    /// Notified when it fell behind and was removed.
    pub evicted: Arc<Notify>,
}

struct Member {
    name: String,
    outbox: mpsc::Sender<Arc<str>>,
    evicted: Arc<Notify>,
}

#[derive(Default)]
struct Inner {
    members: BTreeMap<u64, Member>,
    next_id: u64,
    next_guest: u64,
}

/// The chat room shared by every connection.
#[derive(Clone, Default)]
pub struct Room {
    inner: Arc<Mutex<Inner>>,
}

impl Room {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; carry on.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Add a member named `wanted` (made unique with a `-2`, `-3`... suffix),
    /// or `guest-N` without one; announce it to everyone.
    pub fn join(&self, wanted: Option<String>) -> Membership {
        let mut inner = self.lock();
        let name = match wanted {
            Some(name) => unique_name(&inner, name),
            None => loop {
                inner.next_guest += 1;
                let name = format!("guest-{}", inner.next_guest);
                if !is_taken(&inner, &name) {
                    break name;
                }
            },
        };
        inner.next_id += 1;
        let id = inner.next_id;
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let evicted = Arc::new(Notify::new());
        // Fresh queue: the welcome always fits.
        let _ = sender.try_send(Outbound::Welcome { name: &name }.to_json().into());
        inner.members.insert(
            id,
            Member {
                name: name.clone(),
                outbox: sender,
                evicted: evicted.clone(),
            },
        );
        let join = Outbound::Join {
            from: &name,
            timestamp: now_millis(),
        }
        .to_json();
        broadcast_locked(&mut inner, &join);
        announce_presence(&mut inner);
        Membership {
            id,
            name,
            outbox: receiver,
            evicted,
        }
    }

    /// Remove member `id` (if still there) and announce it.
    pub fn leave(&self, id: u64) {
        let mut inner = self.lock();
        if let Some(member) = inner.members.remove(&id) {
            announce_leave(&mut inner, &member.name);
        }
    }

    /// Send `text` from `from` to everyone, sender included.
    pub fn say(&self, from: &str, text: &str) {
        let json = Outbound::Message {
            from,
            text,
            timestamp: now_millis(),
        }
        .to_json();
        broadcast_locked(&mut self.lock(), &json);
    }

    /// Names online, in order of arrival.
    #[cfg(test)]
    pub fn online(&self) -> Vec<String> {
        self.lock()
            .members
            .values()
            .map(|member| member.name.clone())
            .collect()
    }
}

fn is_taken(inner: &Inner, name: &str) -> bool {
    inner.members.values().any(|member| member.name == name)
}

fn unique_name(inner: &Inner, name: String) -> String {
    if !is_taken(inner, &name) {
        return name;
    }
    (2..)
        .map(|n| format!("{name}-{n}"))
        .find(|candidate| !is_taken(inner, candidate))
        .unwrap_or(name)
}

/// Queue `json` for every member; evict those whose queue is full or gone,
/// and announce their leaving (which may evict more, hence the loop).
fn broadcast_locked(inner: &mut Inner, json: &str) {
    let text: Arc<str> = Arc::from(json);
    let mut fallen_behind = Vec::new();
    for (id, member) in &inner.members {
        if member.outbox.try_send(text.clone()).is_err() {
            fallen_behind.push(*id);
        }
    }
    for id in fallen_behind {
        if let Some(member) = inner.members.remove(&id) {
            tracing::info!(
                name = member.name,
                "client fell behind; closing it with 1008"
            );
            member.evicted.notify_one();
            announce_leave(inner, &member.name);
        }
    }
}

fn announce_leave(inner: &mut Inner, name: &str) {
    let leave = Outbound::Leave {
        from: name,
        timestamp: now_millis(),
    }
    .to_json();
    broadcast_locked(inner, &leave);
    announce_presence(inner);
}

fn announce_presence(inner: &mut Inner) {
    let presence = Outbound::Presence {
        online: inner.members.values().map(|m| m.name.as_str()).collect(),
    }
    .to_json();
    broadcast_locked(inner, &presence);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(membership: &mut Membership) -> Vec<String> {
        let mut texts = Vec::new();
        while let Ok(text) = membership.outbox.try_recv() {
            texts.push(text.to_string());
        }
        texts
    }

    #[test]
    fn names_guests_and_makes_names_unique() {
        let room = Room::default();
        let a = room.join(None);
        let b = room.join(Some("ann".into()));
        let c = room.join(Some("ann".into()));
        assert_eq!(
            (a.name.as_str(), b.name.as_str(), c.name.as_str()),
            ("guest-1", "ann", "ann-2")
        );
        assert_eq!(room.online(), ["guest-1", "ann", "ann-2"]);
    }

    #[test]
    fn everyone_including_the_sender_gets_a_message() {
        let room = Room::default();
        let mut ann = room.join(Some("ann".into()));
        let mut bob = room.join(Some("bob".into()));
        drain(&mut ann);
        drain(&mut bob);
        room.say("ann", "hi");
        for member in [&mut ann, &mut bob] {
            let texts = drain(member);
            assert_eq!(texts.len(), 1);
            assert!(texts[0].starts_with(r#"{"type":"message","from":"ann","text":"hi","#));
        }
    }

    #[test]
    fn evicts_a_member_that_falls_behind_without_blocking_the_others() {
        let room = Room::default();
        let slow = room.join(Some("slow".into()));
        let mut fast = room.join(Some("fast".into()));
        for n in 0..QUEUE_CAPACITY * 2 {
            room.say("fast", &n.to_string());
            drain(&mut fast);
        }
        assert_eq!(room.online(), ["fast"]);
        // The permit is stored: the slow member's task sees it when it looks.
        let notified = slow.evicted.notified();
        futures_lite_ready(notified);
    }

    /// Poll a `Notified` once without a runtime.
    fn futures_lite_ready(notified: tokio::sync::futures::Notified<'_>) {
        let mut notified = std::pin::pin!(notified);
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(std::future::Future::poll(notified.as_mut(), &mut cx).is_ready());
    }
}
