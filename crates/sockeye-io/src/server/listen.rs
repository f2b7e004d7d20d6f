//! The accept loop over any [`Runtime`]'s listener, and the handle that
//! broadcasts and shuts down: what the adapters' `Server` and
//! `ServerHandle` are.

use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::{Clients, ServerClient, ServerCore, ServerPolicy, ShutdownReport};
use crate::runtime::{Runtime, RuntimeTypes};

/// A connection's task, for the executor to spawn.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A client of a server over runtime `R`, handed to its handler.
pub type RuntimeClient<R> = ServerClient<<R as RuntimeTypes>::ServerIo, <R as RuntimeTypes>::Clock>;

/// A listener whose connections are accepted under a [`ServerPolicy`] and
/// served, one task each, by a handler. The adapters' `Server` wraps it with
/// their runtime's `bind` and `spawn`.
pub struct Acceptor<R: Runtime> {
    listener: R::Listener,
    core: Arc<ServerCore>,
}

impl<R: Runtime> Acceptor<R> {
    /// Serve the connections of `listener` under `policy`.
    pub fn new(listener: R::Listener, policy: ServerPolicy) -> Self {
        Self::with_core(listener, Arc::new(ServerCore::new(policy)))
    }

    /// Serve the connections of `listener` as part of the server `core`:
    /// one of several accept loops (one per thread of a threaded server)
    /// with one policy, one set of [`Clients`] and one shutdown.
    pub fn with_core(listener: R::Listener, core: Arc<ServerCore>) -> Self {
        Self { listener, core }
    }

    /// The address the server listens on.
    ///
    /// # Errors
    /// As the listener's `local_addr`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        R::local_addr(&self.listener)
    }

    /// A handle for broadcasting and shutting down while [`run`](Self::run) runs.
    pub fn handle(&self) -> ServerHandle<R> {
        ServerHandle {
            core: self.core.clone(),
            runtime: PhantomData,
        }
    }

    /// Accept connections until [`ServerHandle::shutdown`], handing each
    /// connection's [`Task`] to `spawn`: the policy answers the request,
    /// then `handler` gets the client. Returns when shutdown starts (the
    /// listener is closed then).
    ///
    /// # Errors
    /// Never for a failed `accept` (a client that gave up, a lack of file
    /// descriptors): those are retried after a short pause.
    pub async fn run<S, F, Fut>(self, spawn: S, handler: F) -> io::Result<()>
    where
        S: Fn(Task),
        F: Fn(RuntimeClient<R>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = Arc::new(handler);
        while let Some(accepted) = self.core.until_shutdown(R::accept(&self.listener)).await {
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Often out of file descriptors: give others time to close.
                    R::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            let _ = R::set_nodelay(&tcp);
            let core = self.core.clone();
            let handler = handler.clone();
            spawn(Box::pin(async move {
                let _ = core
                    .serve(
                        R::ServerIo::from(tcp),
                        R::Clock::default(),
                        peer,
                        |client| handler(client),
                    )
                    .await;
            }));
        }
        Ok(())
    }
}

/// Broadcast to a server's clients and shut it down. Cloning gives another
/// handle on the same server.
pub struct ServerHandle<R> {
    core: Arc<ServerCore>,
    runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> ServerHandle<R> {
    /// A handle on the server `core` (whose accept loops are
    /// [`Acceptor::with_core`]s).
    pub fn new(core: Arc<ServerCore>) -> Self {
        Self {
            core,
            runtime: PhantomData,
        }
    }

    /// The connected clients.
    pub fn clients(&self) -> &Clients {
        self.core.clients()
    }

    /// Stop accepting, send every client a close frame with 1001 (going
    /// away), wait up to `deadline` for them to answer, then drop the rest
    /// (see [`ServerCore::shutdown`]).
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        self.core.shutdown(R::Clock::default(), deadline).await
    }
}

// Derived, these would ask `R` for `Clone` and `Debug`, which a handle does
// not need.
impl<R> Clone for ServerHandle<R> {
    fn clone(&self) -> Self {
        Self {
            core: self.core.clone(),
            runtime: PhantomData,
        }
    }
}

impl<R> std::fmt::Debug for ServerHandle<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("core", &self.core)
            .finish()
    }
}
