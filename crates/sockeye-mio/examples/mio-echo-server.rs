//! Echo every data message back, on sockeye-mio's event loops (the
//! Autobahn test suite's target for this server):
//! `cargo run --release -p sockeye-mio --example mio-echo-server -- 127.0.0.1:9001`.
//!
//! `--threads N` sets the number of event-loop threads (default 2, so that
//! the suite's connections spread over more than one). With `--deflate`
//! (build with `--features deflate`) the server accepts permessage-deflate
//! offers.

use sockeye_mio::{Client, Config, Message, Server, ServerPolicy};

fn main() -> std::io::Result<()> {
    let mut addr = String::from("127.0.0.1:9001");
    let mut threads = 2;
    let mut deflate = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--deflate" => deflate = true,
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|count| count.parse().ok())
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
    let policy = ServerPolicy::new().config(config).no_heartbeat();
    let server = Server::bind_threads(&addr, policy, threads)?;
    println!("listening on {}", server.local_addr());
    server.run(|client: &mut Client<'_>, message: Message| {
        if message.is_data() {
            let _ = client.send(message);
        }
    })
}

#[cfg(feature = "deflate")]
fn enable_deflate(config: &mut Config) {
    // As tokio-echo-server: every message compressed, at the fastest level.
    let mut deflate = sockeye_io::DeflateConfig::default();
    deflate.threshold = 0;
    deflate.level = 1;
    config.deflate = Some(deflate);
}

#[cfg(not(feature = "deflate"))]
fn enable_deflate(_: &mut Config) {
    eprintln!("--deflate needs the `deflate` feature (--features deflate)");
    std::process::exit(2);
}
