//! The chat over a broker (`--redis URL`, `--nats URL`): several chat
//! processes share the room and who is online.
//!
//! Every member joins the fan-out topic [`TOPIC`]; what the room says goes
//! through the fan-out, which queues it for this process's members at once
//! and sends it to the others through the broker. Presence is the
//! fan-out's (Redis keys with a TTL, or NATS heartbeats): each process
//! states its own names, and a task sends every member the room's full
//! list when it changes (checked every [`PRESENCE_INTERVAL`], and at once
//! after a local join or leave).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sockeye_io::Message;
use sockeye_io::server::{ClientId, Clients};
use sockeye_tokio::fanout::nats::{NatsBroker, NatsPresence};
use sockeye_tokio::fanout::redis::{RedisBroker, RedisPresence};
use sockeye_tokio::fanout::{self, Fanout, FanoutOptions, PresenceOptions};
use tokio::sync::Notify;

/// The fan-out topic of the chat room.
pub const TOPIC: &str = "chat.room";

/// How often presence is refreshed and compared; a process that dies
/// leaves the list within three of these.
pub const PRESENCE_INTERVAL: Duration = Duration::from_secs(1);

/// Where the room is shared.
#[derive(Clone, Debug)]
pub enum BrokerUrl {
    /// `--redis URL`.
    Redis(String),
    /// `--nats URL`.
    Nats(String),
}

impl std::fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokerUrl::Redis(url) | BrokerUrl::Nats(url) => f.write_str(url),
        }
    }
}

enum Presence {
    Redis(RedisPresence),
    Nats(NatsPresence),
}

/// The room's link to the other processes.
pub struct Scale {
    fanout: Fanout,
    presence: Presence,
    /// Asks the presence task to send the list now.
    announce: Notify,
    /// This process's names, the list to show while the broker is away.
    local: Mutex<Vec<String>>,
}

impl Scale {
    /// Start the fan-out and presence for `clients` on `url`'s broker.
    pub fn start(url: &BrokerUrl, clients: Clients) -> Result<Arc<Self>, String> {
        let options = FanoutOptions::default();
        let prefix = options.prefix.clone();
        let presence_options = PresenceOptions::every(PRESENCE_INTERVAL);
        let (fanout, presence) = match url {
            BrokerUrl::Redis(url) => {
                let broker = RedisBroker::open(url)?;
                let fanout = fanout::spawn(clients, broker.clone(), options);
                let presence =
                    RedisPresence::spawn(&broker, fanout.instance(), &prefix, presence_options);
                (fanout, Presence::Redis(presence))
            }
            BrokerUrl::Nats(url) => {
                let broker = NatsBroker::new(url);
                let fanout = fanout::spawn(clients, broker.clone(), options);
                let presence =
                    NatsPresence::spawn(&broker, fanout.instance(), &prefix, presence_options);
                (fanout, Presence::Nats(presence))
            }
        };
        // Subscribed before anyone joins, so a process's first member
        // misses nothing said elsewhere.
        let _ = fanout.keep(TOPIC);
        Ok(Arc::new(Self {
            fanout,
            presence,
            announce: Notify::new(),
            local: Mutex::new(Vec::new()),
        }))
    }

    /// Wait (at most `limit`) until the room is subscribed at the broker;
    /// false if it is not by then (the broker is unreachable).
    pub async fn wait_subscribed(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while !self.fanout.is_subscribed(TOPIC) {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Member `id` is in the room.
    pub fn join(&self, id: ClientId) {
        // TOPIC is a valid topic name.
        let _ = self.fanout.join(TOPIC, id);
    }

    /// Member `id` left.
    pub fn leave(&self, id: ClientId) {
        self.fanout.leave_all(id);
    }

    /// Say `json` to the room: this process's members at once, the others
    /// through the broker.
    pub fn publish(&self, json: String) {
        let _ = self.fanout.publish(TOPIC, Message::text(json));
    }

    /// This process's names changed: store them and send the list soon.
    pub fn names_changed(&self, names: Vec<String>) {
        *self.local.lock().unwrap_or_else(PoisonError::into_inner) = names.clone();
        let _ = match &self.presence {
            Presence::Redis(presence) => presence.set(TOPIC, names),
            Presence::Nats(presence) => presence.set(TOPIC, names),
        };
        self.announce.notify_one();
    }

    /// Everyone online in the room, on every process; `None` when the
    /// broker cannot say.
    async fn online(&self) -> Option<Vec<String>> {
        match &self.presence {
            Presence::Redis(presence) => presence.online(TOPIC).await.ok(),
            Presence::Nats(presence) => presence.online(TOPIC).await.ok(),
        }
    }

    /// Send `announce` the room's list whenever it changes, and at once
    /// when asked (a local join must be told who is there).
    pub async fn announce_presence_forever(&self, announce: impl Fn(Vec<String>)) {
        let mut tick = tokio::time::interval(PRESENCE_INTERVAL);
        let mut last: Option<Vec<String>> = None;
        loop {
            let asked = tokio::select! {
                _ = tick.tick() => false,
                () = self.announce.notified() => true,
            };
            let mut online = match self.online().await {
                Some(online) => online,
                None => self
                    .local
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone(),
            };
            online.sort();
            if asked || last.as_ref() != Some(&online) {
                announce(online.clone());
                last = Some(online);
            }
        }
    }
}
