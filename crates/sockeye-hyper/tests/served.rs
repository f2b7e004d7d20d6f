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
use futures_util::StreamExt;
use hyper_util::rt::TokioIo;
use sockeye_hyper::{Config, Message, ServerCore, ServerPolicy, WebSocketUpgrade};
use sockeye_tokio::{Role, TokioClock};
use tokio_tungstenite::tungstenite;

const LIMIT: Duration = Duration::from_secs(20);

/// Serves `server`'s clients through the extractor: each echoes what it
/// gets to everyone.
async fn serve(server: Arc<ServerCore>) -> SocketAddr {
    common::serve(Router::new().route(
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
    ))
    .await
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
    let mut sender = common::http2_connection(tcp).await;
    let request = common::extended_connect(&format!("http://{addr}/room"), "13", &[]);
    let mut response = common::send(&mut sender, request).await;
    if response.status() != 200 {
        return Err(response.status().as_u16());
    }
    let upgraded = common::upgraded(&mut response).await;
    Ok(sockeye_tokio::from_raw(
        upgraded,
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
