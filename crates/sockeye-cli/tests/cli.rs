//! `connect`, `echo` and `load` driven as processes.

mod common;

use common::{Server, run_with_input, sockeye};

#[test]
fn connect_sends_stdin_lines_and_prints_the_echoes() {
    let echo = Server::start(&["echo", "127.0.0.1:0"]);
    let mut command = sockeye();
    command.args(["connect", &echo.url("/")]);
    let output = run_with_input(command, b"hello\nworld\n\xce\xbb-line\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "hello\nworld\nλ-line\n"
    );
}

#[test]
fn connect_binary_prints_lowercase_hex() {
    let echo = Server::start(&["echo", "127.0.0.1:0"]);
    let mut command = sockeye();
    command.args(["connect", "--binary", &echo.url("/")]);
    let output = run_with_input(command, b"AZ\n\n");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "415a\n\n");
}

#[test]
fn connect_fails_with_a_reason_when_refused() {
    // A port that was free a moment ago, with nobody listening now.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut command = sockeye();
    command.args(["connect", &format!("ws://127.0.0.1:{port}/")]);
    let output = run_with_input(command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("could not connect"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn connect_reports_the_status_of_a_rejected_handshake() {
    let chat = Server::start(&["chat", "127.0.0.1:0", "--token", "sesame"]);
    let mut command = sockeye();
    command.args(["connect", &chat.url("/ws?name=eve")]);
    let output = run_with_input(command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("HTTP 401"), "{stderr}");

    let mut command = sockeye();
    command.args(["connect", &chat.url("/ws?name=ann&token=sesame")]);
    let output = run_with_input(command, b"");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains(r#"{"type":"welcome","name":"ann"}"#));
}

#[test]
fn load_against_echo_reports_a_rate_and_no_errors() {
    let echo = Server::start(&["echo", "127.0.0.1:0"]);
    let mut command = sockeye();
    command.args([
        "load",
        &echo.url("/"),
        "-c",
        "4",
        "-w",
        "8",
        "-s",
        "128",
        "-d",
        "2s",
        "--json",
    ]);
    let output = run_with_input(command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON summary");
    assert_eq!(summary["errors"], 0, "{summary}");
    assert!(summary["messages"].as_u64().unwrap() > 0, "{summary}");
    assert!(
        summary["messages_per_sec"].as_f64().unwrap() > 0.0,
        "{summary}"
    );
    assert!(summary["mb_per_sec"].as_f64().unwrap() > 0.0, "{summary}");
    assert!(
        summary["latency_us"]["p99"].as_u64().unwrap() > 0,
        "{summary}"
    );
    assert!(
        stderr.contains("messages"),
        "the human summary goes to stderr: {stderr}"
    );
}

#[test]
fn echo_with_threads_serves_from_that_many_event_loops() {
    let echo = Server::start(&["echo", "127.0.0.1:0", "--threads", "2"]);
    assert_eq!(echo.server_threads(2), ["sockeye-loop-0", "sockeye-loop-1"]);
    // 16 connections land on both threads (the kernel hashes their ports);
    // every one of them gets its echoes.
    let mut command = sockeye();
    command.args([
        "load",
        &echo.url("/"),
        "-c",
        "16",
        "-w",
        "4",
        "-s",
        "64",
        "-d",
        "1s",
        "--json",
    ]);
    let output = run_with_input(command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&output.stdout).trim()).expect("JSON");
    assert_eq!(summary["errors"], 0, "{summary}");
    assert!(summary["messages"].as_u64().unwrap() > 0, "{summary}");

    let one = Server::start(&["echo", "127.0.0.1:0", "--threads", "1", "--pin"]);
    assert_eq!(one.server_threads(1), ["sockeye-loop-0"]);
    let mut command = sockeye();
    command.args(["load", &one.url("/"), "-c", "2", "-d", "1s", "--json"]);
    let output = run_with_input(command, b"");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn zero_threads_is_refused_with_a_reason() {
    for command in ["echo", "chat"] {
        let output = run_with_input(
            {
                let mut c = sockeye();
                c.args([command, "127.0.0.1:0", "--threads", "0"]);
                c
            },
            b"",
        );
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--threads"), "{stderr}");
    }
}

#[test]
fn load_raw_echo_counts_the_bytes_a_tcp_echo_returns() {
    // A plain TCP echo on a thread of the test: no WebSocket handshake.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut tcp, _) = listener.accept().unwrap();
        let mut buffer = [0u8; 4096];
        loop {
            match tcp.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tcp.write_all(&buffer[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut command = sockeye();
    command.args([
        "load",
        &format!("ws://127.0.0.1:{port}/"),
        "-c",
        "1",
        "-w",
        "8",
        "-s",
        "100",
        "-d",
        "1s",
        "--raw-echo",
        "--json",
    ]);
    let output = run_with_input(command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&output.stdout).trim()).expect("JSON");
    assert_eq!(summary["errors"], 0, "{summary}");
    let messages = summary["messages"].as_u64().unwrap();
    assert!(messages > 0, "{summary}");
    // Payload bytes are counted per returned frame.
    assert_eq!(
        summary["bytes"].as_u64().unwrap(),
        messages * 100,
        "{summary}"
    );
}

#[test]
fn load_handshakes_mode_counts_completed_handshakes() {
    let echo = Server::start(&["echo", "127.0.0.1:0"]);
    let mut command = sockeye();
    command.args([
        "load",
        &echo.url("/"),
        "--handshakes",
        "-c",
        "2",
        "-d",
        "1s",
        "--json",
    ]);
    let output = run_with_input(command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON summary");
    assert_eq!(summary["mode"], "handshakes", "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");
    assert_eq!(summary["messages"], 0, "{summary}");
    assert!(summary["handshakes"].as_u64().unwrap() > 0, "{summary}");
    assert!(
        summary["handshakes_per_sec"].as_f64().unwrap() > 0.0,
        "{summary}"
    );
}

#[test]
fn load_idle_mode_announces_the_open_connections_then_summarises() {
    let echo = Server::start(&["echo", "127.0.0.1:0"]);
    let mut command = sockeye();
    command.args([
        "load",
        &echo.url("/"),
        "--idle",
        "-c",
        "20",
        "-d",
        "300ms",
        "--json",
    ]);
    let output = run_with_input(command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let ready: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(ready["idle_connections"], 20, "{stdout}");
    let summary: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(summary["mode"], "idle", "{summary}");
    assert_eq!(summary["handshakes"], 20, "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");
}

#[test]
fn help_and_version() {
    let output = sockeye().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for command in ["connect", "echo", "chat", "load"] {
        assert!(help.contains(command), "{help}");
    }
    let output = sockeye().args(["connect", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("lowercase hexadecimal"));
    let output = sockeye().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("sockeye "));
}

#[test]
fn connect_reports_a_tls_failure_on_one_line() {
    // A wss:// client meets a plain WebSocket server: the TLS handshake fails.
    let echo = Server::start(&["echo", "127.0.0.1:0"]);
    let url = echo.url("/").replacen("ws://", "wss://", 1);
    let mut command = sockeye();
    command.args(["connect", "--insecure", &url]);
    let output = run_with_input(command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.to_lowercase().contains("tls"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
