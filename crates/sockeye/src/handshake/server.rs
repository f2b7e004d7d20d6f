//! The server half: read and judge the request, answer it (RFC 6455 §4.2).

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use super::accept_key::is_valid_key;
use super::headers::with_header_slots;
use super::{
    Deadline, Extension, HandshakeError, HeadBuffer, Headers, is_token, list_items, parse_error,
};
use crate::config::SharedConfig;

mod answer;

pub use answer::Accept;

/// The server side of the opening handshake.
///
/// Feed it what the client sends until [`receive`](Self::receive) yields a
/// [`Request`]; on an error, write [`HandshakeError::response`] back (or, for
/// [`HandshakeError::NotWebSocket`], answer the plain request yourself) and
/// close the transport.
#[derive(Debug)]
pub struct ServerHandshake {
    config: SharedConfig,
    head: HeadBuffer,
    deadline: Deadline,
    finished: bool,
}

impl ServerHandshake {
    /// Starts waiting for a request at `now`, with `config`'s header limits
    /// and handshake deadline. The config is handed on to the [`Request`] and,
    /// unless [`Accept::config`] replaces it, to the connection. A server
    /// that passes the same [`SharedConfig`] to every handshake has its
    /// connections share one copy of the settings.
    pub fn new(config: impl Into<SharedConfig>, now: Duration) -> Self {
        let config = config.into();
        Self {
            deadline: Deadline::start(now, config.handshake_timeout),
            config,
            head: HeadBuffer::default(),
            finished: false,
        }
    }

    /// Feeds bytes received from the client.
    ///
    /// Returns `Ok(None)` while the request's header block is incomplete and
    /// `Ok(Some(request))` once a valid upgrade request arrived. The checks
    /// run in this order (RFC 6455 §4.2.1), each with the answer
    /// [`HandshakeError::response`] gives:
    ///
    /// 1. header block within [`Config::max_header_bytes`] and
    ///    [`Config::max_headers`], else [`TooLarge`](HandshakeError::TooLarge)
    ///    or [`TooManyHeaders`](HandshakeError::TooManyHeaders) (431);
    /// 2. valid HTTP/1.x, else [`Malformed`](HandshakeError::Malformed) (400);
    /// 3. `Upgrade` lists `websocket` and `Connection` lists `upgrade`, else
    ///    [`NotWebSocket`](HandshakeError::NotWebSocket) carrying the plain
    ///    request (426);
    /// 4. method `GET`, else [`MethodNotAllowed`](HandshakeError::MethodNotAllowed) (405);
    /// 5. HTTP/1.1, else [`UnsupportedHttpVersion`](HandshakeError::UnsupportedHttpVersion) (505);
    /// 6. one non-empty `Host`, else [`MissingHost`](HandshakeError::MissingHost) (400);
    /// 7. `Sec-WebSocket-Version: 13`, else
    ///    [`UnsupportedVersion`](HandshakeError::UnsupportedVersion) (426);
    /// 8. one `Sec-WebSocket-Key` of 16 bytes, else
    ///    [`InvalidKey`](HandshakeError::InvalidKey) (400);
    /// 9. well-formed `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions`,
    ///    else [`MalformedHeader`](HandshakeError::MalformedHeader) (400).
    ///
    /// # Errors
    ///
    /// The failed check above; [`HandshakeError::Finished`] when called after
    /// the handshake ended.
    pub fn receive(&mut self, data: &[u8]) -> Result<Option<Request>, HandshakeError> {
        if self.finished {
            return Err(HandshakeError::Finished);
        }
        self.head.bytes.extend_from_slice(data);
        let result = self.receive_head();
        if !matches!(result, Ok(None)) {
            self.finished = true;
            self.head.release();
        }
        result
    }

    /// When the handshake times out, if it is still in progress.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.finished { None } else { self.deadline.0 }
    }

    /// Tells the handshake the time is `now`.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::Timeout`] once `now` has reached the deadline (the
    /// handshake is then over); a call before the deadline does nothing.
    pub fn handle_timeout(&mut self, now: Duration) -> Result<(), HandshakeError> {
        if self.finished {
            return Ok(());
        }
        let result = self.deadline.check(now);
        if result.is_err() {
            self.finished = true;
            self.head.release();
        }
        result
    }

    /// How many bytes are buffered while waiting for the header block.
    pub fn buffered(&self) -> usize {
        self.head.bytes.len()
    }

    fn receive_head(&mut self) -> Result<Option<Request>, HandshakeError> {
        let request = loop {
            let Some(end) = self.head.next_end(self.config.max_header_bytes)? else {
                return Ok(None);
            };
            let bytes = &self.head.bytes;
            let parsed = with_header_slots(self.config.max_headers, |fields| {
                let mut parsed = httparse::Request::new(fields);
                let status = parsed.parse(&bytes[..end]).map_err(parse_error)?;
                Ok::<_, HandshakeError>(match status {
                    httparse::Status::Complete(len) => Some(Request {
                        method: String::from(parsed.method.unwrap_or_default()),
                        target: String::from(parsed.path.unwrap_or_default()),
                        minor_version: parsed.version.unwrap_or_default(),
                        headers: Headers::from_parsed(parsed.headers),
                        extensions: Vec::new(),
                        trailing: bytes[len..].to_vec(),
                        config: self.config.clone(),
                        websocket: false,
                        upgrade: Upgrade::Http1,
                    }),
                    // Blank lines before the request line; look further.
                    httparse::Status::Partial => None,
                })
            })?;
            if let Some(request) = parsed {
                break request;
            }
        };
        request.validate().map(Some)
    }
}

/// A client's request: a valid WebSocket upgrade when returned by
/// [`ServerHandshake::receive`], or a plain HTTP request inside
/// [`HandshakeError::NotWebSocket`].
///
/// Decide on it with [`accept`](Self::accept) or [`reject`](Self::reject).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    method: String,
    target: String,
    minor_version: u8,
    headers: Headers,
    extensions: Vec<Extension>,
    trailing: Vec<u8>,
    config: SharedConfig,
    websocket: bool,
    upgrade: Upgrade,
}

/// How a request asks for a WebSocket, which decides the form of the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upgrade {
    /// HTTP/1.1 (RFC 6455 §4.1): `GET` with `Upgrade: websocket` and a
    /// `Sec-WebSocket-Key`, answered `101 Switching Protocols` with
    /// `Sec-WebSocket-Accept`.
    Http1,
    /// HTTP/2 extended CONNECT (RFC 8441 §4–5): `CONNECT` with `:protocol`
    /// `websocket` on one stream, answered `200` with no key and no accept
    /// value; the other HTTP layer writes the answer
    /// ([`Request::accept_head`]).
    ExtendedConnect,
}

/// The status and fields of the response accepting a request, for an HTTP
/// layer that writes its responses itself (see [`Request::accept_head`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// `101` for an HTTP/1.1 upgrade, `200` for an extended CONNECT.
    pub status: u16,
    /// The fields, in order.
    pub headers: Vec<(String, String)>,
}

impl Upgrade {
    /// The status of the accepting response.
    fn status(self) -> u16 {
        match self {
            Upgrade::Http1 => 101,
            Upgrade::ExtendedConnect => 200,
        }
    }
}

impl Request {
    /// A request that another HTTP/1.1 layer (an HTTP server such as
    /// hyper) read: its method, target and header fields. It is judged by
    /// the checks of [`ServerHandshake::receive`] from step 3 on (the
    /// layer has already parsed HTTP/1.1 and applied its own size limits).
    ///
    /// ```
    /// use sockeye::Config;
    /// use sockeye::handshake::{Headers, Request};
    ///
    /// let mut headers = Headers::new();
    /// for (name, value) in [
    ///     ("Host", "example.com"),
    ///     ("Upgrade", "websocket"),
    ///     ("Connection", "Upgrade"),
    ///     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ///     ("Sec-WebSocket-Version", "13"),
    /// ] {
    ///     headers.append(name, value);
    /// }
    /// let request = Request::from_http1("GET", "/chat", headers, Config::default())?;
    /// assert!(request.is_websocket());
    /// # Ok::<(), sockeye::handshake::HandshakeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ServerHandshake::receive`] from step 3 on.
    pub fn from_http1(
        method: &str,
        target: &str,
        headers: Headers,
        config: impl Into<SharedConfig>,
    ) -> Result<Request, HandshakeError> {
        Request::parsed(method, target, 1, headers, config.into()).validate()
    }

    /// An HTTP/2 extended CONNECT request (RFC 8441 §4) that another HTTP
    /// layer read: `protocol` is its `:protocol` pseudo-header, `path` its
    /// `:path` (path and query), `authority` its `:authority` (reported by
    /// [`host`](Self::host) when no `Host` field came along), `headers` its
    /// regular fields. No key is involved (RFC 8441 §5); the answer is a
    /// `200` from [`accept_head`](Self::accept_head).
    ///
    /// ```
    /// use sockeye::Config;
    /// use sockeye::handshake::{Accept, Headers, Request, Upgrade};
    /// # use core::time::Duration;
    ///
    /// let mut headers = Headers::new();
    /// headers.append("Sec-WebSocket-Version", "13");
    /// headers.append("Sec-WebSocket-Protocol", "chat");
    /// let request =
    ///     Request::from_extended_connect("websocket", "/ws", "example.com", headers, Config::default())?;
    /// assert_eq!((request.upgrade(), request.host()), (Upgrade::ExtendedConnect, Some("example.com")));
    /// let (head, _connection) = request.accept_head(Accept::new(Duration::ZERO).protocol("chat"))?;
    /// assert_eq!(head.status, 200);
    /// assert_eq!(head.headers, [("Sec-WebSocket-Protocol".into(), "chat".into())]);
    /// # Ok::<(), sockeye::handshake::HandshakeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`HandshakeError::NotWebSocket`] when `protocol` is not `websocket`;
    /// [`HandshakeError::UnsupportedVersion`] without `Sec-WebSocket-Version:
    /// 13`; [`HandshakeError::MalformedHeader`] for a malformed
    /// `Sec-WebSocket-Protocol` or `Sec-WebSocket-Extensions`.
    pub fn from_extended_connect(
        protocol: &str,
        path: &str,
        authority: &str,
        mut headers: Headers,
        config: impl Into<SharedConfig>,
    ) -> Result<Request, HandshakeError> {
        if !headers.contains("Host") && !authority.is_empty() {
            headers.append("Host", authority);
        }
        let mut request = Request::parsed("CONNECT", path, 1, headers, config.into());
        request.upgrade = Upgrade::ExtendedConnect;
        if !protocol.eq_ignore_ascii_case("websocket") {
            return Err(HandshakeError::NotWebSocket(Box::new(request)));
        }
        request.validate_offers()
    }

    /// Any HTTP/2 request that another HTTP layer read (RFC 8441 §4): an
    /// extended CONNECT is judged as by
    /// [`from_extended_connect`](Self::from_extended_connect); any other
    /// request (another method, no `:protocol`) is a plain one, in
    /// [`HandshakeError::NotWebSocket`], whose default answer over HTTP/2 is
    /// 400 ([`HandshakeError::response_head`]).
    ///
    /// ```
    /// use sockeye::Config;
    /// use sockeye::handshake::{HandshakeError, Headers, Request, Upgrade};
    ///
    /// let plain = Request::from_http2("GET", None, "/", "example.com", Headers::new(), Config::default());
    /// let Err(error @ HandshakeError::NotWebSocket(_)) = plain else { panic!() };
    /// assert_eq!(error.response_head(Upgrade::ExtendedConnect).unwrap().0.status, 400);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`from_extended_connect`](Self::from_extended_connect), and
    /// [`HandshakeError::NotWebSocket`] for a request that is not a CONNECT
    /// with a `:protocol`.
    pub fn from_http2(
        method: &str,
        protocol: Option<&str>,
        path: &str,
        authority: &str,
        headers: Headers,
        config: impl Into<SharedConfig>,
    ) -> Result<Request, HandshakeError> {
        let protocol = match protocol {
            Some(protocol) if method == "CONNECT" => protocol,
            _ => "",
        };
        Request::from_extended_connect(protocol, path, authority, headers, config).map_err(
            |error| match error {
                HandshakeError::NotWebSocket(mut request) => {
                    request.method = String::from(method);
                    HandshakeError::NotWebSocket(request)
                }
                error => error,
            },
        )
    }

    fn parsed(
        method: &str,
        target: &str,
        minor_version: u8,
        headers: Headers,
        config: SharedConfig,
    ) -> Request {
        Request {
            method: String::from(method),
            target: String::from(target),
            minor_version,
            headers,
            extensions: Vec::new(),
            trailing: Vec::new(),
            config,
            websocket: false,
            upgrade: Upgrade::Http1,
        }
    }

    /// How the request asks for the WebSocket.
    pub fn upgrade(&self) -> Upgrade {
        self.upgrade
    }

    /// The method, such as `GET`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target as sent: path and query (or an absolute URI).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path, without the query. For an absolute-form target
    /// (`http://host/path`), the part after the authority.
    pub fn path(&self) -> &str {
        let target = self.target.split('?').next().unwrap_or_default();
        if target.starts_with('/') {
            return target;
        }
        // RFC 9112 §3.2.2: absolute-form; drop the scheme and authority.
        match target.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/", |slash| &rest[slash..]),
            None => target,
        }
    }

    /// The raw query (after `?`, without it), if there is one.
    pub fn raw_query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// The first value of the query parameter `name`, percent-decoded with
    /// `+` read as a space (`application/x-www-form-urlencoded`).
    pub fn query(&self, name: &str) -> Option<Cow<'_, str>> {
        self.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// Every query parameter as a decoded `(name, value)` pair, in order; a
    /// parameter without `=` has an empty value.
    pub fn query_pairs(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        self.raw_query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (form_decode(name), form_decode(value))
            })
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The `Origin` field, which browsers always send (RFC 6455 §4.2.1 step
    /// 7, §10.2): check it to refuse pages from other sites.
    pub fn origin(&self) -> Option<&str> {
        self.headers.get("Origin")
    }

    /// The `Host` field.
    pub fn host(&self) -> Option<&str> {
        self.headers.get("Host")
    }

    /// The offered subprotocols, in the client's order of preference, from
    /// every `Sec-WebSocket-Protocol` field.
    pub fn protocols(&self) -> impl Iterator<Item = &str> {
        self.headers
            .get_all("Sec-WebSocket-Protocol")
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|item| !item.is_empty())
    }

    /// The offered extensions, in the client's order of preference, from
    /// every `Sec-WebSocket-Extensions` field.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The `Sec-WebSocket-Key` field; always present in a valid upgrade request.
    pub fn key(&self) -> Option<&str> {
        self.headers.get("Sec-WebSocket-Key")
    }

    /// Whether this is a valid WebSocket upgrade request (false for the
    /// request inside [`HandshakeError::NotWebSocket`]).
    pub fn is_websocket(&self) -> bool {
        self.websocket
    }

    /// Bytes that arrived after the header block.
    pub fn trailing(&self) -> &[u8] {
        &self.trailing
    }

    /// Appends bytes that arrived after the header block while the request
    /// waited for its answer.
    pub(crate) fn extend_trailing(&mut self, data: &[u8]) {
        self.trailing.extend_from_slice(data);
    }

    /// Runs the checks of [`ServerHandshake::receive`] from step 3 on.
    fn validate(self) -> Result<Request, HandshakeError> {
        // RFC 6455 §4.2.1 steps 3 and 4.
        if !self.headers.contains_token("Upgrade", "websocket")
            || !self.headers.contains_token("Connection", "upgrade")
        {
            return Err(HandshakeError::NotWebSocket(Box::new(self)));
        }
        // Step 1.
        if self.method != "GET" {
            return Err(HandshakeError::MethodNotAllowed);
        }
        if self.minor_version < 1 {
            return Err(HandshakeError::UnsupportedHttpVersion);
        }
        // Step 2.
        if !exactly_one(&self.headers, "Host", |host| !host.is_empty()) {
            return Err(HandshakeError::MissingHost);
        }
        if !self.is_version_13() {
            return Err(HandshakeError::UnsupportedVersion);
        }
        // Step 5 and §11.3.1: one field, 16 bytes once decoded.
        if !exactly_one(&self.headers, "Sec-WebSocket-Key", is_valid_key) {
            return Err(HandshakeError::InvalidKey);
        }
        self.check_offers()
    }

    /// The checks an extended CONNECT shares with an upgrade (RFC 8441 §5:
    /// the version, the subprotocols and extensions, but no key).
    fn validate_offers(self) -> Result<Request, HandshakeError> {
        if !self.is_version_13() {
            return Err(HandshakeError::UnsupportedVersion);
        }
        self.check_offers()
    }

    /// Step 6: exactly one version, and it is 13.
    fn is_version_13(&self) -> bool {
        let mut versions = self
            .headers
            .get_all_bytes("Sec-WebSocket-Version")
            .flat_map(list_items);
        matches!((versions.next(), versions.next()), (Some(b"13"), None))
    }

    /// Steps 8 and 9 (the grammar of RFC 6455 §4.3 and §9.1): well-formed
    /// offers, the extensions parsed; the request is then a WebSocket one.
    fn check_offers(mut self) -> Result<Request, HandshakeError> {
        for value in self.headers.get_all_bytes("Sec-WebSocket-Protocol") {
            let tokens = core::str::from_utf8(value)
                .is_ok_and(|value| value.split(',').map(str::trim).all(is_token));
            if !tokens {
                return Err(HandshakeError::MalformedHeader("Sec-WebSocket-Protocol"));
            }
        }
        let mut extensions = Vec::new();
        for value in self.headers.get_all_bytes("Sec-WebSocket-Extensions") {
            let value = core::str::from_utf8(value)
                .map_err(|_| HandshakeError::MalformedHeader("Sec-WebSocket-Extensions"))?;
            extensions.extend(Extension::parse_list(value)?);
        }
        self.extensions = extensions;
        self.websocket = true;
        Ok(self)
    }
}

/// Whether `headers` has exactly one field `name` and its value passes `check`.
fn exactly_one(headers: &Headers, name: &str, check: impl Fn(&[u8]) -> bool) -> bool {
    let mut values = headers.get_all_bytes(name);
    matches!((values.next(), values.next()), (Some(value), None) if check(value))
}

fn invalid_field(name: &str) -> HandshakeError {
    HandshakeError::InvalidHeader {
        name: String::from(name),
        reason: "not an extension list",
    }
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX`
/// a byte; malformed escapes stay as written and invalid UTF-8 is replaced.
fn form_decode(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                let escaped = bytes
                    .get(i + 1..i + 3)
                    .and_then(|pair| Some(hex(pair[0])? * 16 + hex(pair[1])?));
                match escaped {
                    Some(byte) => {
                        out.push(byte as u8);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests;
