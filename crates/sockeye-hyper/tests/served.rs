//! WebSockets that axum upgrades, served by a `ServerCore`: broadcasts and
//! graceful shutdown reach clients over HTTP/1.1 and HTTP/2 alike, and the
//! per-address connection limit counts both.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::any;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::Empty;
use hyper::Method;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use sockeye_hyper::{Config, Message, ServerCore, ServerPolicy, WebSocketUpgrade};
use sockeye_tokio::{Role, TokioClock};
use tokio_tungstenite::tungstenite;

const LIMIT: Duration = Duration::from_secs(20);

/// Serves `server`'s clients through the extractor: each echoes what it
/// gets to everyone.
async fn serve(server: Arc<ServerCore>) -> SocketAddr {
    let app = Router::new().route(
        "/room",
        any(
            move |ws: WebSocketUpgrade, ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                ws.on_upgrade_served(&server, peer, |mut client| async move {
                    while let Some(Ok(message)) = client.recv().await {
                        if message.is_data() {
                            client.clients().broadcast(message);
                        }
                    }
                })
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http2().enable_connect_protocol();
    tokio::spawn(async move {
        while let Ok((tcp, peer)) = listener.accept().await {
            let app = app.clone().layer(axum::Extension(ConnectInfo(peer)));
            let service = TowerToHyperService::new(app);
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

type Http1Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
type Http2Client = sockeye_tokio::WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

async fn http1_client(addr: SocketAddr) -> Result<Http1Client, tungstenite::Error> {
    tokio_tungstenite::connect_async(format!("ws://{addr}/room"))
        .await
        .map(|(ws, _)| ws)
}

/// An extended CONNECT stream on a connection of its own; the status when
/// the server refuses.
async fn http2_client(addr: SocketAddr) -> Result<Http2Client, u16> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake::<_, Empty<Bytes>>(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(Method::CONNECT)
        .uri(format!("http://{addr}/room"))
        .header("sec-websocket-version", "13")
        .body(Empty::new())
        .unwrap();
    request
        .extensions_mut()
        .insert(hyper::ext::Protocol::from_static("websocket"));
    sender.ready().await.unwrap();
    let mut response = sender.send_request(request).await.unwrap();
    if response.status() != 200 {
        return Err(response.status().as_u16());
    }
    let upgraded = hyper::upgrade::on(&mut response).await.unwrap();
    Ok(sockeye_tokio::from_raw(
        TokioIo::new(upgraded),
        Role::Client,
        Config::default(),
    ))
}

async fn until_clients(server: &ServerCore, count: usize) {
    while server.clients().len() != count {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_broadcast_and_a_graceful_shutdown_reach_http1_and_http2_clients() {
    let server = Arc::new(ServerCore::new(ServerPolicy::new()));
    let addr = serve(server.clone()).await;
    tokio::time::timeout(LIMIT, async {
        let mut one = http1_client(addr).await.unwrap();
        let mut two = http2_client(addr).await.unwrap();
        until_clients(&server, 2).await;

        // A message from the HTTP/2 client reaches both through the room.
        two.send("from h2").await.unwrap();
        assert_eq!(
            one.next().await.unwrap().unwrap(),
            tungstenite::Message::text("from h2")
        );
        assert_eq!(two.recv().await.unwrap().unwrap(), Message::text("from h2"));
        // And one from the server itself.
        assert_eq!(server.clients().broadcast(Message::text("notice")), 2);
        assert_eq!(
            one.next().await.unwrap().unwrap(),
            tungstenite::Message::text("notice")
        );
        assert_eq!(two.recv().await.unwrap().unwrap(), Message::text("notice"));

        // Shutdown: 1001 to both; the clients answer and are gone.
        let shutdown = {
            let server = server.clone();
            tokio::spawn(async move {
                server
                    .shutdown(TokioClock::new(), Duration::from_secs(5))
                    .await
            })
        };
        match one.next().await.unwrap().unwrap() {
            tungstenite::Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1001),
            other => panic!("{other:?}"),
        }
        // tungstenite answers the close while it reads on to the end.
        while let Some(Ok(_)) = one.next().await {}
        while let Some(Ok(_)) = two.recv().await {}
        assert_eq!(two.close_status().unwrap().code, 1001);
        let report = shutdown.await.unwrap();
        assert_eq!((report.told, report.dropped), (2, 0));
        assert_eq!(server.clients().len(), 0);
        // A newcomer during or after shutdown is refused.
        assert_eq!(http2_client(addr).await.err(), Some(503));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_per_address_limit_counts_both_forms() {
    let policy = ServerPolicy::new().max_connections_per_ip(2);
    let server = Arc::new(ServerCore::new(policy));
    let addr = serve(server.clone()).await;
    tokio::time::timeout(LIMIT, async {
        let _one = http1_client(addr).await.unwrap();
        let _two = http2_client(addr).await.unwrap();
        until_clients(&server, 2).await;
        assert_eq!(http2_client(addr).await.err(), Some(503));
        match http1_client(addr).await {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
            other => panic!("{:?}", other.map(|_| ())),
        }
        assert_eq!(server.clients().len(), 2);
    })
    .await
    .unwrap();
}
