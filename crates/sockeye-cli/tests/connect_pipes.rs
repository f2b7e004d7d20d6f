//! `sockeye connect` in scripts and pipes: every line goes out and every
//! reply comes back, including the replies that arrive after the end of
//! stdin.

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::{Server, run_with_input, sockeye};

fn assert_clean_exit(output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );
    assert_eq!(stderr, "", "nothing on stderr");
}

/// A clean exit with exactly `input` on stdout.
fn assert_echoed(output: &Output, input: &[u8]) {
    assert_clean_exit(output);
    assert!(
        output.stdout == input,
        "{} bytes came back for {}, first difference at byte {}",
        output.stdout.len(),
        input.len(),
        output
            .stdout
            .iter()
            .zip(input)
            .take_while(|(a, b)| a == b)
            .count()
    );
}

/// 1,000 lines: empty ones, unicode, a 100 KiB one, all distinct.
fn mixed_lines() -> Vec<u8> {
    let mut input = Vec::new();
    for i in 0..1000 {
        let line = match i % 5 {
            0 => String::new(),
            1 => format!("line {i}"),
            2 => format!("λ {i} 日本語 🦀 é"),
            3 if i == 503 => "x".repeat(100 << 10),
            _ => format!("{i}\ttab and  spaces "),
        };
        input.extend_from_slice(line.as_bytes());
        input.push(b'\n');
    }
    input
}

#[test]
fn connect_returns_mixed_lines_exactly_against_echo() {
    let echo = Server::start(&["echo", "127.0.0.1:0"]);
    let input = mixed_lines();
    let mut command = sockeye();
    command.args(["connect", &echo.url("/")]);
    let output = run_with_input(command, &input);
    assert_echoed(&output, &input);
}

#[test]
fn connect_sends_a_last_line_without_newline_and_strips_crlf() {
    let echo = Server::start(&["echo", "127.0.0.1:0"]);
    let mut command = sockeye();
    command.args(["connect", "--close-wait", "200ms", &echo.url("/")]);
    let output = run_with_input(command, b"dos\r\n\r\nlone\rcr\nlast");
    assert_clean_exit(&output);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "dos\n\nlone\rcr\nlast\n"
    );
}

#[test]
fn connect_binary_raw_round_trips_random_bytes() {
    let echo = Server::start(&["echo", "127.0.0.1:0"]);
    // xorshift: random enough to hold every byte value, `\n` and `\0` included.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let input: Vec<u8> = (0..(1 << 20) + 123)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    assert!(input.contains(&b'\n') && input.contains(&0));
    let mut command = sockeye();
    command.args(["connect", "--binary-raw", &echo.url("/")]);
    let output = run_with_input(command, &input);
    assert_echoed(&output, &input);
}

#[test]
fn connect_rejects_a_line_that_is_not_utf8_in_text_mode() {
    let echo = Server::start(&["echo", "127.0.0.1:0"]);
    let mut command = sockeye();
    command.args(["connect", &echo.url("/")]);
    let output = run_with_input(command, b"fine\n\xff\xfe\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("line 2 is not UTF-8"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    let mut command = sockeye();
    command.args(["connect", "--binary", &echo.url("/")]);
    let output = run_with_input(command, b"\xff\xfe\n");
    assert_clean_exit(&output);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "fffe\n");
}

#[test]
fn connect_help_states_the_end_of_input_rule() {
    let output = sockeye().args(["connect", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "At the end of stdin",
        "--close-wait",
        "--close-wait-max",
        "--close-at-eof",
        "--binary-raw",
    ] {
        assert!(help.contains(needle), "{needle} missing from: {help}");
    }
}

#[cfg(unix)]
#[test]
fn connect_closes_cleanly_at_ctrl_c_while_stdin_is_open() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let echo = Server::start(&["echo", "127.0.0.1:0"]);
    let mut child = sockeye()
        .args(["-v", "connect", "--close-wait", "10s", &echo.url("/")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"typed\n").unwrap();
    // The echo, printed while stdin stays open, proves the session is up
    // before the interrupt.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(common::WAIT);
    if line.is_err() {
        let _ = child.kill();
    }
    assert_eq!(line.as_deref(), Ok("typed\n"));
    let started = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > common::WAIT {
            let _ = child.kill();
            panic!("no exit after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("closing handshake complete"), "{stderr}");
    // Stdin is still open: the close waited neither for its end nor for
    // ten quiet seconds.
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(stdin);
}

/// How long the late server takes to answer each message.
const LATE_BY: Duration = Duration::from_millis(600);

/// A server that answers each message `LATE_BY` after it arrived, and
/// sends nothing more once it has the client's close frame, as RFC 6455
/// §5.5.1 allows (Python `websockets` behaves so). Its port.
fn start_late_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve_late(tcp));
            }
        });
    });
    port
}

async fn serve_late(tcp: tokio::net::TcpStream) {
    use sockeye_io::{Config, Decision, Message};
    let Ok((socket, _)) =
        sockeye_tokio::accept_with(tcp, Config::default(), |_| Decision::accept()).await
    else {
        return;
    };
    let (mut read, mut write) = socket.split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Message>();
    tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            // After the client's close this fails: the reply is dropped.
            let _ = write.send(message).await;
        }
    });
    while let Some(Ok(message)) = read.recv().await {
        if message.is_data() {
            let tx = tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(LATE_BY).await;
                let _ = tx.send(message);
            });
        }
    }
}

#[test]
fn connect_waits_for_late_replies_after_the_end_of_input() {
    let port = start_late_server();
    let url = format!("ws://127.0.0.1:{port}/");
    let mut command = sockeye();
    command.args(["connect", &url]);
    let started = Instant::now();
    let output = run_with_input(command, b"one\ntwo\n");
    assert_clean_exit(&output);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "one\ntwo\n");
    // The replies came after 600 ms, then one quiet second (the default).
    assert!(started.elapsed() >= LATE_BY + Duration::from_secs(1));

    let mut command = sockeye();
    command.args(["connect", "--close-wait", "100ms", &url]);
    let output = run_with_input(command, b"quick\n");
    assert_clean_exit(&output);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "",
        "the reply comes 600 ms late, after 100 ms of quiet"
    );
}

#[test]
fn connect_close_at_eof_closes_without_waiting() {
    let port = start_late_server();
    let mut command = sockeye();
    command.args([
        "connect",
        "--close-at-eof",
        &format!("ws://127.0.0.1:{port}/"),
    ]);
    let output = run_with_input(command, b"lost\n");
    assert_clean_exit(&output);
    // The close went out before the reply was due, so the server dropped it.
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
}

#[test]
fn connect_close_wait_max_caps_the_wait() {
    let port = start_late_server();
    let url = format!("ws://127.0.0.1:{port}/");
    let mut command = sockeye();
    command.args([
        "connect",
        "--close-wait",
        "5s",
        "--close-wait-max",
        "100ms",
        &url,
    ]);
    let started = Instant::now();
    let output = run_with_input(command, b"capped\n");
    assert_clean_exit(&output);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Python `websockets` echo server that answers 100 ms after each message
/// and, once it has the client's close frame, sends nothing more.
const PYTHON_SERVER: &str = r#"
import asyncio
from websockets.asyncio.server import serve

async def echo(ws):
    async for message in ws:
        await asyncio.sleep(0.1)
        await ws.send(message)

async def main():
    async with serve(echo, "127.0.0.1", 0, max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

asyncio.run(main())
"#;

/// A Python process, killed when dropped.
struct Python(std::process::Child);

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "needs Python websockets: run by cargo xtask autobahn, or SOCKEYE_PYTHON=target/venv/bin/python cargo test -p sockeye-cli --test connect_pipes -- --ignored"]
fn connect_gets_the_reply_to_a_long_line_from_python_websockets() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let python = std::env::var("SOCKEYE_PYTHON").unwrap_or_else(|_| {
        panic!(
            "set SOCKEYE_PYTHON to a Python with `websockets` installed (target/venv/bin/python)"
        )
    });
    let mut child = Command::new(&python)
        .args(["-c", PYTHON_SERVER])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {python}: {error}"));
    let stdout = child.stdout.take().expect("stdout");
    let server = Python(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(common::WAIT)
        .expect("the Python server announces its port");
    let port: u16 = line.trim().parse().unwrap_or_else(|_| {
        panic!("no port from the Python server (is websockets installed?): {line:?}")
    });

    let mut input = "y".repeat(100 << 10).into_bytes();
    input.push(b'\n');
    let mut command = sockeye();
    command.args(["connect", &format!("ws://127.0.0.1:{port}/")]);
    let output = run_with_input(command, &input);
    assert_echoed(&output, &input);
    drop(server);
}
