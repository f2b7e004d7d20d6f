//! A chat: every message goes to every other client. A page at `/` and the
//! WebSocket at `/ws` share the port. Each client has a bounded queue: one
//! that reads too slowly is closed with 1008 rather than slowing the others.
//! `cargo run -p sockeye-tokio --example tokio-broadcast-server -- 127.0.0.1:9001`

use sockeye_tokio::{Client, Decision, Message, Server, ServerPolicy};

const PAGE: &str = "<!doctype html><title>chat</title><pre id=log></pre><input id=say>\
<script>const ws=new WebSocket(`ws://${location.host}/ws`);\
ws.onmessage=e=>log.textContent+=e.data+'\\n';\
say.onchange=()=>{ws.send(say.value);say.value=''}</script>";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let policy = ServerPolicy::new()
        .path("/ws")
        .queue_budget(256 << 10)
        .max_message_size(4 << 10)
        .http(|request| match request.path() {
            "/" => Decision::respond(200)
                .header("Content-Type", "text/html; charset=utf-8")
                .body(PAGE),
            _ => Decision::respond(404).body("not found\n"),
        });
    let server = Server::bind(&addr, policy).await?;
    println!("open http://{}/", server.local_addr()?);
    server.run(chat).await
}

async fn chat(mut client: Client) {
    let id = client.id();
    client
        .clients()
        .broadcast_except(id, Message::text(format!("{id} joined")));
    while let Some(Ok(message)) = client.recv().await {
        if let Some(text) = message.as_text() {
            let line = Message::text(format!("{id}: {text}"));
            client.clients().broadcast_except(id, line);
        }
    }
    client
        .clients()
        .broadcast_except(id, Message::text(format!("{id} left")));
}
