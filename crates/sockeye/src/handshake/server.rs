//! The server half: read and judge the request, answer it (RFC 6455 §4.2).

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use super::accept_key::{accept_key, is_valid_key};
use super::headers::with_header_slots;
use super::{
    Deadline, Extension, HandshakeError, HeadBuffer, Headers, check_field, is_token, list_items,
    parse_error, write_field, write_response, write_status_line,
};
use crate::config::{Config, SharedConfig};
use crate::connection::Connection;

/// Fields a 101 response gets from the handshake, not from [`Accept::header`].
const ACCEPT_OWNED_FIELDS: &[&str] = &[
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Sec-WebSocket-Version",
    "Content-Length",
    "Transfer-Encoding",
];

/// Fields a plain response gets from [`Request::reject`] itself.
const REJECT_OWNED_FIELDS: &[&str] = &["Content-Length", "Transfer-Encoding", "Connection"];

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
            deadline: Deadline::start(now, config.settings().handshake_timeout()),
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
            let Some(end) = self
                .head
                .next_end(self.config.settings().max_header_bytes)?
            else {
                return Ok(None);
            };
            let bytes = &self.head.bytes;
            let parsed = with_header_slots(self.config.settings().max_headers, |fields| {
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

    /// Accepts the upgrade: the `101 Switching Protocols` response to write,
    /// and the server connection, already fed with the
    /// [trailing](Self::trailing) bytes.
    ///
    /// # Errors
    ///
    /// * [`HandshakeError::NotOffered`] when `accept` selects a subprotocol or
    ///   extension the client did not offer.
    /// * [`HandshakeError::InvalidHeader`] for an extra field that is not
    ///   allowed (see [`Accept::header`]).
    /// * [`HandshakeError::NotWebSocket`] for a plain HTTP request.
    ///
    /// With `Config::deflate` (feature `deflate`) set (in the
    /// handshake's config, or the one given to [`Accept::config`]) and no
    /// permessage-deflate selected by `accept` itself, the first
    /// permessage-deflate offer the server can honour is accepted (RFC 7692
    /// §7.1) and the connection compresses with it.
    pub fn accept(&self, accept: Accept) -> Result<(Vec<u8>, Connection), HandshakeError> {
        self.answer_bytes(accept)
            .map(|(response, answer)| (response, answer.connection))
    }

    /// [`accept`](Self::accept), also saying what was selected.
    pub(crate) fn answer_bytes(&self, accept: Accept) -> Result<(Vec<u8>, Answer), HandshakeError> {
        let mut response = Vec::with_capacity(160);
        write_status_line(&mut response, self.upgrade.status());
        let answer = self.answer(accept, |name, value| {
            write_field(&mut response, name, value);
        })?;
        response.extend_from_slice(b"\r\n");
        Ok((response, answer))
    }

    /// [`accept_head`](Self::accept_head), also saying what was selected.
    pub(crate) fn answer_head(
        &self,
        accept: Accept,
    ) -> Result<(ResponseHead, Answer), HandshakeError> {
        let mut headers = Vec::new();
        let answer = self.answer(accept, |name, value| {
            headers.push((String::from(name), String::from(value)));
        })?;
        let head = ResponseHead {
            status: self.upgrade.status(),
            headers,
        };
        Ok((head, answer))
    }

    /// As [`accept`](Self::accept), for an HTTP layer that writes the
    /// response itself (a request from [`from_http1`](Self::from_http1) or
    /// [`from_extended_connect`](Self::from_extended_connect)): the status
    /// and fields instead of the bytes.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    pub fn accept_head(
        &self,
        accept: Accept,
    ) -> Result<(ResponseHead, Connection), HandshakeError> {
        self.answer_head(accept)
            .map(|(head, answer)| (head, answer.connection))
    }

    /// The subprotocol to select from `supported`: the first one in the
    /// client's order of preference that the server supports, or `None`.
    ///
    /// RFC 6455 §4.2.2 leaves the choice to the server; sockeye honours the
    /// client's order, so that a client listing a newer protocol first gets
    /// it from every server that speaks it. Every sockeye server (the
    /// adapters' policies, the C ABI) chooses with this function.
    ///
    /// ```
    /// use core::time::Duration;
    /// use sockeye::Config;
    /// use sockeye::handshake::ServerHandshake;
    ///
    /// let mut handshake = ServerHandshake::new(Config::default(), Duration::ZERO);
    /// let request = handshake
    ///     .receive(
    ///         b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///           Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
    ///           Sec-WebSocket-Protocol: chat.v2, chat.v1\r\n\r\n",
    ///     )?
    ///     .unwrap();
    /// assert_eq!(request.select_protocol(&["chat.v1", "chat.v2"]), Some("chat.v2"));
    /// assert_eq!(request.select_protocol(&["mqtt"]), None);
    /// # Ok::<(), sockeye::handshake::HandshakeError>(())
    /// ```
    pub fn select_protocol<S: AsRef<str>>(&self, supported: &[S]) -> Option<&str> {
        self.protocols()
            .find(|offered| supported.iter().any(|ours| ours.as_ref() == *offered))
    }

    /// Checks `accept` against the request and hands the accepting
    /// response's fields to `field`, in order; returns the connection and
    /// what was selected.
    pub(crate) fn answer(
        &self,
        mut accept: Accept,
        mut field: impl FnMut(&str, &str),
    ) -> Result<Answer, HandshakeError> {
        if !self.websocket {
            return Err(HandshakeError::NotWebSocket(Box::new(self.clone())));
        }
        let key = match self.upgrade {
            Upgrade::Http1 => self.key(),
            Upgrade::ExtendedConnect => None,
        };
        if let Some(protocol) = &accept.protocol
            && !self.protocols().any(|offered| offered == protocol)
        {
            return Err(HandshakeError::NotOffered(protocol.clone()));
        }
        for selected in &accept.extensions {
            let list = Extension::parse_list(selected)
                .map_err(|_| invalid_field("Sec-WebSocket-Extensions"))?;
            for extension in list {
                let offered = self
                    .extensions
                    .iter()
                    .any(|e| e.name().eq_ignore_ascii_case(extension.name()));
                if !offered {
                    return Err(HandshakeError::NotOffered(String::from(extension.name())));
                }
            }
        }
        for (name, value) in &accept.headers {
            check_field(name, value, ACCEPT_OWNED_FIELDS)?;
        }
        let config = accept
            .config
            .take()
            .map_or_else(|| self.config.clone(), SharedConfig::from);
        #[cfg(feature = "deflate")]
        let (accept, deflate) = self.negotiate_deflate(accept, &config);

        // RFC 6455 §4.2.2 step 5; an extended CONNECT has no upgrade fields
        // and no accept value (RFC 8441 §5).
        if let Some(key) = key {
            field("Upgrade", "websocket");
            field("Connection", "Upgrade");
            field("Sec-WebSocket-Accept", &accept_key(key.as_bytes()));
        }
        if let Some(protocol) = &accept.protocol {
            field("Sec-WebSocket-Protocol", protocol);
        }
        if !accept.extensions.is_empty() {
            field("Sec-WebSocket-Extensions", &accept.extensions.join(", "));
        }
        for (name, value) in &accept.headers {
            field(name, value);
        }

        let mut connection = Connection::server(config, accept.now);
        #[cfg(feature = "deflate")]
        if let Some(params) = deflate {
            connection.enable_deflate(params);
        }
        if !self.trailing.is_empty() {
            connection.receive(&self.trailing);
        }
        Ok(Answer {
            connection,
            protocol: accept.protocol,
            extensions: accept.extensions,
        })
    }

    /// Adds the permessage-deflate response to `accept` when `config` asks
    /// for the extension and an offer can be honoured.
    #[cfg(feature = "deflate")]
    fn negotiate_deflate(
        &self,
        mut accept: Accept,
        config: &SharedConfig,
    ) -> (Accept, Option<crate::deflate::DeflateParams>) {
        use crate::deflate::EXTENSION_NAME;
        let Some(deflate) = &config.settings().deflate else {
            return (accept, None);
        };
        let selected_by_caller = accept.extensions.iter().any(|selected| {
            Extension::parse_list(selected).is_ok_and(|list| {
                list.iter()
                    .any(|e| e.name().eq_ignore_ascii_case(EXTENSION_NAME))
            })
        });
        if selected_by_caller {
            return (accept, None);
        }
        match crate::deflate::select(deflate, &self.extensions) {
            Some((response, params)) => {
                accept.extensions.push(response);
                (accept, Some(params))
            }
            None => (accept, None),
        }
    }

    /// A plain HTTP/1.1 response to this request, such as a 401, a 403 for a
    /// foreign origin, or a page for a request that was not an upgrade. It
    /// carries `Content-Length` and `Connection: close`; close the transport
    /// after writing it.
    ///
    /// # Errors
    ///
    /// * [`HandshakeError::InvalidStatus`] for a status outside 200–599.
    /// * [`HandshakeError::InvalidHeader`] for a field that is not a token,
    ///   holds CR, LF or NUL, or is `Content-Length`, `Transfer-Encoding` or
    ///   `Connection`.
    pub fn reject(
        &self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Vec<u8>, HandshakeError> {
        if !(200..=599).contains(&status) {
            return Err(HandshakeError::InvalidStatus(status));
        }
        for (name, value) in headers {
            check_field(name, value, REJECT_OWNED_FIELDS)?;
        }
        Ok(write_response(status, headers, "close", body))
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

/// What [`Request::answer`] produced: the connection, and the subprotocol
/// and extensions it selected.
pub(crate) struct Answer {
    pub(crate) connection: Connection,
    pub(crate) protocol: Option<String>,
    /// As written in the response, one list per `Accept::extension` call.
    pub(crate) extensions: Vec<String>,
}

/// How to accept an upgrade request: the time, the selected subprotocol and
/// extensions, extra response fields, and optionally another config or a
/// random source for the connection.
///
/// ```
/// use core::time::Duration;
/// use sockeye::handshake::Accept;
///
/// let accept = Accept::new(Duration::from_secs(3))
///     .protocol("chat.v1")
///     .header("Set-Cookie", "session=abc; HttpOnly");
/// # let _ = accept;
/// ```
pub struct Accept {
    now: Duration,
    protocol: Option<String>,
    extensions: Vec<String>,
    headers: Vec<(String, String)>,
    config: Option<Config>,
}

impl Accept {
    /// Accepts at `now`, selecting no subprotocol and no extension.
    pub fn new(now: Duration) -> Self {
        Self {
            now,
            protocol: None,
            extensions: Vec::new(),
            headers: Vec::new(),
            config: None,
        }
    }

    /// Selects a subprotocol; it must be one the client offered (checked by
    /// [`Request::accept`]).
    pub fn protocol(mut self, protocol: &str) -> Self {
        self.protocol = Some(String::from(protocol));
        self
    }

    /// Selects an extension, written as on the wire with the parameters the
    /// server answers with; its name must be one the client offered (checked
    /// by [`Request::accept`]). Call again for more, in the order they apply.
    pub fn extension(mut self, extension: &str) -> Self {
        self.extensions.push(String::from(extension.trim()));
        self
    }

    /// Adds a response field such as `Set-Cookie`. [`Request::accept`]
    /// refuses names that are not tokens, values with CR, LF or NUL, and the
    /// fields the handshake writes itself (`Upgrade`, `Connection`,
    /// `Sec-WebSocket-*`, `Content-Length`, `Transfer-Encoding`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((String::from(name), String::from(value)));
        self
    }

    /// Uses `config` for the connection instead of the handshake's.
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }
}

impl core::fmt::Debug for Accept {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Accept")
            .field("now", &self.now)
            .field("protocol", &self.protocol)
            .field("extensions", &self.extensions)
            .field("headers", &self.headers)
            .field("config", &self.config)
            .finish_non_exhaustive()
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
mod tests {
    use super::*;
    use crate::handshake::tests::contains;
    use alloc::vec;
    use proptest::prelude::*;

    /// The client's request of RFC 6455 §1.2 (with the key of §1.3).
    const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    /// What Chrome sends for `new WebSocket("ws://localhost:8080/socket?token=a%20b")`.
    const CHROME_REQUEST: &[u8] = b"GET /socket?token=a%20b HTTP/1.1\r\n\
        Host: localhost:8080\r\n\
        Connection: Upgrade\r\n\
        Pragma: no-cache\r\n\
        Cache-Control: no-cache\r\n\
        User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\n\
        Upgrade: websocket\r\n\
        Origin: http://localhost:8080\r\n\
        Sec-WebSocket-Version: 13\r\n\
        Accept-Encoding: gzip, deflate, br, zstd\r\n\
        Accept-Language: en-US,en;q=0.9\r\n\
        Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\
        Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

    /// What Firefox sends for the same page.
    const FIREFOX_REQUEST: &[u8] = b"GET /socket HTTP/1.1\r\n\
        Host: localhost:8080\r\n\
        User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0\r\n\
        Accept: */*\r\n\
        Accept-Language: en-US,en;q=0.5\r\n\
        Accept-Encoding: gzip, deflate, br, zstd\r\n\
        Sec-WebSocket-Version: 13\r\n\
        Origin: http://localhost:8080\r\n\
        Sec-WebSocket-Extensions: permessage-deflate\r\n\
        Sec-WebSocket-Key: Q1hbZGrDGmWl6cZb4BsnHQ==\r\n\
        Connection: keep-alive, Upgrade\r\n\
        Sec-Fetch-Dest: empty\r\n\
        Sec-Fetch-Mode: websocket\r\n\
        Sec-Fetch-Site: same-origin\r\n\
        Pragma: no-cache\r\n\
        Cache-Control: no-cache\r\n\
        Upgrade: websocket\r\n\r\n";

    fn receive_all(bytes: &[u8]) -> Result<Option<Request>, HandshakeError> {
        ServerHandshake::new(Config::default(), Duration::ZERO).receive(bytes)
    }

    fn status_of(response: &[u8]) -> &str {
        core::str::from_utf8(&response[9..12]).unwrap()
    }

    #[test]
    fn accepts_rfc_6455_example_with_its_accept_key() {
        let request = receive_all(RFC_REQUEST).unwrap().unwrap();
        assert_eq!(request.path(), "/chat");
        assert_eq!(request.origin(), Some("http://example.com"));
        assert_eq!(
            request.protocols().collect::<Vec<_>>(),
            ["chat", "superchat"]
        );
        let (response, connection) = request
            .accept(Accept::new(Duration::ZERO).protocol("chat"))
            .unwrap();
        assert_eq!(
            response,
            b"HTTP/1.1 101 Switching Protocols\r\n\
              Upgrade: websocket\r\n\
              Connection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
              Sec-WebSocket-Protocol: chat\r\n\r\n"
        );
        assert_eq!(connection.role(), crate::Role::Server);
    }

    #[test]
    fn accepts_chrome_request() {
        let request = receive_all(CHROME_REQUEST).unwrap().unwrap();
        assert_eq!(request.path(), "/socket");
        assert_eq!(request.query("token").as_deref(), Some("a b"));
        assert_eq!(request.key(), Some("x3JJHMbDL1EzLkh9GBhXDw=="));
        assert_eq!(request.extensions().len(), 1);
        assert_eq!(request.extensions()[0].name(), "permessage-deflate");
        assert_eq!(
            request.extensions()[0].param("client_max_window_bits"),
            Some(None)
        );
        assert!(request.accept(Accept::new(Duration::ZERO)).is_ok());
    }

    #[test]
    fn accepts_firefox_request_with_keep_alive_in_connection() {
        let request = receive_all(FIREFOX_REQUEST).unwrap().unwrap();
        assert_eq!(
            request.headers().get("connection"),
            Some("keep-alive, Upgrade")
        );
        assert_eq!(request.origin(), Some("http://localhost:8080"));
        let (response, _) = request
            .accept(Accept::new(Duration::ZERO).extension("permessage-deflate"))
            .unwrap();
        assert!(contains(
            &response,
            b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"
        ));
    }

    /// Replaces the first field named `name` in the RFC example (or removes it
    /// when `value` is `None`), and the request line when `name` is empty.
    fn rfc_request_with(name: &str, value: Option<&str>) -> Vec<u8> {
        let text = core::str::from_utf8(RFC_REQUEST).unwrap();
        let mut out = String::new();
        for (index, line) in text.split_inclusive("\r\n").enumerate() {
            let field = line.split(':').next().unwrap();
            let replaced = if index == 0 {
                name.is_empty()
            } else {
                field == name
            };
            if replaced {
                if let Some(value) = value {
                    if name.is_empty() {
                        out.push_str(value);
                    } else {
                        out.push_str(&alloc::format!("{name}: {value}\r\n"));
                    }
                }
            } else {
                out.push_str(line);
            }
        }
        out.into_bytes()
    }

    #[test]
    fn each_failed_check_answers_with_its_status() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("", Some("POST /chat HTTP/1.1\r\n"), "405"),
            ("", Some("GET /chat HTTP/1.0\r\n"), "505"),
            ("", Some("GET /chat HTTP/2.0\r\n"), "400"),
            ("", Some("GET /chat\r\n"), "400"),
            ("Host", None, "400"),
            ("Host", Some(""), "400"),
            ("Upgrade", None, "426"),
            ("Upgrade", Some("h2c"), "426"),
            ("Connection", None, "426"),
            ("Connection", Some("keep-alive"), "426"),
            ("Sec-WebSocket-Key", None, "400"),
            ("Sec-WebSocket-Key", Some("dGhlIHNhbXBsZSBub25jZQ"), "400"),
            ("Sec-WebSocket-Key", Some("AAAAAAAAAAAAAAAAAAAAAAA="), "400"),
            ("Sec-WebSocket-Version", None, "426"),
            ("Sec-WebSocket-Version", Some("8"), "426"),
            ("Sec-WebSocket-Version", Some("13, 8"), "426"),
            ("Sec-WebSocket-Protocol", Some("chat, super chat"), "400"),
            ("Origin", Some("http://a\x01b"), "400"),
        ];
        for (name, value, status) in cases {
            let bytes = rfc_request_with(name, *value);
            let error = receive_all(&bytes).expect_err(&alloc::format!("{name}: {value:?}"));
            let response = error.response().expect("a server-side error");
            assert_eq!(
                status_of(&response),
                *status,
                "{name}: {value:?} gave {error:?}"
            );
        }
    }

    #[test]
    fn repeated_key_or_host_is_refused() {
        let twice = |name: &str, value: &str| {
            let mut bytes = RFC_REQUEST[..RFC_REQUEST.len() - 2].to_vec();
            bytes.extend_from_slice(alloc::format!("{name}: {value}\r\n\r\n").as_bytes());
            receive_all(&bytes).unwrap_err()
        };
        assert_eq!(
            twice("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            HandshakeError::InvalidKey
        );
        assert_eq!(twice("Host", "other.example"), HandshakeError::MissingHost);
        assert_eq!(
            twice("Sec-WebSocket-Extensions", "a; b=\"c d\""),
            HandshakeError::MalformedHeader("Sec-WebSocket-Extensions")
        );
    }

    #[test]
    fn plain_request_is_kept_for_the_application_to_answer() {
        let error =
            receive_all(b"GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n").unwrap_err();
        let HandshakeError::NotWebSocket(request) = &error else {
            panic!("{error:?}");
        };
        assert!(!request.is_websocket());
        assert_eq!(request.path(), "/index.html");
        assert_eq!(request.query("x").as_deref(), Some("1"));
        let page = request
            .reject(200, &[("Content-Type", "text/html")], b"<p>hi</p>")
            .unwrap();
        assert_eq!(
            page,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\
              Connection: close\r\n\r\n<p>hi</p>"
        );
        assert!(matches!(
            request.accept(Accept::new(Duration::ZERO)),
            Err(HandshakeError::NotWebSocket(_))
        ));
        assert_eq!(status_of(&error.response().unwrap()), "426");
    }

    #[test]
    fn reject_validates_status_and_fields() {
        let request = receive_all(RFC_REQUEST).unwrap().unwrap();
        let forbidden = request.reject(403, &[], b"").unwrap();
        assert!(forbidden.starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
        assert_eq!(
            request.reject(101, &[], b""),
            Err(HandshakeError::InvalidStatus(101))
        );
        assert!(matches!(
            request.reject(401, &[("WWW-Authenticate", "Basic\r\nX: y")], b""),
            Err(HandshakeError::InvalidHeader { .. })
        ));
        assert!(matches!(
            request.reject(401, &[("Content-Length", "0")], b""),
            Err(HandshakeError::InvalidHeader { .. })
        ));
    }

    #[test]
    fn accept_refuses_unoffered_choices_and_forged_fields() {
        let request = receive_all(RFC_REQUEST).unwrap().unwrap();
        let now = Duration::ZERO;
        assert!(matches!(
            request.accept(Accept::new(now).protocol("other")),
            Err(HandshakeError::NotOffered(p)) if p == "other"
        ));
        assert!(matches!(
            request.accept(Accept::new(now).extension("permessage-deflate")),
            Err(HandshakeError::NotOffered(e)) if e == "permessage-deflate"
        ));
        assert!(matches!(
            request.accept(Accept::new(now).header("Set-Cookie", "a=b\r\nX: 1")),
            Err(HandshakeError::InvalidHeader { .. })
        ));
        assert!(matches!(
            request.accept(Accept::new(now).header("sec-websocket-accept", "x")),
            Err(HandshakeError::InvalidHeader { .. })
        ));
        let (response, _) = request
            .accept(Accept::new(now).header("Set-Cookie", "session=1"))
            .unwrap();
        assert!(response.ends_with(b"\r\nSet-Cookie: session=1\r\n\r\n"));
    }

    #[test]
    fn trailing_bytes_after_the_header_block_are_kept() {
        let mut bytes = RFC_REQUEST.to_vec();
        // A masked text frame "Hi" sent right behind the request.
        let frame = [0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2];
        bytes.extend_from_slice(&frame);
        let mut server = ServerHandshake::new(Config::default(), Duration::ZERO);
        let request = server.receive(&bytes).unwrap().unwrap();
        assert_eq!(request.trailing(), frame);
        assert!(request.accept(Accept::new(Duration::ZERO)).is_ok());
    }

    #[test]
    fn huge_header_block_fails_early_with_bounded_buffering() {
        const READ: usize = 4096;
        let config = Config::default();
        let limit = config.max_header_bytes;
        let mut server = ServerHandshake::new(config, Duration::ZERO);
        let mut huge = b"GET / HTTP/1.1\r\n".to_vec();
        while huge.len() < 1 << 20 {
            huge.extend_from_slice(
                b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
            );
        }
        let mut fed = 0;
        let error = loop {
            let chunk = &huge[fed..fed + READ];
            fed += READ;
            match server.receive(chunk) {
                Ok(None) => assert!(server.buffered() <= limit + READ),
                Ok(Some(_)) => panic!("accepted a 1 MiB header block"),
                Err(error) => break error,
            }
        };
        assert_eq!(error, HandshakeError::TooLarge);
        assert!(fed <= limit + READ, "read {fed} bytes before failing");
        assert_eq!(server.buffered(), 0);
        assert_eq!(server.receive(b"x"), Err(HandshakeError::Finished));
    }

    #[test]
    fn header_count_limit_is_enforced() {
        let config = Config {
            max_headers: 4,
            ..Config::default()
        };
        let mut server = ServerHandshake::new(config, Duration::ZERO);
        let error = server.receive(RFC_REQUEST).unwrap_err();
        assert_eq!(error, HandshakeError::TooManyHeaders);
        assert_eq!(status_of(&error.response().unwrap()), "431");
    }

    #[test]
    fn handshake_times_out_at_the_deadline_only() {
        let config = Config {
            handshake_timeout: Some(Duration::from_secs(10)),
            ..Config::default()
        };
        let mut server = ServerHandshake::new(config, Duration::from_secs(100));
        assert_eq!(server.poll_timeout(), Some(Duration::from_secs(110)));
        assert_eq!(server.handle_timeout(Duration::from_secs(105)), Ok(()));
        assert_eq!(server.receive(&RFC_REQUEST[..10]), Ok(None));
        assert_eq!(
            server.handle_timeout(Duration::from_secs(110)),
            Err(HandshakeError::Timeout)
        );
        assert_eq!(server.poll_timeout(), None);
        assert_eq!(
            server.receive(&RFC_REQUEST[10..]),
            Err(HandshakeError::Finished)
        );
    }

    #[test]
    fn query_decoding_handles_plus_percent_and_bad_escapes() {
        let mut bytes = b"GET /a/b?q=x+y%2Bz&empty&bad=%zz%4&utf=%C3%A9 HTTP/1.1\r\n".to_vec();
        bytes.extend_from_slice(
            &RFC_REQUEST[RFC_REQUEST.iter().position(|&b| b == b'\n').unwrap() + 1..],
        );
        let request = receive_all(&bytes).unwrap().unwrap();
        assert_eq!(request.path(), "/a/b");
        assert_eq!(
            request.raw_query(),
            Some("q=x+y%2Bz&empty&bad=%zz%4&utf=%C3%A9")
        );
        assert_eq!(request.query("q").as_deref(), Some("x y+z"));
        assert_eq!(request.query("empty").as_deref(), Some(""));
        assert_eq!(request.query("bad").as_deref(), Some("%zz%4"));
        assert_eq!(request.query("utf").as_deref(), Some("é"));
        assert_eq!(request.query("missing"), None);
        assert_eq!(request.query_pairs().count(), 4);
    }

    #[test]
    fn absolute_form_target_yields_its_path() {
        let bytes = rfc_request_with(
            "",
            Some("GET ws://server.example.com/chat?a=1 HTTP/1.1\r\n"),
        );
        let request = receive_all(&bytes).unwrap().unwrap();
        assert_eq!(request.path(), "/chat");
        assert_eq!(request.query("a").as_deref(), Some("1"));
    }

    #[test]
    fn leading_blank_lines_are_skipped() {
        let mut bytes = b"\r\n".to_vec();
        bytes.extend_from_slice(RFC_REQUEST);
        assert!(receive_all(&bytes).unwrap().is_some());
    }

    /// Feeds `pieces` one by one. Pieces left over once the handshake ended
    /// are what the caller would hand to the connection next, so they are
    /// appended to the request's trailing bytes to compare with one call.
    fn receive_in_pieces(
        pieces: impl IntoIterator<Item = Vec<u8>>,
    ) -> Result<Option<Request>, HandshakeError> {
        let mut server = ServerHandshake::new(Config::default(), Duration::ZERO);
        let mut pieces = pieces.into_iter();
        for piece in pieces.by_ref() {
            match server.receive(&piece) {
                Ok(None) => {}
                Ok(Some(mut request)) => {
                    pieces.for_each(|rest| request.trailing.extend_from_slice(&rest));
                    return Ok(Some(request));
                }
                Err(error) => return Err(error),
            }
        }
        Ok(None)
    }

    fn sample_requests() -> Vec<Vec<u8>> {
        let mut with_frame = CHROME_REQUEST.to_vec();
        with_frame.extend_from_slice(&[0x81, 0x80, 0, 0, 0, 0]);
        vec![
            RFC_REQUEST.to_vec(),
            with_frame,
            FIREFOX_REQUEST.to_vec(),
            rfc_request_with("Sec-WebSocket-Version", Some("8")),
            rfc_request_with("", Some("POST /chat HTTP/1.1\r\n")),
            rfc_request_with("Upgrade", None),
            b"GET / HTTP/1.1\r\nHost\r\n\r\n".to_vec(),
        ]
    }

    #[test]
    fn one_byte_at_a_time_gives_the_same_result() {
        for bytes in sample_requests() {
            let whole = receive_all(&bytes);
            let bytewise = receive_in_pieces(bytes.iter().map(|&b| vec![b]));
            assert_eq!(whole, bytewise);
        }
    }

    proptest! {
        #[test]
        fn any_split_in_two_gives_the_same_result(which in 0usize..7, split in any::<prop::sample::Index>()) {
            let bytes = &sample_requests()[which];
            let at = split.index(bytes.len() + 1);
            let whole = receive_all(bytes);
            let split = receive_in_pieces([bytes[..at].to_vec(), bytes[at..].to_vec()]);
            prop_assert_eq!(whole, split);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = receive_all(&bytes);
        }
    }
}
