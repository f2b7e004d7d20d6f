//! The server half: read and judge the request, answer it (RFC 6455 §4.2).

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::accept_key::{accept_key, is_valid_key};
use super::{
    Deadline, Extension, HandshakeError, HeadBuffer, Headers, check_field, is_token, list_items,
    parse_error, write_field, write_response, write_status_line,
};
use crate::config::{Config, Role};
use crate::connection::Connection;
use crate::entropy::{BoxedEntropy, Entropy};

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
    config: Config,
    head: HeadBuffer,
    deadline: Deadline,
    finished: bool,
}

impl ServerHandshake {
    /// Starts waiting for a request at `now`, with `config`'s header limits
    /// and handshake deadline. The config is handed on to the [`Request`] and,
    /// unless [`Accept::config`] replaces it, to the connection.
    pub fn new(config: Config, now: Duration) -> Self {
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
            let mut fields = vec![httparse::EMPTY_HEADER; self.config.max_headers];
            let mut parsed = httparse::Request::new(&mut fields);
            match parsed.parse(&self.head.bytes[..end]).map_err(parse_error)? {
                httparse::Status::Complete(len) => {
                    break Request {
                        method: String::from(parsed.method.unwrap_or_default()),
                        target: String::from(parsed.path.unwrap_or_default()),
                        minor_version: parsed.version.unwrap_or_default(),
                        headers: Headers::from_parsed(parsed.headers),
                        extensions: Vec::new(),
                        trailing: self.head.bytes[len..].to_vec(),
                        config: self.config.clone(),
                        websocket: false,
                    };
                }
                // Blank lines before the request line; look further.
                httparse::Status::Partial => continue,
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
    config: Config,
    websocket: bool,
}

impl Request {
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
    pub fn accept(&self, accept: Accept) -> Result<(Vec<u8>, Connection), HandshakeError> {
        let key = match self.key() {
            Some(key) if self.websocket => key,
            _ => return Err(HandshakeError::NotWebSocket(Box::new(self.clone()))),
        };
        if let Some(protocol) = &accept.protocol {
            if !self.protocols().any(|offered| offered == protocol) {
                return Err(HandshakeError::NotOffered(protocol.clone()));
            }
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

        // RFC 6455 §4.2.2 step 5.
        let mut response = Vec::with_capacity(160);
        write_status_line(&mut response, 101);
        write_field(&mut response, "Upgrade", "websocket");
        write_field(&mut response, "Connection", "Upgrade");
        write_field(
            &mut response,
            "Sec-WebSocket-Accept",
            &accept_key(key.as_bytes()),
        );
        if let Some(protocol) = &accept.protocol {
            write_field(&mut response, "Sec-WebSocket-Protocol", protocol);
        }
        if !accept.extensions.is_empty() {
            write_field(
                &mut response,
                "Sec-WebSocket-Extensions",
                &accept.extensions.join(", "),
            );
        }
        for (name, value) in &accept.headers {
            write_field(&mut response, name, value);
        }
        response.extend_from_slice(b"\r\n");

        let config = accept.config.unwrap_or_else(|| self.config.clone());
        let entropy = accept.entropy.unwrap_or_else(|| Box::new(ServerNeverMasks));
        let mut connection = Connection::with_entropy(Role::Server, config, accept.now, entropy);
        if !self.trailing.is_empty() {
            connection.receive(&self.trailing);
        }
        Ok((response, connection))
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
    fn validate(mut self) -> Result<Request, HandshakeError> {
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
        // Step 6: exactly one version, and it is 13.
        let version_is_13 = {
            let mut versions = self
                .headers
                .get_all_bytes("Sec-WebSocket-Version")
                .flat_map(list_items);
            matches!((versions.next(), versions.next()), (Some(b"13"), None))
        };
        if !version_is_13 {
            return Err(HandshakeError::UnsupportedVersion);
        }
        // Step 5 and §11.3.1: one field, 16 bytes once decoded.
        if !exactly_one(&self.headers, "Sec-WebSocket-Key", is_valid_key) {
            return Err(HandshakeError::InvalidKey);
        }
        // Steps 8 and 9 (the grammar of §4.3 and §9.1).
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
    entropy: Option<BoxedEntropy>,
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
            entropy: None,
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

    /// Gives the connection a random source.
    ///
    /// A server never masks its frames (RFC 6455 §5.1), so by default the
    /// connection gets a source that yields zeros: nothing is seeded from the
    /// operating system per connection, and `no_std` servers need no
    /// generator. Pass one here if the connection should draw randomness for
    /// something else.
    pub fn entropy(mut self, entropy: BoxedEntropy) -> Self {
        self.entropy = Some(entropy);
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

/// The default random source of a server connection: servers never mask
/// (RFC 6455 §5.1), so it is never needed for that; it yields zeros.
struct ServerNeverMasks;

impl Entropy for ServerNeverMasks {
    fn fill(&mut self, dest: &mut [u8]) {
        dest.fill(0);
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
