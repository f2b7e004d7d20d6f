//! Two `sockeye chat` processes on different ports sharing the room
//! through a real broker (`--redis URL`, `--nats URL`): a message said on
//! one reaches the other's members, presence lists both, and after the
//! broker restarts the next messages still cross. Ignored in a plain
//! `cargo test`; `cargo xtask ci` installs the brokers and runs them.

#[path = "../../sockeye-tokio/tests/fanout_support/broker.rs"]
mod broker;
mod common;

use std::time::{Duration, Instant};

use broker::{Broker, Kind};
use common::{Server, WAIT};
use serde_json::{Value, json};
use sockeye_io::Message;
use sockeye_tokio::{MaybeTlsStream, WebSocketStream};
use tokio::net::TcpStream;

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn join(server: &Server, name: &str) -> Client {
    let url = server.url(&format!("/ws?name={name}"));
    sockeye_tokio::connect(&url).await.expect("join the chat").0
}

/// The next JSON message, within `limit`.
async fn next(client: &mut Client, limit: Duration) -> Option<Value> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, client.recv()).await.ok()?;
        if let Some(Ok(Message::Text(text))) = message {
            return Some(serde_json::from_str(text.as_str()).expect("JSON"));
        }
        assert!(
            matches!(message, Some(Ok(_))),
            "connection ended: {message:?}"
        );
    }
}

/// Read until a message matching `wanted` arrives (within [`WAIT`]).
async fn until(client: &mut Client, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = next(client, left)
            .await
            .unwrap_or_else(|| panic!("no {what} within {WAIT:?}"));
        if wanted(&message) {
            return message;
        }
    }
}

fn presence_of(names: &'static [&'static str]) -> impl Fn(&Value) -> bool {
    move |message| {
        message["type"] == "presence"
            && message["online"].as_array().is_some_and(|online| {
                online
                    .iter()
                    .map(|n| n.as_str().unwrap())
                    .eq(names.iter().copied())
            })
    }
}

fn said(from: &'static str, text: &'static str) -> impl Fn(&Value) -> bool {
    move |message| {
        message["type"] == "message" && message["from"] == from && message["text"] == text
    }
}

async fn say(client: &mut Client, text: &str) {
    let line = json!({"type": "message", "text": text}).to_string();
    client.send(Message::text(line)).await.unwrap();
}

async fn two_processes_share_the_room(kind: Kind) {
    let mut broker = Broker::start(kind).await;
    let flag = match kind {
        Kind::Redis => "--redis",
        Kind::Nats => "--nats",
    };
    let url = broker.url();
    let one = Server::start(&["chat", "127.0.0.1:0", flag, &url]);
    let two = Server::start(&["chat", "127.0.0.1:0", flag, &url]);
    assert_ne!(one.port, two.port);

    let mut ann = join(&one, "ann").await;
    until(&mut ann, "ann's presence", presence_of(&["ann"])).await;
    let mut bob = join(&two, "bob").await;
    // Each side's list shows both, sorted by name.
    until(
        &mut bob,
        "presence of both on two",
        presence_of(&["ann", "bob"]),
    )
    .await;
    until(&mut ann, "bob's join on one", |m| {
        m["type"] == "join" && m["from"] == "bob"
    })
    .await;
    until(
        &mut ann,
        "presence of both on one",
        presence_of(&["ann", "bob"]),
    )
    .await;

    say(&mut ann, "hello from one").await;
    until(
        &mut bob,
        "ann's message on two",
        said("ann", "hello from one"),
    )
    .await;
    until(&mut ann, "ann's own message", said("ann", "hello from one")).await;
    say(&mut bob, "hello from two").await;
    until(
        &mut ann,
        "bob's message on one",
        said("bob", "hello from two"),
    )
    .await;

    // The broker restarts; the processes reconnect by themselves and the
    // next messages cross (retried: what is said during the outage is
    // dropped, at most once).
    broker.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    broker.restart().await;
    let deadline = Instant::now() + WAIT;
    let mut n = 0;
    'crossing: loop {
        assert!(
            Instant::now() < deadline,
            "messages do not cross after the restart"
        );
        n += 1;
        let text = format!("after restart {n}");
        say(&mut ann, &text).await;
        while let Some(message) = next(&mut bob, Duration::from_millis(500)).await {
            if message["type"] == "message" && message["text"] == text.as_str() {
                break 'crossing;
            }
        }
    }
    // Presence works across the restart too: a newcomer on one shows on
    // two.
    let _cy = join(&one, "cy").await;
    until(
        &mut bob,
        "cy in two's presence",
        presence_of(&["ann", "bob", "cy"]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server; run by `cargo xtask ci`"]
async fn two_chat_processes_share_the_room_through_redis() {
    two_processes_share_the_room(Kind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server; run by `cargo xtask ci`"]
async fn two_chat_processes_share_the_room_through_nats() {
    two_processes_share_the_room(Kind::Nats).await;
}
