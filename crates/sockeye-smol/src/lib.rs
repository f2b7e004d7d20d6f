//! WebSocket (RFC 6455) client and server over `futures-io` streams, driven
//! by the sans-IO [`sockeye`](sockeye_io::sockeye) engine. Runs on smol,
//! async-std or any executor; timers come from `async-io`.
//!
//! The API is the one of `sockeye-tokio`: the same driver
//! ([`sockeye_io::driver`]) with a `futures-io` transport and an `async-io`
//! clock, the same connect sequence ([`sockeye_io::connect`]) and the same
//! [`ReconnectingClient`] ([`sockeye_io::reconnect`]), all over [`Smol`]
//! (`async-net` and `async-io` as a [`sockeye_io::Runtime`]).
//!
//! [`Server`] accepts under a [`ServerPolicy`] and hands each [`Client`] to
//! a handler, with broadcast through [`Clients`] and graceful shutdown; the
//! policy is [`sockeye_io::server`]'s, shared with `sockeye-tokio`.
//!
//! ```no_run
//! # fn main() -> Result<(), sockeye_smol::Error> {
//! smol::block_on(async {
//!     let (mut ws, _) = sockeye_smol::connect("ws://127.0.0.1:9001/").await?;
//!     ws.send("hello").await?;
//!     let reply = ws.recv().await;
//!     ws.close(sockeye_smol::CloseCode::NORMAL, "").await
//! })
//! # }
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_net::TcpStream;
use futures_io::{AsyncRead, AsyncWrite};
use sockeye_io::driver::{Clock, FuturesIo, clock_epoch, handshake};

mod runtime;
mod server;
pub use runtime::Smol;
pub use server::Server;
pub use sockeye_io::api::*;
pub use sockeye_io::server::Task;

/// The reconnecting client's name for [`Smol`], which connects and waits
/// for it.
pub use runtime::Smol as SmolConnector;

/// A WebSocket over a `futures-io` stream `S`.
pub type WebSocketStream<S> = WebSocket<FuturesIo<S>, AsyncIoClock>;

/// Plain TCP for `ws://`, TLS over it for `wss://` (feature `rustls`).
#[cfg(feature = "rustls")]
pub type MaybeTlsStream<S> = sockeye_io::MaybeTlsStream<S, futures_rustls::client::TlsStream<S>>;
/// Plain TCP (`wss://` needs feature `rustls`).
#[cfg(not(feature = "rustls"))]
pub type MaybeTlsStream<S> = sockeye_io::MaybeTlsStream<S, sockeye_io::NoTls>;

/// A client of a [`Server`], handed to its handler.
pub type Client = sockeye_io::server::RuntimeClient<Smol>;

/// Broadcast to a [`Server`]'s clients and shut it down (see
/// [`sockeye_io::server::ServerHandle`]).
pub type ServerHandle = sockeye_io::server::ServerHandle<Smol>;

/// A client that reconnects when its connection is lost (see
/// [`sockeye_io::reconnect::ReconnectingClient`]).
pub type ReconnectingClient = sockeye_io::reconnect::ReconnectingClient<Smol>;

/// The system clock with an `async-io` timer, allocated on first use.
///
/// Every `AsyncIoClock` counts from one process-wide epoch,
/// [`clock_epoch`], and keeps its timer boxed with the deadline it is armed
/// for, so a clock costs an idle connection one pointer.
#[derive(Debug, Default)]
pub struct AsyncIoClock {
    timer: Option<Box<(Duration, async_io::Timer)>>,
}

impl AsyncIoClock {
    /// A clock on the process-wide scale.
    pub fn new() -> Self {
        Self { timer: None }
    }
}

impl Clock for AsyncIoClock {
    fn now(&self) -> Duration {
        clock_epoch().elapsed()
    }

    fn poll_deadline(&mut self, cx: &mut Context<'_>, deadline: Duration) -> Poll<()> {
        let Some(at) = clock_epoch().checked_add(deadline) else {
            return Poll::Pending;
        };
        if Instant::now() >= at {
            return Poll::Ready(());
        }
        let (armed, timer) = &mut **self
            .timer
            .get_or_insert_with(|| Box::new((deadline, async_io::Timer::at(at))));
        if *armed != deadline {
            timer.set_at(at);
            *armed = deadline;
        }
        Pin::new(timer).poll(cx).map(|_| ())
    }

    fn disarm(&mut self) {
        self.timer = None;
    }
}

/// A WebSocket over `stream`, whose opening handshake was done elsewhere.
pub fn from_raw<S>(stream: S, role: Role, config: impl Into<SharedConfig>) -> WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    sockeye_io::driver::from_raw(FuturesIo(stream), AsyncIoClock::new(), role, config)
}

/// Connect to a `ws://` URL with default options and config.
///
/// # Errors
/// See [`connect_with`].
pub async fn connect(
    url: &str,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
    connect_with(url, ClientOptions::new(), SharedConfig::default()).await
}

/// Connect to a `ws://` URL with `options` (subprotocols, origin, extra
/// fields, connect timeout, TLS settings) and `config`. The returned
/// WebSocket knows its [`url`](WebSocket::url), the negotiated
/// [`protocol`](WebSocket::protocol) and [`extensions`](WebSocket::extensions).
///
/// # Errors
/// [`Error::Url`], [`Error::Resolve`] (DNS), [`Error::Connect`] (refused, or
/// the [connect timeout](ClientOptions::connect_timeout) ran out),
/// [`Error::Rejected`] (non-101, with its status), [`Error::HandshakeTimeout`],
/// [`Error::Handshake`]; [`Error::Tls`] when the TLS handshake fails or
/// `wss://` is asked for without the `rustls` feature.
pub async fn connect_with(
    url: &str,
    options: ClientOptions,
    config: impl Into<SharedConfig>,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
    sockeye_io::connect::connect_with::<Smol>(url, options, config).await
}

/// A [`ReconnectingClient`] for `url` (nothing happens until its first `recv`).
pub fn reconnecting(
    url: &str,
    options: ClientOptions,
    config: impl Into<SharedConfig>,
    policy: reconnect::ReconnectPolicy,
) -> ReconnectingClient {
    ReconnectingClient::new(Smol, url, options, config, policy)
}

/// Accept a WebSocket client on `stream` with the default config.
///
/// # Errors
/// See [`accept_with`].
pub fn accept<S>(stream: S) -> impl Future<Output = Result<WebSocketStream<S>, Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    sockeye_io::driver::accept(FuturesIo(stream), AsyncIoClock::new())
}

/// Accept a WebSocket client on `stream` with `config`; `decide` sees the
/// request and accepts (with a subprotocol, extra fields) or rejects.
///
/// # Errors
/// [`Error::Handshake`] for an invalid request (already answered with the
/// HTTP error) or a client that left mid-handshake, [`Error::Rejected`] when
/// `decide` rejected, [`Error::HandshakeTimeout`], [`Error::Io`].
pub fn accept_with<S, F>(
    stream: S,
    config: impl Into<SharedConfig>,
    decide: F,
) -> impl Future<Output = Result<(WebSocketStream<S>, Request), Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Decision,
{
    // Not an `async fn`: the returned future is the boxed handshake alone,
    // so a task awaiting it stays small once the connection is idle.
    handshake::server(FuturesIo(stream), AsyncIoClock::new(), config, decide)
}
