//! The opening handshake over a [`Transport`], bounded by the engine's deadline.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use sockeye::endpoint::Opened;
use sockeye::handshake::{ClientRequest, HandshakeError, Request};
use sockeye::{Connection, Endpoint, EndpointEvent, SharedConfig};
use std::time::Duration;

use super::core::{WRITE_BATCH, with_scratch};
use super::stream::Slot;
use super::{Clock, Transport, WebSocket};
use crate::{Decision, Error, Response, Role};

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
    let mut endpoint = Endpoint::client(request, config, clock.now());
    let ended = run_handshake(&mut io, &mut clock, &mut endpoint, |_, _| Ok(())).await;
    let opened = ended.inspect_err(|error| {
        crate::events::handshake_rejected(Role::Client, error);
    })?;
    crate::events::handshake_accepted(Role::Client, None, opened.protocol.as_deref());
    let conn = opened_connection(endpoint)?;
    clock.disarm();
    Ok((
        WebSocket::in_slot(slot, conn, io, clock),
        Response::opened(opened),
    ))
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
    let mut endpoint = Endpoint::server(config, clock.now());
    let (mut decide, mut http) = (Some(decide), Some(http));
    let mut answered = None;
    let ended = run_handshake(&mut io, &mut clock, &mut endpoint, |endpoint, now| {
        let Some(request) = endpoint.request() else {
            return Ok(());
        };
        if !request.is_websocket() {
            let custom = http.take().and_then(|http| http(request));
            let request = match custom {
                Some(response) => endpoint.respond(response)?,
                None => endpoint.decline()?,
            };
            return Err(HandshakeError::NotWebSocket(Box::new(request)).into());
        }
        let Some(decide) = decide.take() else {
            return Ok(());
        };
        let decision = decide(request);
        let rejected = decision.rejected_status();
        answered = Some(decision.answer(endpoint, now)?);
        match rejected {
            Some(status) => Err(Error::Rejected {
                status,
                body: Vec::new(),
            }),
            None => Ok(()),
        }
    })
    .await;
    if let Err(error) = ended {
        crate::events::handshake_rejected(Role::Server, &error);
        // The answer, if any, is written: close (best effort, the client
        // may already be gone).
        let _ = poll_fn(|cx| Pin::new(&mut io).poll_shutdown(cx)).await;
        return Err(error);
    }
    let conn = opened_connection(endpoint)?;
    clock.disarm();
    let request = answered.ok_or(Error::Closed)?;
    crate::events::handshake_accepted(Role::Server, Some(request.path()), None);
    Ok((WebSocket::in_slot(slot, conn, io, clock), request))
}

/// The connection of an endpoint that opened and wrote its handshake bytes.
fn opened_connection(endpoint: Endpoint) -> Result<Connection, Error> {
    endpoint.into_connection().map_err(|_| {
        Error::Io(io::Error::other(
            "the opening handshake left bytes unwritten",
        ))
    })
}

/// Drive `endpoint` through the opening handshake over `io`: write what it
/// queues, read what arrives, fire its deadline, and hand a server's request
/// to `answer` (with the time), until it opens or fails. A failure's HTTP
/// answer, or the rejection `answer` queued before returning its error, is
/// written before the error is returned (best effort).
///
/// Only a handshake that has to wait arms the clock's timer; one whose bytes
/// are all there at the first poll (the usual case for a server: the
/// request arrives with the connection) does not touch the runtime's timer.
async fn run_handshake<T: Transport, C: Clock>(
    io: &mut T,
    clock: &mut C,
    endpoint: &mut Endpoint,
    mut answer: impl FnMut(&mut Endpoint, Duration) -> Result<(), Error>,
) -> Result<Opened, Error> {
    let mut ended: Option<Result<Opened, Error>> = None;
    poll_fn(|cx| {
        loop {
            // Events stop at the opening: what follows belongs to the connection.
            while ended.is_none() {
                let Some(event) = endpoint.poll_event() else {
                    break;
                };
                ended = match event {
                    EndpointEvent::Request => answer(endpoint, clock.now()).err().map(Err),
                    EndpointEvent::Rejected(error) => Some(Err(error.into())),
                    EndpointEvent::Opened(opened) => Some(Ok(opened)),
                    EndpointEvent::Connection(_) => None,
                };
            }
            match poll_write_out(io, cx, endpoint) {
                Poll::Ready(Ok(())) => {
                    if let Some(ended) = ended.take() {
                        return Poll::Ready(ended);
                    }
                }
                Poll::Ready(Err(error)) => {
                    return Poll::Ready(match ended.take() {
                        Some(Err(failure)) => Err(failure),
                        _ => Err(io_error(error)),
                    });
                }
                Poll::Pending => {}
            }
            if ended.is_none() {
                let read = read_some(io, cx, |bytes| endpoint.receive(clock.now(), bytes));
                match read {
                    Poll::Ready(Ok(Some(()))) => continue,
                    Poll::Ready(Ok(None)) => {
                        endpoint.receive_eof(clock.now());
                        continue;
                    }
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(io_error(error))),
                    Poll::Pending => {}
                }
            }
            // Both directions wait: so does the deadline.
            match endpoint.poll_timeout() {
                Some(deadline) if clock.poll_deadline(cx, deadline).is_ready() => {
                    // The timer says the deadline has passed, whatever the
                    // clock's rounding: fire it, so the loop moves on.
                    endpoint.handle_timeout(clock.now().max(deadline));
                }
                _ => return Poll::Pending,
            }
        }
    })
    .await
}

/// Write what `endpoint` has queued, then flush.
fn poll_write_out<T: Transport>(
    io: &mut T,
    cx: &mut Context<'_>,
    endpoint: &mut Endpoint,
) -> Poll<io::Result<()>> {
    while endpoint.buffered_amount() > 0 {
        let transmit = endpoint.transmit();
        let mut slices = [io::IoSlice::new(&[]); WRITE_BATCH];
        let filled = transmit.io_slices(&mut slices);
        match ready!(Pin::new(&mut *io).poll_write_vectored(cx, &slices[..filled])) {
            Ok(0) => return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero))),
            Ok(n) => transmit.written(n),
            Err(error) => return Poll::Ready(Err(error)),
        }
    }
    Pin::new(io).poll_flush(cx)
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
