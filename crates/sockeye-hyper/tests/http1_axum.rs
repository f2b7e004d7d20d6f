//! The axum extractor over HTTP/1.1, with tokio-tungstenite as the client.

mod common;

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as TMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCloseCode;

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn tungstenite_echoes_text_and_binary_and_gets_its_close_code_back() {
    let addr = common::serve(common::app()).await;
    tokio::time::timeout(LIMIT, async {
        let (mut ws, response) = tokio_tungstenite::connect_async(format!("ws://{addr}/echo"))
            .await
            .unwrap();
        assert_eq!(response.status(), 101);
        ws.send(TMessage::text("hello")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), TMessage::text("hello"));
        let binary: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        ws.send(TMessage::binary(binary.clone())).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), TMessage::binary(binary));
        ws.close(Some(CloseFrame {
            code: TCloseCode::Library(4001),
            reason: "bye".into(),
        }))
        .await
        .unwrap();
        match ws.next().await {
            Some(Ok(TMessage::Close(Some(frame)))) => {
                assert_eq!(frame.code, TCloseCode::Library(4001));
            }
            other => panic!("expected the close echoed, got {other:?}"),
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_request_arrives_as_http1_and_the_subprotocol_is_chosen_by_the_clients_order() {
    let addr = common::serve(common::app()).await;
    tokio::time::timeout(LIMIT, async {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/form"))
            .await
            .unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), TMessage::text("http1"));

        let mut request = format!("ws://{addr}/chat").into_client_request().unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "chat.v1, chat.v2".parse().unwrap(),
        );
        let (_ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v1");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_plain_request_gets_426_and_a_wrong_version_426_naming_13() {
    let addr = common::serve(common::app()).await;
    let plain = common::raw_http1(addr, "GET /echo HTTP/1.1\r\nHost: h\r\n\r\n").await;
    assert!(plain.starts_with("HTTP/1.1 426 "), "{plain}");
    assert!(
        plain
            .to_ascii_lowercase()
            .contains("upgrade: websocket\r\n")
    );
    assert!(
        plain
            .to_ascii_lowercase()
            .contains("connection: upgrade\r\n")
    );
    let wrong = common::raw_http1(
        addr,
        "GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    )
    .await;
    assert!(wrong.starts_with("HTTP/1.1 426 "), "{wrong}");
    assert!(
        wrong
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13\r\n")
    );
    let no_key = common::raw_http1(
        addr,
        "GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    assert!(no_key.starts_with("HTTP/1.1 400 "), "{no_key}");
}
