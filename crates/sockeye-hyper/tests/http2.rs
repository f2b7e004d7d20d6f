//! WebSockets over HTTP/2 (RFC 8441) with real stacks: hyper's own HTTP/2
//! client (prior knowledge) opens extended CONNECT streams to the axum app,
//! and each stream becomes a sockeye client WebSocket.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::StatusCode;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::TokioIo;
use sockeye_hyper::{CloseCode, Config, Message};
use sockeye_tokio::{Role, WebSocketStream};

const LIMIT: Duration = Duration::from_secs(20);

type Client = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// One HTTP/2 connection to `addr` (prior knowledge).
async fn connect(addr: SocketAddr) -> SendRequest<Empty<Bytes>> {
    common::http2_connection(tokio::net::TcpStream::connect(addr).await.unwrap()).await
}

/// Opens a WebSocket as a stream of `sender`'s connection.
async fn open(sender: &mut SendRequest<Empty<Bytes>>, addr: SocketAddr, path: &str) -> Client {
    let request = common::extended_connect(&format!("http://{addr}{path}"), "13", &[]);
    let mut response = common::send(sender, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("sec-websocket-accept").is_none());
    let upgraded = common::upgraded(&mut response).await;
    sockeye_tokio::from_raw(upgraded, Role::Client, Config::default())
}

#[tokio::test]
async fn text_binary_a_1_mib_message_and_close_1000_over_one_stream() {
    let addr = common::serve(common::app()).await;
    tokio::time::timeout(LIMIT, async {
        let mut sender = connect(addr).await;
        let mut ws = open(&mut sender, addr, "/form").await;
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("http2"));
        ws.send("hello").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("hello"));
        ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::binary(vec![1u8, 2, 3])
        );
        let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        ws.send(Message::binary(big.clone())).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::binary(big));
        ws.close(CloseCode::NORMAL, "done").await.unwrap();
        while let Some(Ok(_)) = ws.recv().await {}
        let status = ws.close_status().unwrap();
        assert_eq!(status.code, 1000);
        assert!(status.was_clean);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_ping_gets_its_pong_and_a_close_code_comes_back_over_a_stream() {
    let addr = common::serve(common::app()).await;
    tokio::time::timeout(LIMIT, async {
        let mut sender = connect(addr).await;
        let mut ws = open(&mut sender, addr, "/echo").await;
        ws.send(Message::Ping(Bytes::from_static(b"are you there")))
            .await
            .unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Pong(Bytes::from_static(b"are you there"))
        );
        ws.close(CloseCode::try_from(4001).unwrap(), "bye")
            .await
            .unwrap();
        while let Some(Ok(_)) = ws.recv().await {}
        let status = ws.close_status().unwrap();
        assert_eq!(status.code, 4001);
        assert!(status.was_clean);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn several_websockets_share_one_connection() {
    let addr = common::serve(common::app()).await;
    tokio::time::timeout(LIMIT, async {
        let mut sender = connect(addr).await;
        let mut tasks = Vec::new();
        for n in 0..8 {
            let mut ws = open(&mut sender, addr, "/echo").await;
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
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_stream_whose_reader_stalls_does_not_stall_its_neighbour() {
    let addr = common::serve(common::app()).await;
    tokio::time::timeout(LIMIT, async {
        let mut sender = connect(addr).await;
        let stalled = open(&mut sender, addr, "/echo").await;
        let mut busy = open(&mut sender, addr, "/echo").await;
        // The stalled side only sends: its echoes fill the stream's HTTP/2
        // window, the server's echo task waits on it, and then so does
        // this sender; nothing reads them.
        let (_stalled_reader, mut stalled_writer) = stalled.split();
        let flood = tokio::spawn(async move {
            let chunk = Bytes::from(vec![7u8; 16 << 10]);
            for _ in 0..1024 {
                if stalled_writer
                    .send(Message::binary(chunk.clone()))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !flood.is_finished(),
            "16 MiB went through a stream nobody reads"
        );
        for i in 0..200 {
            let text = format!("busy {i}");
            busy.send(text.as_str()).await.unwrap();
            assert_eq!(busy.recv().await.unwrap().unwrap(), Message::text(text));
        }
        flood.abort();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_plain_request_gets_400_and_a_wrong_version_426() {
    let addr = common::serve(common::app()).await;
    tokio::time::timeout(LIMIT, async {
        let mut sender = connect(addr).await;
        let plain = hyper::Request::builder()
            .uri(format!("http://{addr}/echo"))
            .body(Empty::new())
            .unwrap();
        let response = common::send(&mut sender, plain).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let wrong_version = common::extended_connect(&format!("http://{addr}/echo"), "8", &[]);
        let response = common::send(&mut sender, wrong_version).await;
        assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(response.headers()["sec-websocket-version"], "13");
    })
    .await
    .unwrap();
}
