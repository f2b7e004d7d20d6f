//! A WebSocket server on a tokio listener: the accept loop and task
//! spawning; the policy itself is [`sockeye_io::server`]'s.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sockeye_io::server::{Clients, ServerClient, ServerCore, ServerPolicy, ShutdownReport};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};

use crate::{TokioClock, TokioIo};

/// A client of a [`Server`], handed to its handler.
pub type Client = ServerClient<TokioIo<TcpStream>, TokioClock>;

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
pub struct Server {
    listener: TcpListener,
    core: Arc<ServerCore>,
}

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
        Self {
            listener,
            core: Arc::new(ServerCore::new(policy)),
        }
    }

    /// The address the server listens on.
    ///
    /// # Errors
    /// As `TcpListener::local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle for broadcasting and shutting down while [`run`](Self::run) runs.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            core: self.core.clone(),
        }
    }

    /// Accept connections until [`ServerHandle::shutdown`], each in its own
    /// task: the policy answers the request, then `handler` gets the client.
    /// Returns when shutdown starts (the listener is closed then).
    ///
    /// # Errors
    /// Never for a failed `accept` (a client that gave up, a lack of file
    /// descriptors): those are retried after a short pause.
    pub async fn run<F, Fut>(self, handler: F) -> io::Result<()>
    where
        F: Fn(Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = Arc::new(handler);
        while let Some(accepted) = self.core.until_shutdown(self.listener.accept()).await {
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Often out of file descriptors: give others time to close.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            // Frames are already coalesced; do not wait for more.
            let _ = tcp.set_nodelay(true);
            let core = self.core.clone();
            let handler = handler.clone();
            tokio::spawn(async move {
                let io = TokioIo(tcp);
                let _ = core
                    .serve(io, TokioClock::new(), peer, |client| handler(client))
                    .await;
            });
        }
        Ok(())
    }
}

/// Broadcast to a [`Server`]'s clients and shut it down. Cloning gives
/// another handle on the same server.
#[derive(Clone, Debug)]
pub struct ServerHandle {
    core: Arc<ServerCore>,
}

impl ServerHandle {
    /// The connected clients.
    pub fn clients(&self) -> &Clients {
        self.core.clients()
    }

    /// Stop accepting, send every client a close frame with 1001 (going
    /// away), wait up to `deadline` for them to answer, then drop the rest
    /// (see [`ServerCore::shutdown`]).
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        self.core.shutdown(TokioClock::new(), deadline).await
    }
}
