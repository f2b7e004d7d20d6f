//! End-to-end echo server: sockeye-mio's event loop on several threads.
//!
//! `echo-sockeye-mio ADDR [THREADS]` (default 127.0.0.1:9001, one thread
//! per available core) prints `listening on ADDR` once bound, then echoes
//! every text and binary message. Like `echo-sockeye-threads`, the whole
//! server: policy, connection counts and heartbeat off, one event loop per
//! thread on its own `SO_REUSEPORT` listener; 64 MiB messages and 16 MiB
//! frames.

use sockeye_mio::{Client, Config, Message, Server, ServerPolicy};

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
    let server = Server::bind_threads(&addr, policy, threads)?;
    println!("listening on {}", server.local_addr());
    server.run(|client: &mut Client<'_>, message: Message| {
        if message.is_data() {
            let _ = client.send(message);
        }
    })
}
