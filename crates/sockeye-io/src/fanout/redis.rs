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

use bytes::Bytes;
use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};

use super::hub::Outbound;
use super::task::{Broker, Session};

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
