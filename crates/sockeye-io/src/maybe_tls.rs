//! The stream a client connects over: plain TCP for `ws://`, TLS over it
//! for `wss://`, readable and writable through whichever I/O traits the
//! runtime's streams have (`futures-io`, and tokio's with feature `tokio`).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Plain `S` for `ws://`, or `T`, TLS over `S`, for `wss://`.
///
/// The adapters name it with their runtime's types
/// (`sockeye_tokio::MaybeTlsStream<TcpStream>`); `T` is [`NoTls`] in an
/// adapter built without TLS.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream<S, T> {
    /// Plain `ws://`.
    Plain(S),
    /// `wss://`.
    Tls(Box<T>),
}

/// The TLS stream of an adapter built without TLS: there is none, and a
/// `wss://` URL fails before one would be made.
#[derive(Debug)]
pub enum NoTls {}

/// Run `$body` on whichever stream `$self` holds, bound to `$s`.
macro_rules! each_stream {
    ($self:expr, $s:ident => $body:expr) => {
        match $self {
            MaybeTlsStream::Plain($s) => $body,
            MaybeTlsStream::Tls($s) => $body,
        }
    };
}

/// The write calls both I/O trait families share, forwarded to the stream
/// in use.
macro_rules! forward_writes {
    () => {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            each_stream!(self.get_mut(), s => Pin::new(s).poll_write(cx, buf))
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            each_stream!(self.get_mut(), s => Pin::new(s).poll_write_vectored(cx, bufs))
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            each_stream!(self.get_mut(), s => Pin::new(s).poll_flush(cx))
        }
    };
}

impl<S, T> futures_io::AsyncRead for MaybeTlsStream<S, T>
where
    S: futures_io::AsyncRead + Unpin,
    T: futures_io::AsyncRead + Unpin,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_read(cx, buf))
    }
}

impl<S, T> futures_io::AsyncWrite for MaybeTlsStream<S, T>
where
    S: futures_io::AsyncWrite + Unpin,
    T: futures_io::AsyncWrite + Unpin,
{
    forward_writes!();

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_close(cx))
    }
}

#[cfg(feature = "tokio")]
impl<S, T> tokio::io::AsyncRead for MaybeTlsStream<S, T>
where
    S: tokio::io::AsyncRead + Unpin,
    T: tokio::io::AsyncRead + Unpin,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_read(cx, buf))
    }
}

#[cfg(feature = "tokio")]
impl<S, T> tokio::io::AsyncWrite for MaybeTlsStream<S, T>
where
    S: tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncWrite + Unpin,
{
    forward_writes!();

    fn is_write_vectored(&self) -> bool {
        each_stream!(self, s => s.is_write_vectored())
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_shutdown(cx))
    }
}

/// `NoTls` has no values, so none of these can be called.
impl futures_io::AsyncRead for NoTls {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match *self {}
    }
}

impl futures_io::AsyncWrite for NoTls {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        match *self {}
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self {}
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self {}
    }
}

#[cfg(feature = "tokio")]
impl tokio::io::AsyncRead for NoTls {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match *self {}
    }
}

#[cfg(feature = "tokio")]
impl tokio::io::AsyncWrite for NoTls {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        match *self {}
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self {}
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self {}
    }
}
