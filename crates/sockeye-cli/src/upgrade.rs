//! Opening handshakes over tokio streams, with the engine's handshake state
//! machines, ending in the tokio adapter's [`WebSocketStream`].
//!
//! The servers read the request themselves (rather than through an accept
//! helper) because `chat` serves plain HTTP on the same port: a request that
//! is not an upgrade comes back as [`Incoming::Http`] for the caller to answer.

use std::time::Duration;

use sockeye::handshake::{
    Accept, ClientHandshake, Established, HandshakeError, Request, ServerHandshake,
};
use sockeye_io::driver::Clock;
use sockeye_io::{ClientOptions, Config, Error, Target};
use sockeye_tokio::{TokioClock, TokioIo, WebSocketStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Deadline for a handshake when the config has none.
const FALLBACK_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A request read by [`read_request`].
pub enum Incoming {
    /// A valid WebSocket upgrade request: accept or reject it.
    Upgrade(Box<Request>),
    /// A plain HTTP request: answer it with [`Request::reject`] (any status).
    Http(Box<Request>),
}

/// Read one request from `stream`, with `config`'s header limits and handshake
/// deadline. An invalid upgrade request is answered here (400, 426, 431...)
/// and reported as an error.
pub async fn read_request<S>(
    stream: &mut S,
    config: &Config,
    clock: &TokioClock,
) -> Result<Incoming, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut handshake = ServerHandshake::new(config.clone(), clock.now());
    let deadline = config
        .handshake_timeout
        .unwrap_or(FALLBACK_HANDSHAKE_TIMEOUT);
    let read = async {
        let mut buf = vec![0; 4096];
        loop {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|error| format!("reading the request: {error}"))?;
            if n == 0 {
                return Err(HandshakeError::Incomplete.to_string());
            }
            match handshake.receive(&buf[..n]) {
                Ok(None) => {}
                Ok(Some(request)) => return Ok(Ok(Incoming::Upgrade(Box::new(request)))),
                Err(HandshakeError::NotWebSocket(request)) => {
                    return Ok(Ok(Incoming::Http(request)));
                }
                Err(error) => return Ok(Err(error)),
            }
        }
    };
    let outcome = match tokio::time::timeout(deadline, read).await {
        Ok(result) => result?,
        Err(_) => return Err(HandshakeError::Timeout.to_string()),
    };
    match outcome {
        Ok(incoming) => Ok(incoming),
        Err(error) => {
            if let Some(response) = error.response() {
                respond(stream, &response).await;
            }
            Err(error.to_string())
        }
    }
}

/// Write a complete HTTP response and close the write side.
pub async fn respond<S: AsyncWrite + Unpin>(stream: &mut S, response: &[u8]) {
    // The peer may already be gone; there is no one left to tell.
    let _ = stream.write_all(response).await;
    let _ = stream.shutdown().await;
}

/// Accept `request`: write the 101 and wrap the stream.
pub async fn accept<S>(
    mut stream: S,
    request: &Request,
    config: Config,
    clock: TokioClock,
) -> Result<WebSocketStream<S>, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (response, connection) = request
        .accept(Accept::new(clock.now()).config(config))
        .map_err(|error| error.to_string())?;
    stream
        .write_all(&response)
        .await
        .map_err(|error| format!("writing the 101 response: {error}"))?;
    Ok(sockeye_tokio::WebSocket::new(
        connection,
        TokioIo(stream),
        clock,
    ))
}

/// Open a TCP connection to a `ws://` URL and complete the opening
/// handshake, timed by `clock`; the caller drives the raw socket from there
/// (the load generator writes prepared frames itself).
pub async fn dial(
    url: &str,
    options: &ClientOptions,
    config: Config,
    clock: &TokioClock,
) -> Result<(TcpStream, Established), Error> {
    let target = Target::parse(url)?;
    if target.secure {
        return Err(Error::Url(
            "wss:// is not supported by this build; use ws://".into(),
        ));
    }
    let mut stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(Error::Connect)?;
    let _ = stream.set_nodelay(true);
    let request = options.request(&target)?;
    let deadline = config
        .handshake_timeout
        .unwrap_or(FALLBACK_HANDSHAKE_TIMEOUT);
    let mut handshake = ClientHandshake::new(request, config, clock.now());
    let exchange = async {
        stream
            .write_all(handshake.request_bytes())
            .await
            .map_err(Error::Io)?;
        let mut buf = vec![0; 4096];
        loop {
            let n = stream.read(&mut buf).await.map_err(Error::Io)?;
            let result = if n == 0 {
                Err(handshake.receive_eof())
            } else {
                handshake.receive(&buf[..n])
            };
            match result {
                Ok(None) => {}
                Ok(Some(established)) => return Ok(established),
                Err(HandshakeError::Rejected { status, body, .. }) => {
                    return Err(Error::Rejected { status, body });
                }
                Err(error) => return Err(Error::Handshake(Box::new(error))),
            }
        }
    };
    let established = tokio::time::timeout(deadline, exchange)
        .await
        .map_err(|_| Error::HandshakeTimeout)??;
    Ok((stream, established))
}
