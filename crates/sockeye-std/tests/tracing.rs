//! What a subscriber sees of the blocking adapter: a protocol violation is one event under the
//! target `sockeye` with the close code it caused, and the connection's
//! handshake and close are events too. Needs the `tracing` feature (on by
//! default).
#![cfg(feature = "tracing")]

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// One event as the test looks at it.
#[derive(Debug, Default)]
struct Captured {
    target: String,
    message: String,
    code: Option<u64>,
}

impl Visit for Captured {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "code" {
            self.code = Some(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

/// A layer that keeps every event.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut captured = Captured {
            target: event.metadata().target().to_owned(),
            ..Captured::default()
        };
        event.record(&mut captured);
        self.0.lock().unwrap().push(captured);
    }
}

#[test]
fn a_protocol_violation_is_one_event_with_its_close_code() {
    let capture = Capture::default();
    // The subscriber is this thread's: the server runs here, the client beside.
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        tcp.write_all(
            b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
        // An unmasked frame from a client: RFC 6455 §5.1, closed with 1002.
        tcp.write_all(&[0x81, 0x02, b'h', b'i']).unwrap();
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).unwrap();
    });
    let (tcp, _) = listener.accept().unwrap();
    let mut ws = sockeye_std::accept(tcp).unwrap();
    while ws.recv().is_some() {}
    client.join().unwrap();

    let events = capture.0.lock().unwrap();
    let failures: Vec<_> = events
        .iter()
        .filter(|event| event.message == "protocol failure")
        .collect();
    assert_eq!(failures.len(), 1, "{events:#?}");
    assert_eq!(failures[0].code, Some(1002));
    assert_eq!(failures[0].target, "sockeye");
    assert!(
        events
            .iter()
            .any(|event| event.message == "handshake accepted")
    );
    let closed = events.iter().find(|event| event.message == "closed");
    assert_eq!(
        closed.and_then(|event| event.code),
        Some(1002),
        "{events:#?}"
    );
}
