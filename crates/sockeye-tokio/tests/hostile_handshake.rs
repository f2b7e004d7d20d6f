//! The hostile handshakes of `sockeye::testing` get, through the async
//! driver over a real socket, the answer the engine's endpoint gives them:
//! the status line (or none for a request that stalls), then a close.

use std::time::Duration;

use sockeye::testing::hostile_handshakes;
use sockeye_io::{Config, Decision, Error, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test]
async fn hostile_handshakes_get_the_engines_answer_and_a_close() {
    let mut config = Config::default();
    config.handshake_timeout = Some(Duration::from_millis(300));
    for case in hostile_handshakes(&config) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server_config = config.clone();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            sockeye_tokio::accept_with(stream, server_config, |_: &Request| Decision::accept())
                .await
                .map(|_| ())
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(&case.request).await.unwrap();
        let mut answer = Vec::new();
        // Until the server closes (end of stream) or resets the connection.
        let read = tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut answer));
        assert!(read.await.is_ok(), "{}: the server never closed", case.name);
        let status_line = answer.split(|&b| b == b'\r').next().unwrap_or_default();
        let expected = case.answer.map(str::as_bytes).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(status_line),
            String::from_utf8_lossy(expected),
            "{}",
            case.name
        );
        let result = server.await.unwrap();
        match case.answer {
            Some(_) => assert!(
                matches!(result, Err(Error::Handshake(_))),
                "{}: {result:?}",
                case.name
            ),
            None => assert!(
                matches!(result, Err(Error::HandshakeTimeout)),
                "{}: {result:?}",
                case.name
            ),
        }
    }
}
