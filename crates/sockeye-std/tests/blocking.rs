//! The blocking adapter over loopback TCP.

use std::net::TcpListener;
use std::time::Duration;

use sockeye_std::{CloseCode, Config, Decision, Error, Message};

#[test]
fn echo_then_close_with_code_and_reason() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut ws = sockeye_std::accept(tcp).unwrap();
        while let Some(Ok(message)) = ws.recv() {
            if message.is_data() {
                ws.send(message).unwrap();
            }
        }
        ws.close_status().unwrap()
    });
    let (mut ws, _) = sockeye_std::connect(&format!("ws://{addr}/")).unwrap();
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    ws.send("hi").unwrap();
    ws.send(vec![5u8; 1 << 20]).unwrap();
    assert_eq!(ws.recv().unwrap().unwrap(), Message::text("hi"));
    assert_eq!(
        ws.recv().unwrap().unwrap(),
        Message::binary(vec![5u8; 1 << 20])
    );
    ws.close(CloseCode::new(4002).unwrap(), "bye").unwrap();
    let status = server.join().unwrap();
    assert_eq!(
        (status.code, status.reason.as_str(), status.was_clean),
        (4002, "bye", true)
    );
    assert!(matches!(ws.send("late"), Err(Error::Closed)));
}

#[test]
fn read_timeout_is_reported_and_the_connection_stays_usable() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut ws = sockeye_std::accept(tcp).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        ws.send("late").unwrap();
        ws
    });
    let (mut ws, _) = sockeye_std::connect(&format!("ws://{addr}/")).unwrap();
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    assert!(matches!(ws.recv(), Some(Err(Error::Timeout))));
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(ws.recv().unwrap().unwrap(), Message::text("late"));
    drop(server.join().unwrap());
}

#[test]
fn rejection_refusal_and_handshake_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let result = sockeye_std::accept_with(tcp, Config::default(), |_| Decision::reject(404));
        assert!(matches!(result, Err(Error::Rejected { status: 404, .. })));
        let (tcp, _) = listener.accept().unwrap();
        let mut config = Config::default();
        config.handshake_timeout = Some(Duration::from_millis(200));
        let result = sockeye_std::accept_with(tcp, config, |_| Decision::accept());
        assert!(
            matches!(result, Err(Error::HandshakeTimeout)),
            "{:?}",
            result.err()
        );
    });
    let error = sockeye_std::connect(&format!("ws://{addr}/"))
        .err()
        .unwrap();
    assert_eq!(error.http_status(), Some(404));
    let _silent = std::net::TcpStream::connect(addr).unwrap();
    server.join().unwrap();

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = sockeye_std::connect(&format!("ws://127.0.0.1:{port}/"))
        .err()
        .unwrap();
    assert!(matches!(refused, Error::Connect(_)), "{refused}");
}
