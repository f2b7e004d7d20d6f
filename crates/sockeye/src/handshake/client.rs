//! The client half: write the request, validate the response (RFC 6455 §4.1).

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use super::accept_key::{accept_key, generate_key};
use super::headers::with_header_slots;
use super::{
    Deadline, Extension, HandshakeError, HeadBuffer, Headers, WEBSOCKET_VERSION, check_field,
    is_token, parse_error, write_field,
};
use crate::config::{Role, SharedConfig};
use crate::connection::Connection;
use crate::entropy::BoxedEntropy;

/// Fields a client request gets from the handshake, not from
/// [`ClientRequest::header`].
const CLIENT_OWNED_FIELDS: &[&str] = &[
    "Host",
    "Upgrade",
    "Connection",
    "Origin",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Sec-WebSocket-Accept",
    "Content-Length",
    "Transfer-Encoding",
];

/// What a client asks for: where, from which origin, with which subprotocols,
/// extensions and extra fields.
///
/// Every setter checks its input, so a request that was built can always be
/// written out without forging or duplicating fields.
///
/// ```
/// use sockeye::handshake::ClientRequest;
///
/// let request = ClientRequest::new("example.com", "/feed?since=42")?
///     .origin("https://example.com")?
///     .protocol("feed.v1")?
///     .extension("permessage-deflate; client_max_window_bits")?
///     .header("Authorization", "Bearer abc")?;
/// assert_eq!(request.protocols(), ["feed.v1"]);
/// assert!(request.header("Sec-WebSocket-Key", "x").is_err());
/// # Ok::<(), sockeye::handshake::HandshakeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRequest {
    host: String,
    target: String,
    origin: Option<String>,
    protocols: Vec<String>,
    extensions: Vec<String>,
    headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// A request for `path_and_query` (like `/chat?room=1`) on `host_with_port`
    /// (the `Host` field, like `example.com` or `example.com:8080`).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidHeader`] when the host is empty or holds
    /// whitespace or control characters, or the path does not start with `/`
    /// or holds whitespace or control characters.
    pub fn new(host_with_port: &str, path_and_query: &str) -> Result<Self, HandshakeError> {
        let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() || b >= 0x80);
        if !plain(host_with_port) {
            return Err(invalid("Host", "empty or holds whitespace or controls"));
        }
        if !plain(path_and_query) || !path_and_query.starts_with('/') {
            return Err(invalid(
                "path",
                "must start with '/' and hold no whitespace or controls",
            ));
        }
        Ok(Self {
            host: String::from(host_with_port),
            target: String::from(path_and_query),
            origin: None,
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
        })
    }

    /// Sets the `Origin` field (RFC 6455 §4.1 step 8; browsers always send it).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidHeader`] when the value holds CR, LF or NUL.
    pub fn origin(mut self, origin: &str) -> Result<Self, HandshakeError> {
        check_field("Origin", origin, &[])?;
        self.origin = Some(String::from(origin));
        Ok(self)
    }

    /// Offers a subprotocol; call again to offer more, most preferred first
    /// (RFC 6455 §4.1 step 10).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidHeader`] when `protocol` is not an HTTP token
    /// or was already offered.
    pub fn protocol(mut self, protocol: &str) -> Result<Self, HandshakeError> {
        if !is_token(protocol) {
            return Err(invalid("Sec-WebSocket-Protocol", "not an HTTP token"));
        }
        if self.protocols.iter().any(|p| p == protocol) {
            return Err(invalid("Sec-WebSocket-Protocol", "offered twice"));
        }
        self.protocols.push(String::from(protocol));
        Ok(self)
    }

    /// Offers an extension, written as on the wire, such as
    /// `permessage-deflate; client_max_window_bits`; call again to offer more
    /// (RFC 6455 §9.1).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidHeader`] when `offer` does not follow the
    /// `extension-list` grammar.
    pub fn extension(mut self, offer: &str) -> Result<Self, HandshakeError> {
        Extension::parse_list(offer)
            .map_err(|_| invalid("Sec-WebSocket-Extensions", "not an extension list"))?;
        self.extensions.push(String::from(offer.trim()));
        Ok(self)
    }

    /// Adds an extra field, such as `Authorization` or `Cookie` (RFC 6455 §4.1
    /// step 12).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidHeader`] when the name is not a token, the
    /// value holds CR, LF or NUL, or the field is one the handshake writes
    /// itself (`Host`, `Upgrade`, `Connection`, `Origin`, `Sec-WebSocket-*`,
    /// `Content-Length`, `Transfer-Encoding`).
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, HandshakeError> {
        check_field(name, value, CLIENT_OWNED_FIELDS)?;
        self.headers.push((String::from(name), String::from(value)));
        Ok(self)
    }

    /// The `Host` field.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The request target: path and query.
    pub fn path_and_query(&self) -> &str {
        &self.target
    }

    /// The `Origin` field, if set.
    pub fn origin_value(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The offered subprotocols, most preferred first.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The offered extensions, as written.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The extra fields, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The HTTP/1.1 request with `key` as `Sec-WebSocket-Key` (RFC 6455 §4.1).
    fn to_bytes(&self, key: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        write_field(&mut out, "Host", &self.host);
        write_field(&mut out, "Upgrade", "websocket");
        write_field(&mut out, "Connection", "Upgrade");
        write_field(&mut out, "Sec-WebSocket-Key", key);
        write_field(&mut out, "Sec-WebSocket-Version", WEBSOCKET_VERSION);
        if let Some(origin) = &self.origin {
            write_field(&mut out, "Origin", origin);
        }
        if !self.protocols.is_empty() {
            write_field(
                &mut out,
                "Sec-WebSocket-Protocol",
                &self.protocols.join(", "),
            );
        }
        if !self.extensions.is_empty() {
            write_field(
                &mut out,
                "Sec-WebSocket-Extensions",
                &self.extensions.join(", "),
            );
        }
        for (name, value) in &self.headers {
            write_field(&mut out, name, value);
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

fn invalid(name: &str, reason: &'static str) -> HandshakeError {
    HandshakeError::InvalidHeader {
        name: String::from(name),
        reason,
    }
}

/// Where the client is in reading the response.
#[derive(Debug)]
enum Reading {
    /// The status line and header fields.
    Head,
    /// The body of a rejection, kept up to `limit` bytes; `limit` is `None`
    /// when the body runs to the end of the stream (then the configured
    /// maximum applies).
    RejectionBody {
        status: u16,
        reason: String,
        headers: Headers,
        body: Vec<u8>,
        limit: Option<usize>,
    },
    /// Completed or failed.
    Finished,
}

/// The client side of the opening handshake.
///
/// Write [`request_bytes`](Self::request_bytes) to the transport, then feed
/// what comes back to [`receive`](Self::receive) until it yields an
/// [`Established`] or an error. Arm a timer for
/// [`poll_timeout`](Self::poll_timeout) and call
/// [`handle_timeout`](Self::handle_timeout) when it fires.
pub struct ClientHandshake {
    request: ClientRequest,
    config: SharedConfig,
    entropy: Option<BoxedEntropy>,
    expected_accept: String,
    request_bytes: Vec<u8>,
    head: HeadBuffer,
    reading: Reading,
    deadline: Deadline,
}

impl ClientHandshake {
    /// Starts a handshake at `now` with a random source seeded from the
    /// operating system, which the connection then uses for mask keys.
    #[cfg(feature = "os-rng")]
    pub fn new(request: ClientRequest, config: impl Into<SharedConfig>, now: Duration) -> Self {
        Self::with_entropy(request, config, now, crate::entropy::os_seeded())
    }

    /// Starts a handshake at `now` with the caller's random source. It draws
    /// the `Sec-WebSocket-Key` and then moves on to the connection for mask
    /// keys, so it must be cryptographically secure outside tests (RFC 6455
    /// §10.3).
    pub fn with_entropy(
        request: ClientRequest,
        config: impl Into<SharedConfig>,
        now: Duration,
        mut entropy: BoxedEntropy,
    ) -> Self {
        let config = config.into();
        #[cfg(feature = "deflate")]
        let request = offer_deflate(request, &config);
        let key = generate_key(&mut *entropy);
        let expected_accept = accept_key(key.as_bytes());
        let request_bytes = request.to_bytes(&key);
        Self {
            deadline: Deadline::start(now, config.handshake_timeout),
            request,
            config,
            entropy: Some(entropy),
            expected_accept,
            request_bytes,
            head: HeadBuffer::default(),
            reading: Reading::Head,
        }
    }

    /// The request to write to the transport, byte for byte.
    pub fn request_bytes(&self) -> &[u8] {
        &self.request_bytes
    }

    /// The request this handshake was built from.
    pub fn request(&self) -> &ClientRequest {
        &self.request
    }

    /// Feeds bytes received from the server.
    ///
    /// Returns `Ok(None)` while the response is incomplete, and
    /// `Ok(Some(established))` once a valid `101 Switching Protocols` arrived;
    /// bytes after the response's header block are kept in the
    /// [`Established`].
    ///
    /// # Errors
    ///
    /// * [`HandshakeError::Rejected`] for a status other than 101, once its
    ///   body has arrived (per `Content-Length`, or up to
    ///   [`Config::max_rejection_body`] bytes; a body that runs to the end of
    ///   the stream is completed by [`receive_eof`](Self::receive_eof)). A
    ///   chunked body is not decoded: the rejection is reported at once with
    ///   an empty body.
    /// * [`HandshakeError::TooLarge`], [`HandshakeError::TooManyHeaders`],
    ///   [`HandshakeError::Malformed`] for a header block over the limits or
    ///   not HTTP.
    /// * [`HandshakeError::BadStatus`], [`HandshakeError::MissingUpgrade`],
    ///   [`HandshakeError::InvalidAccept`],
    ///   [`HandshakeError::UnexpectedProtocol`],
    ///   [`HandshakeError::UnexpectedExtension`],
    ///   [`HandshakeError::InvalidExtensionResponse`],
    ///   [`HandshakeError::MalformedHeader`] for a 101 that breaks RFC 6455
    ///   §4.1.
    /// * [`HandshakeError::Finished`] when called after the handshake ended.
    pub fn receive(&mut self, data: &[u8]) -> Result<Option<Established>, HandshakeError> {
        let result = match &mut self.reading {
            Reading::Finished => return Err(HandshakeError::Finished),
            Reading::Head => {
                self.head.bytes.extend_from_slice(data);
                self.receive_head()
            }
            Reading::RejectionBody { body, limit, .. } => {
                let room = limit
                    .unwrap_or(self.config.max_rejection_body)
                    .saturating_sub(body.len());
                body.extend_from_slice(&data[..data.len().min(room)]);
                if data.len() >= room {
                    Err(self.take_rejection())
                } else {
                    Ok(None)
                }
            }
        };
        if !matches!(result, Ok(None)) {
            self.finish();
        }
        result
    }

    /// Reports that the server closed the stream.
    ///
    /// Returns the rejection whose body ran to the end of the stream, or
    /// [`HandshakeError::Incomplete`] when the stream ended inside the header
    /// block (or [`HandshakeError::Finished`] if the handshake had already
    /// ended).
    pub fn receive_eof(&mut self) -> HandshakeError {
        let error = match self.reading {
            Reading::Finished => return HandshakeError::Finished,
            Reading::Head => HandshakeError::Incomplete,
            Reading::RejectionBody { .. } => self.take_rejection(),
        };
        self.finish();
        error
    }

    /// When the handshake times out, if it is still in progress: arm a timer
    /// for this instant and call [`handle_timeout`](Self::handle_timeout).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        match self.reading {
            Reading::Finished => None,
            _ => self.deadline.0,
        }
    }

    /// Tells the handshake the time is `now`.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::Timeout`] once `now` has reached the deadline (the
    /// handshake is then over); a call before the deadline does nothing.
    pub fn handle_timeout(&mut self, now: Duration) -> Result<(), HandshakeError> {
        if matches!(self.reading, Reading::Finished) {
            return Ok(());
        }
        let result = self.deadline.check(now);
        if result.is_err() {
            self.finish();
        }
        result
    }

    fn finish(&mut self) {
        self.reading = Reading::Finished;
        self.head.release();
    }

    /// The regular header fields of this handshake as an HTTP/2 extended
    /// CONNECT request (RFC 8441 §4, §5): `Sec-WebSocket-Version`, then
    /// `Origin`, `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions` (with
    /// the permessage-deflate offer of [`Config::deflate`]) and the extra
    /// fields, as the HTTP/1.1 request carries them. There is no
    /// `Sec-WebSocket-Key` (RFC 8441 §5), and no `Host`, `Upgrade` or
    /// `Connection`: the HTTP/2 layer sends the pseudo-header fields
    /// `:method` = `CONNECT`, `:protocol` = `websocket`, `:scheme`,
    /// `:authority` = [`ClientRequest::host`] and `:path` =
    /// [`ClientRequest::path_and_query`]. Names are lowercase, as HTTP/2
    /// requires (RFC 9113 §8.2.1).
    ///
    /// Answer with [`receive_extended_connect`](Self::receive_extended_connect).
    ///
    /// ```
    /// use core::time::Duration;
    /// use sockeye::Config;
    /// use sockeye::handshake::{ClientHandshake, ClientRequest};
    ///
    /// let request = ClientRequest::new("example.com", "/chat")?.protocol("chat")?;
    /// let handshake = ClientHandshake::new(request, Config::default(), Duration::ZERO);
    /// let fields = handshake.extended_connect_fields();
    /// assert_eq!(fields[0], ("sec-websocket-version".into(), "13".into()));
    /// assert!(fields.contains(&("sec-websocket-protocol".into(), "chat".into())));
    /// assert!(!fields.iter().any(|(name, _)| name == "sec-websocket-key"));
    /// # Ok::<(), sockeye::handshake::HandshakeError>(())
    /// ```
    #[must_use]
    pub fn extended_connect_fields(&self) -> Vec<(String, String)> {
        let request = &self.request;
        let mut fields = Vec::with_capacity(4 + request.headers.len());
        let mut push = |name: &str, value: &str| {
            fields.push((name.to_ascii_lowercase(), String::from(value)));
        };
        push("Sec-WebSocket-Version", WEBSOCKET_VERSION);
        if let Some(origin) = &request.origin {
            push("Origin", origin);
        }
        if !request.protocols.is_empty() {
            push("Sec-WebSocket-Protocol", &request.protocols.join(", "));
        }
        if !request.extensions.is_empty() {
            push("Sec-WebSocket-Extensions", &request.extensions.join(", "));
        }
        for (name, value) in &request.headers {
            push(name, value);
        }
        fields
    }

    /// Judges the response to the extended CONNECT request of
    /// [`extended_connect_fields`](Self::extended_connect_fields), as the
    /// HTTP/2 layer received it: its `:status` and its regular fields.
    ///
    /// A 2xx status opens the WebSocket (RFC 8441 §5; no
    /// `Sec-WebSocket-Accept` is involved), once the server's subprotocol
    /// and extensions pass the checks of RFC 6455 §4.1 steps 5 and 6; the
    /// [`Established`] has no trailing bytes, since the stream's data
    /// starts with the first frame.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::Rejected`] for any other status (with an empty
    /// body: it stays with the HTTP/2 layer);
    /// [`HandshakeError::UnexpectedProtocol`],
    /// [`HandshakeError::UnexpectedExtension`],
    /// [`HandshakeError::InvalidExtensionResponse`],
    /// [`HandshakeError::MalformedHeader`] for a selection that was not
    /// offered or not well formed; [`HandshakeError::Finished`] when the
    /// handshake already ended.
    pub fn receive_extended_connect(
        &mut self,
        status: u16,
        headers: Headers,
    ) -> Result<Established, HandshakeError> {
        if matches!(self.reading, Reading::Finished) {
            return Err(HandshakeError::Finished);
        }
        self.finish();
        if !(200..300).contains(&status) {
            return Err(HandshakeError::Rejected {
                status,
                reason: String::new(),
                headers,
                body: Vec::new(),
            });
        }
        let (protocol, extensions) = self.validate_selection(&headers)?;
        #[cfg(feature = "deflate")]
        let deflate = self.negotiated_deflate(&extensions)?;
        Ok(Established {
            headers,
            protocol,
            extensions,
            #[cfg(feature = "deflate")]
            deflate,
            trailing: Vec::new(),
            config: self.config.clone(),
            entropy: self.entropy.take().ok_or(HandshakeError::Finished)?,
        })
    }

    fn take_rejection(&mut self) -> HandshakeError {
        match core::mem::replace(&mut self.reading, Reading::Finished) {
            Reading::RejectionBody {
                status,
                reason,
                headers,
                body,
                ..
            } => HandshakeError::Rejected {
                status,
                reason,
                headers,
                body,
            },
            _ => HandshakeError::Finished,
        }
    }

    fn receive_head(&mut self) -> Result<Option<Established>, HandshakeError> {
        let (status, reason, headers, head_len) = loop {
            let Some(end) = self.head.next_end(self.config.max_header_bytes)? else {
                return Ok(None);
            };
            let bytes = &self.head.bytes;
            let parsed = with_header_slots(self.config.max_headers, |fields| {
                let mut response = httparse::Response::new(fields);
                let status = response.parse(&bytes[..end]).map_err(parse_error)?;
                Ok::<_, HandshakeError>(match status {
                    httparse::Status::Complete(len) => Some((
                        response.code.unwrap_or_default(),
                        String::from(response.reason.unwrap_or_default()),
                        Headers::from_parsed(response.headers),
                        len,
                    )),
                    // Blank lines before the status line; look further.
                    httparse::Status::Partial => None,
                })
            })?;
            if let Some(parsed) = parsed {
                break parsed;
            }
        };
        let trailing = &self.head.bytes[head_len..];
        match status {
            101 => {
                let (protocol, extensions) = self.validate_switch(&headers)?;
                #[cfg(feature = "deflate")]
                let deflate = self.negotiated_deflate(&extensions)?;
                Ok(Some(Established {
                    headers,
                    protocol,
                    extensions,
                    #[cfg(feature = "deflate")]
                    deflate,
                    trailing: trailing.to_vec(),
                    config: self.config.clone(),
                    entropy: self.entropy.take().ok_or(HandshakeError::Finished)?,
                }))
            }
            100..=199 => Err(HandshakeError::BadStatus(status)),
            _ => {
                let limit = rejection_body_length(status, &headers)?;
                let keep = limit
                    .unwrap_or(usize::MAX)
                    .min(self.config.max_rejection_body);
                let body = trailing[..trailing.len().min(keep)].to_vec();
                let complete = body.len() == keep;
                self.reading = Reading::RejectionBody {
                    status,
                    reason,
                    headers,
                    body,
                    limit: limit.map(|l| l.min(self.config.max_rejection_body)),
                };
                if complete {
                    Err(self.take_rejection())
                } else {
                    self.head.release();
                    Ok(None)
                }
            }
        }
    }

    /// Checks a 101 response (RFC 6455 §4.1, client steps 2 to 6) and returns
    /// the selected subprotocol and extensions.
    fn validate_switch(
        &self,
        headers: &Headers,
    ) -> Result<(Option<String>, Vec<Extension>), HandshakeError> {
        if !headers.contains_token("Upgrade", "websocket")
            || !headers.contains_token("Connection", "upgrade")
        {
            return Err(HandshakeError::MissingUpgrade);
        }
        // RFC 6455 §11.3.3: the field appears once; whitespace around it is ignored.
        let mut accepts = headers.get_all_bytes("Sec-WebSocket-Accept");
        match (accepts.next(), accepts.next()) {
            (Some(accept), None) if accept.trim_ascii() == self.expected_accept.as_bytes() => {}
            _ => return Err(HandshakeError::InvalidAccept),
        }
        self.validate_selection(headers)
    }

    /// Checks the server's choice of subprotocol and extensions (RFC 6455
    /// §4.1, client steps 5 and 6), which both forms of the handshake share.
    fn validate_selection(
        &self,
        headers: &Headers,
    ) -> Result<(Option<String>, Vec<Extension>), HandshakeError> {
        let mut protocols = headers.get_all_bytes("Sec-WebSocket-Protocol");
        let protocol = match (protocols.next(), protocols.next()) {
            (None, _) => None,
            (Some(selected), None) => {
                let selected = String::from_utf8_lossy(selected.trim_ascii()).into_owned();
                if !self.request.protocols.contains(&selected) {
                    return Err(HandshakeError::UnexpectedProtocol(selected));
                }
                Some(selected)
            }
            (Some(_), Some(_)) => {
                return Err(HandshakeError::UnexpectedProtocol(String::from(
                    "(more than one)",
                )));
            }
        };
        let mut extensions = Vec::new();
        for value in headers.get_all_bytes("Sec-WebSocket-Extensions") {
            let value = core::str::from_utf8(value)
                .map_err(|_| HandshakeError::MalformedHeader("Sec-WebSocket-Extensions"))?;
            extensions.extend(Extension::parse_list(value)?);
        }
        for extension in &extensions {
            if !self.offered_extension(extension.name()) {
                return Err(HandshakeError::UnexpectedExtension(String::from(
                    extension.name(),
                )));
            }
        }
        Ok((protocol, extensions))
    }

    /// The permessage-deflate parameters the server agreed to, when this
    /// handshake offered the extension from [`Config::deflate`].
    #[cfg(feature = "deflate")]
    fn negotiated_deflate(
        &self,
        extensions: &[Extension],
    ) -> Result<Option<crate::deflate::DeflateParams>, HandshakeError> {
        use crate::deflate::EXTENSION_NAME;
        let Some(config) = &self.config.deflate else {
            return Ok(None);
        };
        let mut accepted = extensions
            .iter()
            .filter(|e| e.name().eq_ignore_ascii_case(EXTENSION_NAME));
        match (accepted.next(), accepted.next()) {
            (None, _) => Ok(None),
            (Some(response), None) => super::deflate::accept_response(config, response).map(Some),
            // RFC 7692 §7: one response element per extension.
            (Some(_), Some(_)) => Err(HandshakeError::InvalidExtensionResponse(String::from(
                EXTENSION_NAME,
            ))),
        }
    }

    fn offered_extension(&self, name: &str) -> bool {
        self.request.extensions.iter().any(|offer| {
            Extension::parse_list(offer)
                .is_ok_and(|list| list.iter().any(|e| e.name().eq_ignore_ascii_case(name)))
        })
    }
}

impl core::fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientHandshake")
            .field("request", &self.request)
            .field("reading", &self.reading)
            .field("buffered", &self.head.bytes.len())
            .finish_non_exhaustive()
    }
}

/// How many body bytes a rejection carries: `Some(n)` for a known length,
/// `None` when the body runs to the end of the stream (RFC 9112 §6.3).
fn rejection_body_length(status: u16, headers: &Headers) -> Result<Option<usize>, HandshakeError> {
    // RFC 9112 §6.3 rule 1: no body, whatever the fields say.
    if status == 204 || status == 304 {
        return Ok(Some(0));
    }
    // Chunked bodies are not decoded here; report the rejection without one.
    if headers.contains("Transfer-Encoding") {
        return Ok(Some(0));
    }
    let mut length = None;
    for value in headers
        .get_all_bytes("Content-Length")
        .flat_map(super::list_items)
    {
        let parsed = core::str::from_utf8(value)
            .ok()
            .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<usize>().ok())
            .ok_or(HandshakeError::Malformed("invalid Content-Length"))?;
        // RFC 9112 §6.3 rule 5: differing lengths make the message invalid.
        if length.is_some_and(|l| l != parsed) {
            return Err(HandshakeError::Malformed("conflicting Content-Length"));
        }
        length = Some(parsed);
    }
    Ok(length)
}

/// Adds the permessage-deflate offer of [`Config::deflate`] unless the
/// request already offers the extension itself.
#[cfg(feature = "deflate")]
fn offer_deflate(mut request: ClientRequest, config: &SharedConfig) -> ClientRequest {
    use crate::deflate::EXTENSION_NAME;
    if let Some(deflate) = &config.deflate {
        let offered = request.extensions.iter().any(|offer| {
            Extension::parse_list(offer).is_ok_and(|list| {
                list.iter()
                    .any(|e| e.name().eq_ignore_ascii_case(EXTENSION_NAME))
            })
        });
        if !offered {
            request.extensions.push(deflate.client_offer());
        }
    }
    request
}

/// A completed client handshake: the server switched to WebSocket.
///
/// Turn it into a [`Connection`] with [`into_connection`](Self::into_connection).
pub struct Established {
    headers: Headers,
    protocol: Option<String>,
    extensions: Vec<Extension>,
    #[cfg(feature = "deflate")]
    deflate: Option<crate::deflate::DeflateParams>,
    trailing: Vec<u8>,
    config: SharedConfig,
    entropy: BoxedEntropy,
}

impl Established {
    /// The response's header fields (for `Set-Cookie` and the like).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The subprotocol the server selected (RFC 6455 §4.1: the _Subprotocol
    /// In Use_), if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extensions the server selected, in the order it listed them (the
    /// _Extensions In Use_). They are checked against the offer; the
    /// connection runs permessage-deflate when it was offered through
    /// `Config::deflate` (feature `deflate`), any other is up to the caller.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The permessage-deflate parameters agreed with the server, when
    /// [`Config::deflate`] offered the extension and the server accepted it.
    #[cfg(feature = "deflate")]
    pub fn deflate_params(&self) -> Option<&crate::deflate::DeflateParams> {
        self.deflate.as_ref()
    }

    /// Bytes that arrived after the response's header block: the start of
    /// the WebSocket stream.
    pub fn trailing(&self) -> &[u8] {
        &self.trailing
    }

    /// The client connection, open from `now`, with the handshake's config
    /// and random source, already fed with the [trailing](Self::trailing)
    /// bytes.
    pub fn into_connection(self, now: Duration) -> Connection {
        self.into_parts(now).0
    }

    /// [`into_connection`](Self::into_connection), keeping what the
    /// response said: its fields, the subprotocol and the extensions.
    pub(crate) fn into_parts(
        self,
        now: Duration,
    ) -> (Connection, Headers, Option<String>, Vec<Extension>) {
        let mut connection = Connection::with_entropy(Role::Client, self.config, now, self.entropy);
        #[cfg(feature = "deflate")]
        if let Some(params) = self.deflate {
            connection.enable_deflate(params);
        }
        if !self.trailing.is_empty() {
            connection.receive(now, &self.trailing);
        }
        (connection, self.headers, self.protocol, self.extensions)
    }
}

impl core::fmt::Debug for Established {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Established")
            .field("headers", &self.headers)
            .field("protocol", &self.protocol)
            .field("extensions", &self.extensions)
            .field("trailing", &self.trailing.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
