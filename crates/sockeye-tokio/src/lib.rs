//! WebSocket (RFC 6455) client and server for [tokio], driven by the sans-IO
//! [`sockeye`](sockeye_io::sockeye) engine.
//!
//! A [`WebSocketStream`] receives with [`recv`](WebSocketStream::recv) or as a
//! `futures::Stream`, sends with [`send`](WebSocketStream::send) or as a
//! `futures::Sink<Message>`, and splits into halves for two tasks. Every async
//! method is cancel-safe: the partial state lives in the engine.
//!
//! ```
//! use sockeye_tokio::{Message, from_raw};
//! use sockeye_io::{Config, Role};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // Two ends wired back to back in memory, past their opening handshake.
//! let (a, b) = tokio::io::duplex(64 << 10);
//! let mut client = from_raw(a, Role::Client, Config::default());
//! let mut server = from_raw(b, Role::Server, Config::default());
//!
//! client.send("hello").await.unwrap();
//! let echoed = server.recv().await.unwrap().unwrap();
//! assert_eq!(echoed, Message::text("hello"));
//! # }
//! ```
//!
//! # Memory
//! A connection waiting for input holds no read or write buffer: the driver
//! reads the start of each frame into a per-thread scratch buffer and
//! releases the connection's buffers when a read would block with nothing
//! partial or queued. The measured heap and resident memory per idle server
//! connection, with the command that measures them (the `idle_memory` test
//! in a release build) and what they are made of, are in the repository's
//! `docs/performance.md`, section "Memory per idle connection". tokio's task
//! stays smallest when it is spawned as the serving call itself
//! (`tokio::spawn(serve(tcp))`) and its future is at most 152 B; `send`'s
//! future is three words and the error type 32 B for that reason.
//!
//! # Logging
//! With the `tracing` feature (on by default) connections and the server
//! policy emit [`tracing`](https://docs.rs/tracing) events under the target
//! `sockeye`: handshakes accepted or rejected, protocol failures with their
//! close code, closes with their outcome and duration, and the policy's
//! verdicts. Install a subscriber with an `EnvFilter` and run with
//! `RUST_LOG=sockeye=debug` to see them; without a subscriber they cost
//! nothing worth measuring. The list is in `docs/architecture.md`
//! ("Observability").
//!
//! # TLS
//! With the `rustls` feature, [`connect`] and [`connect_with`] speak
//! `wss://` (settings in [`ClientOptions::tls`], including a client
//! certificate for servers that require one; a failed TLS handshake, also
//! one the server hung up on, is [`Error::Tls`]). Without the feature,
//! `wss://` is [`Error::Tls`] naming it. A TLS server is a `tokio_rustls::TlsAcceptor` stream
//! handed to [`accept`]: `accept` works over any stream.
//!
//! # Reconnecting
//! [`ReconnectingClient`] connects again when its connection is lost, with
//! backoff and jitter, a bounded outbox for messages sent meanwhile, and
//! events (connected, disconnected, gave up). Its policy and logic are
//! [`sockeye_io::reconnect`]'s, over the [`Tokio`] runtime.
//!
//! # Servers
//! [`Server`] accepts on a listener under a [`ServerPolicy`] (path, a
//! verify hook, subprotocols, limits, rate limit, heartbeat) and hands each
//! [`Client`] to a handler; [`ServerHandle`] broadcasts through [`Clients`]
//! and shuts down gracefully (close 1001 to everyone, bounded by a
//! deadline). The policy is [`sockeye_io::server`]'s, shared with
//! `sockeye-smol`.
//!
//! [`ThreadedServer`] is the same server on every core: one current-thread
//! runtime per thread, each with its own `SO_REUSEPORT` listener, one
//! policy and one set of [`Clients`] across them (broadcast, per-address
//! limits and shutdown span every thread).
//!
//! The same driver, written once in [`sockeye_io::driver`], serves
//! `sockeye-smol`, and so do the connect sequence ([`sockeye_io::connect`])
//! and the accept loop; this crate is [`Tokio`] (tokio as a
//! [`sockeye_io::Runtime`]), [`TokioClock`] and the names with tokio's
//! types.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod runtime;
mod server;
mod threaded;

pub use runtime::{Tokio, TokioClock};
pub use server::Server;
pub use sockeye_io::driver::TokioIo;
/// Broadcast across server instances through Redis (feature `redis`) or
/// NATS (feature `nats`): [`sockeye_io::fanout`], on this runtime.
#[cfg(any(feature = "redis", feature = "nats"))]
pub use sockeye_io::fanout;
pub use threaded::ThreadedServer;

/// The reconnecting client's name for [`Tokio`], which connects and waits
/// for it.
pub use runtime::Tokio as TokioConnector;

sockeye_io::runtime_api! {
    name = "tokio", runtime = Tokio, clock = TokioClock,
    tcp = tokio::net::TcpStream, listener = tokio::net::TcpListener, tls = tokio_rustls::client::TlsStream,
    transport = TokioIo, stream = [tokio::io::AsyncRead, tokio::io::AsyncWrite];
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sockeye_tokio::Error> {
    /// let (mut ws, _response) = sockeye_tokio::connect("ws://127.0.0.1:9001/chat").await?;
    /// ws.send("hello").await?;
    /// if let Some(reply) = ws.recv().await {
    ///     println!("{:?}", reply?);
    /// }
    /// ws.close(sockeye_tokio::CloseCode::NORMAL, "").await?;
    /// # Ok(())
    /// # }
    /// ```
    fn connect;
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
    /// loop {
    ///     let (tcp, _) = listener.accept().await?;
    ///     tokio::spawn(async move {
    ///         let mut ws = sockeye_tokio::accept(tcp).await?;
    ///         while let Some(message) = ws.recv().await {
    ///             let message = message?;
    ///             if message.is_data() {
    ///                 ws.send(message).await?;
    ///             }
    ///         }
    ///         Ok::<_, sockeye_tokio::Error>(())
    ///     });
    /// }
    /// # }
    /// ```
    fn accept;
    ///
    /// ```no_run
    /// use sockeye_tokio::{Config, Decision};
    /// # async fn serve(tcp: tokio::net::TcpStream) -> Result<(), sockeye_tokio::Error> {
    /// let (ws, request) = sockeye_tokio::accept_with(tcp, Config::default(), |request| {
    ///     if request.path() != "/chat" {
    ///         return Decision::reject(404);
    ///     }
    ///     Decision::accept_first_of(request, &["chat.v2", "chat.v1"])
    /// })
    /// .await?;
    /// # let _ = (ws, request); Ok(()) }
    /// ```
    fn accept_with;
    ///
    /// ```no_run
    /// use sockeye_tokio::reconnect::{Event, ReconnectPolicy};
    /// use sockeye_tokio::{ClientOptions, Config};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut client = sockeye_tokio::reconnecting(
    ///     "ws://127.0.0.1:9001/feed",
    ///     ClientOptions::new().header("Authorization", "Bearer abc"),
    ///     Config::default(),
    ///     ReconnectPolicy::default(),
    /// );
    /// client.send("subscribe").await.unwrap(); // queued until connected
    /// while let Some(event) = client.recv().await {
    ///     match event {
    ///         Event::Connected { connection, .. } => println!("connected (#{connection})"),
    ///         Event::Message(message) => println!("{message:?}"),
    ///         Event::Disconnected { close, reconnect_in, .. } => {
    ///             println!("closed {}: retry in {reconnect_in:?}", close.code)
    ///         }
    ///         Event::GaveUp { attempts } => println!("gave up after {attempts}"),
    ///         _ => {}
    ///     }
    /// }
    /// # }
    /// ```
    fn reconnecting;
}
