//! End-to-end echo server: sockeye over smol (its single-threaded
//! `block_on` executor); same shape as `echo-sockeye-tokio`.

use smol::net::{TcpListener, TcpStream};
use sockeye_smol::{Config, Decision, Error};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    // Leaked: the accept task spawns onto the executor that runs it.
    let executor: &'static smol::LocalExecutor<'static> =
        Box::leak(Box::new(smol::LocalExecutor::new()));
    // The accept loop is a task of its own: the future handed to `run` is
    // polled again on every tick of the executor, which would retry the
    // listener's accept (and re-arm its readiness) for every message echoed.
    let accepting = executor.spawn(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            executor.spawn(serve(tcp)).detach();
        }
    });
    smol::block_on(executor.run(accepting))
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
