//! An axum app served the way the `axum-echo` example serves it: hyper-util's
//! auto builder, HTTP/1.1 and HTTP/2 (prior knowledge) on one plain port,
//! extended CONNECT enabled.

#![allow(dead_code, reason = "each test file uses part of it")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::response::Response;
use axum::routing::any;
use axum::{Extension, Router};
use bytes::Bytes;
use http_body_util::Empty;
use hyper::Method;
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper::upgrade::Upgraded;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sockeye_hyper::{HandshakeForm, WebSocketUpgrade};
use tokio_rustls::rustls;

/// Echoes every data message; `/form` first sends which form the request
/// came in (`http1` or `http2`).
pub fn app() -> Router {
    Router::new()
        .route("/form", any(report_form))
        .route("/chat", any(chat))
        .fallback(any(echo))
}

async fn echo(ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(4 << 20).on_upgrade(echo_loop)
}

async fn chat(ws: WebSocketUpgrade) -> Response {
    ws.protocols(["chat.v2", "chat.v1"]).on_upgrade(echo_loop)
}

async fn report_form(ws: WebSocketUpgrade) -> Response {
    let form = match ws.request().upgrade() {
        HandshakeForm::Http1 => "http1",
        _ => "http2",
    };
    ws.on_upgrade(move |mut ws| async move {
        if ws.send(form).await.is_ok() {
            echo_loop(ws).await;
        }
    })
}

async fn echo_loop(mut ws: sockeye_hyper::WebSocketStream) {
    while let Some(Ok(message)) = ws.recv().await {
        if message.is_data() && ws.send(message).await.is_err() {
            break;
        }
    }
}

/// How long hyper waits for a request's header block (the slowloris bound
/// of the axum path; `axum-echo` uses 10 s, the engine's default handshake
/// timeout).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_millis(500);
/// The most hyper buffers of a request head before answering 431.
pub const MAX_HEAD: usize = 64 << 10;

/// hyper-util's auto builder as `axum-echo` sets it up: extended CONNECT
/// advertised when `extended_connect`, the request head bounded in time and
/// size.
fn builder(extended_connect: bool) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    if extended_connect {
        builder.http2().enable_connect_protocol();
    }
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD);
    builder
}

/// Serves `app` on a free port of 127.0.0.1 until the test's runtime ends,
/// with hyper's header timeout and head size bounded as `axum-echo` bounds
/// them; handlers can extract the client's `ConnectInfo<SocketAddr>`.
pub async fn serve(app: Router) -> SocketAddr {
    serve_hyper(move |peer| {
        TowerToHyperService::new(app.clone().layer(Extension(ConnectInfo(peer))))
    })
    .await
}

/// Serves the hyper service `make` returns for each connection's peer, as
/// [`serve`] serves an axum app.
pub async fn serve_hyper<F, S, B>(make: F) -> SocketAddr
where
    F: Fn(SocketAddr) -> S + Send + 'static,
    S: hyper::service::Service<hyper::Request<Incoming>, Response = hyper::Response<B>>
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let builder = builder(true);
    tokio::spawn(async move {
        while let Ok((tcp, peer)) = listener.accept().await {
            let service = make(peer);
            let builder = builder.clone();
            tokio::spawn(async move {
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

/// An HTTP/2 connection over `io` (prior knowledge, or `h2` chosen by
/// ALPN) from hyper's own client, its driver spawned.
pub async fn http2_connection<T>(io: T) -> SendRequest<Empty<Bytes>>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(io))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

/// An RFC 8441 extended CONNECT for `uri` with `Sec-WebSocket-Version`
/// `version` and the other `fields`.
pub fn extended_connect(
    uri: &str,
    version: &str,
    fields: &[(&str, &str)],
) -> hyper::Request<Empty<Bytes>> {
    let mut builder = hyper::Request::builder()
        .method(Method::CONNECT)
        .uri(uri)
        .header("sec-websocket-version", version);
    for (name, value) in fields {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(Empty::new()).unwrap();
    request
        .extensions_mut()
        .insert(hyper::ext::Protocol::from_static("websocket"));
    request
}

/// Sends `request` on `sender` once it can take a stream.
pub async fn send(
    sender: &mut SendRequest<Empty<Bytes>>,
    request: hyper::Request<Empty<Bytes>>,
) -> hyper::Response<Incoming> {
    sender.ready().await.unwrap();
    sender.send_request(request).await.unwrap()
}

/// The stream hyper hands over after a `200` to an extended CONNECT.
pub async fn upgraded(response: &mut hyper::Response<Incoming>) -> TokioIo<Upgraded> {
    TokioIo::new(hyper::upgrade::on(response).await.unwrap())
}

/// A server certificate for `localhost`, and a rustls client configuration
/// that trusts it.
pub struct TestCertificate {
    pub server: Arc<rustls::ServerConfig>,
    pub client: Arc<rustls::ClientConfig>,
}

impl TestCertificate {
    /// A fresh self-signed certificate; the server offers `alpn`.
    pub fn new(alpn: &[&[u8]]) -> Self {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let certificate: CertificateDer<'static> = certified.cert.der().clone();
        let key = PrivateKeyDer::try_from(certified.signing_key.serialize_der()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certificate.clone()], key)
            .unwrap();
        server.alpn_protocols = alpn.iter().map(|name| name.to_vec()).collect();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(certificate).unwrap();
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self {
            server: Arc::new(server),
            client: Arc::new(client),
        }
    }
}

/// A TLS server of `app` on a free port of 127.0.0.1, as `axum-echo --tls`
/// serves it (HTTP/1.1 and HTTP/2 by ALPN), extended CONNECT advertised
/// only with `extended_connect`. Returns its address and the number of TCP
/// connections it has accepted so far.
pub async fn serve_tls(
    app: Router,
    certificate: &TestCertificate,
    extended_connect: bool,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(certificate.server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let builder = builder(extended_connect);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            let service = TowerToHyperService::new(app.clone());
            let builder = builder.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, accepted)
}

/// Sends `request` as raw HTTP/1.1 and returns the response head.
pub async fn raw_http1(addr: SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        if tcp.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}
