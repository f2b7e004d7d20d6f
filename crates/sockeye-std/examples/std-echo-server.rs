//! Echo every message back, a thread per connection. `cargo run --release
//! -p sockeye-std --example std-echo-server -- 127.0.0.1:9001`.

use sockeye_std::{Config, Decision};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = std::net::TcpListener::bind(&addr)?;
    println!("listening on {}", listener.local_addr()?);
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    for tcp in listener.incoming() {
        let tcp = tcp?;
        tcp.set_nodelay(true)?;
        let config = config.clone();
        std::thread::spawn(move || {
            let Ok((mut ws, _)) = sockeye_std::accept_with(tcp, config, |_| Decision::accept())
            else {
                return;
            };
            while let Some(Ok(message)) = ws.recv() {
                if message.is_data() && ws.send(message).is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}
