//! WebSocket (RFC 6455) upgrades from [hyper] requests, over HTTP/1.1 and
//! over HTTP/2 (RFC 8441), driven by the sans-IO
//! [`sockeye`](sockeye_io::sockeye) engine; with the `axum` feature, an
//! axum extractor ([`WebSocketUpgrade`]).
//!
//! A request is judged by the engine's own handshake rules (version 13,
//! subprotocols, permessage-deflate, the 400/405/426 answers); this crate
//! only moves fields between hyper's types and the engine's. The WebSocket
//! it hands out is the one `sockeye-tokio` hands out
//! ([`sockeye_tokio::WebSocketStream`]) over hyper's upgraded connection,
//! so `Stream`/`Sink`, `split`, backpressure, the heartbeat and the limits
//! work as they do there.
//!
//! # HTTP/2
//! Over HTTP/2 a WebSocket is an extended CONNECT stream (RFC 8441): the
//! server must advertise `SETTINGS_ENABLE_CONNECT_PROTOCOL`, which hyper
//! does when its HTTP/2 builder is told `enable_connect_protocol()`.
//! Browsers that see the setting open their WebSockets to that origin over
//! HTTP/2, many on one connection; it stays off unless the server asks for
//! it. Each WebSocket is one stream under HTTP/2 flow control, so a stream
//! whose reader stops draining stalls alone.
//!
//! With the `client` feature, [`Http2Client`] is the other side: it opens
//! `wss://` WebSockets as extended CONNECT streams where the server offers
//! `h2` by ALPN and advertises the setting, several on one connection per
//! origin, and falls back to the HTTP/1.1 upgrade where it does not.
//!
//! # Hostile clients
//! The request head is hyper's to read, so its bounds are hyper's settings:
//! give the HTTP/1.1 builder a timer and a `header_read_timeout` (a head
//! that never completes, slowloris) and a `max_buf_size` (hyper answers an
//! endless header block with 431), as the `axum-echo` example does (10 s,
//! 64 KiB). Everything after the `101` or `200` is the engine's, with the
//! limits of the [`Config`] given to the upgrade.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "axum")]
mod axum;
#[cfg(feature = "client")]
mod client;
mod upgrade;

#[cfg(feature = "axum")]
pub use axum::WebSocketUpgrade;
#[cfg(feature = "client")]
pub use client::{ClientStream, ClientWebSocket, Http2Client, Http2Settings};
#[cfg(feature = "client")]
pub use sockeye_tokio::{Response, TlsOptions};
pub use upgrade::{Connecting, Refusal, Upgrade};

pub use sockeye_io::sockeye::handshake::Upgrade as HandshakeForm;
#[cfg(feature = "deflate")]
pub use sockeye_tokio::DeflateConfig;
pub use sockeye_tokio::{
    ClientOptions, CloseCode, CloseFrame, Config, Decision, Error, Message, ReadHalf, Request,
    ServerPolicy, SharedConfig, WriteHalf,
};

/// hyper's upgraded connection (an HTTP/1.1 connection after its `101`, or
/// an HTTP/2 stream after its `200`) as a tokio stream.
pub type Upgraded = hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>;

/// A WebSocket over a connection hyper upgraded: `sockeye-tokio`'s
/// [`WebSocketStream`](sockeye_tokio::WebSocketStream).
pub type WebSocketStream = sockeye_tokio::WebSocketStream<Upgraded>;

/// A client of a [`ServerCore`] over a connection hyper upgraded
/// ([`Upgrade::serve`]): its WebSocket, id, request and outgoing queue.
pub type ServerClient = sockeye_io::server::ServerClient<
    sockeye_io::driver::TokioIo<Upgraded>,
    sockeye_tokio::TokioClock,
>;

pub use sockeye_io::server::{Clients, ServerCore, ShutdownReport};
