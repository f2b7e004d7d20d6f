//! An axum server that echoes every text and binary message on any path,
//! over HTTP/1.1 upgrades and HTTP/2 extended CONNECT (prior knowledge) on
//! the same plain port.
//!
//! ```text
//! cargo run -p sockeye-hyper --example axum-echo --features axum -- 127.0.0.1:9001
//! ```
//!
//! Prints `listening on ADDR` (the bound address, also for port 0) once it
//! accepts connections.

use axum::Router;
use axum::routing::any;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use sockeye_hyper::WebSocketUpgrade;

async fn echo(ws: WebSocketUpgrade) -> axum::response::Response {
    ws.on_upgrade(|mut ws| async move {
        while let Some(Ok(message)) = ws.recv().await {
            if message.is_data() && ws.send(message).await.is_err() {
                break;
            }
        }
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let app = Router::new().fallback(any(echo));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let mut builder = Builder::new(TokioExecutor::new());
    // RFC 8441: advertise SETTINGS_ENABLE_CONNECT_PROTOCOL so that HTTP/2
    // clients may open WebSockets as extended CONNECT streams.
    builder.http2().enable_connect_protocol();
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        tokio::spawn(async move {
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .await;
        });
    }
}
