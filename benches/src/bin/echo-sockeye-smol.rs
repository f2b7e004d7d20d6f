//! End-to-end echo server: sockeye over smol (its single-threaded
//! `block_on` executor); same shape as `echo-sockeye-tokio`.

use smol::net::{TcpListener, TcpStream};
use sockeye_smol::{Config, Decision, Error};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let listener = TcpListener::bind(&addr).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            executor
                .spawn(async move {
                    let _ = serve(tcp).await;
                })
                .detach();
        }
    }))
}

async fn serve(tcp: TcpStream) -> Result<(), Error> {
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    let (mut ws, _) = sockeye_smol::accept_with(tcp, config, |_| Decision::accept()).await?;
    while let Some(message) = ws.recv().await {
        let message = message?;
        if message.is_data() {
            ws.send(message).await?;
        }
    }
    Ok(())
}
