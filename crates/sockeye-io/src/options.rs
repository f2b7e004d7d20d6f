//! What a client asks for and what a server answers, beyond the URL.

use core::time::Duration;

use sockeye::Endpoint;
use sockeye::endpoint::Opened;
use sockeye::handshake::{Accept, ClientRequest, Established, Headers, Request};

use crate::{Error, Target};

/// Options of a client's connection: subprotocols, `Origin`, extra header
/// fields, the connect timeout, and (feature `rustls`) TLS settings.
///
/// Two timeouts bound a connection attempt, one after the other:
/// [`connect_timeout`](Self::connect_timeout) (here) bounds reaching the
/// server: name resolution, the TCP connection and, for `wss://`, the TLS
/// handshake; [`sockeye::Config::handshake_timeout`] then bounds the
/// WebSocket opening handshake (the HTTP upgrade request and its answer).
///
/// ```
/// use std::time::Duration;
/// use sockeye_io::ClientOptions;
///
/// let options = ClientOptions::new()
///     .protocol("chat.v2")
///     .origin("https://example.com")
///     .header("Authorization", "Bearer abc")
///     .connect_timeout(Duration::from_secs(5));
/// assert_eq!(options.connect_time_limit(), Some(Duration::from_secs(5)));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    protocols: Vec<String>,
    extensions: Vec<String>,
    origin: Option<String>,
    headers: Vec<(String, String)>,
    connect_timeout: Option<Duration>,
    #[cfg(feature = "rustls")]
    tls: crate::TlsOptions,
}

impl ClientOptions {
    /// No subprotocol, no origin, no extra fields, default TLS settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Offer a subprotocol (in order of preference).
    pub fn protocol(mut self, protocol: &str) -> Self {
        self.protocols.push(protocol.to_owned());
        self
    }

    /// Offer an extension, written as on the wire (`name; param=value`).
    /// The server's selection shows in [`Response::extensions`]; running an
    /// extension the engine does not implement is up to the caller.
    pub fn extension(mut self, offer: &str) -> Self {
        self.extensions.push(offer.to_owned());
        self
    }

    /// Send an `Origin` field.
    pub fn origin(mut self, origin: &str) -> Self {
        self.origin = Some(origin.to_owned());
        self
    }

    /// Add a header field to the request.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Give up reaching the server (resolving its name, connecting over TCP,
    /// the TLS handshake) after `timeout`; the attempt then fails with
    /// [`Error::Connect`] of kind [`std::io::ErrorKind::TimedOut`]. No limit
    /// by default beyond the operating system's.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The [connect timeout](Self::connect_timeout), if one is set.
    pub fn connect_time_limit(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The error of an attempt that ran out of its
    /// [connect timeout](Self::connect_timeout).
    pub fn connect_timed_out() -> Error {
        Error::Connect(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connect timeout elapsed",
        ))
    }

    /// TLS settings for `wss://` URLs.
    #[cfg(feature = "rustls")]
    pub fn tls(mut self, tls: crate::TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// The TLS settings.
    #[cfg(feature = "rustls")]
    pub fn tls_options(&self) -> &crate::TlsOptions {
        &self.tls
    }

    /// The handshake request for `target`.
    ///
    /// # Errors
    /// [`Error::Handshake`] for a field the handshake refuses (see
    /// [`ClientRequest::header`]).
    pub fn request(&self, target: &Target) -> Result<ClientRequest, Error> {
        let mut request = ClientRequest::new(&target.host_header, &target.resource)?;
        for protocol in &self.protocols {
            request = request.protocol(protocol)?;
        }
        for offer in &self.extensions {
            request = request.extension(offer)?;
        }
        if let Some(origin) = &self.origin {
            request = request.origin(origin)?;
        }
        for (name, value) in &self.headers {
            request = request.header(name, value)?;
        }
        Ok(request)
    }
}

/// What the server's `101` said, for the client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// The subprotocol the server selected.
    pub protocol: Option<String>,
    /// The extensions the server selected, in its order.
    pub extensions: Vec<sockeye::handshake::Extension>,
    /// The response's header fields.
    pub headers: Headers,
}

impl Response {
    /// What `established` says.
    pub fn of(established: &Established) -> Self {
        Response {
            protocol: established.protocol().map(str::to_owned),
            extensions: established.extensions().to_vec(),
            headers: established.headers().clone(),
        }
    }

    /// What the client endpoint's [`Opened`] event said.
    pub fn opened(opened: Opened) -> Self {
        Response {
            protocol: opened.protocol,
            extensions: opened.extensions,
            headers: opened.headers,
        }
    }

    /// The browser-like view of this response for a client that connected
    /// to `url`.
    pub fn handshake_info(&self, url: &str) -> crate::HandshakeInfo {
        crate::HandshakeInfo {
            url: Some(url.to_owned()),
            protocol: self.protocol.clone(),
            extensions: self.extensions.clone(),
        }
    }
}

/// A server's answer to an upgrade request, returned by the `accept_with`
/// callback.
///
/// ```
/// use sockeye_io::Decision;
///
/// let yes = Decision::accept().protocol("chat.v1").header("Set-Cookie", "a=b");
/// let no = Decision::reject(403).body("forbidden origin");
/// # let _ = (yes, no);
/// ```
#[derive(Clone, Debug)]
pub struct Decision {
    /// `None` to accept, the status to reject with.
    reject: Option<u16>,
    protocol: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Decision {
    /// Accept the upgrade.
    pub fn accept() -> Self {
        Self {
            reject: None,
            protocol: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Refuse it with an HTTP `status` (200–599).
    pub fn reject(status: u16) -> Self {
        Self {
            reject: Some(status),
            ..Self::accept()
        }
    }

    /// A plain HTTP response with `status` (200–599), for a request that is
    /// not an upgrade, such as a page served beside the WebSocket; the same
    /// as [`reject`](Self::reject), named for that use.
    pub fn respond(status: u16) -> Self {
        Self::reject(status)
    }

    /// Accept the subprotocol the engine's rule selects from `supported`
    /// ([`Request::select_protocol`]: the first in the client's order of
    /// preference that `supported` lists), or none if there is no match.
    pub fn accept_first_of(request: &Request, supported: &[&str]) -> Self {
        match request.select_protocol(supported) {
            Some(protocol) => Self::accept().protocol(protocol),
            None => Self::accept(),
        }
    }

    /// Select a subprotocol the client offered (accepting only).
    pub fn protocol(mut self, protocol: &str) -> Self {
        self.protocol = Some(protocol.to_owned());
        self
    }

    /// Add a response header field.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The body of a rejection.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The bytes to write and, when accepted, the connection (open from `now`).
    ///
    /// # Errors
    /// [`Error::Handshake`] when the decision cannot be carried out (a
    /// subprotocol the client did not offer, a forbidden header field).
    pub fn apply(
        self,
        request: &Request,
        now: core::time::Duration,
    ) -> Result<(Vec<u8>, Option<sockeye::Connection>), Error> {
        match self.reject {
            Some(status) => {
                let headers: Vec<(&str, &str)> = self
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                Ok((request.reject(status, &headers, &self.body)?, None))
            }
            None => {
                let mut accept = Accept::new(now);
                if let Some(protocol) = &self.protocol {
                    accept = accept.protocol(protocol);
                }
                for (name, value) in &self.headers {
                    accept = accept.header(name, value);
                }
                let (response, conn) = request.accept(accept)?;
                Ok((response, Some(conn)))
            }
        }
    }

    /// Carries the decision out on `endpoint`, whose request waits for its
    /// answer ([`EndpointEvent::Request`](sockeye::EndpointEvent::Request)):
    /// accepts at `now` (the `101` is queued and
    /// [`Opened`] follows) or queues the rejection, which the transport
    /// closes after. Returns the request, which the endpoint no longer holds.
    ///
    /// # Errors
    /// [`Error::Handshake`] when the decision cannot be carried out (a
    /// subprotocol the client did not offer, a forbidden header field, no
    /// request waiting).
    pub fn answer(self, endpoint: &mut Endpoint, now: Duration) -> Result<Request, Error> {
        let answered = match self.reject {
            Some(status) => {
                let headers: Vec<(&str, &str)> = self
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                endpoint.reject(status, &headers, &self.body)
            }
            None => {
                let mut accept = Accept::new(now);
                if let Some(protocol) = &self.protocol {
                    accept = accept.protocol(protocol);
                }
                for (name, value) in &self.headers {
                    accept = accept.header(name, value);
                }
                endpoint.accept(accept)
            }
        };
        Ok(answered?)
    }

    /// The subprotocol selected by an accepting decision.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The status of a rejection.
    pub fn rejected_status(&self) -> Option<u16> {
        self.reject
    }
}
