//! A plain hyper service (no axum) upgrading through `Upgrade` under a
//! `ServerPolicy`: path, verify hook and subprotocols decide the answer over
//! HTTP/1.1 and HTTP/2 alike.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{Empty, Full};
use hyper::body::Incoming;
use hyper::{Method, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http2().enable_connect_protocol();
    tokio::spawn(async move {
        while let Ok((tcp, peer)) = listener.accept().await {
            let policy = policy.clone();
            let service = hyper::service::service_fn(move |request| {
                let policy = policy.clone();
                async move { Ok::<_, Infallible>(answer(request, &policy, peer)) }
            });
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
        let (mut sender, connection) =
            hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                .handshake::<_, Empty<Bytes>>(TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(connection);
        for (path, status) in [
            ("/ws?token=s3cret", StatusCode::OK),
            ("/ws?token=wrong", StatusCode::UNAUTHORIZED),
            ("/elsewhere", StatusCode::NOT_FOUND),
        ] {
            let mut request = hyper::Request::builder()
                .method(Method::CONNECT)
                .uri(format!("http://{addr}{path}"))
                .header("sec-websocket-version", "13")
                .header("sec-websocket-protocol", "v1")
                .body(Empty::new())
                .unwrap();
            request
                .extensions_mut()
                .insert(hyper::ext::Protocol::from_static("websocket"));
            sender.ready().await.unwrap();
            let response = sender.send_request(request).await.unwrap();
            assert_eq!(response.status(), status, "{path}");
            if status == StatusCode::OK {
                assert_eq!(response.headers()["sec-websocket-protocol"], "v1");
            }
        }
    })
    .await
    .unwrap();
}
