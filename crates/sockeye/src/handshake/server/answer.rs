//! The server's answer to a request it judged: the 101 (or, over HTTP/2,
//! 200) with what it selected, or a plain refusal (RFC 6455 §4.2.2).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use super::{Request, ResponseHead, Upgrade, invalid_field};
use crate::config::{Config, SharedConfig};
use crate::connection::Connection;
use crate::handshake::accept_key::accept_key;
use crate::handshake::{
    Extension, HandshakeError, check_field, write_field, write_response, write_status_line,
};

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

impl Request {
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
            connection.receive(accept.now, &self.trailing);
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
        let Some(deflate) = &config.deflate else {
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
        match crate::handshake::deflate::select(deflate, &self.extensions) {
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
