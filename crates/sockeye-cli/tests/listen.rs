//! `sockeye listen` as the server half of a pipe, driven as processes.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use common::{WAIT, run_with_input, sockeye};

/// `sockeye listen ARGS 127.0.0.1:0` with piped stdin and stdout; its
/// port, and a channel of its stdout lines.
fn listen(args: &[&str]) -> (Child, u16, mpsc::Receiver<String>) {
    let mut child = sockeye()
        .arg("listen")
        .args(args)
        .arg("127.0.0.1:0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sockeye listen");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut announce = String::new();
    stderr.read_line(&mut announce).expect("the address line");
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
    });
    let port = announce
        .trim()
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in {announce:?}"));
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, port, rx)
}

/// Wait (bounded) for `child` to exit; its status code.
fn exit_code(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(Instant::now() < deadline, "sockeye listen did not exit");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn listen_once_pipes_both_ways_and_exits_with_the_client() {
    let (mut listener, port, lines) = listen(&["--once"]);
    let mut stdin = listener.stdin.take().unwrap();
    stdin.write_all(b"from listen\n").unwrap();
    let client = std::thread::spawn(move || {
        let mut command = sockeye();
        command.args([
            "connect",
            "--close-wait",
            "20s",
            &format!("ws://127.0.0.1:{port}/"),
        ]);
        run_with_input(command, b"from connect\n")
    });
    assert_eq!(lines.recv_timeout(WAIT).unwrap(), "from connect");
    // The end of listen's stdin closes the client with 1000.
    drop(stdin);
    let output = client.join().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "connect: {stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "from listen\n");
    assert_eq!(exit_code(&mut listener), Some(0));
}

#[test]
fn every_client_gets_every_stdin_line_and_the_end_of_stdin_closes_them() {
    let (mut listener, port, lines) = listen(&[]);
    let mut stdin = listener.stdin.take().unwrap();
    let url = format!("ws://127.0.0.1:{port}/");
    let clients: Vec<_> = ["one", "two"]
        .into_iter()
        .map(|name| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut command = sockeye();
                command.args(["connect", "--close-wait", "20s", &url]);
                run_with_input(command, format!("hello from {name}\n").as_bytes())
            })
        })
        .collect();
    let mut heard: Vec<String> = (0..2).map(|_| lines.recv_timeout(WAIT).unwrap()).collect();
    heard.sort();
    assert_eq!(heard, ["hello from one", "hello from two"]);
    stdin.write_all(b"to all\n\xce\xbb\n").unwrap();
    drop(stdin);
    for client in clients {
        let output = client.join().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "connect: {stderr}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "to all\nλ\n");
    }
    assert_eq!(exit_code(&mut listener), Some(0));
}

#[test]
fn listen_fails_with_a_reason_when_the_address_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut command = sockeye();
    command.args(["listen", &addr]);
    let output = run_with_input(command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
