//! A plain hyper service (no axum) upgrading through `Upgrade` under a
//! `ServerPolicy`: path, verify hook and subprotocols decide the answer over
//! HTTP/1.1 and HTTP/2 alike.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

mod common;

use bytes::Bytes;
use http_body_util::Full;
use hyper::StatusCode;
use hyper::body::Incoming;
use sockeye_hyper::{Decision, Message, ServerPolicy, Upgrade};

fn policy() -> ServerPolicy {
    ServerPolicy::new()
        .path("/ws")
        .verify(|request| match request.query("token").as_deref() {
            Some("s3cret") => Decision::accept(),
            _ => Decision::reject(401).body("token required\n"),
        })
        .protocols(&["v1"])
}

async fn serve(policy: Arc<ServerPolicy>) -> SocketAddr {
    common::serve_hyper(move |peer| {
        let policy = policy.clone();
        hyper::service::service_fn(move |request| {
            let policy = policy.clone();
            async move { Ok::<_, Infallible>(answer(request, &policy, peer)) }
        })
    })
    .await
}

fn answer(
    mut request: hyper::Request<Incoming>,
    policy: &ServerPolicy,
    peer: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let upgrade = match Upgrade::new(&mut request, policy.shared_config().clone()) {
        Ok(upgrade) => upgrade,
        Err(refusal) => return refusal.into_response(),
    };
    match upgrade.accept_with_policy(policy, peer) {
        Ok((response, connecting)) => {
            tokio::spawn(async move {
                let mut ws = connecting.await?;
                while let Some(message) = ws.recv().await {
                    ws.send(message?).await?;
                }
                Ok::<_, sockeye_hyper::Error>(())
            });
            response
        }
        Err(refusal) => refusal.into_response(),
    }
}

#[tokio::test]
async fn the_policy_decides_over_http1() {
    let addr = serve(Arc::new(policy())).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        let url = format!("ws://{addr}/ws?token=s3cret");
        let options = sockeye_tokio::ClientOptions::new()
            .protocol("v0")
            .protocol("v1");
        let (mut ws, _) =
            sockeye_tokio::connect_with(&url, options, sockeye_hyper::Config::default())
                .await
                .unwrap();
        assert_eq!(ws.protocol(), Some("v1"));
        ws.send("hi").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("hi"));
        for (path, status) in [("/ws?token=wrong", 401), ("/elsewhere?token=s3cret", 404)] {
            let error = sockeye_tokio::connect(&format!("ws://{addr}{path}"))
                .await
                .err()
                .unwrap();
            assert!(error.to_string().contains(&status.to_string()), "{error}");
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_policy_decides_over_http2() {
    let addr = serve(Arc::new(policy())).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut sender = common::http2_connection(tcp).await;
        for (path, status) in [
            ("/ws?token=s3cret", StatusCode::OK),
            ("/ws?token=wrong", StatusCode::UNAUTHORIZED),
            ("/elsewhere", StatusCode::NOT_FOUND),
        ] {
            let uri = format!("http://{addr}{path}");
            let request = common::extended_connect(&uri, "13", &[("sec-websocket-protocol", "v1")]);
            let response = common::send(&mut sender, request).await;
            assert_eq!(response.status(), status, "{path}");
            if status == StatusCode::OK {
                assert_eq!(response.headers()["sec-websocket-protocol"], "v1");
            }
        }
    })
    .await
    .unwrap();
}
