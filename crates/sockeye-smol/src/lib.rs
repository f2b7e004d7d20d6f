//! WebSocket (RFC 6455) client and server over `futures-io` streams, driven
//! by the sans-IO [`sockeye`](sockeye_io::sockeye) engine. Runs on smol,
//! async-std or any executor; timers come from `async-io`.
//!
//! The API is the one of `sockeye-tokio`: the same driver
//! ([`sockeye_io::driver`]) with a `futures-io` transport and an `async-io`
//! clock, and the same [`ReconnectingClient`] ([`sockeye_io::reconnect`])
//! with [`SmolConnector`].
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
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_net::TcpStream;
use futures_io::{AsyncRead, AsyncWrite};
use sockeye_io::Target;
use sockeye_io::driver::{Clock, FuturesIo, clock_epoch, handshake, within};

mod reconnecting;
mod server;
mod stream;
pub use reconnecting::{ReconnectingClient, SmolConnector, reconnecting};
pub use server::{Client, Server, ServerHandle, Task};
#[cfg(feature = "deflate")]
pub use sockeye_io::DeflateConfig;
pub use sockeye_io::driver::{Close, ReadHalf, Recv, Sending, WebSocket, WriteHalf};
pub use sockeye_io::reconnect;
pub use sockeye_io::server::{ClientId, Clients, RateLimit, ServerPolicy, ShutdownReport};
pub use sockeye_io::{
    ClientOptions, CloseCode, CloseFrame, Config, Decision, Error, Message, Request, Response,
    Role, SharedConfig,
};
pub use sockeye_io::{HandshakeInfo, ReadyState};
#[cfg(feature = "rustls")]
pub use sockeye_io::{Roots, TlsOptions};
pub use stream::MaybeTlsStream;

/// A WebSocket over a `futures-io` stream `S`.
pub type WebSocketStream<S> = WebSocket<FuturesIo<S>, AsyncIoClock>;

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
    let clock = AsyncIoClock::new();
    let conn = sockeye_io::sockeye::Connection::new(role, config, clock.now());
    WebSocket::new(conn, FuturesIo(stream), clock)
}

/// Connect to a `ws://` URL with default options and config.
///
/// # Errors
/// See [`connect_with`].
pub async fn connect(
    url: &str,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
    connect_with(url, ClientOptions::new(), Config::default()).await
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
    config: Config,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
    let target = Target::parse(url)?;
    let request = options.request(&target)?;
    let timer = options.connect_time_limit().map(|limit| async move {
        async_io::Timer::after(limit).await;
    });
    let stream = within(reach(&target, &options), timer)
        .await
        .unwrap_or_else(|| Err(ClientOptions::connect_timed_out()))?;
    let (ws, response) =
        handshake::client(FuturesIo(stream), AsyncIoClock::new(), request, config).await?;
    Ok((
        ws.with_handshake_info(response.handshake_info(url)),
        response,
    ))
}

/// Resolve, connect over TCP and (for `wss://`) run the TLS handshake.
async fn reach(
    target: &Target,
    options: &ClientOptions,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    let addrs = async_net::resolve((target.host.as_str(), target.port))
        .await
        .map_err(Error::Resolve)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    if addrs.is_empty() {
        return Err(Error::Resolve(last));
    }
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                tcp.set_nodelay(true).map_err(Error::Connect)?;
                return if target.secure {
                    wrap_tls(tcp, target, options).await
                } else {
                    Ok(MaybeTlsStream::Plain(tcp))
                };
            }
            Err(error) => last = error,
        }
    }
    Err(Error::Connect(last))
}

#[cfg(feature = "rustls")]
async fn wrap_tls(
    tcp: TcpStream,
    target: &Target,
    options: &ClientOptions,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    let config = options.tls_options().client_config()?;
    let name = sockeye_io::tls::server_name(&target.host)?;
    let tls = futures_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(sockeye_io::tls::handshake_error)?;
    Ok(MaybeTlsStream::Rustls(Box::new(tls)))
}

#[cfg(not(feature = "rustls"))]
async fn wrap_tls(
    _tcp: TcpStream,
    _target: &Target,
    _options: &ClientOptions,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    Err(Error::Tls(
        "wss:// needs the `rustls` feature of sockeye-smol".into(),
    ))
}

/// Accept a WebSocket client on `stream` with the default config.
///
/// # Errors
/// See [`accept_with`].
pub fn accept<S>(stream: S) -> impl Future<Output = Result<WebSocketStream<S>, Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Not an `async fn`, which would keep room for `stream` beside the
    // handshake: the future is the boxed handshake and nothing more.
    let handshake = accept_with(stream, Config::default(), |_: &Request| Decision::accept());
    async move {
        let (ws, _) = handshake.await?;
        Ok(ws)
    }
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
