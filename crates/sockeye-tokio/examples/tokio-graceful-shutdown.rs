//! An echo server that, on Ctrl-C, stops accepting, sends every client a
//! close frame with 1001 (going away), waits up to 5 s for their answers and
//! then drops whoever is left.
//! `cargo run -p sockeye-tokio --example tokio-graceful-shutdown -- 127.0.0.1:9001`

use std::time::Duration;

use sockeye_tokio::{Client, Server, ServerPolicy};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let server = Server::bind(&addr, ServerPolicy::new()).await?;
    println!("listening on ws://{}; Ctrl-C to stop", server.local_addr()?);
    let handle = server.handle();
    let running = tokio::spawn(server.run(echo));
    tokio::signal::ctrl_c().await?;
    let report = handle.shutdown(Duration::from_secs(5)).await;
    println!(
        "told {} clients, dropped {} that did not answer",
        report.told, report.dropped
    );
    running.await.map_err(std::io::Error::other)?
}

async fn echo(mut client: Client) {
    while let Some(Ok(message)) = client.recv().await {
        if message.is_data() && client.send(message).await.is_err() {
            break;
        }
    }
}
