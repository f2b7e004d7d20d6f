//! A client that survives its server restarting:
//! `cargo run -p sockeye-tokio --example tokio-reconnecting-client`.
//!
//! It starts an echo server on loopback, connects a `ReconnectingClient`,
//! then restarts the server (the listener and every connection dropped, the
//! same port bound again). Messages sent while the server is down wait in
//! the client's outbox and are echoed once it has reconnected.

use std::time::Duration;

use sockeye_tokio::reconnect::{Event, ReconnectPolicy};
use sockeye_tokio::{ClientOptions, CloseCode, Config, Message, ReconnectingClient};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An echo server; aborting its task drops the listener and its connections.
fn echo_server(listener: TcpListener) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        while let Ok((tcp, _)) = listener.accept().await {
            connections.spawn(async move {
                let mut ws = sockeye_tokio::accept(tcp).await?;
                while let Some(message) = ws.recv().await {
                    let message = message?;
                    if message.is_data() {
                        ws.send(message).await?;
                    }
                }
                Ok::<_, sockeye_tokio::Error>(())
            });
        }
    })
}

/// The next event, printed.
async fn next(client: &mut ReconnectingClient) -> Result<Event, BoxError> {
    let event = tokio::time::timeout(Duration::from_secs(20), client.recv())
        .await?
        .ok_or("the client stopped")?;
    match &event {
        Event::Connected { connection, .. } => println!("connected (connection #{connection})"),
        Event::Message(message) => println!("received {message:?}"),
        Event::Disconnected {
            close,
            reconnect_in,
            ..
        } => println!(
            "disconnected: code {}, clean: {}, reconnecting in {reconnect_in:?}",
            close.code, close.was_clean
        ),
        Event::AttemptFailed {
            attempt, retry_in, ..
        } => println!("attempt {attempt} failed, retrying in {retry_in:?}"),
        Event::GaveUp { attempts } => println!("gave up after {attempts} attempts"),
        other => println!("{other:?}"),
    }
    Ok(event)
}

/// Run the scenario; returns the texts echoed back, in order.
pub async fn run() -> Result<Vec<String>, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let mut server = echo_server(listener);

    let mut policy = ReconnectPolicy::default();
    policy.initial_delay = Duration::from_millis(50);
    policy.max_delay = Duration::from_secs(1);
    policy.max_attempts = Some(20);
    let mut client = sockeye_tokio::reconnecting(
        &format!("ws://{address}/echo"),
        ClientOptions::new(),
        Config::default(),
        policy,
    );
    let mut echoed = Vec::new();
    let record = |echoed: &mut Vec<String>, event: &Event| {
        if let Event::Message(Message::Text(text)) = event {
            echoed.push(text.to_string());
        }
    };

    while !matches!(next(&mut client).await?, Event::Connected { .. }) {}
    client.send("hello 1").await?;
    loop {
        let event = next(&mut client).await?;
        record(&mut echoed, &event);
        if matches!(event, Event::Message(Message::Text(_))) {
            break;
        }
    }

    println!("restarting the server");
    server.abort();
    let _ = server.await;
    while !matches!(next(&mut client).await?, Event::Disconnected { .. }) {}
    client.send("hello 2").await?;
    client.send("hello 3").await?;
    println!("{} messages wait in the outbox", client.queued());
    server = echo_server(TcpListener::bind(address).await?);

    while echoed.len() < 3 {
        let event = next(&mut client).await?;
        record(&mut echoed, &event);
    }
    client.close(CloseCode::NORMAL, "bye").await?;
    while client.recv().await.is_some() {}
    server.abort();
    Ok(echoed)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // Spawned, to show the client can live on another task.
    let echoed = tokio::spawn(run()).await??;
    println!("echoed: {echoed:?}");
    Ok(())
}
