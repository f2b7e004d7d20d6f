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

use std::time::Duration;

use async_nats::{Client, ConnectOptions, Event, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::StreamMap;

use super::hub::Outbound;
use super::task::{Broker, Session};

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
