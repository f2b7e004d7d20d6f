//! A WebSocket server on every core: one current-thread tokio runtime per
//! thread, each accepting on its own `SO_REUSEPORT` socket, all of them one
//! server (one policy, one set of clients, one shutdown).

use std::future::{Future, poll_fn};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;

use sockeye_io::server::{
    Acceptor, ServerCore, available_threads, bind_listeners, pin_current_thread,
};
use tokio::net::TcpListener;

use crate::{Client, ServerHandle, ServerPolicy, Tokio};

/// A WebSocket server that runs an event loop on each of several threads.
///
/// Every thread is a current-thread tokio runtime with a listening socket of
/// its own on the same port (`SO_REUSEPORT`; the kernel spreads new
/// connections over them), and serves the connections it accepted, one task
/// each, to their end: a connection never moves between threads and the
/// per-message path takes no lock shared with the other threads beyond the
/// client's entry in [`Clients`](crate::Clients). What spans the threads is
/// the server's one [`ServerCore`]:
///
/// * [`Clients`](crate::Clients) holds every thread's clients:
///   [`broadcast`](crate::Clients::broadcast), rooms built on
///   [`send_to`](crate::Clients::send_to) and [`Client::clients`] reach them
///   all, and each client's connection writes out what was queued for it on
///   its own thread;
/// * [`ServerPolicy::max_connections`] and
///   [`ServerPolicy::max_connections_per_ip`] count across all threads;
///   the rate limit, the message size limit and the heartbeat apply to
///   every connection, whichever thread serves it;
/// * [`ServerHandle::shutdown`] stops every thread's accept loop, sends
///   every client close 1001, and each thread ends once the server's last
///   client is gone.
///
/// ```no_run
/// use sockeye_tokio::{ServerPolicy, ThreadedServer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// // One thread per available core.
/// let server = ThreadedServer::bind("127.0.0.1:9001", ServerPolicy::new())?;
/// println!("{} threads", server.threads());
/// server
///     .run(|mut client| async move {
///         while let Some(Ok(message)) = client.recv().await {
///             if message.is_data() {
///                 client.clients().broadcast_except(client.id(), message);
///             }
///         }
///     })
///     .await
/// # }
/// ```
pub struct ThreadedServer {
    listeners: Vec<std::net::TcpListener>,
    core: Arc<ServerCore>,
    local: SocketAddr,
    pin: bool,
}

impl ThreadedServer {
    /// Listen on `addr` under `policy` with one thread per available core.
    ///
    /// # Errors
    /// When the address cannot be resolved or bound.
    pub fn bind(addr: impl ToSocketAddrs, policy: ServerPolicy) -> io::Result<Self> {
        Self::bind_threads(addr, policy, available_threads())
    }

    /// Listen on `addr` under `policy` with `threads` threads.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] for zero threads or an address that
    /// resolves to nothing; otherwise when the address cannot be bound.
    pub fn bind_threads(
        addr: impl ToSocketAddrs,
        policy: ServerPolicy,
        threads: usize,
    ) -> io::Result<Self> {
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the address resolves to nothing",
            )
        })?;
        let listeners = bind_listeners(addr, threads)?;
        let local = listeners[0].local_addr()?;
        Ok(Self {
            listeners,
            core: Arc::new(ServerCore::new(policy)),
            local,
            pin: false,
        })
    }

    /// Pin thread `i` to the `i`-th CPU this process may run on (counting
    /// around; Linux only), so that each thread keeps its core's caches.
    /// Off by default: pinned threads share their cores with whatever else
    /// the machine runs there, and the scheduler cannot move them away.
    /// With pinning on, [`run`](Self::run) fails (and the server shuts
    /// down) where a thread cannot be pinned.
    pub fn pin_threads(mut self, pin: bool) -> Self {
        self.pin = pin;
        self
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// How many threads [`run`](Self::run) starts.
    pub fn threads(&self) -> usize {
        self.listeners.len()
    }

    /// A handle for broadcasting and shutting down while [`run`](Self::run) runs.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle::new(self.core.clone())
    }

    /// Start the threads and accept connections on each until
    /// [`ServerHandle::shutdown`]; `handler` gets every client, on the
    /// thread that accepted it. Returns once every thread has ended: after
    /// shutdown, when the server's last client is gone. The threads are not
    /// this future's: dropping it leaves them serving until shutdown.
    ///
    /// # Errors
    /// When a thread or its runtime cannot be started (the server then
    /// shuts down on every thread), or a thread panicked (a panicking
    /// handler only ends its own connection's task).
    pub async fn run<F, Fut>(self, handler: F) -> io::Result<()>
    where
        F: Fn(Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let core = self.core.clone();
        let threads = self.start(handler)?;
        // The threads end after shutdown, once the server is empty: wait
        // for that without blocking, then collect their results.
        poll_fn(|cx| core.clients().poll_shutdown(cx)).await;
        poll_fn(|cx| core.clients().poll_empty(cx)).await;
        tokio::task::spawn_blocking(move || join(threads))
            .await
            .map_err(io::Error::other)?
    }

    /// [`run`](Self::run) for a caller outside any runtime: blocks the
    /// calling thread until every server thread has ended.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub fn run_blocking<F, Fut>(self, handler: F) -> io::Result<()>
    where
        F: Fn(Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        join(self.start(handler)?)
    }

    fn start<F, Fut>(self, handler: F) -> io::Result<Vec<JoinHandle<io::Result<()>>>>
    where
        F: Fn(Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let mut threads = Vec::with_capacity(self.listeners.len());
        let pin = self.pin;
        for (index, listener) in self.listeners.into_iter().enumerate() {
            let core = self.core.clone();
            let handler = handler.clone();
            let pin = pin.then_some(index);
            let thread = std::thread::Builder::new()
                .name(format!("sockeye-loop-{index}"))
                .spawn(move || serve_thread(listener, core, handler, pin));
            match thread {
                Ok(thread) => threads.push(thread),
                Err(error) => {
                    // The threads already running stop with the server.
                    self.core.clients().start_shutdown();
                    return Err(error);
                }
            }
        }
        Ok(threads)
    }
}

/// One thread of the server: its runtime, its accept loop, and its
/// connections until the server's last client is gone.
fn serve_thread<F, Fut>(
    listener: std::net::TcpListener,
    core: Arc<ServerCore>,
    handler: Arc<F>,
    pin: Option<usize>,
) -> io::Result<()>
where
    F: Fn(Client) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let clients = core.clients().clone();
    let pinned = pin.map_or(Ok(0), pin_current_thread);
    let served = pinned.and_then(|_| serve_here(listener, core, handler));
    if served.is_err() {
        // Without this thread the server is not what it was asked to be.
        clients.start_shutdown();
    }
    served
}

fn serve_here<F, Fut>(
    listener: std::net::TcpListener,
    core: Arc<ServerCore>,
    handler: Arc<F>,
) -> io::Result<()>
where
    F: Fn(Client) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener)?;
        let acceptor = Acceptor::<Tokio>::with_core(listener, core.clone());
        let spawn = |task| drop(tokio::spawn(task));
        acceptor.run(spawn, move |client| handler(client)).await?;
        // Shutting down: this thread's clients are still being told 1001
        // and answering; their tasks run here until the server is empty
        // (the shutdown's deadline drops whoever is left).
        poll_fn(|cx| core.clients().poll_empty(cx)).await;
        Ok(())
    })
}

fn join(threads: Vec<JoinHandle<io::Result<()>>>) -> io::Result<()> {
    let mut result = Ok(());
    for thread in threads {
        let ended = thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("a server thread panicked")));
        if result.is_ok() {
            result = ended;
        }
    }
    result
}
