//! A client's way to a WebSocket, over any [`Runtime`]: parse the URL,
//! resolve, connect over TCP, wrap TLS for `wss://` (all within the connect
//! timeout), then run the opening handshake.

use std::io;

use crate::driver::{WebSocket, handshake, within};
use crate::runtime::{Runtime, TlsClient};
use crate::{ClientOptions, Error, MaybeTlsStream, Response, SharedConfig, Target};

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
    let timer = options.connect_time_limit().map(R::sleep);
    let stream = within(reach::<R>(&target, &options), timer)
        .await
        .unwrap_or_else(|| Err(ClientOptions::connect_timed_out()))?;
    let (ws, response) = handshake::client(
        R::ClientIo::from(stream),
        R::Clock::default(),
        request,
        config,
    )
    .await?;
    Ok((
        ws.with_handshake_info(response.handshake_info(url)),
        response,
    ))
}

/// Resolve, connect over TCP to the first address that answers and, for
/// `wss://`, run the TLS handshake.
async fn reach<R: Runtime>(
    target: &Target,
    options: &ClientOptions,
) -> Result<MaybeTlsStream<R::Tcp, R::Tls>, Error> {
    let addrs = R::resolve(&target.host, target.port)
        .await
        .map_err(Error::Resolve)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    if addrs.is_empty() {
        return Err(Error::Resolve(last));
    }
    for addr in addrs {
        match R::connect_tcp(addr).await {
            Ok(tcp) => {
                R::set_nodelay(&tcp).map_err(Error::Connect)?;
                if !target.secure {
                    return Ok(MaybeTlsStream::Plain(tcp));
                }
                let tls = R::wrap_tls(tcp, TlsClient::new(target, options)).await?;
                return Ok(MaybeTlsStream::Tls(Box::new(tls)));
            }
            Err(error) => last = error,
        }
    }
    Err(Error::Connect(last))
}
