//! End-to-end echo server: sockeye's [`ThreadedServer`] on several threads.
//!
//! `echo-sockeye-threads ADDR [THREADS]` (default 127.0.0.1:9001, one
//! thread per available core) prints `listening on ADDR` once bound, then
//! echoes every text and binary message. Unlike `echo-sockeye-tokio` (a bare
//! accept loop), this is the full server: policy, [`Clients`] registry and
//! heartbeat off, one current-thread runtime per thread on its own
//! `SO_REUSEPORT` listener; 64 MiB messages and 16 MiB frames.
//!
//! [`Clients`]: sockeye_tokio::Clients

use sockeye_tokio::{Client, Config, ServerPolicy, ThreadedServer};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9001".into());
    let threads = match args.next() {
        Some(count) => count
            .parse()
            .map_err(|_| std::io::Error::other("THREADS wants a count"))?,
        None => sockeye_io::server::available_threads(),
    };
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    let policy = ServerPolicy::new().config(config).no_heartbeat();
    let server = ThreadedServer::bind_threads(&addr, policy, threads)?;
    println!("listening on {}", server.local_addr());
    server.run_blocking(echo)
}

async fn echo(mut client: Client) {
    while let Some(Ok(message)) = client.recv().await {
        if message.is_data() && client.send(message).await.is_err() {
            break;
        }
    }
}
