//! The one error type of every adapter.

use core::fmt;
use std::io;

use sockeye::error::HandshakeError;
use sockeye::{ProtocolError, SendError};

/// Everything that can go wrong between `connect`/`accept` and the end of a
/// connection, sorted so that each fault has its own variant.
///
/// Converts into [`std::io::Error`] with a fitting [`io::ErrorKind`] for code
/// that works in I/O errors:
///
/// ```
/// use sockeye_io::Error;
///
/// let error = std::io::Error::from(Error::HandshakeTimeout);
/// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not a usable `ws://` or `wss://` URL.
    Url(String),
    /// The host name could not be resolved (DNS failure, or no address).
    Resolve(io::Error),
    /// No TCP connection could be made to any address of the host
    /// (refused, unreachable, timed out).
    Connect(io::Error),
    /// The TLS handshake failed (a certificate was refused, or the peer hung
    /// up or reset the connection during it), TLS could not be configured,
    /// or `wss://` was asked for from an adapter built without its `rustls`
    /// feature (the message names the feature).
    Tls(Box<dyn std::error::Error + Send + Sync>),
    /// The server answered the opening handshake with something other than
    /// `101 Switching Protocols`.
    Rejected {
        /// The HTTP status code.
        status: u16,
        /// The start of the response body, as far as it arrived.
        body: Vec<u8>,
    },
    /// The opening handshake failed: a malformed or unacceptable request or
    /// response, or the transport ended before it completed. Boxed, so that
    /// the error (and every `Result` carrying it, such as what `recv` yields)
    /// stays 32 bytes.
    Handshake(Box<HandshakeError>),
    /// The opening handshake did not complete before its deadline
    /// ([`sockeye::Config::handshake_timeout`]).
    HandshakeTimeout,
    /// The peer broke the protocol, exceeded a limit, vanished without a
    /// closing handshake ([`ProtocolError::UnexpectedEof`]) or stopped
    /// answering. [`Error::close_code`] says which close frame, if any, was
    /// sent to it.
    Protocol(ProtocolError),
    /// A read or write on the transport failed.
    Io(io::Error),
    /// A blocking read or write timed out (the transport's read or write
    /// timeout). The connection is still usable; try again.
    Timeout,
    /// The connection is closing or closed: nothing more can be sent.
    Closed,
    /// The application asked for something the connection cannot do (an
    /// over-long ping payload or close reason, a fragment out of order).
    Send(SendError),
    /// The HTTP proxy the connection was to go through could not be
    /// reached, or refused the tunnel (its status says how). Boxed to keep
    /// the error small.
    Proxy(Box<ProxyError>),
}

/// Why a connection through an HTTP proxy failed: the proxy (without its
/// credentials), its status when it answered, and what went wrong.
#[derive(Debug)]
pub struct ProxyError {
    /// The proxy, as `http://host:port`.
    pub proxy: String,
    /// The status the proxy answered `CONNECT` with, when it answered.
    pub status: Option<u16>,
    /// What went wrong: the refusal, or the connection's own error.
    pub error: io::Error,
}

impl Error {
    /// The code of the close frame sent to the peer because of a protocol
    /// error ([`sockeye::ProtocolError::wire_code`]); `None` for other errors and
    /// for failures that send none (the peer vanished or stopped
    /// answering).
    pub fn close_code(&self) -> Option<sockeye::CloseCode> {
        match self {
            Error::Protocol(error) => error.wire_code(),
            _ => None,
        }
    }

    /// Whether this error, met while waiting for a close to finish, still
    /// lets the close succeed: the peer closed the transport without its
    /// close frame. The connection is over either way (its status reports
    /// 1006); the rule is kept here so every adapter's `close` agrees.
    pub fn ends_a_close(&self) -> bool {
        matches!(self, Error::Protocol(sockeye::ProtocolError::UnexpectedEof))
    }

    /// The HTTP status of a rejected opening handshake.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Url(why) => write!(f, "invalid WebSocket URL: {why}"),
            Error::Resolve(error) => write!(f, "could not resolve host: {error}"),
            Error::Connect(error) => write!(f, "could not connect: {error}"),
            Error::Tls(error) => write!(f, "TLS failure: {error}"),
            Error::Rejected { status, .. } => {
                write!(
                    f,
                    "server rejected the WebSocket upgrade with HTTP {status}"
                )
            }
            Error::Handshake(error) => write!(f, "opening handshake failed: {error}"),
            Error::HandshakeTimeout => f.write_str("opening handshake timed out"),
            Error::Protocol(error) => write!(f, "WebSocket protocol error: {error}"),
            Error::Io(error) => write!(f, "I/O error: {error}"),
            Error::Timeout => f.write_str("read or write timed out"),
            Error::Closed => f.write_str("the connection is closing or closed"),
            Error::Send(error) => write!(f, "cannot send: {error}"),
            Error::Proxy(failure) => match failure.status {
                Some(_) => write!(
                    f,
                    "proxy {} refused the tunnel: {}",
                    failure.proxy, failure.error
                ),
                None => write!(f, "proxy {} failed: {}", failure.proxy, failure.error),
            },
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Resolve(error) | Error::Connect(error) | Error::Io(error) => Some(error),
            Error::Tls(error) => Some(error.as_ref()),
            Error::Handshake(error) => Some(error.as_ref()),
            Error::Protocol(error) => Some(error),
            Error::Send(error) => Some(error),
            Error::Proxy(failure) => Some(&failure.error),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    /// An I/O error on an established transport; timeouts of blocking
    /// sockets become [`Error::Timeout`].
    fn from(error: io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout,
            _ => Error::Io(error),
        }
    }
}

impl From<SendError> for Error {
    fn from(error: SendError) -> Self {
        match error {
            SendError::Closed => Error::Closed,
            other => Error::Send(other),
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(error: ProtocolError) -> Self {
        Error::Protocol(error)
    }
}

impl From<Error> for io::Error {
    fn from(error: Error) -> Self {
        let kind = match &error {
            Error::Io(inner) | Error::Connect(inner) | Error::Resolve(inner) => inner.kind(),
            Error::Url(_) | Error::Send(_) => io::ErrorKind::InvalidInput,
            Error::Timeout | Error::HandshakeTimeout => io::ErrorKind::TimedOut,
            Error::Closed => io::ErrorKind::NotConnected,
            Error::Rejected { .. } => io::ErrorKind::ConnectionRefused,
            Error::Proxy(failure) => match failure.status {
                Some(_) => io::ErrorKind::ConnectionRefused,
                None => failure.error.kind(),
            },
            Error::Protocol(ProtocolError::UnexpectedEof) => io::ErrorKind::UnexpectedEof,
            Error::Protocol(_) | Error::Handshake(_) | Error::Tls(_) => io::ErrorKind::InvalidData,
        };
        match error {
            Error::Io(inner) => inner,
            other => io::Error::new(kind, other),
        }
    }
}

impl From<HandshakeError> for Error {
    fn from(error: HandshakeError) -> Self {
        match error {
            HandshakeError::Timeout => Error::HandshakeTimeout,
            HandshakeError::Rejected { status, body, .. } => Error::Rejected { status, body },
            other => Error::Handshake(Box::new(other)),
        }
    }
}
