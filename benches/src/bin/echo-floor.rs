//! End-to-end yardstick: a raw TCP echo server with no WebSocket in it.
//!
//! `echo-floor ADDR` (default 127.0.0.1:9001) prints `listening on ADDR`
//! once bound, then writes every byte it reads straight back. It uses the
//! same event-loop calls as `echo-sockeye-tokio` (a current-thread tokio
//! runtime, one task per connection, Nagle off) and does nothing else: each
//! wakeup reads everything the socket holds (up to 256 KiB) and writes it
//! back in one call. Its server CPU per message is what the kernel and the
//! event loop cost for those bytes, the floor every WebSocket server's
//! figure is compared with.
//!
//! No handshake is answered and masked client frames come back masked, so
//! only a driver that counts returned bytes can talk to it:
//! `sockeye load --raw-echo` (the e2e harness passes it for this server).

use std::io::ErrorKind;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// The most one wakeup reads before writing back.
const MAX_BATCH: usize = 256 << 10;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            tokio::spawn(serve(tcp));
        }
    })
}

async fn serve(mut tcp: TcpStream) -> std::io::Result<()> {
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        tcp.readable().await?;
        // Everything available, as one batch.
        loop {
            if buffer.len() >= MAX_BATCH {
                break;
            }
            buffer.reserve((MAX_BATCH - buffer.len()).min(64 << 10));
            match tcp.try_read_buf(&mut buffer) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) => return Err(error),
            }
        }
        if !buffer.is_empty() {
            tcp.write_all(&buffer).await?;
            buffer.clear();
        }
    }
}
