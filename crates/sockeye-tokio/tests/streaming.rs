//! Streaming mode through the tokio adapter: a message far larger than any
//! one read reaches the handler in pieces as they arrive, none of them
//! assembled, so the server holds a bounded amount of it at a time.

use std::time::Duration;

use sockeye_tokio::{CloseCode, Config, Decision, Message};
use streamed::Tally;
use tokio::net::TcpListener;
use tokio::time::timeout;

#[path = "../../sockeye-io/tests/support/streamed.rs"]
mod streamed;

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_32_mib_message_streams_through_in_pieces_of_one_read() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut config = Config::default();
        config.streaming = true;
        config.max_message_size = 1 << 30;
        let (mut ws, _) = sockeye_tokio::accept_with(tcp, config, |_| Decision::accept())
            .await
            .unwrap();
        let mut tally = Tally::default();
        while let Some(Ok(message)) = ws.recv().await {
            if let Message::Fragment(piece) = message
                && tally.add(&piece)
            {
                break;
            }
        }
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        tally
    });

    let (mut ws, _) = timeout(LIMIT, sockeye_tokio::connect(&url))
        .await
        .unwrap()
        .unwrap();
    for piece in streamed::pieces() {
        timeout(LIMIT, ws.send(Message::Fragment(piece)))
            .await
            .unwrap()
            .unwrap();
    }
    while let Some(Ok(_)) = timeout(LIMIT, ws.recv()).await.unwrap() {}
    timeout(LIMIT, server)
        .await
        .unwrap()
        .unwrap()
        .check(streamed::expected_checksum());
}
