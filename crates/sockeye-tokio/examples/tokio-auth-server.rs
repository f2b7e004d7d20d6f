//! An echo server that wants a token: `?token=s3cret` in the URL or
//! `Authorization: Bearer s3cret`; anything else is answered with 401.
//! `cargo run -p sockeye-tokio --example tokio-auth-server -- 127.0.0.1:9001`,
//! then connect to `ws://127.0.0.1:9001/ws?token=s3cret`.

use sockeye_tokio::{Client, Decision, Server, ServerPolicy};

const TOKEN: &str = "s3cret";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let policy = ServerPolicy::new().path("/ws").verify(|request| {
        let bearer = request
            .header("Authorization")
            .and_then(|value| value.strip_prefix("Bearer "));
        let token = request.query("token");
        if bearer == Some(TOKEN) || token.as_deref() == Some(TOKEN) {
            Decision::accept()
        } else {
            Decision::reject(401)
                .header("WWW-Authenticate", "Bearer")
                .body("a token is required\n")
        }
    });
    let server = Server::bind(&addr, policy).await?;
    println!("listening on ws://{}/ws", server.local_addr()?);
    server.run(echo).await
}

async fn echo(mut client: Client) {
    while let Some(Ok(message)) = client.recv().await {
        if message.is_data() && client.send(message).await.is_err() {
            break;
        }
    }
}
