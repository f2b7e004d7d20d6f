//! `sockeye connect`'s handshake and heartbeat options, each checked by a
//! server that reports what arrived: `-H`, `--protocol`, `--ping` and, over
//! TLS with a self-signed certificate, `--ca`.

mod common;
#[path = "../../sockeye-io/tests/support/self_signed.rs"]
mod self_signed;

use std::sync::mpsc;

use common::{WAIT, run_with_input, sockeye};
use sockeye_io::{Config, Decision, Message};
use tokio::io::{AsyncRead, AsyncWrite};

/// What the server saw of one connection.
#[derive(Debug, Default)]
struct Seen {
    header: Option<String>,
    protocols: Vec<String>,
    pings: usize,
    texts: Vec<String>,
}

/// One connection: choose `chat.v1` among the offered subprotocols, echo
/// texts, count pings; what was seen once it ends.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> Seen {
    let mut seen = Seen::default();
    let accepted = sockeye_tokio::accept_with(stream, Config::default(), |request| {
        seen.header = request.headers().get("X-Custom").map(str::to_owned);
        seen.protocols = request.protocols().map(str::to_owned).collect();
        Decision::accept_first_of(request, &["chat.v1"])
    })
    .await;
    let Ok((mut ws, _)) = accepted else {
        return seen;
    };
    while let Ok(Some(Ok(message))) = tokio::time::timeout(WAIT, ws.recv()).await {
        match message {
            Message::Ping(_) => seen.pings += 1,
            Message::Text(text) => {
                seen.texts.push(text.to_string());
                let _ = ws.send(Message::Text(text)).await;
            }
            _ => {}
        }
    }
    seen
}

/// Serve one connection on a thread of its own, over TLS with `tls`; its
/// port and where the report arrives.
fn serve_one(tls: Option<tokio_rustls::TlsAcceptor>) -> (u16, mpsc::Receiver<Seen>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (tcp, _) = listener.accept().await.unwrap();
            let seen = match tls {
                None => session(tcp).await,
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(tls) => session(tls).await,
                    Err(_) => Seen::default(),
                },
            };
            let _ = tx.send(seen);
        });
    });
    (port, rx)
}

#[test]
fn header_protocols_and_pings_arrive_as_given() {
    let (port, seen) = serve_one(None);
    let mut command = sockeye();
    command.args([
        "connect",
        "-H",
        "X-Custom: from the command line",
        "--protocol",
        "chat.v2",
        "--protocol",
        "chat.v1",
        "--ping",
        "0.05",
        "--close-wait",
        "400ms",
        &format!("ws://127.0.0.1:{port}/"),
    ]);
    // Pings go out while stdin is open: keep it open for a while.
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, b"hi\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hi\n");
    let seen = seen.recv_timeout(WAIT).unwrap();
    assert_eq!(seen.header.as_deref(), Some("from the command line"));
    assert_eq!(seen.protocols, ["chat.v2", "chat.v1"]);
    assert_eq!(seen.texts, ["hi"]);
    // A ping every 50 ms over the 400 ms stdin stayed open.
    assert!(seen.pings >= 3, "{seen:?}");
}

#[test]
fn dash_dash_ca_trusts_a_self_signed_server_and_without_it_tls_fails() {
    let (config, ca_file) = self_signed::localhost_config("sockeye-cli", "ca", None);
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let (port, seen) = serve_one(Some(acceptor.clone()));
    let url = format!("wss://localhost:{port}/");
    let mut command = sockeye();
    command.args(["connect", "--close-at-eof", "--ca"]);
    command.arg(&ca_file).arg(&url);
    let output = run_with_input(command, b"over tls\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "over tls\n");
    assert_eq!(seen.recv_timeout(WAIT).unwrap().texts, ["over tls"]);

    let (port, _seen) = serve_one(Some(acceptor));
    let mut command = sockeye();
    command.args(["connect", &format!("wss://localhost:{port}/")]);
    let output = run_with_input(command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("TLS"), "{stderr}");
}
