//! Clients (`connect`) and servers (`accept`) over tokio: the sequence is
//! [`sockeye_io::connect`]'s and [`sockeye_io::driver`]'s; only the types
//! are tokio's.

use sockeye_io::driver::{TokioIo, handshake};
use sockeye_io::{ClientOptions, Decision, Error, Request, Response, SharedConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::{MaybeTlsStream, Tokio, TokioClock, WebSocketStream};

/// Connect to a `ws://` `url` with
/// default options and [`Config::default`](crate::Config::default).
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
///
/// # Errors
/// See [`connect_with`].
pub async fn connect(
    url: &str,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
    connect_with(url, ClientOptions::new(), SharedConfig::default()).await
}

/// Connect to `url` with `options` (subprotocols, origin, extra fields,
/// connect timeout, TLS settings) and the connection's `config`.
///
/// The returned WebSocket knows its [`url`](WebSocketStream::url), the
/// negotiated [`protocol`](WebSocketStream::protocol) and
/// [`extensions`](WebSocketStream::extensions).
///
/// # Errors
/// Each fault has its variant: [`Error::Url`] for a bad URL,
/// [`Error::Resolve`] when DNS fails, [`Error::Connect`] when no address
/// accepts the connection (refused) or the
/// [connect timeout](ClientOptions::connect_timeout) ran out (kind
/// `TimedOut`), [`Error::Rejected`] with the HTTP status
/// for a non-101 answer, [`Error::Tls`] when the TLS handshake fails (an
/// untrusted certificate, a wrong name) or `wss://` is asked for without the
/// `rustls` feature, [`Error::HandshakeTimeout`] after
/// [`Config::handshake_timeout`], [`Error::Handshake`] for an invalid answer
/// or a server that hung up mid-handshake.
///
/// # Cancel safety
/// Dropping the future abandons the connection attempt.
pub async fn connect_with(
    url: &str,
    options: ClientOptions,
    config: impl Into<SharedConfig>,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
    sockeye_io::connect::connect_with::<Tokio>(url, options, config).await
}

/// Accept a WebSocket client on `stream` (a `TcpStream` from a listener, a
/// TLS stream...) with [`Config::default`](crate::Config::default), accepting every upgrade request
/// without a subprotocol.
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
///
/// # Errors
/// See [`accept_with`].
pub fn accept<S>(stream: S) -> impl Future<Output = Result<WebSocketStream<S>, Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    sockeye_io::driver::accept(TokioIo(stream), TokioClock::new())
}

/// Accept a WebSocket client on `stream` with `config`, letting `decide` see
/// the request (path, query, headers, origin, offered subprotocols) and
/// answer it: accept with a subprotocol and extra fields, or reject with a
/// status.
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
///
/// # Errors
/// [`Error::Handshake`] for an invalid request (already answered with the
/// matching HTTP error) or a client that left mid-handshake,
/// [`Error::Rejected`] when `decide` rejected, [`Error::HandshakeTimeout`]
/// after [`Config::handshake_timeout`](crate::Config::handshake_timeout), [`Error::Io`].
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
    handshake::server(TokioIo(stream), TokioClock::new(), config, decide)
}
