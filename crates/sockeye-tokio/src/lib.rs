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
//! # TLS
//! With the `rustls` feature, [`connect`] and [`connect_with`] speak
//! `wss://` (settings in [`ClientOptions::tls`]; a failed TLS handshake is
//! [`Error::Tls`]). A TLS server is a `tokio_rustls::TlsAcceptor` stream
//! handed to [`accept`]: `accept` works over any stream.
//!
//! The same driver, written once in [`sockeye_io::driver`], serves
//! `sockeye-smol`; only [`TokioIo`] and [`TokioClock`] are tokio's.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod connect;
mod runtime;

pub use connect::{MaybeTlsStream, accept, accept_with, connect, connect_with};

pub use runtime::{TokioClock, TokioIo};
#[cfg(feature = "deflate")]
pub use sockeye_io::DeflateConfig;
pub use sockeye_io::driver::{Close, ReadHalf, Recv, Send, WebSocket, WriteHalf};
pub use sockeye_io::{
    ClientOptions, CloseCode, CloseFrame, Config, Decision, Error, Message, Request, Response, Role,
};
#[cfg(feature = "rustls")]
pub use sockeye_io::{Roots, TlsOptions};

/// A WebSocket over a tokio stream `S` (a `TcpStream`, a TLS stream, a duplex pipe).
pub type WebSocketStream<S> = WebSocket<TokioIo<S>, TokioClock>;

/// A WebSocket over `stream`, whose opening handshake was done elsewhere,
/// playing `role` with `config`.
pub fn from_raw<S>(stream: S, role: Role, config: Config) -> WebSocketStream<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let clock = TokioClock::new();
    let now = sockeye_io::driver::Clock::now(&clock);
    let conn = sockeye_io::sockeye::Connection::new(role, config, now);
    WebSocket::new(conn, TokioIo(stream), clock)
}
