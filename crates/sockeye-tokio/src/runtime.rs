//! The two pieces of tokio the shared driver needs: a transport and a clock.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::BytesMut;
use sockeye_io::driver::{Clock, Transport, clock_epoch};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// A tokio `AsyncRead + AsyncWrite` as the driver's [`Transport`]: reads go
/// straight into the engine's buffer, writes are vectored.
#[derive(Debug)]
pub struct TokioIo<S>(pub S);

impl<S: AsyncRead + AsyncWrite + Unpin> Transport for TokioIo<S> {
    fn poll_read_buf(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        tokio_util::io::poll_read_buf(Pin::new(&mut self.0), cx, buf)
    }

    fn poll_read_slice(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        ready!(Pin::new(&mut self.0).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
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
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Tokio's clock (so `tokio::time::pause` works in tests) and one lazily
/// allocated timer.
///
/// Every `TokioClock` counts from one process-wide epoch, [`clock_epoch`],
/// so a clock is a single pointer (to its timer, once armed) and costs an
/// idle connection 8 bytes. The epoch is read from the system's monotonic
/// clock, never from tokio's, so it is not later than any tokio `Instant`
/// read afterwards, also under `tokio::time::pause` (a paused clock starts
/// at the real time it was created); a paused clock created before the
/// epoch reads zero until it passes it, which keeps time monotonic.
#[derive(Debug, Default)]
pub struct TokioClock {
    timer: Option<Pin<Box<Sleep>>>,
}

impl TokioClock {
    /// A clock on the process-wide scale.
    pub fn new() -> Self {
        Self { timer: None }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        Instant::now()
            .into_std()
            .saturating_duration_since(clock_epoch())
    }

    fn poll_deadline(&mut self, cx: &mut Context<'_>, deadline: Duration) -> Poll<()> {
        let Some(at) = clock_epoch().checked_add(deadline).map(Instant::from_std) else {
            // Beyond the clock's range: never.
            return Poll::Pending;
        };
        if Instant::now() >= at {
            return Poll::Ready(());
        }
        let sleep = match &mut self.timer {
            Some(sleep) => {
                if sleep.deadline() != at {
                    sleep.as_mut().reset(at);
                }
                sleep
            }
            None => self.timer.insert(Box::pin(tokio::time::sleep_until(at))),
        };
        sleep.as_mut().poll(cx)
    }

    fn disarm(&mut self) {
        self.timer = None;
    }
}

use std::future::Future as _;
