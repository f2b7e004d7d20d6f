//! End-to-end echo server: axum with sockeye's extractor
//! (`sockeye_hyper::WebSocketUpgrade`). The same server as
//! `echo-axum-tungstenite` but for the extractor, so the two measure what
//! the WebSocket costs inside axum; otherwise the shape of
//! `echo-sockeye-tokio` (current-thread tokio, Nagle off, 64 MiB messages,
//! 16 MiB frames).

use axum::Router;
use axum::response::Response;
use axum::routing::any;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use sockeye_hyper::{Config, WebSocketUpgrade};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let app = Router::new().fallback(any(echo));
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!("listening on {}", listener.local_addr()?);
        let builder = Builder::new(TokioExecutor::new());
        loop {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            let service = TowerToHyperService::new(app.clone());
            let builder = builder.clone();
            tokio::spawn(async move {
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .await;
            });
        }
    })
}

async fn echo(ws: WebSocketUpgrade) -> Response {
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    ws.config(config).on_upgrade(|mut ws| async move {
        while let Some(Ok(message)) = ws.recv().await {
            if message.is_data() && ws.send(message).await.is_err() {
                break;
            }
        }
    })
}
