//! End-to-end echo server: sockeye's blocking adapter, one thread per
//! connection; otherwise the shape of `echo-sockeye-tokio`.

use std::net::{TcpListener, TcpStream};

use sockeye_std::{Config, Decision, Error};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr)?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept()?;
        tcp.set_nodelay(true)?;
        std::thread::spawn(move || {
            let _ = serve(tcp);
        });
    }
}

fn serve(tcp: TcpStream) -> Result<(), Error> {
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    let (mut ws, _) = sockeye_std::accept_with(tcp, config, |_| Decision::accept())?;
    while let Some(message) = ws.recv() {
        let message = message?;
        if message.is_data() {
            ws.send(message)?;
        }
    }
    Ok(())
}
