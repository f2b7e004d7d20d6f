//! A WebSocket server on a tokio listener: the accept loop and the policy
//! are [`sockeye_io::server`]'s; binding and spawning are tokio's.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use sockeye_io::server::Acceptor;
use tokio::net::{TcpListener, ToSocketAddrs};

use crate::{Client, ServerHandle, ServerPolicy, Tokio};

/// A WebSocket server: a TCP listener whose connections are accepted under
/// a [`ServerPolicy`] and served, one task each, by a handler.
///
/// ```no_run
/// use sockeye_tokio::{Message, Server, ServerPolicy};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let server = Server::bind("127.0.0.1:9001", ServerPolicy::new().path("/ws")).await?;
/// server
///     .run(|mut client| async move {
///         // Broadcast each message to everyone else.
///         while let Some(Ok(message)) = client.recv().await {
///             if message.is_data() {
///                 client.clients().broadcast_except(client.id(), message);
///             }
///         }
///     })
///     .await
/// # }
/// ```
pub struct Server(Acceptor<Tokio>);

impl Server {
    /// Listen on `addr` under `policy`.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(addr: impl ToSocketAddrs, policy: ServerPolicy) -> io::Result<Self> {
        Ok(Self::from_listener(TcpListener::bind(addr).await?, policy))
    }

    /// Serve the connections of `listener` under `policy`.
    pub fn from_listener(listener: TcpListener, policy: ServerPolicy) -> Self {
        Self(Acceptor::new(listener, policy))
    }

    /// The address the server listens on.
    ///
    /// # Errors
    /// As `TcpListener::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    /// A handle for broadcasting and shutting down while [`run`](Self::run) runs.
    pub fn handle(&self) -> ServerHandle {
        self.0.handle()
    }

    /// Accept connections until [`ServerHandle::shutdown`], each in its own
    /// task (`tokio::spawn`): the policy answers the request, then `handler`
    /// gets the client. Returns when shutdown starts (the listener is closed
    /// then).
    ///
    /// # Errors
    /// Never for a failed `accept` (a client that gave up, a lack of file
    /// descriptors): those are retried after a short pause.
    pub async fn run<F, Fut>(self, handler: F) -> io::Result<()>
    where
        F: Fn(Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let spawn = |task| drop(tokio::spawn(task));
        self.0.run(spawn, handler).await
    }
}
