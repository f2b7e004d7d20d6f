//! The connection's configuration set on the axum extractor reaches the
//! engine: the message size limit, and permessage-deflate (feature
//! `deflate`).

mod common;

use std::time::Duration;

use axum::Router;
use axum::response::Response;
use axum::routing::any;
use futures_util::{SinkExt, StreamExt};
use sockeye_hyper::WebSocketUpgrade;
use tokio_tungstenite::tungstenite::Message as TMessage;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCloseCode;

const LIMIT: Duration = Duration::from_secs(10);

async fn small(ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(1024).on_upgrade(|mut ws| async move {
        while let Some(Ok(message)) = ws.recv().await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    })
}

#[tokio::test]
async fn a_message_over_the_extractors_limit_closes_with_1009() {
    let addr = common::serve(Router::new().route("/small", any(small))).await;
    tokio::time::timeout(LIMIT, async {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/small"))
            .await
            .unwrap();
        ws.send(TMessage::binary(vec![0u8; 1024])).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap().len(), 1024);
        ws.send(TMessage::binary(vec![0u8; 1025])).await.unwrap();
        match ws.next().await {
            Some(Ok(TMessage::Close(Some(frame)))) => assert_eq!(frame.code, TCloseCode::Size),
            other => panic!("expected a close with 1009, got {other:?}"),
        }
    })
    .await
    .unwrap();
}

#[cfg(feature = "deflate")]
#[tokio::test]
async fn permessage_deflate_is_negotiated_through_the_extractor() {
    use sockeye_hyper::{Config, DeflateConfig, Message};

    async fn deflating(ws: WebSocketUpgrade) -> Response {
        ws.deflate(DeflateConfig::default())
            .on_upgrade(|mut ws| async move {
                let extensions = format!("{:?}", ws.extensions());
                if ws.send(extensions).await.is_err() {
                    return;
                }
                while let Some(Ok(message)) = ws.recv().await {
                    if ws.send(message).await.is_err() {
                        break;
                    }
                }
            })
    }

    let addr = common::serve(Router::new().route("/deflate", any(deflating))).await;
    tokio::time::timeout(LIMIT, async {
        let mut config = Config::default();
        config.deflate = Some(DeflateConfig::default());
        let (mut ws, _) = sockeye_tokio::connect_with(
            &format!("ws://{addr}/deflate"),
            sockeye_tokio::ClientOptions::new(),
            config,
        )
        .await
        .unwrap();
        assert!(
            ws.extensions()
                .iter()
                .any(|e| e.name() == "permessage-deflate")
        );
        let Message::Text(seen) = ws.recv().await.unwrap().unwrap() else {
            panic!("expected the server's extensions as text");
        };
        assert!(seen.as_str().contains("permessage-deflate"), "{seen}");
        let text: String = (0..2000).map(|i| format!("{{\"n\":{i}}},")).collect();
        ws.send(text.as_str()).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text(text));
    })
    .await
    .unwrap();
}
