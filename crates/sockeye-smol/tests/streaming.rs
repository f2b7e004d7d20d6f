//! Streaming mode through the smol adapter: a message far larger than any
//! one read reaches the handler in pieces as they arrive, none of them
//! assembled, so the server holds a bounded amount of it at a time.

use std::time::Duration;

use futures_util::FutureExt;
use smol::net::TcpListener;
use sockeye_smol::{CloseCode, Config, Decision, Message};
use streamed::Tally;

#[path = "../../sockeye-io/tests/support/streamed.rs"]
mod streamed;

const LIMIT: Duration = Duration::from_secs(30);

/// `future`, or a panic once [`LIMIT`] has passed.
async fn timeout<T>(
    limit: Duration,
    future: impl std::future::Future<Output = T>,
) -> Result<T, ()> {
    futures_util::select! {
        value = future.fuse() => Ok(value),
        _ = smol::Timer::after(limit).fuse() => Err(()),
    }
}

#[test]
fn a_32_mib_message_streams_through_in_pieces_of_one_read() {
    smol::block_on(run());
}

async fn run() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = smol::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut config = Config::default();
        config.streaming = true;
        config.max_message_size = 1 << 30;
        let (mut ws, _) = sockeye_smol::accept_with(tcp, config, |_| Decision::accept())
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

    let (mut ws, _) = timeout(LIMIT, sockeye_smol::connect(&url))
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
        .check(streamed::expected_checksum());
}
