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
//! partial or queued. Measured over 1,000 idle server connections (the
//! `idle_memory` test in a release build, task and socket registration
//! included): 760 B of heap and about 0.95 KiB of resident memory per
//! connection, of which the WebSocket's own state is 216 B and tokio's task
//! and socket registration 256 B each. The task stays that small when it is
//! spawned as the serving call itself (`tokio::spawn(serve(tcp))`) and its
//! future is at most 152 B; `send`'s future is three words and the error type
//! 32 B for that reason.
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
//! The same driver, written once in [`sockeye_io::driver`], serves
//! `sockeye-smol`, and so do the connect sequence ([`sockeye_io::connect`])
//! and the accept loop; this crate is [`Tokio`] (tokio as a
//! [`sockeye_io::Runtime`]), [`TokioClock`] and the names with tokio's
//! types.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod connect;
mod reconnecting;
mod runtime;
mod server;

pub use connect::{accept, accept_with, connect, connect_with};
pub use reconnecting::{ReconnectingClient, reconnecting};
pub use runtime::{Tokio, TokioClock};
pub use server::Server;
pub use sockeye_io::api::*;
pub use sockeye_io::driver::TokioIo;

/// The reconnecting client's name for [`Tokio`], which connects and waits
/// for it.
pub use runtime::Tokio as TokioConnector;

/// A WebSocket over a tokio stream `S` (a `TcpStream`, a TLS stream, a duplex pipe).
pub type WebSocketStream<S> = WebSocket<TokioIo<S>, TokioClock>;

/// The stream `connect` returns: plain TCP for `ws://`, TLS over it for
/// `wss://` (feature `rustls`).
#[cfg(feature = "rustls")]
pub type MaybeTlsStream<S> = sockeye_io::MaybeTlsStream<S, tokio_rustls::client::TlsStream<S>>;
/// The stream `connect` returns: plain TCP (`wss://` needs feature `rustls`).
#[cfg(not(feature = "rustls"))]
pub type MaybeTlsStream<S> = sockeye_io::MaybeTlsStream<S, sockeye_io::NoTls>;

/// A client of a [`Server`], handed to its handler.
pub type Client = sockeye_io::server::RuntimeClient<Tokio>;

/// Broadcast to a [`Server`]'s clients and shut it down (see
/// [`sockeye_io::server::ServerHandle`]).
pub type ServerHandle = sockeye_io::server::ServerHandle<Tokio>;

/// A WebSocket over `stream`, whose opening handshake was done elsewhere,
/// playing `role` with `config`.
pub fn from_raw<S>(stream: S, role: Role, config: impl Into<SharedConfig>) -> WebSocketStream<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    sockeye_io::driver::from_raw(TokioIo(stream), TokioClock::new(), role, config)
}
