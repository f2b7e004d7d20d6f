//! The fan-out over Redis pub/sub (feature `redis`): one connection
//! publishes (batches as pipelines of `PUBLISH`), one subscribes.
//!
//! ```no_run
//! # async fn run() -> Result<(), String> {
//! use sockeye_io::fanout::{self, FanoutOptions, redis::RedisBroker};
//! use sockeye_io::server::{Clients, ServerPolicy};
//!
//! let clients = Clients::new(&ServerPolicy::new());
//! let broker = RedisBroker::open("redis://127.0.0.1:6379/")?;
//! let fanout = fanout::spawn(clients, broker, FanoutOptions::default());
//! # Ok(()) }
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use tokio::time::{MissedTickBehavior, timeout};

use super::AbortOnDrop;
use super::hub::Outbound;
use super::presence::{Local, PresenceOptions, join_names, split_names};
use super::task::{Broker, Session};
use super::wire::TopicError;

/// A Redis server (or Valkey) as the fan-out's broker.
#[derive(Clone, Debug)]
pub struct RedisBroker {
    client: redis::Client,
}

impl RedisBroker {
    /// The broker at `url` (`redis://HOST:PORT/`); nothing is connected yet.
    ///
    /// # Errors
    /// A URL the redis client does not take.
    pub fn open(url: &str) -> Result<Self, String> {
        let client =
            redis::Client::open(url).map_err(|error| format!("redis URL {url}: {error}"))?;
        Ok(Self { client })
    }

    /// The redis client, for other uses of the same server (presence).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }
}

/// A publishing and a subscribed connection to Redis.
pub struct RedisSession {
    publisher: MultiplexedConnection,
    sink: PubSubSink,
    stream: PubSubStream,
}

fn text(error: redis::RedisError) -> String {
    format!("redis: {error}")
}

impl Broker for RedisBroker {
    type Session = RedisSession;

    async fn connect(&self) -> Result<RedisSession, String> {
        let publisher = self
            .client
            .get_multiplexed_async_connection()
            .await
            .map_err(text)?;
        let (sink, stream) = self.client.get_async_pubsub().await.map_err(text)?.split();
        Ok(RedisSession {
            publisher,
            sink,
            stream,
        })
    }
}

impl Session for RedisSession {
    async fn subscribe(&mut self, subject: &str) -> Result<(), String> {
        self.sink.subscribe(subject).await.map_err(text)
    }

    async fn unsubscribe(&mut self, subject: &str) -> Result<(), String> {
        self.sink.unsubscribe(subject).await.map_err(text)
    }

    async fn publish(&mut self, batch: &[Outbound]) -> Result<(), String> {
        let mut pipeline = redis::pipe();
        for outbound in batch {
            pipeline
                .cmd("PUBLISH")
                .arg(&outbound.subject)
                .arg(&outbound.bytes[..])
                .ignore();
        }
        pipeline
            .query_async::<()>(&mut self.publisher)
            .await
            .map_err(text)
    }

    async fn next(&mut self) -> Option<Bytes> {
        let message = self.stream.next().await?;
        Some(Bytes::copy_from_slice(message.get_payload_bytes()))
    }
}

/// Presence in Redis keys with a TTL (see [`presence`](super::presence)).
///
/// Dropping the last handle stops the refresher without deleting the
/// keys: they expire after the TTL, as a crashed instance's do.
#[derive(Clone)]
pub struct RedisPresence {
    shared: Arc<PresenceShared>,
    _task: Arc<AbortOnDrop>,
}

struct PresenceShared {
    client: redis::Client,
    instance: u64,
    prefix: String,
    options: PresenceOptions,
    local: Local,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

impl std::fmt::Debug for RedisPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPresence").finish_non_exhaustive()
    }
}

/// The longest a presence command may take.
const PRESENCE_TIMEOUT: Duration = Duration::from_secs(2);

impl RedisPresence {
    /// Start refreshing this instance's entries on `broker`'s server, under
    /// the id `instance` (the fan-out's, [`Fanout::instance`](super::Fanout::instance))
    /// and the key prefix `prefix` (the fan-out's, `sockeye.` by default).
    pub fn spawn(
        broker: &RedisBroker,
        instance: u64,
        prefix: &str,
        options: PresenceOptions,
    ) -> Self {
        let shared = Arc::new(PresenceShared {
            client: broker.client.clone(),
            instance,
            prefix: prefix.to_owned(),
            options,
            local: Local::default(),
            connection: tokio::sync::Mutex::new(None),
        });
        let task = tokio::spawn(refresh_forever(shared.clone()));
        Self {
            shared,
            _task: Arc::new(AbortOnDrop(task)),
        }
    }

    /// This instance's names in `room` (empty: none), written at once.
    ///
    /// # Errors
    /// A room name [`check_topic`](super::check_topic) refuses.
    pub fn set(&self, room: &str, names: Vec<String>) -> Result<(), TopicError> {
        self.shared.local.set(room, names)
    }

    /// Everyone in `room` on every live instance: this instance's names
    /// first, then the others' by instance id.
    ///
    /// # Errors
    /// Redis cannot be reached (this instance's names are then all there is
    /// to know; the error says why).
    pub async fn online(&self, room: &str) -> Result<Vec<String>, String> {
        let shared = &self.shared;
        let mut names = shared.local.names(room);
        let result = timeout(PRESENCE_TIMEOUT, others(shared, room)).await;
        match result {
            Ok(Ok(others)) => {
                names.extend(others);
                Ok(names)
            }
            Ok(Err(error)) => {
                *shared.connection.lock().await = None;
                Err(error)
            }
            Err(_) => {
                *shared.connection.lock().await = None;
                Err("redis did not answer in time".into())
            }
        }
    }
}

impl PresenceShared {
    fn key(&self, room: &str, instance: u64) -> String {
        format!("{}presence:{room}:{instance:016x}", self.prefix)
    }

    async fn connection(&self) -> Result<MultiplexedConnection, String> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = &*slot {
            return Ok(connection.clone());
        }
        let connection = self
            .client
            .get_multiplexed_async_connection()
            .await
            .map_err(text)?;
        *slot = Some(connection.clone());
        Ok(connection)
    }
}

/// The other instances' names in `room`.
async fn others(shared: &PresenceShared, room: &str) -> Result<Vec<String>, String> {
    let mut connection = shared.connection().await?;
    let stem = shared.key(room, 0);
    let stem = &stem[..stem.len() - 16];
    let pattern = format!("{stem}*");
    let mut keys = Vec::new();
    let mut cursor = 0_u64;
    // Bounded: a SCAN pass visits every key once; 10,000 rounds of 1,000
    // is far beyond any presence keyspace.
    for _ in 0..10_000 {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await
            .map_err(text)?;
        // `a:*` also matches room `a:b`'s keys: keep exactly `stem` + id.
        keys.extend(batch.into_iter().filter(|key| {
            key.len() == stem.len() + 16
                && u64::from_str_radix(&key[stem.len()..], 16).is_ok_and(|id| id != shared.instance)
        }));
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
        .arg(&keys)
        .query_async(&mut connection)
        .await
        .map_err(text)?;
    Ok(values
        .into_iter()
        .flatten()
        .flat_map(|value| split_names(&value))
        .collect())
}

/// Rewrite this instance's keys every interval and on every change;
/// delete those of rooms it left.
async fn refresh_forever(shared: Arc<PresenceShared>) {
    let mut tick = tokio::time::interval(shared.options.interval.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut written: BTreeSet<String> = BTreeSet::new();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shared.local.changed.notified() => {}
        }
        let rooms = shared.local.snapshot();
        let mut pipeline = redis::pipe();
        let ttl_ms =
            u64::try_from(shared.options.staleness_bound().as_millis()).unwrap_or(u64::MAX);
        for (room, names) in &rooms {
            pipeline
                .cmd("SET")
                .arg(shared.key(room, shared.instance))
                .arg(join_names(names))
                .arg("PX")
                .arg(ttl_ms)
                .ignore();
        }
        for gone in written.iter().filter(|room| !rooms.contains_key(*room)) {
            pipeline
                .cmd("DEL")
                .arg(shared.key(gone, shared.instance))
                .ignore();
        }
        let write = async {
            let mut connection = shared.connection().await?;
            pipeline
                .query_async::<()>(&mut connection)
                .await
                .map_err(text)
        };
        match timeout(PRESENCE_TIMEOUT, write).await {
            Ok(Ok(())) => written = rooms.into_keys().collect(),
            _ => *shared.connection.lock().await = None,
        }
    }
}
