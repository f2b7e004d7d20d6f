//! What a client asks for and what a server answers, beyond the URL.

use sockeye::handshake::{Accept, ClientRequest, Headers, Request};

use crate::{Error, Target};

/// Options of a client's opening handshake: subprotocols, `Origin`, extra
/// header fields, and (feature `rustls`) TLS settings.
///
/// ```
/// use sockeye_io::ClientOptions;
///
/// let options = ClientOptions::new()
///     .protocol("chat.v2")
///     .header("Authorization", "Bearer abc");
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    protocols: Vec<String>,
    origin: Option<String>,
    headers: Vec<(String, String)>,
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
    /// The response's header fields.
    pub headers: Headers,
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

    /// Accept the first subprotocol the client offered that `supported`
    /// lists, or none if there is no match.
    pub fn accept_first_of(request: &Request, supported: &[&str]) -> Self {
        let chosen = request.protocols().find(|p| supported.contains(p));
        match chosen {
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

    /// The subprotocol selected by an accepting decision.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The status of a rejection.
    pub fn rejected_status(&self) -> Option<u16> {
        self.reject
    }
}
