//! Echo every message back. `cargo run --release -p sockeye-smol --example
//! smol-echo-server -- 127.0.0.1:9001` (the Autobahn test suite's target).

use sockeye_smol::{Config, Decision, Error};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    smol::block_on(async {
        let listener = smol::net::TcpListener::bind(&addr).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            let config = config.clone();
            smol::spawn(async move {
                let (mut ws, _) =
                    sockeye_smol::accept_with(tcp, config, |_| Decision::accept()).await?;
                while let Some(message) = ws.recv().await {
                    let message = message?;
                    if message.is_data() {
                        ws.send(message).await?;
                    }
                }
                Ok::<_, Error>(())
            })
            .detach();
        }
    })
}
