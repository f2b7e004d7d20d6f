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

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;

pub use self::core::Driver;
pub use stream::{Close, ReadHalf, Recv, Sending, WebSocket, WriteHalf};

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

/// A [`Transport`] over `futures-io` streams (smol, async-std, any executor).
///
/// `futures-io` reads want an initialised buffer, so the read zeroes the
/// spare capacity it hands out first.
#[derive(Debug)]
pub struct FuturesIo<S>(pub S);

impl<S> Transport for FuturesIo<S>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    fn poll_read_buf(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        let start = buf.len();
        buf.resize(buf.capacity(), 0);
        let result = Pin::new(&mut self.0).poll_read(cx, &mut buf[start..]);
        let read = match &result {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        buf.truncate(start + read);
        result
    }

    fn poll_read_slice(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}
