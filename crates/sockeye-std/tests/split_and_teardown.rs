//! Split halves on two threads, and closing the TCP connection at the end
//! of the closing handshake, over loopback TCP.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sockeye_std::{CloseCode, Config, Message};

const LIMIT: Duration = Duration::from_secs(10);

/// A listener and the `ws://` URL that reaches it.
fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    (listener, url)
}

/// Accept one WebSocket client and keep a raw handle to its socket, which
/// outlives the WebSocket (dropping it does not close a cloned socket).
fn accept_raw(listener: &TcpListener) -> TcpStream {
    let (tcp, _) = listener.accept().unwrap();
    tcp.set_read_timeout(Some(LIMIT)).unwrap();
    let raw = tcp.try_clone().unwrap();
    drop(sockeye_std::accept(tcp).unwrap());
    raw
}

#[test]
fn halves_receive_and_send_from_two_threads_and_close_from_the_writer() {
    let (listener, url) = listen();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(LIMIT)).unwrap();
        let mut ws = sockeye_std::accept(tcp).unwrap();
        // The client's reading half must answer this while its other half sends.
        ws.send(Message::Ping("are you there".into())).unwrap();
        let mut pongs = 0;
        while let Some(Ok(message)) = ws.recv() {
            match message {
                Message::Pong(payload) => {
                    assert_eq!(&payload[..], b"are you there");
                    pongs += 1;
                }
                message if message.is_data() => ws.send(message).unwrap(),
                _ => {}
            }
        }
        (pongs, ws.close_status().unwrap())
    });

    let (ws, _) = sockeye_std::connect(&url).unwrap();
    let (mut rx, mut tx) = ws.split().map_err(|(_, error)| error).unwrap();
    rx.get_mut().set_read_timeout(Some(LIMIT)).unwrap();
    let (all_echoed, wait_for_echoes) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        for i in 0..500u32 {
            tx.send(Message::binary(i.to_be_bytes().to_vec())).unwrap();
        }
        // Close once the echoes are in, so the pong (queued when the ping
        // arrived, before them) is not refused by a close sent earlier.
        wait_for_echoes.recv_timeout(LIMIT).unwrap();
        tx.close(CloseCode::new(4001).unwrap(), "done").unwrap();
        tx
    });

    let mut echoed = Vec::new();
    let mut close = None;
    while let Some(item) = rx.recv() {
        match item.unwrap() {
            Message::Binary(data) => {
                echoed.push(u32::from_be_bytes(data[..].try_into().unwrap()));
                if echoed.len() == 500 {
                    all_echoed.send(()).unwrap();
                }
            }
            Message::Close(frame) => close = frame,
            // Answered already: the pong is queued and written by this half.
            Message::Ping(payload) => assert_eq!(&payload[..], b"are you there"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(echoed, (0..500).collect::<Vec<_>>());
    let close = close.expect("the server's close frame");
    assert_eq!((close.code.get(), close.reason.as_str()), (4001, "done"));
    assert!(rx.close_status().unwrap().was_clean);
    drop(writer.join().unwrap());
    let (pongs, status) = server.join().unwrap();
    assert_eq!(pongs, 1);
    assert_eq!((status.code, status.was_clean), (4001, true));
}

#[test]
fn server_closes_the_tcp_connection_after_the_closing_handshake() {
    let (listener, url) = listen();
    let (done, done_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut ws = sockeye_std::accept(tcp).unwrap();
        while ws.recv().is_some() {}
        // Keep the WebSocket alive: the client must see EOF anyway.
        done_rx.recv_timeout(LIMIT).unwrap();
        drop(ws);
    });
    let mut raw =
        TcpStream::connect(url.trim_start_matches("ws://").trim_end_matches('/')).unwrap();
    raw.set_read_timeout(Some(LIMIT)).unwrap();
    // The opening handshake by hand, then a masked close frame (1000).
    raw.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        raw.read_exact(&mut byte).unwrap();
        answer.push(byte[0]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 101"));
    raw.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])
        .unwrap();
    let mut reply = [0u8; 4];
    raw.read_exact(&mut reply).unwrap();
    assert_eq!(reply, [0x88, 0x02, 0x03, 0xe8]);
    // RFC 6455 §7.1.1: the server closes the TCP connection first.
    assert_eq!(raw.read(&mut byte).unwrap(), 0, "expected end of stream");
    done.send(()).unwrap();
    server.join().unwrap();
}

#[test]
fn client_waits_for_the_server_to_close_the_tcp_connection() {
    let (listener, url) = listen();
    let server_closed = Arc::new(AtomicBool::new(false));
    let flag = server_closed.clone();
    let server = std::thread::spawn(move || {
        let mut raw = accept_raw(&listener);
        let mut close = [0u8; 8];
        raw.read_exact(&mut close).unwrap();
        assert_eq!(&close[..2], &[0x88, 0x82]);
        raw.write_all(&[0x88, 0x02, 0x03, 0xe8]).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        flag.store(true, Ordering::SeqCst);
        drop(raw);
    });
    let (mut ws, _) = sockeye_std::connect(&url).unwrap();
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(
        server_closed.load(Ordering::SeqCst),
        "the client closed before the server did"
    );
    server.join().unwrap();
}

#[test]
fn client_closes_the_tcp_connection_after_the_close_timeout() {
    let (listener, url) = listen();
    let server = std::thread::spawn(move || {
        let mut raw = accept_raw(&listener);
        let mut close = [0u8; 8];
        raw.read_exact(&mut close).unwrap();
        raw.write_all(&[0x88, 0x02, 0x03, 0xe8]).unwrap();
        // Never close: the client gives up waiting and closes itself.
        let mut byte = [0u8; 1];
        raw.read(&mut byte).unwrap()
    });
    let mut config = Config::default();
    config.close_timeout = Some(Duration::from_millis(200));
    let (mut ws, _) =
        sockeye_std::connect_with(&url, sockeye_std::ClientOptions::new(), config).unwrap();
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.join().unwrap(), 0, "the server saw no end of stream");
}
