//! The axum extractor (feature `axum`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum_core::body::Body;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use sockeye_io::{Config, Decision, SharedConfig};

use crate::{Refusal, ServerClient, ServerCore, Upgrade, WebSocketStream};

/// An axum extractor for a WebSocket request, shaped like
/// `axum::extract::ws::WebSocketUpgrade`: it accepts an HTTP/1.1 upgrade
/// (`GET`, answered `101`) and an HTTP/2 extended CONNECT (RFC 8441,
/// answered `200`), so route it with `any(...)` to take both.
///
/// A request that is not a WebSocket one is refused with the engine's
/// answer ([`Refusal`]): 426 over HTTP/1.1, 400 over HTTP/2, 426 with
/// `Sec-WebSocket-Version: 13` for another version.
///
/// ```no_run
/// use axum::{Router, routing::any};
/// use sockeye_hyper::WebSocketUpgrade;
///
/// let app: Router = Router::new().route("/ws", any(|ws: WebSocketUpgrade| async move {
///     ws.protocols(["chat"]).on_upgrade(|mut ws| async move {
///         while let Some(Ok(message)) = ws.recv().await {
///             if ws.send(message).await.is_err() {
///                 break;
///             }
///         }
///     })
/// }));
/// ```
///
/// # HTTP/2
/// Browsers open WebSockets over HTTP/2 to a server that advertises
/// `SETTINGS_ENABLE_CONNECT_PROTOCOL` (RFC 8441 §3). That is opt-in: build
/// the server with hyper's `http2().enable_connect_protocol()` (hyper-util's
/// `server::conn::auto::Builder` takes it too); without it every WebSocket
/// comes over HTTP/1.1 as before.
#[derive(Debug)]
pub struct WebSocketUpgrade {
    upgrade: Upgrade,
    protocol: Option<String>,
    headers: Vec<(String, String)>,
    config: Option<Config>,
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let upgrade = Upgrade::from_parts(parts, SharedConfig::default())?;
        Ok(Self {
            upgrade,
            protocol: None,
            headers: Vec::new(),
            config: None,
        })
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        Refusal::into_response::<Body>(self)
    }
}

impl WebSocketUpgrade {
    /// Subprotocols the server speaks: the first one the client offers, in
    /// the client's order of preference, is selected
    /// ([`Request::select_protocol`](sockeye_io::Request::select_protocol)),
    /// none if there is no match.
    pub fn protocols<I>(mut self, supported: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let supported: Vec<I::Item> = supported.into_iter().collect();
        self.protocol = self
            .upgrade
            .request()
            .select_protocol(&supported)
            .map(str::to_owned);
        self
    }

    /// The subprotocol selected by [`protocols`](Self::protocols), if any.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The subprotocols the client offered, in its order of preference.
    pub fn offered_protocols(&self) -> impl Iterator<Item = &str> {
        self.upgrade.request().protocols()
    }

    /// The request as the engine read it (path, query, headers, origin, its
    /// form: HTTP/1.1 upgrade or HTTP/2 extended CONNECT).
    pub fn request(&self) -> &sockeye_io::Request {
        self.upgrade.request()
    }

    /// Adds a field to the accepting response (such as `Set-Cookie`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The connection's engine configuration: limits, timers, and
    /// permessage-deflate (`Config::deflate`, feature `deflate`). Default:
    /// [`Config::default`].
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Largest message (and frame) the client may send; a larger one closes
    /// the connection with 1009.
    pub fn max_message_size(mut self, bytes: u64) -> Self {
        let config = self.config.get_or_insert_with(Config::default);
        config.max_message_size = bytes;
        config.max_frame_size = config.max_frame_size.min(bytes);
        self
    }

    /// Accepts permessage-deflate (RFC 7692) when the client offers it.
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, deflate: crate::DeflateConfig) -> Self {
        self.config.get_or_insert_with(Config::default).deflate = Some(deflate);
        self
    }

    /// Answers as `server` decides (its policy's path, verify hook and
    /// subprotocols, then its connection limits; see [`Upgrade::serve`])
    /// for a client at `peer`, and runs `callback` on a new tokio task with
    /// the client registered among `server.clients()`: broadcasts and
    /// graceful shutdown reach it. The subprotocols and fields set on the
    /// extractor give way to the policy's; its [`config`](Self::config), if
    /// set, replaces the policy's.
    ///
    /// ```no_run
    /// use std::net::SocketAddr;
    /// use std::sync::Arc;
    /// use axum::{Router, extract::ConnectInfo, routing::any};
    /// use sockeye_hyper::{ServerCore, ServerPolicy, WebSocketUpgrade};
    ///
    /// let server = Arc::new(ServerCore::new(ServerPolicy::new().max_connections_per_ip(8)));
    /// let app: Router = Router::new().route("/ws", any({
    ///     let server = server.clone();
    ///     move |ws: WebSocketUpgrade, ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
    ///         ws.on_upgrade_served(&server, peer, |mut client| async move {
    ///             while let Some(Ok(message)) = client.recv().await {
    ///                 client.clients().broadcast(message);
    ///             }
    ///         })
    ///     }
    /// }));
    /// ```
    pub fn on_upgrade_served<F, Fut>(
        self,
        server: &Arc<ServerCore>,
        peer: SocketAddr,
        callback: F,
    ) -> Response
    where
        F: FnOnce(ServerClient) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut upgrade = self.upgrade;
        if let Some(config) = self.config {
            upgrade = upgrade.config(config);
        }
        match upgrade.serve::<Body, _, _>(server.clone(), peer, callback) {
            Ok((response, serving)) => {
                tokio::spawn(serving);
                response
            }
            Err(refusal) => refusal.into_response(),
        }
    }

    /// Answers the request and runs `callback` with the WebSocket on a new
    /// tokio task once hyper hands over the connection. The returned
    /// response is the `101` (or, over HTTP/2, the `200`) to return from the
    /// handler; a response field that cannot be sent makes it a 500.
    pub fn on_upgrade<F, Fut>(self, callback: F) -> Response
    where
        F: FnOnce(WebSocketStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut decision = Decision::accept();
        if let Some(protocol) = &self.protocol {
            decision = decision.protocol(protocol);
        }
        for (name, value) in &self.headers {
            decision = decision.header(name, value);
        }
        let mut upgrade = self.upgrade;
        if let Some(config) = self.config {
            upgrade = upgrade.config(config);
        }
        match upgrade.accept::<Body>(decision) {
            Ok((response, connecting)) => {
                tokio::spawn(async move {
                    if let Ok(ws) = connecting.await {
                        callback(ws).await;
                    }
                });
                response
            }
            Err(refusal) => refusal.into_response(),
        }
    }
}
