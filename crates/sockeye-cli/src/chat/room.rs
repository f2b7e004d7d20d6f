//! The room: who is online, and broadcasting to them without ever waiting.
//!
//! The queues are the shared server hub's ([`Clients`]): each member has a
//! bounded queue of outgoing JSON texts, drained by its own task.
//! Broadcasting only puts messages into those queues; a member whose queue
//! is full has fallen behind and is told (through its close order) to close
//! with 1008 (policy violation); the room then drops its name and announces
//! that it left. One slow reader can therefore never hold up the others, and
//! no queue grows without bound.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard};

use sockeye_io::Message;
use sockeye_io::server::{ClientId, ClientSlot, Clients, ServerPolicy};

use super::protocol::{Outbound, now_millis};
use super::scale::{BrokerUrl, Scale};

/// Payload bytes a member may have waiting before it counts as too slow:
/// chat lines are small, so this is hundreds of them.
pub const QUEUE_BUDGET: usize = 64 << 10;

/// A member's handle, held by its connection task; dropping it frees the
/// member's queue.
pub struct Membership {
    /// The member's id in the room.
    pub id: ClientId,
    /// The name it goes by.
    pub name: String,
    /// Its place and queue in the hub.
    pub slot: ClientSlot,
}

#[derive(Default)]
struct Names {
    names: BTreeMap<ClientId, String>,
    next_guest: u64,
}

/// The chat room shared by every connection.
#[derive(Clone)]
pub struct Room {
    clients: Clients,
    names: Arc<Mutex<Names>>,
    /// The other chat processes sharing the room, if any.
    scale: Option<Arc<Scale>>,
}

impl Default for Room {
    fn default() -> Self {
        Self {
            clients: Clients::new(&ServerPolicy::new().queue_budget(QUEUE_BUDGET)),
            names: Arc::default(),
            scale: None,
        }
    }
}

impl Room {
    /// A room shared with the other chat processes on `url`'s broker,
    /// with the task that keeps every member's presence list current
    /// (spawned on the current tokio runtime).
    pub fn shared(url: &BrokerUrl) -> Result<Self, String> {
        let mut room = Room::default();
        let scale = Scale::start(url, room.clients.clone())?;
        room.scale = Some(scale.clone());
        let announcer = room.clone();
        tokio::spawn(async move {
            scale
                .announce_presence_forever(|online| announcer.tell_everyone_online(online))
                .await;
        });
        Ok(room)
    }

    /// The link to the other processes, if the room is shared.
    pub fn scale(&self) -> Option<&Scale> {
        self.scale.as_deref()
    }

    /// Send this process's members the room's list.
    fn tell_everyone_online(&self, online: Vec<String>) {
        let mut names = self.lock();
        let presence = Outbound::Presence {
            online: online.iter().map(String::as_str).collect(),
        }
        .to_json();
        self.clients.broadcast(text(presence));
        self.drop_fallen_behind(&mut names);
    }

    /// The names; held for a whole room operation, so that announcements
    /// go out in the order of the changes they describe.
    fn lock(&self) -> MutexGuard<'_, Names> {
        // A panic while holding the lock leaves plain data behind; carry on.
        self.names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Add a member named `wanted` (made unique with a `-2`, `-3`... suffix),
    /// or `guest-N` without one; announce it to everyone.
    pub fn join(&self, wanted: Option<String>) -> Membership {
        let mut names = self.lock();
        let name = match wanted {
            Some(name) => unique_name(&names, name),
            None => loop {
                names.next_guest += 1;
                let name = format!("guest-{}", names.next_guest);
                if !is_taken(&names, &name) {
                    break name;
                }
            },
        };
        // The room has no per-address limit: every member counts as one address.
        let slot = match self.clients.admit(IpAddr::V4(Ipv4Addr::UNSPECIFIED)) {
            Ok(slot) => slot,
            Err(refusal) => unreachable!("the room sets no limit: {refusal:?}"),
        };
        let id = slot.id();
        if let Some(scale) = &self.scale {
            scale.join(id);
        }
        // Fresh queue: the welcome always fits.
        self.clients
            .send_to(id, text(Outbound::Welcome { name: &name }.to_json()));
        names.names.insert(id, name.clone());
        let join = Outbound::Join {
            from: &name,
            timestamp: now_millis(),
        }
        .to_json();
        self.broadcast_locked(&mut names, join);
        self.announce_presence(&mut names);
        Membership { id, name, slot }
    }

    /// Remove member `id` (if still there) and announce it.
    pub fn leave(&self, id: ClientId) {
        let mut names = self.lock();
        if let Some(scale) = &self.scale {
            scale.leave(id);
        }
        if let Some(name) = names.names.remove(&id) {
            self.announce_leave(&mut names, &name);
        }
    }

    /// Send `text` from `from` to everyone, sender included.
    pub fn say(&self, from: &str, said: &str) {
        let json = Outbound::Message {
            from,
            text: said,
            timestamp: now_millis(),
        }
        .to_json();
        self.broadcast_locked(&mut self.lock(), json);
    }

    /// Queue `json` for member `id` alone, behind what is already queued for it.
    pub fn tell(&self, id: ClientId, json: String) {
        let mut names = self.lock();
        self.clients.send_to(id, text(json));
        self.drop_fallen_behind(&mut names);
    }

    /// Names online, in order of arrival.
    #[cfg(test)]
    pub fn online(&self) -> Vec<String> {
        self.lock().names.values().cloned().collect()
    }

    /// Queue `json` for every member (on every process sharing the room);
    /// announce those that fell behind.
    fn broadcast_locked(&self, names: &mut Names, json: String) {
        match &self.scale {
            Some(scale) => scale.publish(json),
            None => {
                self.clients.broadcast(text(json));
            }
        }
        self.drop_fallen_behind(names);
    }

    /// Members told to close (their queue overflowed) leave the room at
    /// once; announcing it may overflow more queues, hence the recursion
    /// through `announce_leave`.
    fn drop_fallen_behind(&self, names: &mut Names) {
        let fallen: Vec<ClientId> = names
            .names
            .keys()
            .copied()
            .filter(|&id| self.clients.close_order(id).is_some())
            .collect();
        for id in fallen {
            if let Some(scale) = &self.scale {
                scale.leave(id);
            }
            if let Some(name) = names.names.remove(&id) {
                tracing::info!(name, "client fell behind; closing it with 1008");
                self.announce_leave(names, &name);
            }
        }
    }

    fn announce_leave(&self, names: &mut Names, name: &str) {
        let leave = Outbound::Leave {
            from: name,
            timestamp: now_millis(),
        }
        .to_json();
        self.broadcast_locked(names, leave);
        self.announce_presence(names);
    }

    fn announce_presence(&self, names: &mut Names) {
        if let Some(scale) = &self.scale {
            // The list spans processes: the presence task sends it.
            scale.names_changed(names.names.values().cloned().collect());
            return;
        }
        let presence = Outbound::Presence {
            online: names.names.values().map(String::as_str).collect(),
        }
        .to_json();
        self.broadcast_locked(names, presence);
    }
}

fn text(json: String) -> Message {
    Message::text(json)
}

fn is_taken(names: &Names, name: &str) -> bool {
    names.names.values().any(|taken| taken == name)
}

fn unique_name(names: &Names, name: String) -> String {
    if !is_taken(names, &name) {
        return name;
    }
    (2..)
        .map(|n| format!("{name}-{n}"))
        .find(|candidate| !is_taken(names, candidate))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockeye_io::CloseCode;
    use sockeye_io::server::Outgoing;
    use std::task::{Context, Poll, Waker};

    /// The texts queued for `membership`, and its close order if it has one.
    fn drain(membership: &Membership) -> (Vec<String>, Option<CloseCode>) {
        let mut cx = Context::from_waker(Waker::noop());
        let mut texts = Vec::new();
        loop {
            match membership.slot.poll_outgoing(&mut cx) {
                Poll::Ready(Outgoing::Message(message)) => {
                    texts.push(message.as_text().unwrap_or_default().to_owned());
                }
                Poll::Ready(Outgoing::Close(code, _)) => return (texts, Some(code)),
                Poll::Ready(_) | Poll::Pending => return (texts, None),
            }
        }
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
        let ann = room.join(Some("ann".into()));
        let bob = room.join(Some("bob".into()));
        drain(&ann);
        drain(&bob);
        room.say("ann", "hi");
        for member in [&ann, &bob] {
            let (texts, closed) = drain(member);
            assert_eq!((texts.len(), closed), (1, None));
            assert!(texts[0].starts_with(r#"{"type":"message","from":"ann","text":"hi","#));
        }
    }

    #[test]
    fn evicts_a_member_that_falls_behind_without_blocking_the_others() {
        let room = Room::default();
        let slow = room.join(Some("slow".into()));
        let fast = room.join(Some("fast".into()));
        // Every line is over 16 bytes, so this is well past the budget.
        for n in 0..QUEUE_BUDGET / 16 {
            room.say("fast", &n.to_string());
            drain(&fast);
        }
        assert_eq!(room.online(), ["fast"]);
        assert_eq!(drain(&slow).1, Some(CloseCode::POLICY_VIOLATION));
    }
}
