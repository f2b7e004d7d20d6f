//! The names every async adapter shows as its own: `sockeye-tokio` and
//! `sockeye-smol` re-export this module whole (`pub use sockeye_io::api::*`),
//! so their APIs cannot drift apart.

#[cfg(feature = "deflate")]
pub use sockeye::deflate::DeflateConfig;

pub use crate::driver::{Close, ReadHalf, Recv, Sending, WebSocket, WriteHalf};
pub use crate::reconnect;
pub use crate::server::{ClientId, Clients, RateLimit, ServerPolicy, ShutdownReport};
pub use crate::{
    ClientOptions, CloseCode, CloseFrame, Config, DataKind, Decision, Error, Fragment,
    HandshakeInfo, Message, Proxy, ProxyError, ReadyState, Request, Response, Role, SharedConfig,
};
#[cfg(feature = "rustls")]
pub use crate::{Roots, TlsOptions};

/// Declares an async adapter's API over its [`Runtime`](crate::Runtime), so
/// that every adapter has the same functions with the same documentation and
/// differs only in the types it names: the names of [`api`](self), then
/// `WebSocketStream`, `MaybeTlsStream`, `Client`, `ServerHandle`,
/// `ReconnectingClient`, `from_raw`, `connect`, `connect_with`, `accept`,
/// `accept_with` and `reconnecting`.
///
/// `runtime` is the adapter's [`Runtime`](crate::Runtime), whose
/// [`RuntimeTypes`](crate::RuntimeTypes) the macro implements from the
/// rest: `clock` its clock, `tcp` and `listener` its TCP stream and
/// listener, `tls` its TLS client stream (generic over the stream; used with
/// the adapter's `rustls` feature), `transport` the tuple struct that makes
/// one of its streams a [`Transport`](crate::driver::Transport), `stream` the
/// I/O traits of its streams; `name` names it in the docs.
/// Doc attributes before `fn connect`, `fn accept`, `fn accept_with` and
/// `fn reconnecting` (examples in the runtime's terms) are added to those
/// functions.
#[macro_export]
macro_rules! runtime_api {
    (
        name = $name:literal, runtime = $runtime:ident, clock = $clock:ident,
        tcp = $tcp:ty, listener = $listener:ty, tls = $($tls:ident)::+,
        transport = $transport:ident, stream = [$($stream:path),+];
        $(#[$connect_doc:meta])* fn connect;
        $(#[$accept_doc:meta])* fn accept;
        $(#[$accept_with_doc:meta])* fn accept_with;
        $(#[$reconnecting_doc:meta])* fn reconnecting;
    ) => {
        pub use $crate::api::*;

        impl $crate::RuntimeTypes for $runtime {
            type Tcp = $tcp;
            #[cfg(feature = "rustls")]
            type Tls = $($tls)::+<$tcp>;
            #[cfg(not(feature = "rustls"))]
            type Tls = $crate::NoTls;
            type Listener = $listener;
            type Clock = $clock;
            type ClientIo = $transport<MaybeTlsStream<$tcp>>;
            type ServerIo = $transport<$tcp>;
        }

        #[doc = concat!("A WebSocket over a stream `S` of ", $name, " (a TCP stream, a TLS stream, a pipe).")]
        pub type WebSocketStream<S> = $crate::driver::WebSocket<$transport<S>, $clock>;

        /// The stream [`connect`] returns: plain TCP for `ws://`, TLS over it
        /// for `wss://` (feature `rustls`).
        #[cfg(feature = "rustls")]
        pub type MaybeTlsStream<S> = $crate::MaybeTlsStream<S, $($tls)::+<S>>;
        /// The stream [`connect`] returns: plain TCP (`wss://` needs feature
        /// `rustls`).
        #[cfg(not(feature = "rustls"))]
        pub type MaybeTlsStream<S> = $crate::MaybeTlsStream<S, $crate::NoTls>;

        /// A client of a [`Server`], handed to its handler.
        pub type Client = $crate::server::RuntimeClient<$runtime>;

        /// Broadcast to a [`Server`]'s clients and shut it down. Cloning
        /// gives another handle on the same server.
        pub type ServerHandle = $crate::server::ServerHandle<$runtime>;

        /// A client that reconnects when its connection is lost (see
        /// [`sockeye_io::reconnect::ReconnectingClient`]).
        pub type ReconnectingClient = $crate::reconnect::ReconnectingClient<$runtime>;

        /// A WebSocket over `stream`, whose opening handshake was done
        /// elsewhere, playing `role` with `config`.
        pub fn from_raw<S>(
            stream: S,
            role: $crate::Role,
            config: impl Into<$crate::SharedConfig>,
        ) -> WebSocketStream<S>
        where
            S: $($stream +)+ Unpin,
        {
            $crate::driver::from_raw($transport(stream), $clock::new(), role, config)
        }

        /// Connect to a `ws://` or `wss://` `url` with default options and
        /// [`Config::default`].
        $(#[$connect_doc])*
        ///
        /// # Errors
        /// See [`connect_with`].
        pub async fn connect(
            url: &str,
        ) -> Result<(WebSocketStream<MaybeTlsStream<$tcp>>, Response), Error> {
            connect_with(url, ClientOptions::new(), SharedConfig::default()).await
        }

        /// Connect to `url` with `options` (subprotocols, origin, extra
        /// fields, connect timeout, TLS settings) and the connection's
        /// `config`.
        ///
        /// The returned WebSocket knows its [`url`](WebSocket::url), the
        /// negotiated [`protocol`](WebSocket::protocol) and
        /// [`extensions`](WebSocket::extensions).
        ///
        /// # Errors
        /// Each fault has its variant: [`Error::Url`] for a bad URL,
        /// [`Error::Resolve`] when DNS fails, [`Error::Connect`] when no
        /// address accepts the connection (refused) or the
        /// [connect timeout](ClientOptions::connect_timeout) ran out (kind
        /// `TimedOut`), [`Error::Rejected`] with the HTTP status for a
        /// non-101 answer, [`Error::Tls`] when the TLS handshake fails (an
        /// untrusted certificate, a wrong name) or `wss://` is asked for
        /// without the `rustls` feature, [`Error::HandshakeTimeout`] after
        /// [`Config::handshake_timeout`], [`Error::Handshake`] for an
        /// invalid answer or a server that hung up mid-handshake.
        ///
        /// # Cancel safety
        /// Dropping the future abandons the connection attempt.
        pub async fn connect_with(
            url: &str,
            options: ClientOptions,
            config: impl Into<SharedConfig>,
        ) -> Result<(WebSocketStream<MaybeTlsStream<$tcp>>, Response), Error> {
            $crate::connect::connect_with::<$runtime>(url, options, config).await
        }

        /// A [`ReconnectingClient`] for `url` (nothing happens until its
        /// first `recv`).
        $(#[$reconnecting_doc])*
        pub fn reconnecting(
            url: &str,
            options: ClientOptions,
            config: impl Into<SharedConfig>,
            policy: reconnect::ReconnectPolicy,
        ) -> ReconnectingClient {
            ReconnectingClient::new($runtime, url, options, config, policy)
        }

        /// Accept a WebSocket client on `stream` (a TCP stream from a
        /// listener, a TLS stream...) with [`Config::default`], accepting
        /// every upgrade request without a subprotocol.
        $(#[$accept_doc])*
        ///
        /// # Errors
        /// See [`accept_with`].
        pub fn accept<S>(stream: S) -> impl Future<Output = Result<WebSocketStream<S>, Error>>
        where
            S: $($stream +)+ Unpin,
        {
            $crate::driver::accept($transport(stream), $clock::new())
        }

        /// Accept a WebSocket client on `stream` with `config`, letting
        /// `decide` see the request (path, query, headers, origin, offered
        /// subprotocols) and answer it: accept with a subprotocol and extra
        /// fields, or reject with a status.
        $(#[$accept_with_doc])*
        ///
        /// # Errors
        /// [`Error::Handshake`] for an invalid request (already answered
        /// with the matching HTTP error) or a client that left
        /// mid-handshake, [`Error::Rejected`] when `decide` rejected,
        /// [`Error::HandshakeTimeout`] after [`Config::handshake_timeout`],
        /// [`Error::Io`].
        pub fn accept_with<S, F>(
            stream: S,
            config: impl Into<SharedConfig>,
            decide: F,
        ) -> impl Future<Output = Result<(WebSocketStream<S>, Request), Error>>
        where
            S: $($stream +)+ Unpin,
            F: FnOnce(&Request) -> Decision,
        {
            // Not an `async fn`: the returned future is the boxed handshake
            // alone, so a task awaiting it stays small once the connection
            // is idle.
            $crate::driver::handshake::server($transport(stream), $clock::new(), config, decide)
        }
    };
}
