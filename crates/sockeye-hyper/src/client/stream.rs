//! The byte stream under a client WebSocket: an HTTP/2 stream, or a whole
//! connection (plain or TLS) after an HTTP/1.1 upgrade.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::Upgraded;

/// What an [`Http2Client`](super::Http2Client) WebSocket runs over.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientStream {
    /// An extended CONNECT stream of a shared HTTP/2 connection (RFC 8441).
    Http2(Upgraded),
    /// A `ws://` connection of its own, upgraded over HTTP/1.1.
    Plain(TcpStream),
    /// A `wss://` connection of its own, upgraded over HTTP/1.1: the server
    /// chose HTTP/1.1, or its HTTP/2 does not offer extended CONNECT.
    Tls(Box<TlsStream<TcpStream>>),
}

impl ClientStream {
    /// Whether the WebSocket runs over HTTP/2.
    pub fn is_http2(&self) -> bool {
        matches!(self, ClientStream::Http2(_))
    }
}

/// Run `$body` with `$s` bound to the stream in use, pinned.
macro_rules! pinned {
    ($self:expr, $s:ident => $body:expr) => {
        match $self.get_mut() {
            ClientStream::Http2(stream) => {
                let $s = Pin::new(stream);
                $body
            }
            ClientStream::Plain(stream) => {
                let $s = Pin::new(stream);
                $body
            }
            ClientStream::Tls(stream) => {
                let $s = Pin::new(&mut **stream);
                $body
            }
        }
    };
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        pinned!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        pinned!(self, s => s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        pinned!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ClientStream::Http2(stream) => stream.is_write_vectored(),
            ClientStream::Plain(stream) => stream.is_write_vectored(),
            ClientStream::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        pinned!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        pinned!(self, s => s.poll_shutdown(cx))
    }
}
