//! A server that speaks `chat.v2` and `chat.v1` and picks the first of them
//! the client offers (none if it offers neither); it greets each client with
//! the subprotocol chosen. `cargo run -p sockeye-tokio --example
//! tokio-subprotocol-server -- 127.0.0.1:9001`

use sockeye_tokio::{Client, Server, ServerPolicy};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let policy = ServerPolicy::new().protocols(&["chat.v2", "chat.v1"]);
    let server = Server::bind(&addr, policy).await?;
    println!("listening on ws://{}", server.local_addr()?);
    server.run(greet).await
}

async fn greet(mut client: Client) {
    let greeting = match client.protocol() {
        Some(protocol) => format!("speaking {protocol}"),
        None => "speaking no subprotocol".to_owned(),
    };
    if client.send(greeting).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = client.recv().await {
        if message.is_data() && client.send(message).await.is_err() {
            break;
        }
    }
}
