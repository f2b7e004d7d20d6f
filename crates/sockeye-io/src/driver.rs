//! The async driver, written once for every runtime.
//!
//! A runtime adapter supplies two small things: a [`Transport`] (poll-style
//! reads into the engine's buffer and vectored writes) and a [`Clock`] (the
//! runtime's time and a timer). Everything else, pumping bytes through the
//! [`Connection`], batching output, backpressure, timers, the end of the
//! connection and splitting into halves, lives here.
//!
//! Every method keeps its partial state in the engine or in the driver, never
//! in a future, which is what makes the adapters' `async fn`s cancel-safe.

mod core;
pub mod handshake;
mod stream;

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;

pub use self::core::Driver;
pub use stream::{Close, ReadHalf, Recv, Send, WebSocket, WriteHalf};

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
