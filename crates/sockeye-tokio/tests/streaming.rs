//! Streaming mode through the tokio adapter: a message far larger than any
//! one read reaches the handler in pieces as they arrive, none of them
//! assembled, so the server holds a bounded amount of it at a time.

use std::time::Duration;

use sockeye_tokio::{CloseCode, Config, DataKind, Decision, Fragment, Message};
use tokio::net::TcpListener;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);
const MESSAGE: usize = 32 << 20;
const PIECE: usize = 64 << 10;
/// The largest piece the server may hand out: one read's worth (64 KiB and
/// a frame header), never the message.
const LARGEST_PIECE: usize = (64 << 10) + 14;

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
        let (mut total, mut pieces, mut largest, mut checksum) = (0usize, 0usize, 0usize, 0u64);
        while let Some(Ok(message)) = ws.recv().await {
            let Message::Fragment(piece) = message else {
                continue;
            };
            assert_eq!(piece.kind, DataKind::Binary);
            largest = largest.max(piece.payload.len());
            for &byte in piece.payload.iter() {
                checksum = checksum.wrapping_mul(31).wrapping_add(u64::from(byte));
            }
            total += piece.payload.len();
            pieces += 1;
            if piece.is_last {
                break;
            }
        }
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        (total, pieces, largest, checksum)
    });

    let (mut ws, _) = timeout(LIMIT, sockeye_tokio::connect(&url))
        .await
        .unwrap()
        .unwrap();
    let mut expected = 0u64;
    for index in 0..MESSAGE / PIECE {
        let payload: Vec<u8> = (0..PIECE).map(|i| (i * 7 + index) as u8).collect();
        for &byte in &payload {
            expected = expected.wrapping_mul(31).wrapping_add(u64::from(byte));
        }
        let piece = Fragment {
            kind: DataKind::Binary,
            payload: payload.into(),
            is_first: index == 0,
            is_last: index + 1 == MESSAGE / PIECE,
        };
        timeout(LIMIT, ws.send(Message::Fragment(piece)))
            .await
            .unwrap()
            .unwrap();
    }
    while let Some(Ok(_)) = timeout(LIMIT, ws.recv()).await.unwrap() {}
    let (total, pieces, largest, checksum) = timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(total, MESSAGE);
    assert_eq!(
        checksum, expected,
        "the pieces arrived altered or out of order"
    );
    assert!(
        largest <= LARGEST_PIECE,
        "a piece of {largest} B: assembled"
    );
    assert!(pieces >= MESSAGE / LARGEST_PIECE, "{pieces} pieces");
}
