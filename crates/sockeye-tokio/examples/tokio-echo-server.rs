//! Echo every message back. `cargo run --release -p sockeye-tokio --example
//! tokio-echo-server -- 127.0.0.1:9001` (the Autobahn test suite's target).
//!
//! With `--deflate` (build with `--features deflate`) the server accepts
//! permessage-deflate offers.

use sockeye_tokio::{Config, Decision, Error};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut deflate = false;
    let mut addr = String::from("127.0.0.1:9001");
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--deflate" => deflate = true,
            _ => addr = arg,
        }
    }
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    if deflate {
        enable_deflate(&mut config);
    }
    loop {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let config = config.clone();
        tokio::spawn(async move {
            let (mut ws, _) =
                sockeye_tokio::accept_with(tcp, config, |_| Decision::accept()).await?;
            while let Some(message) = ws.recv().await {
                let message = message?;
                if message.is_data() {
                    ws.send(message).await?;
                }
            }
            Ok::<_, Error>(())
        });
    }
}

#[cfg(feature = "deflate")]
fn enable_deflate(config: &mut Config) {
    // Compress every message, however small: the Autobahn cases check the
    // compressed path, and kosoku 0.1.0 misreads small uncompressed binary
    // echoes (docs/conformance.md). The fastest level: conformance does
    // not depend on it, and the cases compress about 6 GB per run.
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
