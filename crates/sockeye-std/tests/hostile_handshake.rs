//! The hostile handshakes of `sockeye::testing` get, over a real socket,
//! the answer the engine's endpoint gives them: the status line (or none for
//! a request that stalls), then the server closes the connection.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use sockeye::testing::hostile_handshakes;
use sockeye_io::{Config, Decision, Error};

#[test]
fn hostile_handshakes_get_the_engines_answer_and_a_close() {
    let mut config = Config::default();
    config.handshake_timeout = Some(Duration::from_millis(300));
    for case in hostile_handshakes(&config) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server_config = config.clone();
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            sockeye_std::accept_with(stream, server_config, |_| Decision::accept()).map(|_| ())
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        client.write_all(&case.request).unwrap();
        let started = Instant::now();
        let mut answer = Vec::new();
        // Until the server closes (end of stream) or resets the connection.
        let _ = client.read_to_end(&mut answer);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}: the server never closed",
            case.name
        );
        let status_line = answer.split(|&b| b == b'\r').next().unwrap_or_default();
        let expected = case.answer.map(str::as_bytes).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(status_line),
            String::from_utf8_lossy(expected),
            "{}",
            case.name
        );
        let result = server.join().unwrap();
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
