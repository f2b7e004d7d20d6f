//! What the browser's `WebSocket` shows, from the blocking client over loopback.

use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use sockeye_std::{ClientOptions, CloseCode, Config, Decision, Message, ReadyState};

#[test]
fn client_reports_url_protocol_ready_state_and_clean_close() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/chat", listener.local_addr().unwrap());
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let (mut ws, _) = sockeye_std::accept_with(tcp, Config::default(), |request| {
            Decision::accept_first_of(request, &["chat.v2"])
        })
        .unwrap();
        ws.close(CloseCode::new(4003).unwrap(), "bye from std")
            .unwrap();
    });
    let options = ClientOptions::new()
        .protocol("chat.v2")
        .connect_timeout(Duration::from_secs(5));
    let (mut ws, _) = sockeye_std::connect_with(&url, options, Config::default()).unwrap();
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(ws.url(), Some(url.as_str()));
    assert_eq!(ws.protocol(), Some("chat.v2"));
    assert!(ws.extensions().is_empty());
    assert_eq!(ws.ready_state(), ReadyState::Open);
    assert_eq!(ws.buffered_amount(), 0);
    let message = ws.recv().unwrap().unwrap();
    assert!(matches!(message, Message::Close(Some(_))), "{message:?}");
    assert_eq!(ws.ready_state(), ReadyState::Closing);
    assert!(ws.recv().is_none());
    assert_eq!(ws.ready_state(), ReadyState::Closed);
    let info = ws.close_status().unwrap();
    assert_eq!(
        (info.code, info.reason.as_str(), info.was_clean),
        (4003, "bye from std", true)
    );
    server.join().unwrap();
}

#[test]
fn dropped_tcp_connection_closes_with_1006_not_clean() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        drop(sockeye_std::accept(tcp).unwrap());
    });
    let (mut ws, _) = sockeye_std::connect(&url).unwrap();
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    server.join().unwrap();
    let mut items = 0;
    while let Some(item) = ws.recv() {
        assert!(item.is_err(), "{item:?}");
        items += 1;
        assert!(items < 10);
    }
    assert_eq!(ws.ready_state(), ReadyState::Closed);
    let info = ws.close_status().unwrap();
    assert_eq!(info.code, 1006);
    assert!(!info.was_clean);
}
