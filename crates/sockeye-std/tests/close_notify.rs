//! The blocking adapter ends a TLS session with `close_notify` before it
//! closes the transport, on both sides: a rustls peer reading on after the
//! closing handshake sees a clean end of the session (`Ok(0)`), not a
//! truncation (`UnexpectedEof`).
#![cfg(feature = "rustls")]

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sockeye_std::{ClientOptions, CloseCode, Config, Message, TlsOptions};

/// A self-signed certificate for "localhost" and the server config using it.
fn server_config() -> (Arc<rustls::ServerConfig>, CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = PrivateKeyDer::try_from(certified.signing_key.serialize_der()).unwrap();
    let cert = certified.cert.der().clone();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.clone()], key)
    .unwrap();
    (Arc::new(config), cert)
}

/// A rustls client config trusting `cert`.
fn client_config(cert: CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

/// Read until the end of the session: `Ok(())` for a `close_notify`,
/// the error otherwise (`UnexpectedEof` when TCP ended without one).
fn read_to_end_of_session(tls: &mut impl Read) -> io::Result<()> {
    let mut buf = [0u8; 1024];
    loop {
        if tls.read(&mut buf)? == 0 {
            return Ok(());
        }
    }
}

/// Read an HTTP head (up to the blank line) from `stream`.
fn read_head(stream: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the head ended early");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn the_blocking_server_sends_close_notify_before_closing_the_transport() {
    let (config, cert) = server_config();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let tls = rustls::StreamOwned::new(rustls::ServerConnection::new(config).unwrap(), tcp);
        let mut ws = sockeye_std::accept(tls).unwrap();
        while let Some(Ok(message)) = ws.recv() {
            if message.is_data() {
                ws.send(message).unwrap();
            }
        }
    });

    // The client: rustls and hand-written frames, to see the TLS records.
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(client_config(cert), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let head = read_head(&mut tls);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // A masked close frame with 1000 (mask 0: the payload goes as is).
    tls.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8])
        .unwrap();
    let mut reply = [0u8; 4];
    tls.read_exact(&mut reply).unwrap();
    assert_eq!(reply, [0x88, 0x02, 0x03, 0xE8], "the server's close reply");
    let end = read_to_end_of_session(&mut tls);
    assert!(
        end.is_ok(),
        "the session ended without close_notify: {end:?}"
    );
    server.join().unwrap();
}

#[test]
fn the_blocking_client_sends_close_notify_before_closing_the_transport() {
    let (config, cert) = server_config();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // The server: rustls and hand-written frames, to see the TLS records.
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut tls = rustls::StreamOwned::new(rustls::ServerConnection::new(config).unwrap(), tcp);
        let head = read_head(&mut tls);
        let key = head
            .lines()
            .find_map(|line| line.strip_prefix("Sec-WebSocket-Key: "))
            .or_else(|| {
                head.lines()
                    .find_map(|line| line.strip_prefix("sec-websocket-key: "))
            })
            .expect("a key")
            .trim()
            .to_owned();
        let accept = sockeye::handshake::accept_key(key.as_bytes());
        tls.write_all(
            format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
        // The client's close frame: 2 header bytes, a 4-byte mask, code 1000.
        let mut close = [0u8; 8];
        tls.read_exact(&mut close).unwrap();
        assert_eq!(close[0], 0x88, "a close frame");
        let code = u16::from_be_bytes([close[6] ^ close[2], close[7] ^ close[3]]);
        assert_eq!(code, 1000);
        tls.write_all(&[0x88, 0x02, 0x03, 0xE8]).unwrap();
        // Keep TCP open and read on: the client's close_notify must come
        // before its transport closes.
        read_to_end_of_session(&mut tls)
    });

    let options = ClientOptions::new().tls(TlsOptions::new().rustls_config(client_config(cert)));
    let mut config = Config::default();
    config.close_timeout = Some(Duration::from_secs(2));
    let url = format!("wss://localhost:{port}/");
    let (mut ws, _) = sockeye_std::connect_with(&url, options, config).unwrap();
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.recv(), None | Some(Ok(Message::Close(_)))));
    let end = server.join().unwrap();
    assert!(
        end.is_ok(),
        "the session ended without close_notify: {end:?}"
    );
}
