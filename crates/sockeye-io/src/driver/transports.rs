//! The runtimes' byte streams as the driver's [`Transport`]: `futures-io`
//! streams (smol, async-std, any executor) and, with feature `tokio`,
//! tokio's.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;

use super::{IntoStream, Transport};

/// The write side is the same call in both I/O trait families; only the
/// name of closing the write side differs (`poll_close`, `poll_shutdown`).
macro_rules! forward_writes {
    ($shutdown:ident) => {
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
            Pin::new(&mut self.0).$shutdown(cx)
        }
    };
}

/// A [`Transport`] over `futures-io` streams (smol, async-std, any executor).
///
/// `futures-io` reads want an initialised buffer, so the read zeroes the
/// spare capacity it hands out first.
#[derive(Debug)]
pub struct FuturesIo<S>(pub S);

impl<S> From<S> for FuturesIo<S> {
    fn from(stream: S) -> Self {
        Self(stream)
    }
}

impl<S> IntoStream for FuturesIo<S> {
    type Stream = S;

    fn into_stream(self) -> S {
        self.0
    }
}

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

    forward_writes!(poll_close);
}

/// A tokio `AsyncRead + AsyncWrite` as the driver's [`Transport`]: reads go
/// straight into the engine's buffer, writes are vectored.
#[cfg(feature = "tokio")]
#[derive(Debug)]
pub struct TokioIo<S>(pub S);

#[cfg(feature = "tokio")]
impl<S> From<S> for TokioIo<S> {
    fn from(stream: S) -> Self {
        Self(stream)
    }
}

#[cfg(feature = "tokio")]
impl<S> IntoStream for TokioIo<S> {
    type Stream = S;

    fn into_stream(self) -> S {
        self.0
    }
}

#[cfg(feature = "tokio")]
impl<S> Transport for TokioIo<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
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
        let mut buf = tokio::io::ReadBuf::new(buf);
        std::task::ready!(Pin::new(&mut self.0).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }

    forward_writes!(poll_shutdown);
}
