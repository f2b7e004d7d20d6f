//! An axum server that echoes every text and binary message on any path,
//! over HTTP/1.1 upgrades and HTTP/2 extended CONNECT (prior knowledge) on
//! the same plain port.
//!
//! ```text
//! cargo run -p sockeye-hyper --example axum-echo --features axum -- 127.0.0.1:9001
//! ```
//!
//! Prints `listening on ADDR` (the bound address, also for port 0) once it
//! accepts connections. With `--deflate` (build with `--features
//! axum,deflate`) it accepts permessage-deflate offers.

use axum::Router;
use axum::routing::any;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use sockeye_hyper::{Config, WebSocketUpgrade};

async fn echo(ws: WebSocketUpgrade, config: Config) -> axum::response::Response {
    ws.config(config).on_upgrade(|mut ws| async move {
        while let Some(Ok(message)) = ws.recv().await {
            if message.is_data() && ws.send(message).await.is_err() {
                break;
            }
        }
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut addr = String::from("127.0.0.1:9001");
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--deflate" => enable_deflate(&mut config),
            _ => addr = arg,
        }
    }
    let app = Router::new().fallback(any(move |ws| echo(ws, config.clone())));
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

#[cfg(feature = "deflate")]
fn enable_deflate(config: &mut Config) {
    // As tokio-echo-server: every message compressed, at the fastest level
    // (the Autobahn cases check the compressed path, not the ratio).
    let mut deflate = sockeye_hyper::DeflateConfig::default();
    deflate.threshold = 0;
    deflate.level = 1;
    config.deflate = Some(deflate);
}

#[cfg(not(feature = "deflate"))]
fn enable_deflate(_: &mut Config) {
    eprintln!("--deflate needs the `deflate` feature (--features axum,deflate)");
    std::process::exit(2);
}
