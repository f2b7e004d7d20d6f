//! `Http2Client` against the axum app served over TLS the way `axum-echo
//! --tls` serves it: WebSockets as HTTP/2 extended CONNECT streams sharing
//! one connection, and the HTTP/1.1 upgrade when the server's HTTP/2 has no
//! WebSockets or its ALPN picks HTTP/1.1.

mod common;

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::any;
use bytes::Bytes;
use common::TestCertificate;
use sockeye_hyper::{
    ClientOptions, ClientWebSocket, CloseCode, Config, Error, Http2Client, Message, TlsOptions,
    WebSocketUpgrade,
};

const LIMIT: Duration = Duration::from_secs(30);

/// The app of the other tests, a route that refuses with 403, and an echo
/// that takes messages of up to 32 MiB.
fn app() -> Router {
    common::app()
        .route("/forbidden", any(|| async { StatusCode::FORBIDDEN }))
        .route(
            "/big",
            any(|ws: WebSocketUpgrade| async move {
                ws.max_message_size(32 << 20)
                    .on_upgrade(|mut ws| async move {
                        while let Some(Ok(message)) = ws.recv().await {
                            if ws.send(message).await.is_err() {
                                break;
                            }
                        }
                    })
            }),
        )
}

fn options(certificate: &TestCertificate) -> ClientOptions {
    ClientOptions::new().tls(TlsOptions::new().rustls_config(certificate.client.clone()))
}

async fn open(
    client: &Http2Client,
    certificate: &TestCertificate,
    port: u16,
    path: &str,
) -> ClientWebSocket {
    let url = format!("wss://localhost:{port}{path}");
    let (ws, _) = client
        .connect(&url, options(certificate), Config::default())
        .await
        .unwrap();
    ws
}

/// The form the server saw the request in, as `/form` reports it first.
async fn form(ws: &mut ClientWebSocket) -> String {
    match ws.recv().await.unwrap().unwrap() {
        Message::Text(form) => form.to_string(),
        other => panic!("{other:?}"),
    }
}

async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test).await.unwrap()
}

#[test]
fn the_connect_future_can_be_spawned() {
    fn is_send<T: Send>(_: &T) {}
    let client = Http2Client::new();
    is_send(&client.connect("wss://localhost/", ClientOptions::new(), Config::default()));
}

#[tokio::test]
async fn text_binary_16_mib_ping_and_close_codes_over_http2() {
    let certificate = TestCertificate::new(&[b"h2", b"http/1.1"]);
    let (addr, _) = common::serve_tls(app(), &certificate, true).await;
    bounded(async {
        let client = Http2Client::new();
        let mut ws = open(&client, &certificate, addr.port(), "/form").await;
        assert_eq!(form(&mut ws).await, "http2");
        ws.send("hello").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("hello"));
        ws.send(Message::binary(vec![0u8, 1, 2])).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::binary(vec![0u8, 1, 2])
        );
        ws.send(Message::Ping(Bytes::from_static(b"there?")))
            .await
            .unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Pong(Bytes::from_static(b"there?"))
        );
        ws.close(CloseCode::try_from(4001).unwrap(), "bye")
            .await
            .unwrap();
        while let Some(Ok(_)) = ws.recv().await {}
        let status = ws.close_status().unwrap();
        assert_eq!((status.code, status.was_clean), (4001, true));

        // One 16 MiB message each way, through a stream whose window is
        // 256 KiB: flow control paces it, nothing is lost.
        let mut ws = open(&client, &certificate, addr.port(), "/big").await;
        let big: Vec<u8> = (0..16u32 << 20).map(|i| (i % 251) as u8).collect();
        ws.send(Message::binary(big.clone())).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::binary(big));
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        while let Some(Ok(_)) = ws.recv().await {}
        assert_eq!(ws.close_status().unwrap().code, 1000);
    })
    .await;
}

#[tokio::test]
async fn many_websockets_to_one_origin_share_one_connection() {
    let certificate = TestCertificate::new(&[b"h2", b"http/1.1"]);
    let (addr, accepted) = common::serve_tls(app(), &certificate, true).await;
    bounded(async {
        let client = Http2Client::new();
        let mut tasks = Vec::new();
        for n in 0..10 {
            let mut ws = open(&client, &certificate, addr.port(), "/form").await;
            assert_eq!(form(&mut ws).await, "http2");
            tasks.push(tokio::spawn(async move {
                for i in 0..50 {
                    let text = format!("stream {n} message {i}");
                    ws.send(text.as_str()).await.unwrap();
                    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text(text));
                }
                ws.close(CloseCode::NORMAL, "").await.unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(client.http2_connections(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_stalled_stream_does_not_stall_the_busy_ones_beside_it() {
    let certificate = TestCertificate::new(&[b"h2", b"http/1.1"]);
    let (addr, accepted) = common::serve_tls(app(), &certificate, true).await;
    bounded(async {
        let client = Http2Client::new();
        let stalled = open(&client, &certificate, addr.port(), "/echo").await;
        // Nobody reads the stalled stream: the server's echoes fill its
        // window, the server waits, and so does this writer.
        let (_unread, mut writer) = stalled.split();
        let flood = tokio::spawn(async move {
            let chunk = Bytes::from(vec![7u8; 16 << 10]);
            for _ in 0..1024 {
                if writer.send(Message::binary(chunk.clone())).await.is_err() {
                    break;
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !flood.is_finished(),
            "16 MiB went through a stream nobody reads"
        );
        let mut busy = Vec::new();
        for _ in 0..3 {
            busy.push(open(&client, &certificate, addr.port(), "/echo").await);
        }
        for i in 0..100 {
            for ws in &mut busy {
                let text = format!("busy {i}");
                ws.send(text.as_str()).await.unwrap();
                assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text(text));
            }
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "all on one connection");
        flood.abort();
    })
    .await;
}

#[tokio::test]
async fn without_extended_connect_the_client_falls_back_to_http1_and_remembers() {
    let certificate = TestCertificate::new(&[b"h2", b"http/1.1"]);
    let (addr, accepted) = common::serve_tls(app(), &certificate, false).await;
    bounded(async {
        let client = Http2Client::new();
        let mut ws = open(&client, &certificate, addr.port(), "/form").await;
        assert_eq!(form(&mut ws).await, "http1");
        ws.send("still works").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::text("still works")
        );
        // The h2 attempt and the HTTP/1.1 connection.
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        let mut again = open(&client, &certificate, addr.port(), "/form").await;
        assert_eq!(form(&mut again).await, "http1");
        // Straight to HTTP/1.1 the second time.
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
        assert_eq!(client.http2_connections(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_server_whose_alpn_picks_http1_gets_the_upgrade_on_that_connection() {
    let certificate = TestCertificate::new(&[b"http/1.1"]);
    let (addr, accepted) = common::serve_tls(app(), &certificate, true).await;
    bounded(async {
        let client = Http2Client::new();
        let mut ws = open(&client, &certificate, addr.port(), "/form").await;
        assert_eq!(form(&mut ws).await, "http1");
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    })
    .await;
}

#[tokio::test]
async fn a_refusal_over_http2_is_reported_with_its_status_and_the_connection_stays() {
    let certificate = TestCertificate::new(&[b"h2", b"http/1.1"]);
    let (addr, accepted) = common::serve_tls(app(), &certificate, true).await;
    bounded(async {
        let client = Http2Client::new();
        let url = format!("wss://localhost:{}/forbidden", addr.port());
        match client
            .connect(&url, options(&certificate), Config::default())
            .await
        {
            Err(Error::Rejected { status: 403, .. }) => {}
            other => panic!("{:?}", other.map(|_| ())),
        }
        // A subprotocol the server does not choose is fine; one it chose
        // comes back.
        let url = format!("wss://localhost:{}/chat", addr.port());
        let (_ws, response) = client
            .connect(
                &url,
                options(&certificate).protocol("chat.v1"),
                Config::default(),
            )
            .await
            .unwrap();
        assert_eq!(response.protocol.as_deref(), Some("chat.v1"));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    })
    .await;
}

#[tokio::test]
async fn ws_urls_use_http1() {
    let addr = common::serve(app()).await;
    bounded(async {
        let client = Http2Client::new();
        let url = format!("ws://{addr}/form");
        let (mut ws, _) = client
            .connect(&url, ClientOptions::new(), Config::default())
            .await
            .unwrap();
        assert_eq!(form(&mut ws).await, "http1");
    })
    .await;
}
