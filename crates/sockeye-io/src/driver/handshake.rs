//! The opening handshake over a [`Transport`], bounded by the engine's deadline.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use sockeye::SharedConfig;
use sockeye::handshake::{
    ClientHandshake, ClientRequest, HandshakeError, Request, ServerHandshake,
};

use super::core::with_scratch;
use super::stream::Slot;
use super::{Clock, Transport, WebSocket};
use crate::{Decision, Error, Response};

/// Bytes read at a time while waiting for the header block, when the
/// thread's scratch buffer is taken.
const HANDSHAKE_READ: usize = 4 << 10;

/// Read what has arrived and hand it to `consume`; `None` at end of stream.
///
/// The bytes go through the thread's scratch buffer: the handshake copies
/// only the header block it keeps, and a server opening many connections
/// does not allocate and free a read buffer for each among its long-lived
/// blocks.
fn read_some<T: Transport, R>(
    io: &mut T,
    cx: &mut Context<'_>,
    consume: impl FnOnce(&[u8]) -> R,
) -> Poll<io::Result<Option<R>>> {
    with_scratch(|scratch| {
        let mut own = Vec::new();
        let buf = match scratch {
            Some(scratch) => scratch,
            None => {
                own.resize(HANDSHAKE_READ, 0);
                &mut own[..]
            }
        };
        let read = std::task::ready!(Pin::new(io).poll_read_slice(cx, buf))?;
        Poll::Ready(Ok((read > 0).then(|| consume(&buf[..read]))))
    })
}

/// Run a client handshake over `io`: write the request, read the response,
/// and return the WebSocket and what the server's `101` said. The whole
/// exchange is bounded by [`Config::handshake_timeout`].
///
/// # Errors
/// [`Error::Rejected`] for a non-101 answer (with its status),
/// [`Error::HandshakeTimeout`], [`Error::Handshake`] for an invalid answer or
/// a transport that ended mid-handshake, [`Error::Io`].
///
/// # Cancel safety
/// Dropping the future drops the transport: the handshake cannot resume.
///
/// # Memory
/// The handshake's state lives in a box freed when it completes, so the
/// task that awaits it does not carry the handshake's size for the rest of
/// the connection.
pub fn client<T: Transport, C: Clock>(
    io: T,
    clock: C,
    request: ClientRequest,
    config: impl Into<SharedConfig>,
) -> impl Future<Output = Result<(WebSocket<T, C>, Response), Error>> {
    let slot = Slot::new();
    Box::pin(run_client(slot, io, clock, request, config.into()))
}

async fn run_client<T: Transport, C: Clock>(
    slot: Slot<T, C>,
    mut io: T,
    mut clock: C,
    request: ClientRequest,
    config: SharedConfig,
) -> Result<(WebSocket<T, C>, Response), Error> {
    let mut handshake = ClientHandshake::new(request, config, clock.now());
    let mut written = 0;
    let established = poll_fn(|cx| {
        let progress = 'attempt: {
            let request = handshake.request_bytes();
            while written < request.len() {
                match write_some(&mut io, cx, &request[written..]) {
                    Poll::Ready(Ok(n)) => written += n,
                    Poll::Ready(Err(error)) => break 'attempt Poll::Ready(Err(io_error(error))),
                    Poll::Pending => break 'attempt Poll::Pending,
                }
            }
            if let Poll::Ready(Err(error)) = Pin::new(&mut io).poll_flush(cx) {
                break 'attempt Poll::Ready(Err(io_error(error)));
            }
            loop {
                match read_some(&mut io, cx, |bytes| handshake.receive(bytes)) {
                    Poll::Ready(Ok(None)) => {
                        break 'attempt Poll::Ready(Err(handshake.receive_eof().into()));
                    }
                    Poll::Ready(Ok(Some(received))) => match received {
                        Ok(None) => continue,
                        Ok(Some(established)) => break 'attempt Poll::Ready(Ok(established)),
                        Err(error) => break 'attempt Poll::Ready(Err(error.into())),
                    },
                    Poll::Ready(Err(error)) => break 'attempt Poll::Ready(Err(io_error(error))),
                    Poll::Pending => break 'attempt Poll::Pending,
                }
            }
        };
        if progress.is_pending()
            && let Poll::Ready(Err(error)) =
                check_deadline(&mut clock, cx, handshake.poll_timeout(), |now| {
                    handshake.handle_timeout(now)
                })
        {
            return Poll::Ready(Err(error));
        }
        progress
    })
    .await?;
    let response = Response::of(&established);
    let conn = established.into_connection(clock.now());
    clock.disarm();
    Ok((WebSocket::in_slot(slot, conn, io, clock), response))
}

/// Run a server handshake over `io`: read the request, let `decide` answer
/// it, write the answer, and return the WebSocket and the request. A request
/// that fails the checks of RFC 6455 §4.2.1 is answered with the matching
/// HTTP error before the error is returned.
///
/// # Errors
/// [`Error::Handshake`] for an invalid request or a client that went away
/// mid-handshake ([`HandshakeError::Incomplete`]), [`Error::Rejected`] with
/// the status `decide` rejected with, [`Error::HandshakeTimeout`],
/// [`Error::Io`].
///
/// # Cancel safety
/// Dropping the future drops the transport: the handshake cannot resume.
///
/// # Memory
/// As for [`client`]: the handshake's state is boxed and freed when it
/// completes, which keeps an idle server connection's task small.
pub fn server<T, C, F>(
    io: T,
    clock: C,
    config: impl Into<SharedConfig>,
    decide: F,
) -> impl Future<Output = Result<(WebSocket<T, C>, Request), Error>>
where
    T: Transport,
    C: Clock,
    F: FnOnce(&Request) -> Decision,
{
    server_or_http(io, clock, config, decide, |_| None)
}

/// As [`server`], but a plain HTTP request (not an upgrade) is answered with
/// what `http` returns for it; `None` keeps the default `426 Upgrade
/// Required`. Either way the transport is then closed and the result is
/// [`Error::Handshake`] with [`HandshakeError::NotWebSocket`].
///
/// # Errors
/// As [`server`].
pub fn server_or_http<T, C, F, H>(
    io: T,
    clock: C,
    config: impl Into<SharedConfig>,
    decide: F,
    http: H,
) -> impl Future<Output = Result<(WebSocket<T, C>, Request), Error>>
where
    T: Transport,
    C: Clock,
    F: FnOnce(&Request) -> Decision,
    H: FnOnce(&Request) -> Option<Vec<u8>>,
{
    let slot = Slot::new();
    Box::pin(run_server(slot, io, clock, config.into(), decide, http))
}

async fn run_server<T, C, F, H>(
    slot: Slot<T, C>,
    mut io: T,
    mut clock: C,
    config: SharedConfig,
    decide: F,
    http: H,
) -> Result<(WebSocket<T, C>, Request), Error>
where
    T: Transport,
    C: Clock,
    F: FnOnce(&Request) -> Decision,
    H: FnOnce(&Request) -> Option<Vec<u8>>,
{
    let mut handshake = ServerHandshake::new(config, clock.now());
    // Failures carry the HTTP answer to send back, where there is one.
    let mut http = Some(http);
    let mut fail = |error: HandshakeError| {
        let custom = match (&error, http.take()) {
            (HandshakeError::NotWebSocket(request), Some(http)) => http(request),
            _ => None,
        };
        let response = custom.or_else(|| error.response());
        (Error::from(error), response)
    };
    let received = poll_fn(|cx| {
        let progress = loop {
            match read_some(&mut io, cx, |bytes| handshake.receive(bytes)) {
                Poll::Ready(Ok(None)) => break Poll::Ready(Err(fail(HandshakeError::Incomplete))),
                Poll::Ready(Ok(Some(received))) => match received {
                    Ok(None) => continue,
                    Ok(Some(request)) => break Poll::Ready(Ok(request)),
                    Err(error) => break Poll::Ready(Err(fail(error))),
                },
                Poll::Ready(Err(error)) => break Poll::Ready(Err((io_error(error), None))),
                Poll::Pending => break Poll::Pending,
            }
        };
        if progress.is_pending()
            && let Poll::Ready(Err(error)) =
                check_deadline(&mut clock, cx, handshake.poll_timeout(), |now| {
                    handshake.handle_timeout(now)
                })
        {
            return Poll::Ready(Err((error, None)));
        }
        progress
    })
    .await;
    let request = match received {
        Ok(request) => request,
        Err((error, response)) => {
            if let Some(response) = response {
                // Best effort: the client may already be gone.
                let _ = write_all_and_shutdown(&mut io, &response).await;
            }
            return Err(error);
        }
    };
    let decision = decide(&request);
    let rejected = decision.rejected_status();
    let (response, conn) = decision.apply(&request, clock.now())?;
    clock.disarm();
    write_all(&mut io, &response).await.map_err(Error::Io)?;
    match (conn, rejected) {
        (Some(conn), _) => Ok((WebSocket::in_slot(slot, conn, io, clock), request)),
        (None, status) => {
            let _ = poll_fn(|cx| Pin::new(&mut io).poll_shutdown(cx)).await;
            Err(Error::Rejected {
                status: status.unwrap_or_default(),
                body: Vec::new(),
            })
        }
    }
}

/// An I/O error during the opening handshake; one that carries a TLS
/// failure (a TLS 1.3 server refusing the client's certificate says so only
/// after the client's side of the TLS handshake is done) is [`Error::Tls`].
fn io_error(error: io::Error) -> Error {
    #[cfg(feature = "rustls")]
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
    {
        return crate::tls::handshake_error(error);
    }
    Error::Io(error)
}

/// Called when the handshake would wait: fails once the deadline has passed,
/// and otherwise arms the clock's timer for it. Only a handshake that has to
/// wait arms a timer; one whose bytes are all there at the first poll (the
/// usual case for a server: the request arrives with the connection) does
/// not touch the runtime's timer at all.
fn check_deadline<C: Clock>(
    clock: &mut C,
    cx: &mut Context<'_>,
    deadline: Option<std::time::Duration>,
    fire: impl FnOnce(std::time::Duration) -> Result<(), HandshakeError>,
) -> Poll<Result<(), Error>> {
    match deadline {
        Some(deadline) if clock.poll_deadline(cx, deadline).is_ready() => {
            Poll::Ready(fire(clock.now()).map_err(Error::from))
        }
        _ => Poll::Pending,
    }
}

fn write_some<T: Transport>(
    io: &mut T,
    cx: &mut Context<'_>,
    data: &[u8],
) -> Poll<io::Result<usize>> {
    match Pin::new(io).poll_write_vectored(cx, &[io::IoSlice::new(data)]) {
        Poll::Ready(Ok(0)) => Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
        other => other,
    }
}

async fn write_all<T: Transport>(io: &mut T, data: &[u8]) -> io::Result<()> {
    let mut written = 0;
    poll_fn(|cx| {
        while written < data.len() {
            written += std::task::ready!(write_some(io, cx, &data[written..]))?;
        }
        Pin::new(&mut *io).poll_flush(cx)
    })
    .await
}

async fn write_all_and_shutdown<T: Transport>(io: &mut T, data: &[u8]) -> io::Result<()> {
    write_all(io, data).await?;
    poll_fn(|cx| Pin::new(&mut *io).poll_shutdown(cx)).await
}
