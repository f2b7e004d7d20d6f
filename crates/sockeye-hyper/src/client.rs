//! The client side of WebSocket over HTTP/2 (RFC 8441): a `wss://` URL
//! whose server offers `h2` through ALPN and advertises
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL` gets its WebSocket as an extended
//! CONNECT stream, several of them on one connection per origin; anything
//! else gets the HTTP/1.1 upgrade on a connection of its own.
//!
//! The engine writes the request's fields and judges the answer
//! ([`ClientHandshake::extended_connect_fields`],
//! [`ClientHandshake::receive_extended_connect`]); hyper carries them, and
//! its HTTP/2 flow control gives each stream its own window.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::Empty;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sockeye_io::connect::{tcp_for, upgrade_over, within_connect_timeout};
use sockeye_io::driver::Clock;
use sockeye_io::sockeye::handshake::{ClientHandshake, ClientRequest};
use sockeye_io::{ClientOptions, Error, Response, SharedConfig, Target};
use sockeye_tokio::{Tokio, TokioClock};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

mod stream;

pub use stream::ClientStream;

use crate::upgrade::engine_headers;

/// A client WebSocket from [`Http2Client::connect`]: `sockeye-tokio`'s
/// [`WebSocketStream`](sockeye_tokio::WebSocketStream) over an HTTP/2
/// stream or an upgraded HTTP/1.1 connection.
pub type ClientWebSocket = sockeye_tokio::WebSocketStream<ClientStream>;

/// The ALPN name of HTTP/2 over TLS.
const H2: &[u8] = b"h2";
/// The ALPN name of HTTP/1.1.
const HTTP1: &[u8] = b"http/1.1";

/// The HTTP/2 flow-control windows of an [`Http2Client`]'s connections.
///
/// Each WebSocket is one stream: a stream whose reader stops draining holds
/// at most `stream_window` unread bytes, and those count against the
/// connection's `connection_window` until read. So up to
/// `connection_window / stream_window` stalled WebSockets (64 with the
/// defaults) leave the others on the connection running; memory per stalled
/// stream stays at one window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Http2Settings {
    /// Bytes a peer may send on one stream before it is read
    /// (`SETTINGS_INITIAL_WINDOW_SIZE`). Default 256 KiB.
    pub stream_window: u32,
    /// Bytes a peer may send on the whole connection before they are read.
    /// Default 16 MiB.
    pub connection_window: u32,
}

impl Default for Http2Settings {
    fn default() -> Self {
        Self {
            stream_window: 256 << 10,
            connection_window: 16 << 20,
        }
    }
}

/// Opens client WebSockets over HTTP/2 where the server offers it, sharing
/// one HTTP/2 connection per origin among them, and over HTTP/1.1
/// otherwise.
///
/// For a `wss://` URL it offers ALPN `h2` and `http/1.1`. When the server
/// picks `h2` and advertises `SETTINGS_ENABLE_CONNECT_PROTOCOL`, the
/// WebSocket is an extended CONNECT stream (RFC 8441), and later
/// WebSockets to the same host and port open as new streams of the same
/// connection. When the server picks HTTP/1.1, or its HTTP/2 refuses
/// extended CONNECT, the WebSocket opens with the HTTP/1.1 upgrade on a
/// connection of its own, and the client remembers to go straight to
/// HTTP/1.1 for that origin. `ws://` URLs always use HTTP/1.1.
///
/// The [`ClientOptions`] and [`Config`](sockeye_io::Config) of each call
/// apply as they do for `sockeye_tokio::connect_with` (subprotocols,
/// origin, fields, proxy, connect timeout, handshake timeout, limits,
/// deflate); a shared connection keeps the TLS settings of the call that
/// opened it, so use one `Http2Client` per set of TLS settings. Clones
/// share the connections.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), sockeye_hyper::Error> {
/// use sockeye_hyper::{ClientOptions, Config, Http2Client};
///
/// let client = Http2Client::new();
/// let (mut chat, _) = client
///     .connect("wss://example.com/chat", ClientOptions::new(), Config::default())
///     .await?;
/// // A second WebSocket to the same origin: a new stream, same connection.
/// let (mut feed, _) = client
///     .connect("wss://example.com/feed", ClientOptions::new(), Config::default())
///     .await?;
/// chat.send("hello").await?;
/// # let _ = feed.recv().await; Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Http2Client {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    settings: Http2Settings,
    routes: Mutex<HashMap<Origin, Route>>,
}

/// A server, as connections are shared: host and port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Origin {
    host: String,
    port: u16,
}

/// How an origin's WebSockets open.
#[derive(Clone, Debug)]
enum Route {
    /// As streams of this connection.
    Http2(Http2Connection),
    /// With the HTTP/1.1 upgrade.
    Http1,
}

/// An HTTP/2 connection whose driver runs in its own task.
#[derive(Clone, Debug)]
struct Http2Connection {
    sender: SendRequest<Empty<Bytes>>,
    /// What the server's SETTINGS said of extended CONNECT, as last seen
    /// by the driver.
    extended_connect: Arc<AtomicBool>,
}

/// How an attempt to open a stream ended.
enum Attempt {
    /// Opened, or failed for a reason that a new connection would not fix.
    Done(Result<(ClientWebSocket, Response), Error>),
    /// The stream was reset before an answer, and the server does not
    /// advertise extended CONNECT: its HTTP/2 has no WebSockets.
    Unsupported,
    /// The connection is gone.
    Closed,
}

impl Http2Client {
    /// A client with the default [`Http2Settings`] and no connections yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A client whose HTTP/2 connections use `settings`.
    pub fn with_settings(settings: Http2Settings) -> Self {
        Self {
            shared: Arc::new(Shared {
                settings,
                routes: Mutex::default(),
            }),
        }
    }

    /// How many HTTP/2 connections are open and shared.
    pub fn http2_connections(&self) -> usize {
        self.routes()
            .values()
            .filter(|route| matches!(route, Route::Http2(c) if !c.sender.is_closed()))
            .count()
    }

    /// Opens a WebSocket to `url` with `options` and `config`, over HTTP/2
    /// when the server offers it (see the [type documentation](Self)).
    ///
    /// # Errors
    /// As `sockeye_tokio::connect_with`: [`Error::Url`], [`Error::Resolve`],
    /// [`Error::Connect`], [`Error::Proxy`], [`Error::Tls`], then
    /// [`Error::Rejected`] with the status of an answer other than 2xx
    /// (HTTP/2) or 101 (HTTP/1.1), [`Error::HandshakeTimeout`],
    /// [`Error::Handshake`] for an answer that breaks RFC 6455 or RFC 8441,
    /// and [`Error::Io`] when the HTTP/2 layer fails.
    pub async fn connect(
        &self,
        url: &str,
        options: ClientOptions,
        config: impl Into<SharedConfig>,
    ) -> Result<(ClientWebSocket, Response), Error> {
        let target = Target::parse(url)?;
        let request = options.request(&target)?;
        let config = config.into();
        if !target.secure {
            let tcp = within_connect_timeout(
                &options,
                tokio::time::sleep,
                tcp_for::<Tokio>(&target, &options),
            )
            .await?;
            return http1(url, ClientStream::Plain(tcp), request, config).await;
        }
        let origin = Origin {
            host: target.host.clone(),
            port: target.port,
        };
        let known = self.routes().get(&origin).cloned();
        match known {
            Some(Route::Http1) => {
                return http1_over_tls(url, &target, &options, request, config).await;
            }
            Some(Route::Http2(connection)) => {
                match open_stream(url, &connection, request.clone(), &config).await {
                    Attempt::Done(result) => return result,
                    // A new connection below.
                    Attempt::Closed | Attempt::Unsupported => {}
                }
            }
            None => {}
        }
        let tls = within_connect_timeout(
            &options,
            tokio::time::sleep,
            tls_to(&target, &options, &[H2, HTTP1]),
        )
        .await?;
        if tls.get_ref().1.alpn_protocol() != Some(H2) {
            self.remember(origin, Route::Http1);
            return http1(url, ClientStream::Tls(Box::new(tls)), request, config).await;
        }
        let connection = self.start_http2(tls).await?;
        self.remember(origin.clone(), Route::Http2(connection.clone()));
        match open_stream(url, &connection, request.clone(), &config).await {
            Attempt::Done(result) => result,
            Attempt::Unsupported | Attempt::Closed => {
                self.remember(origin, Route::Http1);
                http1_over_tls(url, &target, &options, request, config).await
            }
        }
    }

    fn routes(&self) -> std::sync::MutexGuard<'_, HashMap<Origin, Route>> {
        // The map stays consistent whatever a panicking holder did.
        self.shared
            .routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, origin: Origin, route: Route) {
        self.routes().insert(origin, route);
    }

    /// The HTTP/2 handshake over `tls`; the connection's driver runs in a
    /// task of its own until the connection ends.
    async fn start_http2(&self, tls: TlsStream<TcpStream>) -> Result<Http2Connection, Error> {
        let settings = self.shared.settings;
        let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .initial_stream_window_size(settings.stream_window)
            .initial_connection_window_size(settings.connection_window)
            .handshake::<_, Empty<Bytes>>(TokioIo::new(tls))
            .await
            .map_err(http2_error)?;
        let extended_connect = Arc::new(AtomicBool::new(false));
        let seen = extended_connect.clone();
        let mut connection = Box::pin(connection);
        tokio::spawn(std::future::poll_fn(move |cx| {
            let polled = connection.as_mut().poll(cx);
            seen.store(
                connection.is_extended_connect_protocol_enabled(),
                Ordering::Release,
            );
            polled.map(drop)
        }));
        Ok(Http2Connection {
            sender,
            extended_connect,
        })
    }
}

/// Opens a WebSocket as a new extended CONNECT stream of `connection`,
/// within the handshake timeout.
async fn open_stream(
    url: &str,
    connection: &Http2Connection,
    request: ClientRequest,
    config: &SharedConfig,
) -> Attempt {
    let clock = TokioClock::new();
    let mut handshake = ClientHandshake::new(request, config.clone(), clock.now());
    let http_request = match extended_connect_request(&handshake) {
        Ok(http_request) => http_request,
        Err(error) => return Attempt::Done(Err(error)),
    };
    let mut sender = connection.sender.clone();
    let exchange = async {
        if sender.ready().await.is_err() {
            return Attempt::Closed;
        }
        let mut response = match sender.send_request(http_request).await {
            Ok(response) => response,
            Err(_) if !connection.extended_connect.load(Ordering::Acquire) => {
                return Attempt::Unsupported;
            }
            Err(error) if error.is_closed() || error.is_canceled() => return Attempt::Closed,
            Err(error) => return Attempt::Done(Err(http2_error(error))),
        };
        let status = response.status().as_u16();
        let headers = engine_headers(response.headers());
        let established = match handshake.receive_extended_connect(status, headers) {
            Ok(established) => established,
            Err(error) => return Attempt::Done(Err(error.into())),
        };
        let upgraded = match hyper::upgrade::on(&mut response).await {
            Ok(upgraded) => upgraded,
            Err(error) => return Attempt::Done(Err(http2_error(error))),
        };
        let answer = Response::of(&established);
        let info = answer.handshake_info(url);
        let io = sockeye_io::driver::TokioIo(ClientStream::Http2(TokioIo::new(upgraded)));
        let connection = established.into_connection(clock.now());
        let ws =
            sockeye_io::driver::WebSocket::new(connection, io, clock).with_handshake_info(info);
        Attempt::Done(Ok((ws, answer)))
    };
    match config.handshake_timeout {
        Some(limit) => tokio::time::timeout(limit, exchange)
            .await
            .unwrap_or(Attempt::Done(Err(Error::HandshakeTimeout))),
        None => exchange.await,
    }
}

/// The extended CONNECT request of `handshake`, as hyper sends it: the
/// pseudo-header fields from the URI and the `Protocol` extension, the
/// regular fields from the engine.
fn extended_connect_request(
    handshake: &ClientHandshake,
) -> Result<hyper::Request<Empty<Bytes>>, Error> {
    let request = handshake.request();
    let uri = http::Uri::builder()
        .scheme("https")
        .authority(request.host())
        .path_and_query(request.path_and_query())
        .build()
        .map_err(|error| Error::Url(format!("not a valid HTTP/2 request target: {error}")))?;
    let mut builder = hyper::Request::builder()
        .method(http::Method::CONNECT)
        .uri(uri);
    for (name, value) in handshake.extended_connect_fields() {
        builder = builder.header(name, value);
    }
    let mut http_request = builder
        .body(Empty::new())
        .map_err(|error| Error::Io(io::Error::new(io::ErrorKind::InvalidInput, error)))?;
    http_request
        .extensions_mut()
        .insert(hyper::ext::Protocol::from_static("websocket"));
    Ok(http_request)
}

/// The HTTP/1.1 upgrade on a TLS connection of its own that offers only
/// `http/1.1`.
async fn http1_over_tls(
    url: &str,
    target: &Target,
    options: &ClientOptions,
    request: ClientRequest,
    config: SharedConfig,
) -> Result<(ClientWebSocket, Response), Error> {
    let tls = within_connect_timeout(
        options,
        tokio::time::sleep,
        tls_to(target, options, &[HTTP1]),
    )
    .await?;
    http1(url, ClientStream::Tls(Box::new(tls)), request, config).await
}

/// The HTTP/1.1 upgrade over `stream`, as `sockeye-tokio` runs it.
async fn http1(
    url: &str,
    stream: ClientStream,
    request: ClientRequest,
    config: SharedConfig,
) -> Result<(ClientWebSocket, Response), Error> {
    upgrade_over(
        url,
        sockeye_io::driver::TokioIo(stream),
        TokioClock::new(),
        request,
        config,
    )
    .await
}

/// TCP (through the options' proxy, if any) then TLS to `target`, offering
/// the ALPN protocols `alpn`.
async fn tls_to(
    target: &Target,
    options: &ClientOptions,
    alpn: &[&[u8]],
) -> Result<TlsStream<TcpStream>, Error> {
    let tcp = tcp_for::<Tokio>(target, options).await?;
    let mut config = (*options.tls_options().client_config()?).clone();
    config.alpn_protocols = alpn.iter().map(|name| name.to_vec()).collect();
    let name = sockeye_io::tls::server_name(&target.host)?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|error| Error::Tls(Box::new(error)))
}

fn http2_error(error: hyper::Error) -> Error {
    Error::Io(io::Error::other(error))
}
