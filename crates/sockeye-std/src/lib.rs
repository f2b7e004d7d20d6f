//! Blocking WebSocket (RFC 6455) client and server over any `Read + Write`
//! (a `TcpStream` by default), driven by the sans-IO
//! [`sockeye`](sockeye_io::sockeye) engine.
//!
//! ```no_run
//! # fn main() -> Result<(), sockeye_std::Error> {
//! let (mut ws, _) = sockeye_std::connect("ws://127.0.0.1:9001/")?;
//! ws.send("hello")?;
//! let reply = ws.recv();
//! ws.close(sockeye_std::CloseCode::NORMAL, "")?;
//! # Ok(()) }
//! ```
//!
//! # Two threads
//! [`WebSocket::split`] gives a [`ReadHalf`] and a [`WriteHalf`] for a
//! receiving thread and a sending thread (over plain TCP): the engine is
//! shared behind a mutex, and the receiving half blocks in `read` on its own
//! handle to the socket without holding it.
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
//! `wss://` through rustls' `StreamOwned` (settings in
//! [`ClientOptions::tls`]; a failed TLS handshake is [`Error::Tls`]).
//!
//! # What the browser shows
//! [`WebSocket::url`], [`WebSocket::protocol`], [`WebSocket::extensions`],
//! [`WebSocket::ready_state`], [`WebSocket::buffered_amount`] and, once
//! closed, [`WebSocket::close_status`] (code, reason, `was_clean`), computed
//! as in the async adapters ([`ReadyState`], [`CloseStatus`]).
//!
//! # Timeouts
//! [`ClientOptions::connect_timeout`] bounds the TCP connect of
//! [`connect_with`]; [`Config::handshake_timeout`] the TLS and WebSocket
//! handshakes.
//!
//! Read and write timeouts set on the stream are honoured: a read or write
//! that times out returns [`Error::Timeout`] and leaves the connection
//! usable (all partial state is in the engine). The engine's own timers
//! (keepalive, close timeout) are checked whenever a read returns, so set a
//! read timeout no longer than the shortest of them.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod policy;
mod socket;
mod split;
mod stream;

pub use policy::accept_with_policy;
/// Server policy shared with the async adapters (see [`accept_with_policy`]).
pub use sockeye_io::server;

pub use socket::{WebSocket, accept, accept_with, connect, connect_with};
#[cfg(feature = "deflate")]
pub use sockeye_io::DeflateConfig;
pub use sockeye_io::{
    ClientOptions, CloseCode, CloseFrame, Config, DataKind, Decision, Error, Fragment, Message,
    Proxy, ProxyError, Request, Response, Role, SharedConfig,
};
pub use sockeye_io::{HandshakeInfo, ReadyState};
#[cfg(feature = "rustls")]
pub use sockeye_io::{Roots, TlsOptions};
pub use split::{ReadHalf, TryCloneStream, WriteHalf};
pub use stream::MaybeTlsStream;
