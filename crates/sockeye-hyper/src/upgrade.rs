//! A hyper request judged by the engine, answered, and turned into a
//! WebSocket once hyper hands over the connection.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode, Version};
use hyper::upgrade::OnUpgrade;
use sockeye_io::driver::Clock;
use sockeye_io::server::{RequestInfo, ServerCore, ServerPolicy};
use sockeye_io::sockeye::endpoint::{Endpoint, EndpointEvent};
use sockeye_io::sockeye::handshake::{HandshakeError, Headers, Request, Upgrade as Form};
use sockeye_io::{Config, Decision, Error, HandshakeInfo, SharedConfig};
use sockeye_tokio::TokioClock;

use crate::{ServerClient, WebSocketStream};

/// A request that asks for a WebSocket, judged by the engine's handshake
/// rules and waiting for the server's answer.
///
/// Made from a hyper request of either form: an HTTP/1.1 `GET` with
/// `Upgrade: websocket` (answered `101`), or an HTTP/2 extended `CONNECT`
/// with `:protocol` `websocket` (RFC 8441, answered `200`; the server must
/// be built with `enable_connect_protocol()` on hyper's HTTP/2 builder).
///
/// ```no_run
/// use http_body_util::Full;
/// use sockeye_hyper::{Decision, Upgrade};
///
/// async fn serve(mut request: hyper::Request<hyper::body::Incoming>) -> hyper::Response<Full<bytes::Bytes>> {
///     let upgrade = match Upgrade::new(&mut request, sockeye_hyper::Config::default()) {
///         Ok(upgrade) => upgrade,
///         Err(refusal) => return refusal.into_response(),
///     };
///     let decision = Decision::accept_first_of(upgrade.request(), &["chat"]);
///     match upgrade.accept(decision) {
///         Ok((response, websocket)) => {
///             tokio::spawn(async move {
///                 let mut ws = websocket.await?;
///                 while let Some(message) = ws.recv().await {
///                     ws.send(message?).await?;
///                 }
///                 Ok::<_, sockeye_hyper::Error>(())
///             });
///             response
///         }
///         Err(refusal) => refusal.into_response(),
///     }
/// }
/// ```
#[derive(Debug)]
pub struct Upgrade {
    request: Request,
    on_upgrade: OnUpgrade,
    config: Option<Config>,
}

impl Upgrade {
    /// Judges `request` with `config` (the connection's limits, timers and
    /// permessage-deflate) and takes hyper's handle on its connection.
    ///
    /// # Errors
    ///
    /// A [`Refusal`] carrying the engine's answer: 426 for an HTTP/1.1
    /// request that is not an upgrade (400 over HTTP/2, where only an
    /// extended CONNECT asks for a WebSocket), 405, 400 for a missing key or
    /// a malformed field, 426 for a version other than 13.
    pub fn new<B>(
        request: &mut http::Request<B>,
        config: impl Into<SharedConfig>,
    ) -> Result<Self, Refusal> {
        let judged = judge(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
            request.extensions().get::<hyper::ext::Protocol>(),
            config.into(),
        )?;
        Ok(Self::with_handle(judged, hyper::upgrade::on(request)))
    }

    /// [`new`](Self::new) for a request already split into its parts (as
    /// an axum extractor sees it).
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn from_parts(
        parts: &mut http::request::Parts,
        config: impl Into<SharedConfig>,
    ) -> Result<Self, Refusal> {
        let judged = judge(
            &parts.method,
            &parts.uri,
            parts.version,
            &parts.headers,
            parts.extensions.get::<hyper::ext::Protocol>(),
            config.into(),
        )?;
        // hyper keeps the handle in the extensions; without it (a request
        // that did not come from a hyper server) the upgrade cannot happen.
        let on_upgrade = parts.extensions.remove::<OnUpgrade>().ok_or_else(|| {
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the connection cannot be upgraded (no hyper upgrade handle)\n",
            )
        })?;
        Ok(Self::with_handle(judged, on_upgrade))
    }

    fn with_handle(request: Request, on_upgrade: OnUpgrade) -> Self {
        Self {
            request,
            on_upgrade,
            config: None,
        }
    }

    /// The request as the engine read it: path, query, headers, origin,
    /// offered subprotocols and extensions, and its form
    /// ([`Request::upgrade`]).
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Uses `config` for the connection instead of the one the request was
    /// judged with.
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Answers as `policy` decides (its path, verify hook, subprotocols
    /// and extra fields; [`ServerPolicy::decide`]) for a client at `peer`.
    /// Judge the request with the policy's configuration
    /// (`Upgrade::new(request, policy.shared_config().clone())`) so that
    /// its connections share it.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept): the policy's refusal (404 for another
    /// path, the hook's own), or 500 for a decision that cannot be carried
    /// out.
    pub fn accept_with_policy<B: From<Bytes>>(
        self,
        policy: &ServerPolicy,
        peer: SocketAddr,
    ) -> Result<(http::Response<B>, Connecting), Refusal> {
        let decision = policy.decide(&RequestInfo::new(&self.request, peer));
        self.accept(decision)
    }

    /// Answers as `server` decides for a client at `peer` (its policy, then
    /// a place among its clients under the connection limits; 503 when
    /// there is none or it is shutting down) and returns the response for
    /// hyper to send with a future to spawn: it runs `handler` on the
    /// client once hyper hands the connection over, registered among
    /// `server.clients()`, so broadcasts, close orders, the rate limit and
    /// graceful shutdown ([`ServerCore::shutdown`]) reach it as they reach
    /// the clients of `sockeye-tokio`'s own `Server`. The connection uses
    /// the policy's configuration unless [`config`](Self::config) set one.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept), with the server's decision.
    pub fn serve<B, F, Fut>(
        self,
        server: Arc<ServerCore>,
        peer: SocketAddr,
        handler: F,
    ) -> Result<
        (
            http::Response<B>,
            impl Future<Output = Result<(), Error>> + Send + 'static,
        ),
        Refusal,
    >
    where
        B: From<Bytes>,
        F: FnOnce(ServerClient) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let admission = server.admit(&self.request, peer);
        let request = self.request.clone();
        let upgrade = match self.config {
            Some(_) => self,
            None => {
                let config = Config::clone(server.policy().shared_config());
                self.config(config)
            }
        };
        let (response, connecting) = upgrade.accept(admission.decision().clone())?;
        let serving = async move {
            let ws = connecting.await?;
            server.run(ws, request, peer, admission, handler).await
        };
        Ok((response, serving))
    }

    /// Carries out `decision`: the response for hyper to send (`101` or
    /// `200` with the selected subprotocol and extensions) and the
    /// WebSocket, which is ready once hyper has sent it.
    ///
    /// # Errors
    ///
    /// A [`Refusal`] to send instead: the decision's own refusal, or 500
    /// when the decision cannot be carried out (a subprotocol the client
    /// did not offer, a field the handshake writes itself).
    pub fn accept<B: From<Bytes>>(
        self,
        decision: Decision,
    ) -> Result<(http::Response<B>, Connecting), Refusal> {
        let clock = TokioClock::new();
        let now = clock.now();
        let form = self.request.upgrade();
        let mut endpoint = Endpoint::server_for(self.request, now);
        let _request_event = endpoint.poll_event();
        if let Some(status) = decision.rejected_status() {
            // The engine checks the status and the fields.
            let fields: Vec<(&str, &str)> = decision.headers().collect();
            return Err(
                match endpoint.reject(status, &fields, decision.rejected_body()) {
                    Ok(_) => Refusal::from_decision(&decision, status),
                    Err(error) => Refusal::misuse(&error),
                },
            );
        }
        let mut accept = decision.to_accept(now);
        if let Some(config) = self.config {
            accept = accept.config(config);
        }
        endpoint
            .accept(accept)
            .map_err(|error| Refusal::misuse(&error))?;
        // An endpoint made by `server_for` opens with the response for the
        // HTTP layer once `accept` succeeded; anything else is a bug.
        let Some(EndpointEvent::Opened(opened)) = endpoint.poll_event() else {
            return Err(Refusal::not_opened());
        };
        let (Some(head), Ok(connection)) = (opened.response, endpoint.into_connection()) else {
            return Err(Refusal::not_opened());
        };
        let mut response = http::Response::new(B::from(Bytes::new()));
        *response.status_mut() =
            StatusCode::from_u16(head.status).unwrap_or(StatusCode::SWITCHING_PROTOCOLS);
        append_fields(response.headers_mut(), &head.headers);
        let info = HandshakeInfo {
            url: None,
            protocol: opened.protocol,
            extensions: opened.extensions,
        };
        Ok((
            response,
            Connecting {
                on_upgrade: self.on_upgrade,
                connection: Some((connection, clock, info)),
                form,
            },
        ))
    }
}

/// hyper's fields as the engine reads them (a value that is not UTF-8 is
/// read lossily), for a request or a response alike.
pub(crate) fn engine_headers(map: &http::HeaderMap) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in map {
        headers.append(name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
    }
    headers
}

/// Reads a hyper request into the engine's [`Request`] and judges it.
fn judge(
    method: &Method,
    uri: &http::Uri,
    version: Version,
    fields: &http::HeaderMap,
    protocol: Option<&hyper::ext::Protocol>,
    config: SharedConfig,
) -> Result<Request, Refusal> {
    let headers = engine_headers(fields);
    let target = uri.path_and_query().map_or("/", |target| target.as_str());
    let (result, form) = if version == Version::HTTP_2 {
        let authority = uri.authority().map_or("", |authority| authority.as_str());
        let protocol = protocol.map(hyper::ext::Protocol::as_str);
        let result = Request::from_http2(
            method.as_str(),
            protocol,
            target,
            authority,
            headers,
            config,
        );
        (result, Form::ExtendedConnect)
    } else {
        let result = Request::from_http1(method.as_str(), target, headers, config);
        (result, Form::Http1)
    };
    result.map_err(|error| Refusal::from_error(error, form))
}

fn append_fields(map: &mut http::HeaderMap, fields: &[(String, String)]) {
    for (name, value) in fields {
        // The engine wrote these fields or checked them (tokens, no CR, LF
        // or NUL), so a field hyper refuses is one it cannot send anyway.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.append(name, value);
        }
    }
}

/// A plain HTTP response that refuses a request: the engine's answer to a
/// request that breaks the handshake rules, or the server's own refusal.
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    headers: Vec<(String, String)>,
    body: Bytes,
    error: Option<Box<HandshakeError>>,
}

impl Refusal {
    fn new(status: StatusCode, body: &'static str) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: Bytes::from_static(body.as_bytes()),
            error: None,
        }
    }

    fn from_error(error: HandshakeError, form: Form) -> Self {
        match error.response_head(form) {
            Some((mut head, body)) => Self {
                status: StatusCode::from_u16(head.status).unwrap_or(StatusCode::BAD_REQUEST),
                headers: {
                    // RFC 9110 §7.8: `Upgrade` sent in a response is listed
                    // in `Connection`, which the engine leaves to hyper.
                    if head.headers.iter().any(|(name, _)| name == "Upgrade") {
                        head.headers.push(("Connection".into(), "upgrade".into()));
                    }
                    head.headers
                },
                body: Bytes::from(body),
                error: Some(Box::new(error)),
            },
            None => Self {
                error: Some(Box::new(error)),
                ..Self::new(StatusCode::BAD_REQUEST, "bad WebSocket request\n")
            },
        }
    }

    fn from_decision(decision: &Decision, status: u16) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN),
            headers: decision
                .headers()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
            body: Bytes::copy_from_slice(decision.rejected_body()),
            error: None,
        }
    }

    fn not_opened() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the WebSocket endpoint did not open\n",
        )
    }

    /// The server's own mistake (a decision the engine cannot carry out).
    fn misuse(error: &HandshakeError) -> Self {
        Self {
            body: Bytes::from(format!("cannot accept the WebSocket: {error}\n")),
            ..Self::new(StatusCode::INTERNAL_SERVER_ERROR, "")
        }
    }

    /// The status of the response.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The handshake rule the request broke, when the engine refused it
    /// (`None` for the server's own refusal).
    pub fn error(&self) -> Option<&HandshakeError> {
        self.error.as_deref()
    }

    /// The response to send, with a body of any type made from [`Bytes`]
    /// (`http_body_util::Full`, axum's `Body`).
    pub fn into_response<B: From<Bytes>>(self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.body));
        *response.status_mut() = self.status;
        append_fields(response.headers_mut(), &self.headers);
        response
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.error {
            Some(error) => write!(f, "WebSocket request refused ({}): {error}", self.status),
            None => write!(f, "WebSocket request refused ({})", self.status),
        }
    }
}

impl std::error::Error for Refusal {}

/// The WebSocket of an accepted request, ready once hyper has sent the
/// response and handed over the connection (the HTTP/1.1 connection after
/// the `101`, or the HTTP/2 stream after the `200`).
///
/// # Errors
///
/// [`Error::Io`] when hyper does not hand the connection over (the client
/// left, or the response was not the one [`Upgrade::accept`] returned).
#[derive(Debug)]
#[must_use = "the WebSocket opens only when this future is awaited"]
pub struct Connecting {
    on_upgrade: OnUpgrade,
    connection: Option<(sockeye_io::sockeye::Connection, TokioClock, HandshakeInfo)>,
    form: Form,
}

impl Connecting {
    /// Whether the WebSocket runs over an HTTP/2 stream (RFC 8441) rather
    /// than a whole HTTP/1.1 connection.
    pub fn is_http2(&self) -> bool {
        self.form == Form::ExtendedConnect
    }
}

impl Future for Connecting {
    type Output = Result<WebSocketStream, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let upgraded = match Pin::new(&mut self.on_upgrade).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(upgraded)) => upgraded,
            Poll::Ready(Err(error)) => {
                return Poll::Ready(Err(Error::Io(std::io::Error::other(error))));
            }
        };
        let Some((connection, clock, info)) = self.connection.take() else {
            return Poll::Ready(Err(Error::Io(std::io::Error::other(
                "the WebSocket was already handed out",
            ))));
        };
        // hyper keeps bytes it read past the request inside `Upgraded`
        // itself, so the connection starts with nothing pending.
        let io = sockeye_io::driver::TokioIo(hyper_util::rt::TokioIo::new(upgraded));
        let ws =
            sockeye_io::driver::WebSocket::new(connection, io, clock).with_handshake_info(info);
        Poll::Ready(Ok(ws))
    }
}
