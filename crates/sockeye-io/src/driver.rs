//! The async driver, written once for every runtime.
//!
//! A runtime adapter supplies two small things: a [`Transport`] (poll-style
//! reads into the engine's buffer and vectored writes) and a [`Clock`] (the
//! runtime's time and a timer). Everything else, pumping bytes through the
//! [`Connection`](sockeye::Connection), batching output, backpressure, timers, the end of the
//! connection and splitting into halves, lives here.
//!
//! Every method keeps its partial state in the engine or in the driver, never
//! in a future, which is what makes the adapters' `async fn`s cancel-safe.

mod core;
pub mod handshake;
mod stream;
mod transports;

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;

use crate::{Role, SharedConfig};

pub use self::core::Driver;
pub use stream::{Close, ReadHalf, Recv, Sending, WebSocket, WriteHalf};
pub use transports::FuturesIo;
#[cfg(feature = "tokio")]
pub use transports::TokioIo;

/// A byte stream as the driver needs it.
///
/// The adapters implement it for their runtime's `AsyncRead + AsyncWrite`.
pub trait Transport: Unpin {
    /// Read into the spare capacity of `buf`, appending; `Ok(0)` means end of stream.
    fn poll_read_buf(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>>;

    /// Read into `buf`, which is initialised memory, returning how many
    /// bytes arrived; `Ok(0)` means end of stream. The driver reads into its
    /// per-thread scratch buffer this way, so that a transport that wants
    /// initialised memory does not zero the buffer on every read.
    fn poll_read_slice(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>>;

    /// Write from `bufs` in order, returning how many bytes were written.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;

    /// Push buffered bytes (a TLS layer's) to the transport.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Close the write side.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// A transport that gives back the stream it wraps: the connect sequence
/// speaks to an HTTP proxy over the TCP stream, then wraps TLS around it.
pub trait IntoStream {
    /// The stream inside.
    type Stream;

    /// The stream inside, as it was given.
    fn into_stream(self) -> Self::Stream;
}

/// A runtime's clock and one timer, as the engine's timers need them.
pub trait Clock: Unpin {
    /// Time since this clock was made: the engine's `now`.
    fn now(&self) -> Duration;

    /// Ready once `deadline` (on the [`now`](Clock::now) scale) has passed;
    /// otherwise arms the timer to wake `cx` then.
    fn poll_deadline(&mut self, cx: &mut Context<'_>, deadline: Duration) -> Poll<()>;

    /// Drop the timer and what the runtime holds for it, while no deadline
    /// is pending; the next [`poll_deadline`](Clock::poll_deadline) arms a
    /// new one. The opening handshake calls it when it completes, so a
    /// connection without keepalive or idle timers does not keep the
    /// handshake's timer for its whole life. Default: nothing.
    fn disarm(&mut self) {}
}

/// The zero of the adapters' clocks, on the scale of their [`Clock::now`]:
/// the first moment any of them asked the time, read from the system's
/// monotonic clock. One epoch for every connection in the process means a
/// clock need not carry an `Instant` of its own.
pub fn clock_epoch() -> std::time::Instant {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

/// Run `future` to completion unless `timer` (a runtime's sleep) finishes
/// first; `None` then. Without a timer, `future` runs unbounded.
///
/// ```
/// # futures_util::future::FutureExt::now_or_never(async {
/// use sockeye_io::driver::within;
///
/// let never = std::future::pending::<()>();
/// assert_eq!(within(never, Some(std::future::ready(()))).await, None);
/// assert_eq!(within(async { 7 }, None::<std::future::Pending<()>>).await, Some(7));
/// # });
/// ```
pub async fn within<F, S>(future: F, timer: Option<S>) -> Option<F::Output>
where
    F: Future,
    S: Future<Output = ()>,
{
    let mut future = std::pin::pin!(future);
    let mut timer = std::pin::pin!(timer);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        match timer.as_mut().as_pin_mut().map(|timer| timer.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(None),
            _ => Poll::Pending,
        }
    })
    .await
}

/// A WebSocket over `io`, whose opening handshake was done elsewhere,
/// playing `role` with `config` from the moment `clock` reads now.
pub fn from_raw<T: Transport, C: Clock>(
    io: T,
    clock: C,
    role: Role,
    config: impl Into<SharedConfig>,
) -> WebSocket<T, C> {
    let conn = sockeye::Connection::new(role, config, clock.now());
    WebSocket::new(conn, io, clock)
}

/// Accept a WebSocket client on `io` with the default config, accepting
/// every upgrade request without a subprotocol (the adapters' `accept`).
///
/// # Errors
/// As [`handshake::server`].
pub fn accept<T: Transport, C: Clock>(
    io: T,
    clock: C,
) -> impl Future<Output = Result<WebSocket<T, C>, crate::Error>> {
    // Not an `async fn`, which would keep room for `io` beside the
    // handshake: the future is the boxed handshake and nothing more.
    let handshake = handshake::server(io, clock, SharedConfig::default(), |_| {
        crate::Decision::accept()
    });
    async move {
        let (ws, _request) = handshake.await?;
        Ok(ws)
    }
}
