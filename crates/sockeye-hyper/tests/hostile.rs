//! Protocol violations through the axum path get the engine's close codes,
//! as they do from the plain server: the bytes after hyper's `101` go
//! straight to the engine.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const UPGRADE: &str = "GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// Upgrades, writes `frames`, and returns the close code of the server's
/// close frame.
async fn close_code_for(addr: SocketAddr, frames: &[u8]) -> u16 {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(UPGRADE.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            tcp.read(&mut byte).await.unwrap(),
            1,
            "closed before the 101"
        );
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "));
    tcp.write_all(frames).await.unwrap();
    // A server frame: 0x88 (close), an unmasked length, the code first.
    let mut frame = [0u8; 4];
    tcp.read_exact(&mut frame).await.unwrap();
    assert_eq!(frame[0], 0x88, "expected a close frame");
    u16::from_be_bytes([frame[2], frame[3]])
}

/// A masked client frame with the zero mask key, so the payload is as written.
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

#[tokio::test]
async fn violations_close_with_their_codes() {
    let addr = common::serve(common::app()).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        // RFC 6455 §5.1: a client frame must be masked.
        assert_eq!(close_code_for(addr, b"\x81\x02hi").await, 1002);
        // §8.1: text must be UTF-8.
        assert_eq!(close_code_for(addr, &masked(0x81, b"\xff\xfe")).await, 1007);
        // §5.2: reserved opcode.
        assert_eq!(close_code_for(addr, &masked(0x83, b"")).await, 1002);
        // A declared length far past the route's 4 MiB limit, refused from
        // the header alone.
        let mut huge = vec![0x82, 0x80 | 127];
        huge.extend_from_slice(&(1u64 << 40).to_be_bytes());
        huge.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(close_code_for(addr, &huge).await, 1009);
    })
    .await
    .unwrap();
}
