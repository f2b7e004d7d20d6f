//! A client's way to a WebSocket, over any [`Runtime`]: parse the URL,
//! resolve, connect over TCP (to the server, or to an HTTP proxy that opens
//! a tunnel to it), wrap TLS for `wss://` (all within the connect timeout),
//! then run the opening handshake.

use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::time::Duration;

use crate::driver::{Clock, IntoStream, Transport, WebSocket, handshake, within};
use crate::runtime::{Runtime, TlsClient};
use crate::{ClientOptions, Error, MaybeTlsStream, Proxy, Response, SharedConfig, Target};
use sockeye::handshake::ClientRequest;

/// Connect to `url` over runtime `R` with `options` and `config`: what the
/// adapters' `connect_with` does.
///
/// # Errors
/// [`Error::Url`] for a bad URL, [`Error::Resolve`] when DNS fails or finds
/// no address, [`Error::Connect`] when no address accepts the connection or
/// the [connect timeout](ClientOptions::connect_timeout) ran out (kind
/// `TimedOut`), [`Error::Tls`] when the TLS handshake fails or the adapter
/// has no TLS, then the opening handshake's errors ([`Error::Rejected`],
/// [`Error::HandshakeTimeout`], [`Error::Handshake`]).
pub async fn connect_with<R: Runtime>(
    url: &str,
    options: ClientOptions,
    config: impl Into<SharedConfig>,
) -> Result<(WebSocket<R::ClientIo, R::Clock>, Response), Error> {
    let target = Target::parse(url)?;
    let request = options.request(&target)?;
    let stream = within_connect_timeout(&options, R::sleep, reach::<R>(&target, &options)).await?;
    upgrade_over(
        url,
        R::ClientIo::from(stream),
        R::Clock::default(),
        request,
        config,
    )
    .await
}

/// The HTTP/1.1 upgrade for `url` over `io`, a stream already connected
/// to its server (and through TLS for `wss://`): the second part of
/// [`connect_with`]. The WebSocket knows its URL and what the server chose.
///
/// # Errors
/// The opening handshake's: [`Error::Rejected`],
/// [`Error::HandshakeTimeout`], [`Error::Handshake`], [`Error::Io`].
pub async fn upgrade_over<T: Transport, C: Clock>(
    url: &str,
    io: T,
    clock: C,
    request: ClientRequest,
    config: impl Into<SharedConfig>,
) -> Result<(WebSocket<T, C>, Response), Error> {
    let (ws, response) = handshake::client(io, clock, request, config).await?;
    Ok((
        ws.with_handshake_info(response.handshake_info(url)),
        response,
    ))
}

/// `reach` bounded by the [connect timeout](ClientOptions::connect_timeout)
/// of `options`, timed by `sleep` (the runtime's timer); without a timeout,
/// `reach` as it is.
///
/// # Errors
/// `reach`'s own, or [`Error::Connect`] of kind `TimedOut` when the
/// timeout runs out first.
pub async fn within_connect_timeout<T, S>(
    options: &ClientOptions,
    sleep: impl FnOnce(Duration) -> S,
    reach: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error>
where
    S: Future<Output = ()>,
{
    within(reach, options.connect_time_limit().map(sleep))
        .await
        .unwrap_or_else(|| Err(ClientOptions::connect_timed_out()))
}

/// Reach the server, directly or through the proxy the options name, and
/// for `wss://` run the TLS handshake with it.
async fn reach<R: Runtime>(
    target: &Target,
    options: &ClientOptions,
) -> Result<MaybeTlsStream<R::Tcp, R::Tls>, Error> {
    let tcp = tcp_for::<R>(target, options).await?;
    if !target.secure {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    let tls = R::wrap_tls(tcp, TlsClient::new(target, options)).await?;
    Ok(MaybeTlsStream::Tls(Box::new(tls)))
}

/// The TCP stream on the way to `target`, before any TLS: straight to the
/// server, or a tunnel through the HTTP proxy that `options` name. It is
/// the first part of [`connect_with`]; an HTTP layer that runs its own TLS
/// (the HTTP/2 client of `sockeye-hyper`, which offers ALPN `h2`) starts
/// from it. The caller bounds it with the connect timeout.
///
/// # Errors
/// [`Error::Resolve`], [`Error::Connect`], [`Error::Proxy`], as
/// [`connect_with`] reports them; [`Error::Url`] for a proxy named by the
/// environment that is not a usable URL.
pub async fn tcp_for<R: Runtime>(
    target: &Target,
    options: &ClientOptions,
) -> Result<R::Tcp, Error> {
    match options.proxy_for(target)? {
        None => tcp_to::<R>(&target.host, target.port).await,
        Some(proxy) => {
            let tcp = tcp_to::<R>(proxy.host(), proxy.port())
                .await
                .map_err(|error| proxy.unreachable(error))?;
            tunnel::<R>(tcp, &proxy, target).await
        }
    }
}

/// Resolve `host` and connect over TCP to the first address that answers.
async fn tcp_to<R: Runtime>(host: &str, port: u16) -> Result<R::Tcp, Error> {
    let addrs = R::resolve(host, port).await.map_err(Error::Resolve)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    if addrs.is_empty() {
        return Err(Error::Resolve(last));
    }
    for addr in addrs {
        match R::connect_tcp(addr).await {
            Ok(tcp) => {
                R::set_nodelay(&tcp).map_err(Error::Connect)?;
                return Ok(tcp);
            }
            Err(error) => last = error,
        }
    }
    Err(Error::Connect(last))
}

/// Ask `proxy`, reached over `tcp`, for a tunnel to `target`; the stream
/// is the tunnel once the proxy said yes.
async fn tunnel<R: Runtime>(tcp: R::Tcp, proxy: &Proxy, target: &Target) -> Result<R::Tcp, Error> {
    let mut io = R::ServerIo::from(tcp);
    let request = proxy.connect_request(target);
    let mut written = 0;
    while written < request.len() {
        let slice = [IoSlice::new(&request[written..])];
        let n = poll_fn(|cx| Pin::new(&mut io).poll_write_vectored(cx, &slice))
            .await
            .map_err(|error| proxy.failure(error))?;
        if n == 0 {
            return Err(proxy.failure(io::ErrorKind::WriteZero.into()));
        }
        written += n;
    }
    poll_fn(|cx| Pin::new(&mut io).poll_flush(cx))
        .await
        .map_err(|error| proxy.failure(error))?;
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = poll_fn(|cx| Pin::new(&mut io).poll_read_slice(cx, &mut buf))
            .await
            .map_err(|error| proxy.failure(error))?;
        if n == 0 {
            return Err(proxy.closed_before_answering());
        }
        received.extend_from_slice(&buf[..n]);
        if proxy.read_response(&received)? {
            return Ok(io.into_stream());
        }
    }
}
