//! The opening handshake (RFC 6455 §4), without I/O.
//!
//! Both halves are small state machines fed with the bytes the transport
//! delivered. Partial input is never an error: `receive` answers `Ok(None)`
//! until the whole header block has arrived. Each half enforces the header
//! limits of [`Config`](crate::Config) while buffering, so a peer cannot make
//! it hold more than [`Config::max_header_bytes`](crate::Config::max_header_bytes)
//! plus one read.
//!
//! * [`ClientHandshake`] writes the request ([`ClientHandshake::request_bytes`])
//!   and validates the server's response; on success it yields an
//!   [`Established`] that turns into a [`Connection`](crate::Connection).
//! * [`ServerHandshake`] parses the request and yields a [`Request`], which the
//!   application inspects (path, query, origin, offered subprotocols and
//!   extensions) and then [accepts](Request::accept) or
//!   [rejects](Request::reject).
//!
//! A completed handshake hands over every byte that arrived after the header
//! block: the connection is fed with them, so a frame sent right behind the
//! handshake is not lost.
//!
//! When a server-side check fails, [`HandshakeError::response`] gives the
//! HTTP response to write back before closing the transport.
//!
//! # Example
//!
//! A full handshake between a client and a server in memory:
//!
//! ```
//! use core::time::Duration;
//! use sockeye::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
//! use sockeye::{Config, Role};
//!
//! # fn main() -> Result<(), sockeye::handshake::HandshakeError> {
//! let now = Duration::ZERO;
//! let request = ClientRequest::new("example.com:8080", "/chat?room=rust")?
//!     .origin("https://example.com")?
//!     .protocol("chat.v2")?
//!     .protocol("chat.v1")?;
//! let mut client = ClientHandshake::new(request, Config::default(), now);
//!
//! // The client's request travels to the server...
//! let mut server = ServerHandshake::new(Config::default(), now);
//! let request = server
//!     .receive(client.request_bytes())?
//!     .expect("the whole request arrived");
//! assert_eq!(request.path(), "/chat");
//! assert_eq!(request.query("room").as_deref(), Some("rust"));
//!
//! // ...the server picks a subprotocol the client offered and answers 101...
//! let (response, server_connection) = request.accept(Accept::new(now).protocol("chat.v1"))?;
//! assert_eq!(server_connection.role(), Role::Server);
//!
//! // ...and the client checks the answer.
//! let established = client.receive(&response)?.expect("the whole response arrived");
//! assert_eq!(established.protocol(), Some("chat.v1"));
//! let client_connection = established.into_connection(now);
//! assert_eq!(client_connection.role(), Role::Client);
//! # Ok(())
//! # }
//! ```

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

mod accept_key;
mod client;
#[cfg(feature = "deflate")]
mod deflate;
mod extension;
mod headers;
mod server;

pub use accept_key::{ACCEPT_GUID, accept_key, generate_key};
pub use client::{ClientHandshake, ClientRequest, Established};
pub use extension::Extension;
pub use headers::Headers;
pub use server::{Accept, Request, ResponseHead, ServerHandshake, Upgrade};

/// The only protocol version this engine speaks (RFC 6455 §4.1 step 9).
pub const WEBSOCKET_VERSION: &str = "13";

/// The opening handshake failed.
///
/// Variants are grouped by whose fault they are: the client's request (a
/// server sees these and [`response`](HandshakeError::response) gives the
/// answer to send), the server's response (a client sees these), either peer
/// ([`Timeout`](HandshakeError::Timeout)), and misuse of this API.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    // --- The client's request (server side) or the server's response (client side) ---
    /// The header block is longer than
    /// [`Config::max_header_bytes`](crate::Config::max_header_bytes). Server
    /// answer: 431.
    TooLarge,
    /// The header block has more than
    /// [`Config::max_headers`](crate::Config::max_headers) fields. Server
    /// answer: 431.
    TooManyHeaders,
    /// The header block is not valid HTTP/1.x; the text says where it broke.
    /// Server answer: 400.
    Malformed(&'static str),
    /// A `Sec-WebSocket-*` header field does not follow its grammar (RFC 6455
    /// §4.3, §9.1); the text names the field. Server answer: 400.
    MalformedHeader(&'static str),
    /// The stream ended before the header block was complete.
    Incomplete,

    // --- The client's request (server side) ---
    /// An upgrade request whose method is not `GET` (RFC 6455 §4.2.1 step 1).
    /// Server answer: 405 with `Allow: GET`.
    MethodNotAllowed,
    /// An upgrade request older than HTTP/1.1 (RFC 6455 §4.2.1 step 1).
    /// Server answer: 505.
    UnsupportedHttpVersion,
    /// The `Host` field is missing, empty or repeated (RFC 6455 §4.2.1 step 2).
    /// Server answer: 400.
    MissingHost,
    /// A plain HTTP request, not asking for a WebSocket upgrade (no `Upgrade`
    /// token `websocket` or no `Connection` token `upgrade`, RFC 6455 §4.2.1
    /// steps 3 and 4). The request is kept so that a server can answer it
    /// itself, for example by serving a page with [`Request::reject`].
    /// Default answer: 426 with `Upgrade: websocket`.
    NotWebSocket(Box<Request>),
    /// `Sec-WebSocket-Key` is missing, repeated, or does not decode to 16
    /// bytes (RFC 6455 §4.2.1 step 5). Server answer: 400.
    InvalidKey,
    /// `Sec-WebSocket-Version` is missing or not 13 (RFC 6455 §4.2.1 step 6).
    /// Server answer: 426 with `Sec-WebSocket-Version: 13` (§4.4).
    UnsupportedVersion,

    // --- The server's response (client side) ---
    /// An interim (1xx) status other than 101.
    BadStatus(u16),
    /// The server answered with a status other than 101 (RFC 6455 §4.1,
    /// client step 1). The body is kept up to
    /// [`Config::max_rejection_body`](crate::Config::max_rejection_body) bytes.
    Rejected {
        /// The status code, such as 401 or 404.
        status: u16,
        /// The reason phrase of the status line.
        reason: String,
        /// The response's header fields.
        headers: Headers,
        /// The response body, possibly cut at the configured limit.
        body: Vec<u8>,
    },
    /// The 101 response lacks the `Upgrade: websocket` or `Connection:
    /// Upgrade` token (RFC 6455 §4.1, client steps 2 and 3).
    MissingUpgrade,
    /// `Sec-WebSocket-Accept` is missing, repeated or wrong (RFC 6455 §4.1,
    /// client step 4).
    InvalidAccept,
    /// The server selected a subprotocol the client did not offer, or more
    /// than one (RFC 6455 §4.1, client step 6).
    UnexpectedProtocol(String),
    /// The server selected an extension the client did not offer (RFC 6455
    /// §4.1, client step 5); the text is the extension's name.
    UnexpectedExtension(String),
    /// The server accepted an offered extension with parameters the offer
    /// does not allow, or more than once (RFC 6455 §9.1, RFC 7692 §7); the
    /// text is the extension's name.
    InvalidExtensionResponse(String),

    // --- Either side ---
    /// The handshake did not complete before its deadline
    /// ([`Config::handshake_timeout`](crate::Config::handshake_timeout)).
    Timeout,

    // --- Misuse of this API ---
    /// A header name or value given to a builder is not allowed: not a token,
    /// containing CR, LF or NUL, or owned by the handshake itself.
    InvalidHeader {
        /// The offending header name (or what was being set, like `"path"`).
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A status code that cannot be sent as a plain HTTP response here.
    InvalidStatus(u16),
    /// The server tried to select a subprotocol or extension the client did
    /// not offer.
    NotOffered(String),
    /// `receive` was called again after the handshake completed or failed.
    Finished,
    /// An endpoint was told to accept or reject when no request waits for
    /// an answer (before it arrived, or after the answer was given).
    NoPendingRequest,
}

impl HandshakeError {
    /// The HTTP response a server sends back for this error before closing
    /// the transport, or `None` when the error is not about a client's request.
    ///
    /// The response carries `Connection: close`, a `Content-Length` and a
    /// short plain-text body.
    pub fn response(&self) -> Option<Vec<u8>> {
        let (head, body) = self.response_head(Upgrade::Http1)?;
        // RFC 9110 §7.8 wants `upgrade` in `Connection` whenever `Upgrade` is sent.
        let connection = if head.headers.iter().any(|(name, _)| name == "Upgrade") {
            "Upgrade, close"
        } else {
            "close"
        };
        let headers: Vec<(&str, &str)> = head
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        Some(write_response(head.status, &headers, connection, &body))
    }

    /// The answer of [`response`](Self::response) as status, fields and
    /// body, for an HTTP layer that writes its responses itself (hyper),
    /// for a request that came in the form `upgrade`. The fields leave out
    /// `Connection` and `Content-Length`, which belong to that layer.
    ///
    /// Over HTTP/2 ([`Upgrade::ExtendedConnect`]) there is no `Upgrade`
    /// field (RFC 9113 §8.6), so a request that is not an extended CONNECT
    /// for `websocket` gets 400 instead of 426, and a wrong version 426
    /// with `Sec-WebSocket-Version: 13` alone (RFC 6455 §4.4).
    ///
    /// ```
    /// use sockeye::handshake::{HandshakeError, Upgrade};
    ///
    /// let (head, _body) = HandshakeError::UnsupportedVersion
    ///     .response_head(Upgrade::ExtendedConnect)
    ///     .unwrap();
    /// assert_eq!(head.status, 426);
    /// assert_eq!(head.headers[0], ("Sec-WebSocket-Version".into(), "13".into()));
    /// ```
    pub fn response_head(&self, upgrade: Upgrade) -> Option<(ResponseHead, Vec<u8>)> {
        let mut text = alloc::string::ToString::to_string(self);
        text.push('\n');
        let http1 = upgrade == Upgrade::Http1;
        let (status, extra): (u16, &[(&str, &str)]) = match self {
            HandshakeError::TooLarge | HandshakeError::TooManyHeaders => (431, &[]),
            HandshakeError::Malformed(_)
            | HandshakeError::MalformedHeader(_)
            | HandshakeError::MissingHost
            | HandshakeError::InvalidKey => (400, &[]),
            HandshakeError::MethodNotAllowed => (405, &[("Allow", "GET")]),
            HandshakeError::UnsupportedHttpVersion => (505, &[]),
            // RFC 9110 §15.5.22: a 426 names the protocol to upgrade to.
            HandshakeError::NotWebSocket(_) | HandshakeError::UnsupportedVersion if http1 => (
                426,
                &[
                    ("Upgrade", "websocket"),
                    ("Sec-WebSocket-Version", WEBSOCKET_VERSION),
                ],
            ),
            // RFC 8441 §4: over HTTP/2 a WebSocket is only ever an extended
            // CONNECT, and there is nothing to upgrade to.
            HandshakeError::NotWebSocket(_) => (400, &[]),
            HandshakeError::UnsupportedVersion => {
                (426, &[("Sec-WebSocket-Version", WEBSOCKET_VERSION)])
            }
            _ => return None,
        };
        let mut headers: Vec<(String, String)> = extra
            .iter()
            .map(|(name, value)| (String::from(*name), String::from(*value)))
            .collect();
        headers.push((
            String::from("Content-Type"),
            String::from("text/plain; charset=utf-8"),
        ));
        Some((ResponseHead { status, headers }, text.into_bytes()))
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::TooLarge => f.write_str("handshake header block too large"),
            HandshakeError::TooManyHeaders => f.write_str("too many handshake header fields"),
            HandshakeError::Malformed(what) => write!(f, "malformed HTTP header block: {what}"),
            HandshakeError::MalformedHeader(name) => write!(f, "malformed {name} header field"),
            HandshakeError::Incomplete => {
                f.write_str("stream ended before the handshake header block was complete")
            }
            HandshakeError::MethodNotAllowed => f.write_str("WebSocket upgrade must use GET"),
            HandshakeError::UnsupportedHttpVersion => {
                f.write_str("WebSocket upgrade requires HTTP/1.1 or later")
            }
            HandshakeError::MissingHost => f.write_str("missing, empty or repeated Host field"),
            HandshakeError::NotWebSocket(_) => f.write_str("not a WebSocket upgrade request"),
            HandshakeError::InvalidKey => f.write_str("invalid Sec-WebSocket-Key"),
            HandshakeError::UnsupportedVersion => {
                f.write_str("unsupported Sec-WebSocket-Version (expected 13)")
            }
            HandshakeError::BadStatus(status) => {
                write!(
                    f,
                    "unexpected interim status {status} in handshake response"
                )
            }
            HandshakeError::Rejected { status, reason, .. } => {
                write!(f, "server rejected the handshake: {status} {reason}")
            }
            HandshakeError::MissingUpgrade => {
                f.write_str("response lacks Upgrade: websocket or Connection: Upgrade")
            }
            HandshakeError::InvalidAccept => f.write_str("invalid Sec-WebSocket-Accept"),
            HandshakeError::UnexpectedProtocol(p) => {
                write!(f, "server selected a subprotocol that was not offered: {p}")
            }
            HandshakeError::UnexpectedExtension(e) => {
                write!(f, "server selected an extension that was not offered: {e}")
            }
            HandshakeError::InvalidExtensionResponse(e) => {
                write!(
                    f,
                    "server accepted {e} with parameters the offer does not allow"
                )
            }
            HandshakeError::Timeout => f.write_str("opening handshake timed out"),
            HandshakeError::InvalidHeader { name, reason } => {
                write!(f, "invalid header {name:?}: {reason}")
            }
            HandshakeError::InvalidStatus(status) => {
                write!(f, "status {status} cannot be sent as a plain response")
            }
            HandshakeError::NotOffered(what) => write!(f, "{what} was not offered by the client"),
            HandshakeError::Finished => f.write_str("the handshake has already finished"),
            HandshakeError::NoPendingRequest => f.write_str("no request is waiting for an answer"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HandshakeError {}

/// The deadline of a handshake, as a one-entry timer table.
#[derive(Clone, Copy, Debug)]
struct Deadline(Option<Duration>);

impl Deadline {
    fn start(now: Duration, timeout: Option<Duration>) -> Self {
        Deadline(timeout.map(|t| now.saturating_add(t)))
    }

    /// `Err(Timeout)` once `now` has reached the deadline; earlier calls are no-ops.
    fn check(&self, now: Duration) -> Result<(), HandshakeError> {
        match self.0 {
            Some(deadline) if now >= deadline => Err(HandshakeError::Timeout),
            _ => Ok(()),
        }
    }
}

/// Accumulates a header block and finds where it ends, within a byte limit.
#[derive(Debug, Default)]
struct HeadBuffer {
    bytes: Vec<u8>,
    /// Everything before this index has been searched for the blank line.
    scanned: usize,
}

impl HeadBuffer {
    /// The end (exclusive) of the next candidate blank line, or `None` when
    /// more input is needed. Fails once the header block cannot fit in `limit`.
    fn next_end(&mut self, limit: usize) -> Result<Option<usize>, HandshakeError> {
        let bytes = &self.bytes;
        // Only the first `limit` bytes can hold a header block within the
        // limit, so a huge read is never searched past it.
        let searchable = bytes.len().min(limit);
        let found = (self.scanned..searchable).find(|&i| {
            bytes[i] == b'\n'
                && ((i >= 1 && bytes[i - 1] == b'\n')
                    || (i >= 2 && bytes[i - 1] == b'\r' && bytes[i - 2] == b'\n'))
        });
        match found {
            Some(i) => {
                self.scanned = i + 1;
                Ok(Some(i + 1))
            }
            None if bytes.len() >= limit => Err(HandshakeError::TooLarge),
            None => {
                self.scanned = bytes.len();
                Ok(None)
            }
        }
    }

    fn release(&mut self) {
        self.bytes = Vec::new();
        self.scanned = 0;
    }
}

/// Maps a parse failure of `httparse` to this module's error.
fn parse_error(error: httparse::Error) -> HandshakeError {
    match error {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders,
        httparse::Error::HeaderName => HandshakeError::Malformed("invalid header name"),
        httparse::Error::HeaderValue => HandshakeError::Malformed("invalid header value"),
        httparse::Error::NewLine => HandshakeError::Malformed("invalid line ending"),
        httparse::Error::Status => HandshakeError::Malformed("invalid status"),
        httparse::Error::Token => HandshakeError::Malformed("invalid token"),
        httparse::Error::Version => HandshakeError::Malformed("invalid HTTP version"),
    }
}

/// `tchar` of RFC 9110 §5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether `s` is an HTTP `token` (RFC 9110 §5.6.2): one or more `tchar`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// The items of a comma-separated list value, trimmed, empty ones skipped
/// (the `#rule` of RFC 9110 §5.6.1).
fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(|item| item.trim_ascii())
        .filter(|item| !item.is_empty())
}

/// Checks a header field given by the application: the name a token, the
/// value free of CR, LF and NUL (which would let it forge fields), and the
/// name not one of `reserved`.
fn check_field(name: &str, value: &str, reserved: &[&str]) -> Result<(), HandshakeError> {
    let refuse = |reason| {
        Err(HandshakeError::InvalidHeader {
            name: String::from(name),
            reason,
        })
    };
    if !is_token(name) {
        return refuse("name is not an HTTP token");
    }
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | b'\0')) {
        return refuse("value contains CR, LF or NUL");
    }
    if reserved.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return refuse("field is set by the handshake itself");
    }
    Ok(())
}

/// Appends `name: value\r\n`.
fn write_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends an HTTP/1.1 status line.
fn write_status_line(out: &mut Vec<u8>, status: u16) {
    use core::fmt::Write as _;
    let mut line = String::new();
    let _ = write!(line, "HTTP/1.1 {status} {}\r\n", reason_phrase(status));
    out.extend_from_slice(line.as_bytes());
}

/// A complete HTTP/1.1 response with a body, `Content-Length` and the given
/// `Connection` value. The fields must have been checked already.
fn write_response(status: u16, headers: &[(&str, &str)], connection: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + body.len());
    write_status_line(&mut out, status);
    for (name, value) in headers {
        write_field(&mut out, name, value);
    }
    let mut length = String::new();
    let _ = fmt::Write::write_fmt(&mut length, format_args!("{}", body.len()));
    write_field(&mut out, "Content-Length", &length);
    write_field(&mut out, "Connection", connection);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The usual reason phrase of a status code; empty for codes not listed
/// (an empty reason phrase is valid, RFC 9112 §4).
fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_follow_rfc_9110() {
        assert!(is_token("chat.v1"));
        assert!(is_token("permessage-deflate"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token("a,b"));
        assert!(!is_token("a\"b"));
    }

    #[test]
    fn list_items_skip_empty_elements_and_whitespace() {
        let items: Vec<&[u8]> = list_items(b" keep-alive ,, Upgrade ,").collect();
        assert_eq!(items, [&b"keep-alive"[..], b"Upgrade"]);
    }

    #[test]
    fn check_field_refuses_injection_and_reserved_names() {
        assert!(check_field("Authorization", "Bearer x", &["Host"]).is_ok());
        assert!(check_field("X", "a\r\nEvil: 1", &[]).is_err());
        assert!(check_field("X Y", "a", &[]).is_err());
        assert!(check_field("host", "a", &["Host"]).is_err());
    }

    #[test]
    fn every_server_side_error_has_a_response_with_its_status() {
        let cases: [(HandshakeError, &[u8]); 8] = [
            (HandshakeError::TooLarge, b"HTTP/1.1 431 "),
            (HandshakeError::TooManyHeaders, b"HTTP/1.1 431 "),
            (HandshakeError::Malformed("x"), b"HTTP/1.1 400 "),
            (HandshakeError::MissingHost, b"HTTP/1.1 400 "),
            (HandshakeError::InvalidKey, b"HTTP/1.1 400 "),
            (HandshakeError::MethodNotAllowed, b"HTTP/1.1 405 "),
            (HandshakeError::UnsupportedHttpVersion, b"HTTP/1.1 505 "),
            (HandshakeError::UnsupportedVersion, b"HTTP/1.1 426 "),
        ];
        for (error, prefix) in cases {
            let response = error.response().expect("server-side error");
            assert!(response.starts_with(prefix), "{error:?}");
        }
        assert_eq!(HandshakeError::InvalidAccept.response(), None);
        assert_eq!(HandshakeError::Timeout.response(), None);
    }

    #[test]
    fn response_for_405_names_get_and_426_names_version_13() {
        let r405 = HandshakeError::MethodNotAllowed.response().unwrap();
        assert!(contains(&r405, b"\r\nAllow: GET\r\n"));
        let r426 = HandshakeError::UnsupportedVersion.response().unwrap();
        assert!(contains(&r426, b"\r\nSec-WebSocket-Version: 13\r\n"));
        assert!(contains(&r426, b"\r\nUpgrade: websocket\r\n"));
    }

    #[test]
    fn head_buffer_finds_the_blank_line_and_enforces_the_limit() {
        let mut head = HeadBuffer::default();
        head.bytes
            .extend_from_slice(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest");
        assert_eq!(head.next_end(64), Ok(Some(24)));
        let mut head = HeadBuffer::default();
        head.bytes
            .extend_from_slice(b"GET / HTTP/1.1\r\nA: b\r\n\r\n");
        assert_eq!(head.next_end(20), Err(HandshakeError::TooLarge));
        let mut head = HeadBuffer::default();
        head.bytes.extend_from_slice(&[b'a'; 20]);
        assert_eq!(head.next_end(20), Err(HandshakeError::TooLarge));
    }

    #[test]
    fn deadline_fires_only_once_reached() {
        let deadline = Deadline::start(Duration::from_secs(5), Some(Duration::from_secs(10)));
        assert_eq!(deadline.check(Duration::from_secs(14)), Ok(()));
        assert_eq!(
            deadline.check(Duration::from_secs(15)),
            Err(HandshakeError::Timeout)
        );
        assert_eq!(
            Deadline::start(Duration::ZERO, None).check(Duration::MAX),
            Ok(())
        );
    }

    pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }
}
