//! A WebSocket server on an `async-net` listener: the accept loop and the
//! policy are [`sockeye_io::server`]'s, and tasks are spawned by the
//! caller's executor.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use async_net::{AsyncToSocketAddrs, TcpListener};
use sockeye_io::server::{Acceptor, Task};

use crate::{Client, ServerHandle, ServerPolicy, Smol};

/// A WebSocket server: a TCP listener whose connections are accepted under
/// a [`ServerPolicy`] and served, one task each, by a handler.
///
/// ```no_run
/// use sockeye_smol::{Server, ServerPolicy};
///
/// smol::block_on(async {
///     let server = Server::bind("127.0.0.1:9001", ServerPolicy::new()).await?;
///     let spawn = |task| smol::spawn(task).detach();
///     server
///         .run(spawn, |mut client| async move {
///             while let Some(Ok(message)) = client.recv().await {
///                 if message.is_data() {
///                     client.clients().broadcast_except(client.id(), message);
///                 }
///             }
///         })
///         .await
/// })
/// # ; Ok::<(), std::io::Error>(())
/// ```
pub struct Server {
    acceptor: Acceptor<Smol>,
}

impl Server {
    /// Listen on `addr` under `policy`.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(addr: impl AsyncToSocketAddrs, policy: ServerPolicy) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self::from_listener(listener, policy))
    }

    /// Serve the connections of `listener` under `policy`.
    pub fn from_listener(listener: TcpListener, policy: ServerPolicy) -> Self {
        let acceptor = Acceptor::new(listener, policy);
        Self { acceptor }
    }

    /// The address the server listens on (as `TcpListener::local_addr`).
    ///
    /// # Errors
    /// When the operating system cannot tell.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.acceptor.local_addr()
    }

    /// A handle for broadcasting and shutting down while [`run`](Self::run) runs.
    pub fn handle(&self) -> ServerHandle {
        self.acceptor.handle()
    }

    /// Accept connections until [`ServerHandle::shutdown`], handing each
    /// connection's [`Task`] to `spawn` (such as `smol::spawn(task).detach()`):
    /// the policy answers the request, then `handler` gets the client.
    /// Returns when shutdown starts (the listener is closed then).
    ///
    /// # Errors
    /// Never for a failed `accept`: those are retried after a short pause.
    pub async fn run<S, F, Fut>(self, spawn: S, handler: F) -> io::Result<()>
    where
        S: Fn(Task),
        F: Fn(Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.acceptor.run(spawn, handler).await
    }
}
