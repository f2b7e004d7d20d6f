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
//! # TLS
//! With the `rustls` feature, [`connect`] and [`connect_with`] speak
//! `wss://` through rustls' `StreamOwned` (settings in
//! [`ClientOptions::tls`]; a failed TLS handshake is [`Error::Tls`]).
//!
//! # Timeouts
//! Read and write timeouts set on the stream are honoured: a read or write
//! that times out returns [`Error::Timeout`] and leaves the connection
//! usable (all partial state is in the engine). The engine's own timers
//! (keepalive, close timeout) are checked whenever a read returns, so set a
//! read timeout no longer than the shortest of them.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod socket;
mod stream;

pub use socket::{WebSocket, accept, accept_with, connect, connect_with};
#[cfg(feature = "deflate")]
pub use sockeye_io::DeflateConfig;
pub use sockeye_io::{
    ClientOptions, CloseCode, CloseFrame, Config, Decision, Error, Message, Request, Response, Role,
};
#[cfg(feature = "rustls")]
pub use sockeye_io::{Roots, TlsOptions};
pub use stream::MaybeTlsStream;
