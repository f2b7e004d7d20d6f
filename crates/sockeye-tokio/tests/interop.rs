//! Interoperability with tokio-tungstenite: our client against its server,
//! its client against our server.
// tungstenite's handshake callback must return its (large) HTTP error response.
#![allow(clippy::result_large_err)]

use futures_util::{SinkExt, StreamExt};
use sockeye_tokio::{ClientOptions, CloseCode, Config, Decision, Message};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::{
    self, client::IntoClientRequest, handshake::server, protocol::CloseFrame,
    protocol::frame::coding::CloseCode as TungsteniteCode,
};

const MIB: usize = 1 << 20;

/// A tokio-tungstenite echo server that selects "chat.v2" when offered and
/// reports the close frame it received.
async fn tungstenite_echo_server() -> (String, tokio::task::JoinHandle<Option<(u16, String)>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let callback = |request: &server::Request, mut response: server::Response| {
            let offered = request
                .headers()
                .get("Sec-WebSocket-Protocol")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if offered.split(',').any(|p| p.trim() == "chat.v2") {
                response
                    .headers_mut()
                    .insert("Sec-WebSocket-Protocol", "chat.v2".parse().unwrap());
            }
            Ok(response)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(tcp, callback)
            .await
            .unwrap();
        while let Some(Ok(message)) = ws.next().await {
            match message {
                tungstenite::Message::Close(frame) => {
                    return frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                }
                tungstenite::Message::Text(_) | tungstenite::Message::Binary(_) => {
                    ws.send(message).await.unwrap();
                }
                _ => {}
            }
        }
        None
    });
    (url, task)
}

#[tokio::test]
async fn our_client_against_tungstenite_server() {
    let (url, server) = tungstenite_echo_server().await;
    let options = ClientOptions::new().protocol("chat.v1").protocol("chat.v2");
    let (mut ws, response) = sockeye_tokio::connect_with(&url, options, Config::default())
        .await
        .unwrap();
    assert_eq!(response.protocol.as_deref(), Some("chat.v2"));

    ws.send("héllo").await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("héllo"));
    ws.send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::binary(vec![0u8, 1, 2, 255])
    );
    let big: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(big.clone())).await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::binary(big));

    // tungstenite answers pings by itself.
    ws.send(Message::Ping(bytes::Bytes::from_static(b"are you there")))
        .await
        .unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Pong(bytes::Bytes::from_static(b"are you there"))
    );

    ws.close(CloseCode::new(4001).unwrap(), "done here")
        .await
        .unwrap();
    assert_eq!(server.await.unwrap(), Some((4001, "done here".to_owned())));
}

#[tokio::test]
async fn tungstenite_client_against_our_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let (mut ws, _) = sockeye_tokio::accept_with(tcp, Config::default(), |request| {
            Decision::accept_first_of(request, &["chat.v2"])
        })
        .await
        .unwrap();
        ws.send(Message::Ping(bytes::Bytes::from_static(b"server ping")))
            .await
            .unwrap();
        while let Some(Ok(message)) = ws.recv().await {
            if message.is_data() {
                ws.send(message).await.unwrap();
            }
        }
        ws.close_status()
    });

    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "chat.v1, chat.v2".parse().unwrap(),
    );
    let (mut ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers().get("Sec-WebSocket-Protocol").unwrap(),
        "chat.v2"
    );

    // Our server's ping arrives first.
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        tungstenite::Message::Ping(bytes::Bytes::from_static(b"server ping"))
    );
    ws.send(tungstenite::Message::text("héllo")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        tungstenite::Message::text("héllo")
    );
    let big: Vec<u8> = (0..MIB).map(|i| (i % 253) as u8).collect();
    ws.send(tungstenite::Message::binary(big.clone()))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        tungstenite::Message::binary(big)
    );
    ws.send(tungstenite::Message::Ping(bytes::Bytes::from_static(
        b"client ping",
    )))
    .await
    .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        tungstenite::Message::Pong(bytes::Bytes::from_static(b"client ping"))
    );
    ws.close(Some(CloseFrame {
        code: TungsteniteCode::from(4002),
        reason: "bye".into(),
    }))
    .await
    .unwrap();
    while ws.next().await.is_some() {}
    let status = server.await.unwrap().unwrap();
    assert_eq!(
        (status.code, status.reason.as_str(), status.was_clean),
        (4002, "bye", true)
    );
}
