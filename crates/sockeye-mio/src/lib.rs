//! A thread-per-core WebSocket server over [mio]: one event loop per
//! thread drives many sockeye engines, with no task, future or waker per
//! connection.
//!
//! Each thread has a listening socket of its own on the server's port
//! (`SO_REUSEPORT`, so the kernel spreads connections over the threads), a
//! poller, and its connections in a slab: a connection is its socket, its
//! engine ([`Endpoint`](sockeye_io::sockeye::endpoint::Endpoint)) and a few
//! words of bookkeeping. A turn of a thread's loop reads every ready
//! connection into the thread's one read buffer, hands the engine's events
//! to the [`Handler`], and then writes each connection it touched in one
//! vectored write (corking: replies to a batch leave together, and nothing
//! waits for a later turn). Engine deadlines (handshake, close, heartbeat)
//! are in one timer heap per thread.
//!
//! What spans the threads is the [`Handle`]: [`broadcast`](Handle::broadcast)
//! and [`send_to`](Handle::send_to) reach clients on every thread through a
//! per-thread inbox and waker; the policy's connection limits
//! ([`ServerPolicy::max_connections`],
//! [`ServerPolicy::max_connections_per_ip`]) count across threads; the rate
//! limit, message limits and heartbeat of the policy's configuration apply
//! to every connection; [`shutdown`](Handle::shutdown) sends every client
//! 1001 and ends every thread.
//!
//! ```no_run
//! use sockeye_mio::{Client, Message, Server, ServerPolicy};
//!
//! let server = Server::bind("127.0.0.1:9001", ServerPolicy::new())?;
//! // Echo every data message.
//! server.run(|client: &mut Client<'_>, message: Message| {
//!     if message.is_data() {
//!         let _ = client.send(message);
//!     }
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod client;
mod event_loop;
mod shared;
mod timers;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;

pub use client::Client;
pub use shared::{ClientId, Handle};
pub use sockeye_io::server::{RateLimit, ServerPolicy};
pub use sockeye_io::sockeye::handshake::Request;
pub use sockeye_io::{CloseCode, CloseStatus, Config, Error, Message};

use event_loop::{EventLoop, WAKER};
use shared::{Mailbox, Shared};

/// What a [`Server`] does with its clients. Its methods run on the event
/// loop of the client's thread: keep them short, and hand long work to
/// another thread (which can answer through the [`Handle`]).
pub trait Handler: Send + Sync + 'static {
    /// A WebSocket opened, for `request` (its path, query, fields).
    fn on_open(&self, client: &mut Client<'_>, request: &Request) {
        let _ = (client, request);
    }

    /// A message arrived: text, binary, and also ping, pong and close
    /// (which the engine already answers).
    fn on_message(&self, client: &mut Client<'_>, message: Message);

    /// The connection of client `id` ended, as `status` says.
    fn on_close(&self, id: ClientId, status: &CloseStatus) {
        let _ = (id, status);
    }
}

impl<F> Handler for F
where
    F: Fn(&mut Client<'_>, Message) + Send + Sync + 'static,
{
    fn on_message(&self, client: &mut Client<'_>, message: Message) {
        self(client, message);
    }
}

/// A WebSocket server with one event loop per thread, bound and ready to
/// run.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<std::net::TcpListener>,
    policy: ServerPolicy,
    local_addr: SocketAddr,
    pin: bool,
}

impl Server {
    /// Listens on `addr` under `policy` with one thread per available core.
    ///
    /// # Errors
    /// When the address cannot be resolved or bound.
    pub fn bind(addr: impl ToSocketAddrs, policy: ServerPolicy) -> io::Result<Self> {
        Self::bind_threads(addr, policy, sockeye_io::server::available_threads())
    }

    /// Listens on `addr` under `policy` with `threads` event-loop threads.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] for zero threads or more than 256;
    /// otherwise when the address cannot be resolved or bound.
    pub fn bind_threads(
        addr: impl ToSocketAddrs,
        policy: ServerPolicy,
        threads: usize,
    ) -> io::Result<Self> {
        if threads > 256 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a server runs at most 256 event-loop threads",
            ));
        }
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the address resolves to nothing",
            )
        })?;
        let listeners = sockeye_io::server::bind_listeners(addr, threads)?;
        let local_addr = listeners[0].local_addr()?;
        Ok(Self {
            listeners,
            policy,
            local_addr,
            pin: false,
        })
    }

    /// Pin thread `i` to the `i`-th CPU this process may run on (counting
    /// around; Linux only), so that each loop keeps its core's caches. Off
    /// by default: pinned threads share their cores with whatever else runs
    /// there. With pinning on, a thread that cannot be pinned ends with the
    /// error, which [`Running::join`] reports.
    pub fn pin_threads(mut self, pin: bool) -> Self {
        self.pin = pin;
        self
    }

    /// The address the server listens on (with the port picked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The number of event-loop threads.
    pub fn threads(&self) -> usize {
        self.listeners.len()
    }

    /// Starts the event-loop threads (named `sockeye-loop-N`) with
    /// `handler`, and returns at once.
    ///
    /// # Errors
    /// When a poller or a thread cannot be made.
    pub fn start<H: Handler>(self, handler: H) -> io::Result<Running> {
        let mut polls = Vec::with_capacity(self.listeners.len());
        let mut mailboxes = Vec::with_capacity(self.listeners.len());
        for _ in &self.listeners {
            let poll = mio::Poll::new()?;
            let waker = mio::Waker::new(poll.registry(), WAKER)?;
            mailboxes.push(Mailbox {
                inbox: std::sync::Mutex::default(),
                waker,
            });
            polls.push(poll);
        }
        let shared = Arc::new(Shared::new(self.policy, mailboxes));
        let handler = Arc::new(handler);
        let mut threads = Vec::with_capacity(polls.len());
        for (index, (poll, listener)) in polls.into_iter().zip(self.listeners).enumerate() {
            let listener = mio::net::TcpListener::from_std(listener);
            let event_loop = EventLoop::new(index, poll, listener, shared.clone(), handler.clone());
            let pin = self.pin;
            let thread = std::thread::Builder::new()
                .name(format!("sockeye-loop-{index}"))
                .spawn(move || {
                    if pin {
                        sockeye_io::server::pin_current_thread(index)?;
                    }
                    event_loop.run()
                })?;
            threads.push(thread);
        }
        Ok(Running {
            handle: Handle { shared },
            threads,
            local_addr: self.local_addr,
        })
    }

    /// Runs the server with `handler` on its threads until it is shut down
    /// through a [`Handle`] (from [`start`](Self::start), or the handler's
    /// [`Client::handle`]).
    ///
    /// # Errors
    /// As [`start`](Self::start), or the first thread's poller error.
    pub fn run<H: Handler>(self, handler: H) -> io::Result<()> {
        self.start(handler)?.join()
    }
}

/// A started [`Server`]: its handle, and its threads to join.
#[derive(Debug)]
pub struct Running {
    handle: Handle,
    threads: Vec<JoinHandle<io::Result<()>>>,
    local_addr: SocketAddr,
}

impl Running {
    /// The server's handle: broadcast, send, count, shut down.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits for every thread to end (after a shutdown).
    ///
    /// # Errors
    /// The first thread's poller error; a panicked thread as
    /// [`io::ErrorKind::Other`].
    pub fn join(self) -> io::Result<()> {
        let mut result = Ok(());
        for thread in self.threads {
            let ended = thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("an event-loop thread panicked")));
            if result.is_ok() {
                result = ended;
            }
        }
        result
    }
}
