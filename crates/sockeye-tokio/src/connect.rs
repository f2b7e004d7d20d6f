//! Clients (`connect`) and servers (`accept`) over tokio.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use sockeye_io::driver::{handshake, within};
use sockeye_io::{ClientOptions, Config, Decision, Error, Request, Response, SharedConfig, Target};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::{TokioClock, TokioIo, WebSocketStream};

/// The stream `connect` returns: plain TCP for `ws://`, TLS over it for
/// `wss://` (feature `rustls`).
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream<S> {
    /// Plain `ws://`.
    Plain(S),
    /// `wss://` through rustls.
    #[cfg(feature = "rustls")]
    Rustls(Box<tokio_rustls::client::TlsStream<S>>),
}

/// Run `$body` on whichever stream `$self` holds, bound to `$s`.
macro_rules! each_stream {
    ($self:expr, $s:ident => $body:expr) => {
        match $self {
            MaybeTlsStream::Plain($s) => $body,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls($s) => $body,
        }
    };
}

/// Connect to a `ws://` `url` with
/// default options and [`Config::default`].
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
    connect_with(url, ClientOptions::new(), Config::default()).await
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
    config: Config,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
    let target = Target::parse(url)?;
    let request = options.request(&target)?;
    let reach = async {
        let tcp = connect_tcp(&target).await?;
        if target.secure {
            wrap_tls(tcp, &target, &options).await
        } else {
            Ok(MaybeTlsStream::Plain(tcp))
        }
    };
    let timer = options.connect_time_limit().map(tokio::time::sleep);
    let stream = within(reach, timer)
        .await
        .unwrap_or_else(|| Err(ClientOptions::connect_timed_out()))?;
    let (ws, response) =
        handshake::client(TokioIo(stream), TokioClock::new(), request, config).await?;
    Ok((
        ws.with_handshake_info(response.handshake_info(url)),
        response,
    ))
}

#[cfg(feature = "rustls")]
async fn wrap_tls(
    tcp: TcpStream,
    target: &Target,
    options: &ClientOptions,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    let config = options.tls_options().client_config()?;
    let name = sockeye_io::tls::server_name(&target.host)?;
    let tls = tokio_rustls::TlsConnector::from(config)
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
        "wss:// needs the `rustls` feature of sockeye-tokio".into(),
    ))
}

async fn connect_tcp(target: &Target) -> Result<TcpStream, Error> {
    let addrs: Vec<_> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(Error::Resolve)?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    if addrs.is_empty() {
        return Err(Error::Resolve(last));
    }
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Frames are already coalesced; do not wait for more.
                stream.set_nodelay(true).map_err(Error::Connect)?;
                return Ok(stream);
            }
            Err(error) => last = error,
        }
    }
    Err(Error::Connect(last))
}

/// Accept a WebSocket client on `stream` (a `TcpStream` from a listener, a
/// TLS stream...) with [`Config::default`], accepting every upgrade request
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
    // Not an `async fn`, which would keep room for `stream` beside the
    // handshake: the future is the boxed handshake and nothing more.
    let handshake = accept_with(stream, Config::default(), |_: &Request| Decision::accept());
    async move {
        let (ws, _request) = handshake.await?;
        Ok(ws)
    }
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
/// after [`Config::handshake_timeout`], [`Error::Io`].
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

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_read(cx, buf))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        each_stream!(self, s => s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_shutdown(cx))
    }
}
