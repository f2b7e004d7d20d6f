//! What a subscriber sees: a protocol violation is one event under the
//! target `sockeye` with the close code it caused, and the connection's
//! handshake and close are events too. Needs the `tracing` feature (on by
//! default).
#![cfg(feature = "tracing")]

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
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

// One thread: the subscriber set with `set_default` sees the server's task.
#[tokio::test(flavor = "current_thread")]
async fn a_protocol_violation_is_one_event_with_its_close_code() {
    let capture = Capture::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = sockeye_tokio::accept(tcp).await.unwrap();
        while ws.recv().await.is_some() {}
    });

    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    // An unmasked frame from a client: RFC 6455 §5.1, closed with 1002.
    tcp.write_all(&[0x81, 0x02, b'h', b'i']).await.unwrap();
    let mut answer = Vec::new();
    let read = tcp.read_to_end(&mut answer);
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();

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

#[test]
fn a_slow_client_and_a_refusal_are_one_event_each() {
    use sockeye_tokio::{Clients, Message, ServerPolicy};
    let capture = Capture::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let policy = ServerPolicy::new()
        .queue_budget(10)
        .max_connections_per_ip(1);
    let clients = Clients::new(&policy);
    let ip = "127.0.0.1".parse().unwrap();
    let _slot = clients.admit(ip).unwrap();
    assert!(clients.admit(ip).is_err());
    // Nobody takes the messages: the third goes over the budget.
    for _ in 0..5 {
        clients.broadcast(Message::text("12345"));
    }

    let events = capture.0.lock().unwrap();
    let slow: Vec<_> = events
        .iter()
        .filter(|event| event.message.starts_with("slow client"))
        .collect();
    assert_eq!(slow.len(), 1, "{events:#?}");
    assert_eq!(slow[0].code, Some(1008));
    let refused = events
        .iter()
        .filter(|event| event.message.starts_with("connection limit"))
        .count();
    assert_eq!(refused, 1, "{events:#?}");
}
