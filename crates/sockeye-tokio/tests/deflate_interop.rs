//! permessage-deflate against an independent implementation, Python
//! `websockets`: our client against its server, its client against our
//! server. Both ends must report the extension as negotiated, and every
//! message must come back unchanged.
//!
//! The peer runs under the interpreter named by `SOCKEYE_PYTHON`, which must
//! have `websockets` installed. The tests are ignored by a plain `cargo test`
//! because they need that peer; `cargo xtask autobahn` runs them with
//! `--ignored` and its virtualenv. Run without the variable, they fail.
#![cfg(feature = "deflate")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sockeye_tokio::{ClientOptions, Config, Decision, DeflateConfig, Message};
use tokio::net::TcpListener;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

/// An echo server that answers the text `extensions?` with the names of the
/// extensions it negotiated, and echoes everything else.
const PYTHON_SERVER: &str = r#"
import asyncio
from websockets.asyncio.server import serve

async def echo(ws):
    async for message in ws:
        if message == "extensions?":
            await ws.send(",".join(e.name for e in ws.protocol.extensions))
        else:
            await ws.send(message)

async def main():
    async with serve(echo, "127.0.0.1", 0, compression="deflate", max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

asyncio.run(main())
"#;

/// A client that sends every test message, checks the echo, and prints the
/// extensions it negotiated.
const PYTHON_CLIENT: &str = r#"
import asyncio, sys
from websockets.asyncio.client import connect

async def main():
    messages = [
        "hello",
        "",
        '{"id": 1, "name": "sockeye"}' * 500,
        bytes(range(256)) * 300,
        b"",
        "h\u00e9llo w\u00f6rld " * 2000,
    ]
    async with connect(sys.argv[1], compression="deflate", max_size=None) as ws:
        for message in messages:
            await ws.send(message)
            echoed = await ws.recv()
            assert echoed == message, f"echo differs for a message of {len(message)}"
        # A fragmented message, compressed as one.
        await ws.send(["piece one, " * 100, "piece two, " * 100])
        assert await ws.recv() == "piece one, " * 100 + "piece two, " * 100
        print(",".join(e.name for e in ws.protocol.extensions), flush=True)

asyncio.run(main())
"#;

/// The interpreter to run the peer under. A missing peer is a failure, not a
/// pass: a test that cannot see its peer has checked nothing.
fn python() -> String {
    match std::env::var("SOCKEYE_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => panic!(
            "SOCKEYE_PYTHON is not set: these tests need a Python with `websockets` \
             (cargo xtask autobahn runs them with its virtualenv)"
        ),
    }
}

/// Kills the peer when the test ends, however it ends.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn deflate_config() -> Config {
    let mut config = Config::default();
    config.deflate = Some(DeflateConfig::default());
    config
}

fn json_like(n: usize) -> String {
    (0..n)
        .map(|i| format!("{{\"id\":{i},\"user\":\"u{}\",\"ok\":true}}", i % 13))
        .collect()
}

#[tokio::test]
#[ignore = "needs Python websockets: cargo xtask autobahn runs it"]
async fn our_client_against_python_websockets_server() {
    let python = python();
    let mut child = Command::new(python)
        .args(["-c", PYTHON_SERVER])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the Python server");
    let stdout = child.stdout.take().unwrap();
    let peer = Peer(child);
    let port = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line.trim()
            .parse::<u16>()
            .expect("the server prints its port")
    });
    let port = timeout(LIMIT, port).await.unwrap().unwrap();

    let url = format!("ws://127.0.0.1:{port}/");
    let (mut ws, response) = timeout(
        LIMIT,
        sockeye_tokio::connect_with(&url, ClientOptions::new(), deflate_config()),
    )
    .await
    .unwrap()
    .unwrap();
    let accepted = response.headers.get("Sec-WebSocket-Extensions").unwrap();
    assert!(accepted.starts_with("permessage-deflate"), "{accepted}");

    ws.send("extensions?").await.unwrap();
    let names = timeout(LIMIT, ws.recv()).await.unwrap().unwrap().unwrap();
    assert_eq!(names, Message::text("permessage-deflate"));

    let messages = [
        Message::text("hi"),
        Message::text(""),
        Message::text(json_like(2000)),
        Message::binary((0..200_000u32).map(|i| (i % 7) as u8).collect::<Vec<u8>>()),
        Message::text(json_like(2000)),
        Message::binary(Vec::new()),
    ];
    for message in messages {
        ws.send(message.clone()).await.unwrap();
        let echoed = timeout(LIMIT, ws.recv()).await.unwrap().unwrap().unwrap();
        assert_eq!(echoed, message);
    }
    ws.close(sockeye_tokio::CloseCode::NORMAL, "done")
        .await
        .unwrap();
    drop(peer);
}

#[tokio::test]
#[ignore = "needs Python websockets: cargo xtask autobahn runs it"]
async fn python_websockets_client_against_our_server() {
    let python = python();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut offered = String::new();
        let (mut ws, _) = sockeye_tokio::accept_with(tcp, deflate_config(), |request| {
            offered = request
                .extensions()
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            Decision::accept()
        })
        .await
        .unwrap();
        let mut echoed = 0;
        while let Some(Ok(message)) = ws.recv().await {
            if message.is_data() {
                ws.send(message).await.unwrap();
                echoed += 1;
            }
        }
        (offered, echoed)
    });

    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .args(["-c", PYTHON_CLIENT, &url])
            .output()
            .expect("run the Python client")
    });
    let output = timeout(LIMIT, output).await.unwrap().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "permessage-deflate"
    );
    let (offered, echoed) = timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(offered.starts_with("permessage-deflate"), "{offered}");
    assert_eq!(echoed, 7);
}
