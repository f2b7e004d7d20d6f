//! A server that pings every client every 5 s and drops any that has not
//! answered 5 s later (a vanished laptop, a dead NAT mapping); it prints the
//! number of connected clients when it changes.
//! `cargo run -p sockeye-tokio --example tokio-heartbeat-server -- 127.0.0.1:9001`

use std::time::Duration;

use sockeye_tokio::{Client, Server, ServerPolicy};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let policy = ServerPolicy::new().heartbeat(Duration::from_secs(5), Duration::from_secs(5));
    let server = Server::bind(&addr, policy).await?;
    println!("listening on ws://{}", server.local_addr()?);
    let handle = server.handle();
    tokio::spawn(async move {
        let mut last = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = handle.clients().len();
            if now != last {
                println!("{now} clients connected");
                last = now;
            }
        }
    });
    server.run(idle).await
}

/// Receive (which answers pings and runs the heartbeat) until the end.
async fn idle(mut client: Client) {
    while let Some(Ok(_)) = client.recv().await {}
}
