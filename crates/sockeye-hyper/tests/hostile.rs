//! Hostile input through the axum path. The request head is hyper's to
//! read, bounded as `axum-echo` bounds it (a header timeout against
//! slowloris, a head size past which hyper answers 431); the bytes after
//! hyper's `101`, or after its `200` on an HTTP/2 stream, go straight to
//! the engine, so protocol violations get the engine's close codes as they
//! do from the plain server.

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
        // §8.1 fail-fast: the first fragment of a text message already
        // breaks UTF-8; the close comes without waiting for the rest.
        assert_eq!(close_code_for(addr, &masked(0x01, b"ok\xc0")).await, 1007);
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

#[tokio::test]
async fn an_endless_header_block_gets_431_once_hyper_holds_its_limit() {
    let addr = common::serve(common::app()).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (mut reader, mut writer) = tcp.into_split();
        // Header lines without end, until the server stops taking them.
        let feed = tokio::spawn(async move {
            writer
                .write_all(b"GET /echo HTTP/1.1\r\nHost: h\r\n")
                .await?;
            let line = format!("X-Padding: {}\r\n", "a".repeat(1000));
            for _ in 0..64 << 10 {
                writer.write_all(line.as_bytes()).await?;
            }
            Ok::<_, std::io::Error>(())
        });
        let mut answer = Vec::new();
        let _ = reader.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 431 "),
            "answer to an endless head: {answer:?}"
        );
        // The feed of 64 MiB did not go through: the server closed on it.
        assert!(feed.await.unwrap().is_err());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_slowloris_head_is_closed_at_the_header_timeout_without_an_answer() {
    let addr = common::serve(common::app()).await;
    let started = std::time::Instant::now();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&UPGRADE.as_bytes()[..40]).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
        .await
        .expect("the server never closed a stalled head")
        .unwrap();
    assert!(started.elapsed() >= common::HEADER_READ_TIMEOUT);
    assert!(
        !String::from_utf8_lossy(&answer).contains(" 101 "),
        "{answer:?}"
    );
}

#[tokio::test]
async fn violations_over_an_http2_stream_close_with_their_codes() {
    let addr = common::serve(common::app()).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut sender = common::http2_connection(TcpStream::connect(addr).await.unwrap()).await;
        for (frames, code) in [
            (b"\x81\x02hi".to_vec(), 1002),
            (masked(0x81, b"\xff\xfe"), 1007),
        ] {
            let request = common::extended_connect(&format!("http://{addr}/echo"), "13", &[]);
            let mut response = common::send(&mut sender, request).await;
            assert_eq!(response.status(), 200);
            let mut stream = common::upgraded(&mut response).await;
            stream.write_all(&frames).await.unwrap();
            let mut frame = [0u8; 4];
            stream.read_exact(&mut frame).await.unwrap();
            assert_eq!(frame[0], 0x88, "expected a close frame");
            assert_eq!(u16::from_be_bytes([frame[2], frame[3]]), code);
        }
    })
    .await
    .unwrap();
}
