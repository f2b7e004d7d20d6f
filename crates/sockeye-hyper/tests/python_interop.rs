//! The axum extractor against an independent client, Python `websockets`,
//! over HTTP/1.1: text, binary, a large message, a fragmented one, a ping,
//! and a clean close with its code.
//!
//! The client runs under the interpreter named by `SOCKEYE_PYTHON`, which
//! must have `websockets` installed. Ignored by a plain `cargo test` because
//! it needs that peer; `cargo xtask autobahn` runs it with `--ignored` and
//! its virtualenv. Run without the variable, it fails.

mod common;

use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// Sends each message, checks its echo, then closes with 1000; prints the
/// close code the server answered with.
const PYTHON_CLIENT: &str = r#"
import asyncio, sys
from websockets.asyncio.client import connect

async def main():
    messages = ["hello", "", "h\u00e9llo w\u00f6rld " * 5000, bytes(range(256)) * 4000, b""]
    async with connect(sys.argv[1], max_size=None) as ws:
        for message in messages:
            await ws.send(message)
            echoed = await ws.recv()
            assert echoed == message, f"echo differs for a message of {len(message)}"
        await ws.send(["piece one, " * 100, "piece two, " * 100])
        assert await ws.recv() == "piece one, " * 100 + "piece two, " * 100
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        await ws.close(1000, "done")
        print(ws.close_code, flush=True)

asyncio.run(main())
"#;

#[tokio::test]
#[ignore = "needs Python websockets: cargo xtask autobahn runs it"]
async fn python_websockets_client_through_the_axum_extractor() {
    let python = match std::env::var("SOCKEYE_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => panic!(
            "SOCKEYE_PYTHON is not set: this test needs a Python with `websockets` \
             (cargo xtask autobahn runs it with its virtualenv)"
        ),
    };
    let addr = common::serve(common::app()).await;
    let url = format!("ws://{addr}/echo");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .args(["-c", PYTHON_CLIENT, &url])
            .output()
            .expect("run the Python client")
    });
    let output = tokio::time::timeout(LIMIT, output).await.unwrap().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1000");
}
