//! Runtime-independent glue shared by the sockeye adapters.
//!
//! * [`Message`] and [`Error`]: what `recv` returns and `send` takes, and the
//!   one error type of every adapter;
//! * [`Target`]: a `ws://` / `wss://` URL taken apart;
//! * [`driver`] (feature `async`): the async driver written once against
//!   poll-style I/O, which `sockeye-tokio` and `sockeye-smol` instantiate with
//!   their runtime's streams and timers;
//! * [`ReadyState`], [`CloseStatus`] and [`HandshakeInfo`]: what the browser's
//!   `WebSocket` shows (`readyState`, the `CloseEvent`, `url`, `protocol`,
//!   `extensions`), computed once for every adapter;
//! * [`reconnect`]: the reconnecting client's policy (backoff with jitter,
//!   bounded outbox, when not to reconnect, events) and, with feature
//!   `async`, the client itself over any runtime;
//! * [`server`]: server policy written once (accept-time decisions, limits,
//!   client tracking and broadcast, heartbeat defaults, graceful shutdown);
//! * [`Runtime`] (feature `async`): what an async runtime provides (TCP,
//!   TLS, timers, its clock), over which [`connect`] (resolve, connect,
//!   TLS, handshake), the server's accept loop ([`server::Acceptor`]) and
//!   the reconnecting client's connector are written once, with
//!   [`MaybeTlsStream`] as the client's stream; [`api`] lists what every
//!   async adapter re-exports;
//! * [`fanout`] (feature `fanout`, backends `redis` and `nats`): broadcast
//!   to topics across server instances through a broker, beside
//!   [`server::Clients`] and through its bounded queues;
//! * [`TlsOptions`] (feature `rustls`): `wss://` client settings, built
//!   once into a rustls `ClientConfig`;
//!
//! Protocol decisions are the engine's ([`sockeye`]); this crate only moves
//! bytes and maps types.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

#[macro_use]
mod trace;
pub use trace::events;

#[cfg(feature = "async")]
pub mod api;
#[cfg(feature = "async")]
pub mod connect;
mod decision;
#[cfg(feature = "async")]
pub mod driver;
mod error;
#[cfg(feature = "fanout")]
pub mod fanout;
pub mod info;
#[cfg(feature = "async")]
mod maybe_tls;
mod message;
mod options;
mod proxy;
pub mod reconnect;
mod response;
#[cfg(feature = "async")]
mod runtime;
pub mod server;
mod target;
#[cfg(feature = "rustls")]
pub mod tls;

pub use decision::Decision;
pub use error::{Error, ProxyError};
pub use info::{HandshakeInfo, ReadyState};
#[cfg(feature = "async")]
pub use maybe_tls::{MaybeTlsStream, NoTls};
pub use message::Message;
pub use options::ClientOptions;
pub use proxy::{MAX_PROXY_RESPONSE, Proxy};
pub use response::Response;
#[cfg(feature = "async")]
pub use runtime::{Runtime, RuntimeTypes, TlsClient};
pub use target::Target;
#[cfg(feature = "rustls")]
pub use tls::{Roots, TlsOptions};

pub use sockeye;
pub use sockeye::connection::Fragment;
#[cfg(feature = "deflate")]
pub use sockeye::deflate::DeflateConfig;
pub use sockeye::handshake::{Extension, Headers, Request};
pub use sockeye::{
    CloseCode, CloseFrame, CloseStatus, Config, DataKind, Role, SharedConfig, State, Utf8Bytes,
};
