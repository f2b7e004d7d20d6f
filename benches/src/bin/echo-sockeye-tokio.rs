//! End-to-end echo server: sockeye over tokio.
//!
//! `echo-sockeye-tokio ADDR` (default 127.0.0.1:9001) prints `listening on
//! ADDR` once bound, then echoes every text and binary message. Every echo
//! server in `src/bin` has this shape: a current-thread tokio runtime (or the
//! library's own executor), one task per connection spawned as
//! `spawn(serve(tcp))` (an `async move` block around the call would keep a
//! second copy of the socket in the task), Nagle off, 64 MiB
//! messages and 16 MiB frames, the library's plain receive-then-send loop.

use sockeye_tokio::{Config, Decision, Error};
use tokio::net::{TcpListener, TcpStream};

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

async fn serve(tcp: TcpStream) -> Result<(), Error> {
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    let (mut ws, _) = sockeye_tokio::accept_with(tcp, config, |_| Decision::accept()).await?;
    while let Some(message) = ws.recv().await {
        let message = message?;
        if message.is_data() {
            ws.send(message).await?;
        }
    }
    Ok(())
}
