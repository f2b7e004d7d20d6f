//! The chat server driven by WebSocket clients in Rust.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{Server, WAIT};
use serde_json::{Value, json};
use sockeye_io::{ClientOptions, Config, Error, Message};
use sockeye_tokio::{MaybeTlsStream, WebSocketStream};
use tokio::net::TcpStream;

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn join(server: &Server, query: &str) -> Client {
    let url = server.url(&format!("/ws{query}"));
    let (client, _) = sockeye_tokio::connect_with(&url, ClientOptions::new(), Config::default())
        .await
        .expect("join the chat");
    client
}

/// The next JSON message, within [`WAIT`].
async fn next(client: &mut Client) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, client.recv())
            .await
            .expect("a message in time")
            .expect("the connection is open")
            .expect("no error");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("JSON");
        }
    }
}

async fn say(client: &mut Client, value: Value) {
    client.send(Message::text(value.to_string())).await.unwrap();
}

/// Read a client's greeting: welcome, its own join, presence.
async fn greeting(client: &mut Client) -> (String, Vec<String>) {
    let welcome = next(client).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let name = welcome["name"].as_str().unwrap().to_owned();
    let joined = next(client).await;
    assert_eq!(
        (joined["type"].as_str(), joined["from"].as_str()),
        (Some("join"), Some(name.as_str()))
    );
    assert!(joined["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    let presence = next(client).await;
    assert_eq!(presence["type"], "presence", "{presence}");
    let online = presence["online"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap().to_owned())
        .collect();
    (name, online)
}

#[tokio::test]
async fn two_clients_join_one_speaks_both_hear() {
    let server = Server::start(&["chat", "127.0.0.1:0"]);
    let mut ann = join(&server, "?name=ann").await;
    assert_eq!(greeting(&mut ann).await, ("ann".into(), vec!["ann".into()]));

    let mut bob = join(&server, "?name=bob").await;
    assert_eq!(
        greeting(&mut bob).await,
        ("bob".into(), vec!["ann".into(), "bob".into()])
    );
    let joined = next(&mut ann).await;
    assert_eq!(
        (joined["type"].as_str(), joined["from"].as_str()),
        (Some("join"), Some("bob"))
    );
    assert_eq!(
        next(&mut ann).await,
        json!({"type":"presence","online":["ann","bob"]})
    );

    say(&mut ann, json!({"type":"message","text":"hello, bob"})).await;
    for client in [&mut ann, &mut bob] {
        let message = next(client).await;
        assert_eq!(message["type"], "message");
        assert_eq!(message["from"], "ann");
        assert_eq!(message["text"], "hello, bob");
        assert!(message["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    }

    // Leaving is announced, with the new presence.
    bob.close(sockeye_io::CloseCode::NORMAL, "").await.unwrap();
    let left = next(&mut ann).await;
    assert_eq!(
        (left["type"].as_str(), left["from"].as_str()),
        (Some("leave"), Some("bob"))
    );
    assert_eq!(
        next(&mut ann).await,
        json!({"type":"presence","online":["ann"]})
    );
}

/// The next chat line (skipping joins, leaves and presence).
async fn next_line(client: &mut Client) -> Value {
    loop {
        let value = next(client).await;
        if value["type"] == "message" {
            return value;
        }
    }
}

#[tokio::test]
async fn with_threads_one_room_spans_every_thread() {
    let server = Server::start(&["chat", "127.0.0.1:0", "--threads", "2"]);
    assert_eq!(
        server.server_threads(2),
        ["sockeye-loop-0", "sockeye-loop-1"]
    );
    // Twelve members: the kernel spreads them over both threads by their
    // ports. Every one of them sees everyone else join.
    let mut members = Vec::new();
    for n in 0..12 {
        let mut member = join(&server, &format!("?name=m{n}")).await;
        let (name, online) = greeting(&mut member).await;
        assert_eq!(name, format!("m{n}"));
        assert_eq!(online.len(), n + 1);
        members.push(member);
    }
    // Each line reaches every member, whichever thread serves them.
    for (speaker, text) in [(0, "to all"), (11, "and back")] {
        say(&mut members[speaker], json!({"type":"message","text":text})).await;
        for member in &mut members {
            let line = next_line(member).await;
            let from = format!("m{speaker}");
            assert_eq!(
                (line["from"].as_str(), line["text"].as_str()),
                (Some(from.as_str()), Some(text))
            );
        }
    }
}

#[tokio::test]
async fn a_guest_name_is_assigned_without_one() {
    let server = Server::start(&["chat", "127.0.0.1:0"]);
    let mut guest = join(&server, "").await;
    let (name, _) = greeting(&mut guest).await;
    assert!(name.starts_with("guest-"), "{name}");
}

#[tokio::test]
async fn malformed_input_gets_an_error_and_the_connection_stays() {
    let server = Server::start(&["chat", "127.0.0.1:0"]);
    let mut ann = join(&server, "?name=ann").await;
    greeting(&mut ann).await;
    for bad in [
        "not json",
        r#"{"type":"message"}"#,
        r#"{"type":"dance","text":"x"}"#,
    ] {
        ann.send(Message::text(bad)).await.unwrap();
        let reply = next(&mut ann).await;
        assert_eq!(reply["type"], "error", "{bad}: {reply}");
        assert!(reply["text"].as_str().unwrap().len() > 5);
    }
    ann.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(next(&mut ann).await["type"], "error");
    say(&mut ann, json!({"type":"message","text":"still here"})).await;
    let message = next(&mut ann).await;
    assert_eq!(
        (message["type"].as_str(), message["text"].as_str()),
        (Some("message"), Some("still here"))
    );
}

#[tokio::test]
async fn the_websocket_needs_the_token_when_one_is_set() {
    let server = Server::start(&["chat", "127.0.0.1:0", "--token", "sesame"]);
    for query in ["?name=eve", "?name=eve&token=wrong"] {
        let url = server.url(&format!("/ws{query}"));
        let result =
            sockeye_tokio::connect_with(&url, ClientOptions::new(), Config::default()).await;
        match result {
            Err(Error::Rejected { status, .. }) => assert_eq!(status, 401),
            Err(other) => panic!("expected a 401, got {other}"),
            Ok(_) => panic!("expected a 401, the upgrade was accepted"),
        }
    }
    let mut ann = join(&server, "?name=ann&token=sesame").await;
    assert_eq!(greeting(&mut ann).await.0, "ann");
}

#[test]
fn serves_the_page_at_the_root_and_404_elsewhere() {
    let server = Server::start(&["chat", "127.0.0.1:0"]);
    let get = |path: &str| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let page = get("/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("text/html"));
    assert!(page.contains("<html"));
    assert!(get("/nothing").starts_with("HTTP/1.1 404"));
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_with_1008_and_the_others_go_on() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let server = Server::start(&["chat", "127.0.0.1:0"]);
    // Joins, then never reads: its queue on the server fills up.
    let mut slow = join(&server, "?name=slow").await;
    let fast = join(&server, "?name=fast").await;
    let (mut fast_rx, mut fast_tx) = fast.split();

    let slow_left = Arc::new(AtomicBool::new(false));
    let reader = {
        let slow_left = slow_left.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = fast_rx.recv().await {
                if let Message::Text(text) = message {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    if value["type"] == "leave" && value["from"] == "slow" {
                        slow_left.store(true, Ordering::SeqCst);
                        return fast_rx;
                    }
                }
            }
            panic!("the fast client's connection ended");
        })
    };
    let line = json!({"type":"message","text":"x".repeat(3900)}).to_string();
    let flood = async {
        let mut sent = 0;
        while !slow_left.load(Ordering::SeqCst) && sent < 50_000 {
            fast_tx.send(Message::text(line.clone())).await.unwrap();
            sent += 1;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), flood)
        .await
        .expect("flooding ends");
    let mut fast_rx = tokio::time::timeout(WAIT, reader)
        .await
        .expect("the leave is announced")
        .unwrap();
    assert!(
        slow_left.load(Ordering::SeqCst),
        "the slow client was never evicted"
    );

    // The slow client finds a 1008 close after what was queued for it.
    let closed = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(received) = slow.recv().await {
            match received {
                Ok(Message::Close(frame)) => return frame.map(|frame| frame.code.get()),
                Ok(_) => {}
                Err(error) => panic!("slow client: {error}"),
            }
        }
        None
    })
    .await
    .expect("the slow client's connection ends");
    assert_eq!(closed, Some(1008));

    // The room goes on for the fast client.
    fast_tx
        .send(Message::text(
            json!({"type":"message","text":"after"}).to_string(),
        ))
        .await
        .unwrap();
    let after = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(Ok(Message::Text(text))) = fast_rx.recv().await {
                let value: Value = serde_json::from_str(text.as_str()).unwrap();
                if value["text"] == "after" {
                    return value;
                }
            }
        }
    })
    .await
    .expect("the fast client still gets messages");
    assert_eq!(after["from"], "fast");
}
