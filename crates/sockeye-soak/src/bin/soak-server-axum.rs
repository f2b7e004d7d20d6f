//! The soak driver's axum server under test: WebSockets upgraded by
//! `sockeye_hyper`'s axum extractor from hyper's HTTP/1.1 server and served
//! by a `ServerCore` under the soak policy (so broadcasts, limits and the
//! heartbeat are the same as the other flavours'), on a single-threaded
//! tokio runtime, echoing (or broadcasting on `/broadcast`), with a stats
//! line every half second (see the `sockeye_soak` crate documentation).
//!
//! hyper reads the upgrade request here, not the engine, so the handshake
//! timeout is hyper's header read timeout, set to the soak's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::ConnectInfo;
use axum::routing::any;
use axum::{Extension, Router};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use sockeye_hyper::{ServerCore, WebSocketUpgrade};
use sockeye_soak::{HANDSHAKE_TIMEOUT, STATS_EVERY, echo_or_broadcast, policy, stats_line};

#[global_allocator]
static ALLOCATOR: sockeye_soak::CountingAllocator = sockeye_soak::CountingAllocator;

async fn serve(
    ws: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(server): Extension<Arc<ServerCore>>,
    Extension(handlers): Extension<Arc<AtomicUsize>>,
) -> axum::response::Response {
    ws.on_upgrade_served(&server, peer, move |client| {
        echo_or_broadcast(client, handlers)
    })
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!("listening on {}", listener.local_addr()?);
        let server = Arc::new(ServerCore::new(policy()));
        let handlers = Arc::new(AtomicUsize::new(0));
        let (stats_server, running) = (server.clone(), handlers.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(STATS_EVERY).await;
                let live = stats_server.clients().len();
                println!("{}", stats_line(live, running.load(Ordering::Relaxed)));
            }
        });
        let app = Router::new()
            .fallback(any(serve))
            .layer(Extension(server))
            .layer(Extension(handlers));
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HANDSHAKE_TIMEOUT)
            .max_buf_size(64 << 10);
        loop {
            let (tcp, peer) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            let service = TowerToHyperService::new(app.clone().layer(Extension(ConnectInfo(peer))));
            let builder = builder.clone();
            tokio::spawn(async move {
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .await;
            });
        }
    })
}
