//! What a client asks for beyond the URL: subprotocols, extensions,
//! `Origin`, extra fields, the connect timeout and TLS settings.

use core::time::Duration;

use sockeye::handshake::ClientRequest;

use crate::{Error, Proxy, Target};

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
    proxy: ProxyChoice,
    #[cfg(feature = "rustls")]
    tls: crate::TlsOptions,
}

/// Which HTTP proxy a client goes through.
#[derive(Clone, Debug, Default)]
enum ProxyChoice {
    /// Straight to the server (the default).
    #[default]
    Direct,
    /// What the environment says for each URL ([`Proxy::from_env`]).
    FromEnv,
    /// This one, for every URL.
    Through(Proxy),
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
    /// The server's selection shows in [`Response::extensions`](crate::Response::extensions); running an
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

    /// Go through the HTTP proxy `proxy` (a tunnel opened with `CONNECT`,
    /// RFC 9110 §9.3.6), for `ws://` and `wss://` alike; TLS runs end to
    /// end inside the tunnel. Reaching the proxy and its answer count
    /// against the [connect timeout](Self::connect_timeout).
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = ProxyChoice::Through(proxy);
        self
    }

    /// Go through the proxy the conventional environment variables name
    /// for each URL (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`;
    /// see [`Proxy::from_env`]). Without this or [`proxy`](Self::proxy), a
    /// client connects directly whatever the environment says.
    pub fn proxy_from_env(mut self) -> Self {
        self.proxy = ProxyChoice::FromEnv;
        self
    }

    /// The proxy a connection to `target` goes through, if any.
    ///
    /// # Errors
    /// [`Error::Url`] when the environment names a proxy that is not a
    /// usable URL.
    pub fn proxy_for(&self, target: &Target) -> Result<Option<Proxy>, Error> {
        match &self.proxy {
            ProxyChoice::Direct => Ok(None),
            ProxyChoice::FromEnv => Proxy::from_env(target),
            ProxyChoice::Through(proxy) => Ok(Some(proxy.clone())),
        }
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
