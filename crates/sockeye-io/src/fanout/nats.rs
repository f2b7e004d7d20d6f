//! The fan-out over NATS core subjects (feature `nats`): one client
//! connection, one subscription per live topic.
//!
//! The client's own reconnection is not relied on: when it reports a
//! disconnection the session counts as lost, and the fan-out's task
//! connects anew (with its backoff), resubscribes and says so in its
//! events, exactly as over Redis.
//!
//! ```no_run
//! # async fn run() -> Result<(), String> {
//! use sockeye_io::fanout::{self, FanoutOptions, nats::NatsBroker};
//! use sockeye_io::server::{Clients, ServerPolicy};
//!
//! let clients = Clients::new(&ServerPolicy::new());
//! let broker = NatsBroker::new("nats://127.0.0.1:4222");
//! let fanout = fanout::spawn(clients, broker, FanoutOptions::default());
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::{Client, ConnectOptions, Event, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, timeout};
use tokio_stream::StreamMap;

use super::AbortOnDrop;
use super::hub::Outbound;
use super::presence::{Local, PresenceOptions, join_names, split_names};
use super::task::{Broker, Session};
use super::wire::TopicError;

/// Commands the client may hold before `publish` waits (and, past the
/// fan-out's operation timeout, the session is replaced): what bounds the
/// memory a stalled server can pin in the client.
const CLIENT_CAPACITY: usize = 256;

/// A NATS server as the fan-out's broker.
#[derive(Clone, Debug)]
pub struct NatsBroker {
    url: String,
    connect_timeout: Duration,
}

impl NatsBroker {
    /// The server at `url` (`nats://HOST:PORT`); nothing is connected yet.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            connect_timeout: Duration::from_secs(2),
        }
    }

    /// Connect to the server with the settings the fan-out relies on.
    ///
    /// # Errors
    /// The server is unreachable or refused the connection.
    pub async fn client(&self) -> Result<(Client, mpsc::UnboundedReceiver<()>), String> {
        let (lost_tx, lost) = mpsc::unbounded_channel();
        let client = ConnectOptions::new()
            .connection_timeout(self.connect_timeout)
            .client_capacity(CLIENT_CAPACITY)
            .event_callback(move |event| {
                let lost_tx = lost_tx.clone();
                async move {
                    if matches!(event, Event::Disconnected | Event::Closed) {
                        let _ = lost_tx.send(());
                    }
                }
            })
            .connect(&self.url)
            .await
            .map_err(|error| format!("nats {}: {error}", self.url))?;
        Ok((client, lost))
    }
}

/// A client connection with the fan-out's subscriptions.
pub struct NatsSession {
    client: Client,
    subscriptions: StreamMap<String, Subscriber>,
    lost: mpsc::UnboundedReceiver<()>,
}

impl Broker for NatsBroker {
    type Session = NatsSession;

    async fn connect(&self) -> Result<NatsSession, String> {
        let (client, lost) = self.client().await?;
        Ok(NatsSession {
            client,
            subscriptions: StreamMap::new(),
            lost,
        })
    }
}

impl Session for NatsSession {
    async fn subscribe(&mut self, subject: &str) -> Result<(), String> {
        let subscriber = self
            .client
            .subscribe(subject.to_owned())
            .await
            .map_err(|error| format!("nats subscribe {subject}: {error}"))?;
        self.subscriptions.insert(subject.to_owned(), subscriber);
        // The server has the subscription once it answers a round trip.
        self.client
            .flush()
            .await
            .map_err(|error| format!("nats flush: {error}"))
    }

    async fn unsubscribe(&mut self, subject: &str) -> Result<(), String> {
        if let Some(mut subscriber) = self.subscriptions.remove(subject) {
            subscriber
                .unsubscribe()
                .await
                .map_err(|error| format!("nats unsubscribe {subject}: {error}"))?;
        }
        Ok(())
    }

    async fn publish(&mut self, batch: &[Outbound]) -> Result<(), String> {
        for outbound in batch {
            self.client
                .publish(
                    outbound.subject.clone(),
                    Bytes::copy_from_slice(&outbound.bytes),
                )
                .await
                .map_err(|error| format!("nats publish: {error}"))?;
        }
        Ok(())
    }

    async fn next(&mut self) -> Option<Bytes> {
        tokio::select! {
            received = self.subscriptions.next(), if !self.subscriptions.is_empty() => {
                received.map(|(_, message)| message.payload)
            }
            _ = self.lost.recv() => None,
        }
    }
}

/// Presence by heartbeats on NATS (see [`presence`](super::presence)).
///
/// Dropping the last handle stops the heartbeats without a word: the
/// others forget this instance's names after the TTL, as a crashed
/// instance's.
#[derive(Clone)]
pub struct NatsPresence {
    shared: Arc<PresenceShared>,
    _task: Arc<AbortOnDrop>,
}

impl std::fmt::Debug for NatsPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsPresence").finish_non_exhaustive()
    }
}

/// What one instance said about one room, and when.
struct Heard {
    names: Vec<String>,
    at: Instant,
}

struct PresenceShared {
    instance: u64,
    prefix: String,
    options: PresenceOptions,
    local: Local,
    /// Other instances' names by room and instance.
    heard: Mutex<BTreeMap<(String, u64), Heard>>,
}

/// The heartbeat payload's version byte.
const HEARTBEAT_VERSION: u8 = 1;

impl NatsPresence {
    /// Start heartbeats on `broker`'s server, under the id `instance` (the
    /// fan-out's, [`Fanout::instance`](super::Fanout::instance)) and the
    /// subject prefix `prefix` (the fan-out's, `sockeye.` by default).
    pub fn spawn(
        broker: &NatsBroker,
        instance: u64,
        prefix: &str,
        options: PresenceOptions,
    ) -> Self {
        let shared = Arc::new(PresenceShared {
            instance,
            prefix: prefix.to_owned(),
            options,
            local: Local::default(),
            heard: Mutex::new(BTreeMap::new()),
        });
        let task = tokio::spawn(heartbeat_forever(broker.clone(), shared.clone()));
        Self {
            shared,
            _task: Arc::new(AbortOnDrop(task)),
        }
    }

    /// This instance's names in `room` (empty: none), announced at once.
    ///
    /// # Errors
    /// A room name [`check_topic`](super::check_topic) refuses.
    pub fn set(&self, room: &str, names: Vec<String>) -> Result<(), TopicError> {
        self.shared.local.set(room, names)
    }

    /// Everyone in `room` on every instance heard from within the TTL:
    /// this instance's names first, then the others' by instance id.
    ///
    /// # Errors
    /// None today; the signature matches the Redis presence's.
    pub async fn online(&self, room: &str) -> Result<Vec<String>, String> {
        let shared = &self.shared;
        let mut names = shared.local.names(room);
        let ttl = shared.options.staleness_bound();
        let mut heard = shared.heard.lock().unwrap_or_else(PoisonError::into_inner);
        heard.retain(|_, entry| entry.at.elapsed() < ttl);
        for ((heard_room, _), entry) in heard.iter() {
            if heard_room == room {
                names.extend(entry.names.iter().cloned());
            }
        }
        Ok(names)
    }
}

impl PresenceShared {
    fn subject(&self, room: &str) -> String {
        format!("{}presence.{room}", self.prefix)
    }

    fn heartbeat(&self, names: &[String]) -> Bytes {
        let mut payload = vec![HEARTBEAT_VERSION];
        payload.extend_from_slice(&self.instance.to_be_bytes());
        payload.extend_from_slice(&join_names(names));
        payload.into()
    }

    fn hear(&self, subject: &str, payload: &[u8]) {
        let Some(room) = subject.strip_prefix(&format!("{}presence.", self.prefix)) else {
            return;
        };
        if payload.len() < 9 || payload[0] != HEARTBEAT_VERSION {
            return;
        }
        let mut id = [0; 8];
        id.copy_from_slice(&payload[1..9]);
        let instance = u64::from_be_bytes(id);
        if instance == self.instance {
            return;
        }
        let names = split_names(&payload[9..]);
        let mut heard = self.heard.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (room.to_owned(), instance);
        if names.is_empty() {
            heard.remove(&key);
        } else {
            heard.insert(
                key,
                Heard {
                    names,
                    at: Instant::now(),
                },
            );
        }
    }
}

/// Listen to every instance's heartbeats and send this one's, every
/// interval and on every change (an empty one for a room it left).
async fn heartbeat_forever(broker: NatsBroker, shared: Arc<PresenceShared>) {
    let mut tick = tokio::time::interval(shared.options.interval.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut session: Option<(Client, Subscriber)> = None;
    let mut announced: BTreeSet<String> = BTreeSet::new();
    loop {
        if session.is_none() {
            let subject = format!("{}presence.>", shared.prefix);
            let connect = async {
                let (client, _lost) = broker.client().await?;
                let subscriber = client
                    .subscribe(subject)
                    .await
                    .map_err(|error| error.to_string())?;
                Ok::<_, String>((client, subscriber))
            };
            session = timeout(broker.connect_timeout, connect)
                .await
                .ok()
                .and_then(Result::ok);
        }
        let received = async {
            match &mut session {
                Some((_, subscriber)) => subscriber.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            message = received => {
                match message {
                    Some(message) => shared.hear(message.subject.as_str(), &message.payload),
                    None => session = None,
                }
                // Only the clock and changes send heartbeats.
                continue;
            }
            _ = tick.tick() => {}
            () = shared.local.changed.notified() => {}
        }
        let Some((client, _)) = &session else {
            continue;
        };
        let rooms = shared.local.snapshot();
        let mut beats: Vec<(String, Bytes)> = rooms
            .iter()
            .map(|(room, names)| (shared.subject(room), shared.heartbeat(names)))
            .collect();
        for gone in announced.iter().filter(|room| !rooms.contains_key(*room)) {
            beats.push((shared.subject(gone), shared.heartbeat(&[])));
        }
        let send = async {
            for (subject, payload) in beats {
                client.publish(subject, payload).await?;
            }
            Ok::<_, async_nats::PublishError>(())
        };
        match timeout(broker.connect_timeout, send).await {
            Ok(Ok(())) => announced = rooms.into_keys().collect(),
            _ => session = None,
        }
    }
}
