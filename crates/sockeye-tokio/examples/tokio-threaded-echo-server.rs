//! Echo every message back from a [`ThreadedServer`] on every core (or
//! `--threads N`). `cargo run --release -p sockeye-tokio --example
//! tokio-threaded-echo-server -- 127.0.0.1:9001` (an Autobahn test suite
//! target, beside `tokio-echo-server`).
//!
//! With `--deflate` (build with `--features deflate`) the server accepts
//! permessage-deflate offers.

use sockeye_tokio::{Client, Config, ServerPolicy, ThreadedServer};

fn main() -> std::io::Result<()> {
    let mut deflate = false;
    let mut threads = sockeye_io::server::available_threads();
    let mut addr = String::from("127.0.0.1:9001");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--deflate" => deflate = true,
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| std::io::Error::other("--threads wants a count"))?;
            }
            _ => addr = arg,
        }
    }
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    if deflate {
        enable_deflate(&mut config);
    }
    // No heartbeat: the test suite counts every frame it is sent.
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

#[cfg(feature = "deflate")]
fn enable_deflate(config: &mut Config) {
    // As tokio-echo-server: compress every message, at the fastest level.
    let mut deflate = sockeye_tokio::DeflateConfig::default();
    deflate.threshold = 0;
    deflate.level = 1;
    config.deflate = Some(deflate);
}

#[cfg(not(feature = "deflate"))]
fn enable_deflate(_: &mut Config) {
    eprintln!("--deflate needs the `deflate` feature (cargo run --features deflate)");
    std::process::exit(2);
}
