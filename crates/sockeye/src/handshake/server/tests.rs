use super::*;
use crate::config::Config;
use crate::handshake::tests::contains;
use alloc::vec;
use proptest::prelude::*;

/// The client's request of RFC 6455 §1.2 (with the key of §1.3).
const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
    Host: server.example.com\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// What Chrome sends for `new WebSocket("ws://localhost:8080/socket?token=a%20b")`.
const CHROME_REQUEST: &[u8] = b"GET /socket?token=a%20b HTTP/1.1\r\n\
    Host: localhost:8080\r\n\
    Connection: Upgrade\r\n\
    Pragma: no-cache\r\n\
    Cache-Control: no-cache\r\n\
    User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\n\
    Upgrade: websocket\r\n\
    Origin: http://localhost:8080\r\n\
    Sec-WebSocket-Version: 13\r\n\
    Accept-Encoding: gzip, deflate, br, zstd\r\n\
    Accept-Language: en-US,en;q=0.9\r\n\
    Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\
    Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

/// What Firefox sends for the same page.
const FIREFOX_REQUEST: &[u8] = b"GET /socket HTTP/1.1\r\n\
    Host: localhost:8080\r\n\
    User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0\r\n\
    Accept: */*\r\n\
    Accept-Language: en-US,en;q=0.5\r\n\
    Accept-Encoding: gzip, deflate, br, zstd\r\n\
    Sec-WebSocket-Version: 13\r\n\
    Origin: http://localhost:8080\r\n\
    Sec-WebSocket-Extensions: permessage-deflate\r\n\
    Sec-WebSocket-Key: Q1hbZGrDGmWl6cZb4BsnHQ==\r\n\
    Connection: keep-alive, Upgrade\r\n\
    Sec-Fetch-Dest: empty\r\n\
    Sec-Fetch-Mode: websocket\r\n\
    Sec-Fetch-Site: same-origin\r\n\
    Pragma: no-cache\r\n\
    Cache-Control: no-cache\r\n\
    Upgrade: websocket\r\n\r\n";

fn receive_all(bytes: &[u8]) -> Result<Option<Request>, HandshakeError> {
    ServerHandshake::new(Config::default(), Duration::ZERO).receive(bytes)
}

fn status_of(response: &[u8]) -> &str {
    core::str::from_utf8(&response[9..12]).unwrap()
}

#[test]
fn accepts_rfc_6455_example_with_its_accept_key() {
    let request = receive_all(RFC_REQUEST).unwrap().unwrap();
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.origin(), Some("http://example.com"));
    assert_eq!(
        request.protocols().collect::<Vec<_>>(),
        ["chat", "superchat"]
    );
    let (response, connection) = request
        .accept(Accept::new(Duration::ZERO).protocol("chat"))
        .unwrap();
    assert_eq!(
        response,
        b"HTTP/1.1 101 Switching Protocols\r\n\
          Upgrade: websocket\r\n\
          Connection: Upgrade\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
          Sec-WebSocket-Protocol: chat\r\n\r\n"
    );
    assert_eq!(connection.role(), crate::Role::Server);
}

#[test]
fn accepts_chrome_request() {
    let request = receive_all(CHROME_REQUEST).unwrap().unwrap();
    assert_eq!(request.path(), "/socket");
    assert_eq!(request.query("token").as_deref(), Some("a b"));
    assert_eq!(request.key(), Some("x3JJHMbDL1EzLkh9GBhXDw=="));
    assert_eq!(request.extensions().len(), 1);
    assert_eq!(request.extensions()[0].name(), "permessage-deflate");
    assert_eq!(
        request.extensions()[0].param("client_max_window_bits"),
        Some(None)
    );
    assert!(request.accept(Accept::new(Duration::ZERO)).is_ok());
}

#[test]
fn accepts_firefox_request_with_keep_alive_in_connection() {
    let request = receive_all(FIREFOX_REQUEST).unwrap().unwrap();
    assert_eq!(
        request.headers().get("connection"),
        Some("keep-alive, Upgrade")
    );
    assert_eq!(request.origin(), Some("http://localhost:8080"));
    let (response, _) = request
        .accept(Accept::new(Duration::ZERO).extension("permessage-deflate"))
        .unwrap();
    assert!(contains(
        &response,
        b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"
    ));
}

/// Replaces the first field named `name` in the RFC example (or removes it
/// when `value` is `None`), and the request line when `name` is empty.
#[test]
fn http2_requests_other_than_an_extended_connect_are_plain_and_answered_400() {
    let mut version = Headers::new();
    version.append("Sec-WebSocket-Version", "13");
    for (method, protocol) in [("GET", None), ("CONNECT", None), ("GET", Some("websocket"))] {
        let result = Request::from_http2(
            method,
            protocol,
            "/",
            "h",
            version.clone(),
            Config::default(),
        );
        let Err(error @ HandshakeError::NotWebSocket(_)) = result else {
            panic!("{method} {protocol:?} must be plain");
        };
        let HandshakeError::NotWebSocket(request) = &error else {
            unreachable!()
        };
        assert_eq!(request.method(), method);
        let (head, _) = error.response_head(Upgrade::ExtendedConnect).unwrap();
        assert_eq!(head.status, 400);
        assert!(head.headers.iter().all(|(name, _)| name != "Upgrade"));
    }
    let request = Request::from_http2(
        "CONNECT",
        Some("websocket"),
        "/ws",
        "h",
        version,
        Config::default(),
    );
    assert_eq!(request.unwrap().upgrade(), Upgrade::ExtendedConnect);
}

#[test]
fn response_head_is_the_response_without_connection_fields() {
    let (head, body) = HandshakeError::UnsupportedVersion
        .response_head(Upgrade::Http1)
        .unwrap();
    assert_eq!(head.status, 426);
    assert!(
        head.headers
            .contains(&("Upgrade".into(), "websocket".into()))
    );
    assert!(head.headers.iter().all(|(name, _)| name != "Connection"));
    let bytes = HandshakeError::UnsupportedVersion.response().unwrap();
    assert!(bytes.ends_with(&body));
    assert!(contains(&bytes, b"\r\nConnection: Upgrade, close\r\n"));
    let (head, _) = HandshakeError::UnsupportedVersion
        .response_head(Upgrade::ExtendedConnect)
        .unwrap();
    assert_eq!(
        head.headers[0],
        ("Sec-WebSocket-Version".into(), "13".into())
    );
    assert!(head.headers.iter().all(|(name, _)| name != "Upgrade"));
}

fn rfc_request_with(name: &str, value: Option<&str>) -> Vec<u8> {
    let text = core::str::from_utf8(RFC_REQUEST).unwrap();
    let mut out = String::new();
    for (index, line) in text.split_inclusive("\r\n").enumerate() {
        let field = line.split(':').next().unwrap();
        let replaced = if index == 0 {
            name.is_empty()
        } else {
            field == name
        };
        if replaced {
            if let Some(value) = value {
                if name.is_empty() {
                    out.push_str(value);
                } else {
                    out.push_str(&alloc::format!("{name}: {value}\r\n"));
                }
            }
        } else {
            out.push_str(line);
        }
    }
    out.into_bytes()
}

#[test]
fn each_failed_check_answers_with_its_status() {
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("", Some("POST /chat HTTP/1.1\r\n"), "405"),
        ("", Some("GET /chat HTTP/1.0\r\n"), "505"),
        ("", Some("GET /chat HTTP/2.0\r\n"), "400"),
        ("", Some("GET /chat\r\n"), "400"),
        ("Host", None, "400"),
        ("Host", Some(""), "400"),
        ("Upgrade", None, "426"),
        ("Upgrade", Some("h2c"), "426"),
        ("Connection", None, "426"),
        ("Connection", Some("keep-alive"), "426"),
        ("Sec-WebSocket-Key", None, "400"),
        ("Sec-WebSocket-Key", Some("dGhlIHNhbXBsZSBub25jZQ"), "400"),
        ("Sec-WebSocket-Key", Some("AAAAAAAAAAAAAAAAAAAAAAA="), "400"),
        ("Sec-WebSocket-Version", None, "426"),
        ("Sec-WebSocket-Version", Some("8"), "426"),
        ("Sec-WebSocket-Version", Some("13, 8"), "426"),
        ("Sec-WebSocket-Protocol", Some("chat, super chat"), "400"),
        ("Origin", Some("http://a\x01b"), "400"),
    ];
    for (name, value, status) in cases {
        let bytes = rfc_request_with(name, *value);
        let error = receive_all(&bytes).expect_err(&alloc::format!("{name}: {value:?}"));
        let response = error.response().expect("a server-side error");
        assert_eq!(
            status_of(&response),
            *status,
            "{name}: {value:?} gave {error:?}"
        );
    }
}

#[test]
fn repeated_key_or_host_is_refused() {
    let twice = |name: &str, value: &str| {
        let mut bytes = RFC_REQUEST[..RFC_REQUEST.len() - 2].to_vec();
        bytes.extend_from_slice(alloc::format!("{name}: {value}\r\n\r\n").as_bytes());
        receive_all(&bytes).unwrap_err()
    };
    assert_eq!(
        twice("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        HandshakeError::InvalidKey
    );
    assert_eq!(twice("Host", "other.example"), HandshakeError::MissingHost);
    assert_eq!(
        twice("Sec-WebSocket-Extensions", "a; b=\"c d\""),
        HandshakeError::MalformedHeader("Sec-WebSocket-Extensions")
    );
}

#[test]
fn plain_request_is_kept_for_the_application_to_answer() {
    let error =
        receive_all(b"GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n").unwrap_err();
    let HandshakeError::NotWebSocket(request) = &error else {
        panic!("{error:?}");
    };
    assert!(!request.is_websocket());
    assert_eq!(request.path(), "/index.html");
    assert_eq!(request.query("x").as_deref(), Some("1"));
    let page = request
        .reject(200, &[("Content-Type", "text/html")], b"<p>hi</p>")
        .unwrap();
    assert_eq!(
        page,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\
          Connection: close\r\n\r\n<p>hi</p>"
    );
    assert!(matches!(
        request.accept(Accept::new(Duration::ZERO)),
        Err(HandshakeError::NotWebSocket(_))
    ));
    assert_eq!(status_of(&error.response().unwrap()), "426");
}

#[test]
fn reject_validates_status_and_fields() {
    let request = receive_all(RFC_REQUEST).unwrap().unwrap();
    let forbidden = request.reject(403, &[], b"").unwrap();
    assert!(forbidden.starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
    assert_eq!(
        request.reject(101, &[], b""),
        Err(HandshakeError::InvalidStatus(101))
    );
    assert!(matches!(
        request.reject(401, &[("WWW-Authenticate", "Basic\r\nX: y")], b""),
        Err(HandshakeError::InvalidHeader { .. })
    ));
    assert!(matches!(
        request.reject(401, &[("Content-Length", "0")], b""),
        Err(HandshakeError::InvalidHeader { .. })
    ));
}

#[test]
fn accept_refuses_unoffered_choices_and_forged_fields() {
    let request = receive_all(RFC_REQUEST).unwrap().unwrap();
    let now = Duration::ZERO;
    assert!(matches!(
        request.accept(Accept::new(now).protocol("other")),
        Err(HandshakeError::NotOffered(p)) if p == "other"
    ));
    assert!(matches!(
        request.accept(Accept::new(now).extension("permessage-deflate")),
        Err(HandshakeError::NotOffered(e)) if e == "permessage-deflate"
    ));
    assert!(matches!(
        request.accept(Accept::new(now).header("Set-Cookie", "a=b\r\nX: 1")),
        Err(HandshakeError::InvalidHeader { .. })
    ));
    assert!(matches!(
        request.accept(Accept::new(now).header("sec-websocket-accept", "x")),
        Err(HandshakeError::InvalidHeader { .. })
    ));
    let (response, _) = request
        .accept(Accept::new(now).header("Set-Cookie", "session=1"))
        .unwrap();
    assert!(response.ends_with(b"\r\nSet-Cookie: session=1\r\n\r\n"));
}

#[test]
fn trailing_bytes_after_the_header_block_are_kept() {
    let mut bytes = RFC_REQUEST.to_vec();
    // A masked text frame "Hi" sent right behind the request.
    let frame = [0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2];
    bytes.extend_from_slice(&frame);
    let mut server = ServerHandshake::new(Config::default(), Duration::ZERO);
    let request = server.receive(&bytes).unwrap().unwrap();
    assert_eq!(request.trailing(), frame);
    assert!(request.accept(Accept::new(Duration::ZERO)).is_ok());
}

#[test]
fn huge_header_block_fails_early_with_bounded_buffering() {
    const READ: usize = 4096;
    let config = Config::default();
    let limit = config.max_header_bytes;
    let mut server = ServerHandshake::new(config, Duration::ZERO);
    let mut huge = b"GET / HTTP/1.1\r\n".to_vec();
    while huge.len() < 1 << 20 {
        huge.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let mut fed = 0;
    let error = loop {
        let chunk = &huge[fed..fed + READ];
        fed += READ;
        match server.receive(chunk) {
            Ok(None) => assert!(server.buffered() <= limit + READ),
            Ok(Some(_)) => panic!("accepted a 1 MiB header block"),
            Err(error) => break error,
        }
    };
    assert_eq!(error, HandshakeError::TooLarge);
    assert!(fed <= limit + READ, "read {fed} bytes before failing");
    assert_eq!(server.buffered(), 0);
    assert_eq!(server.receive(b"x"), Err(HandshakeError::Finished));
}

#[test]
fn header_count_limit_is_enforced() {
    let config = Config {
        max_headers: 4,
        ..Config::default()
    };
    let mut server = ServerHandshake::new(config, Duration::ZERO);
    let error = server.receive(RFC_REQUEST).unwrap_err();
    assert_eq!(error, HandshakeError::TooManyHeaders);
    assert_eq!(status_of(&error.response().unwrap()), "431");
}

#[test]
fn handshake_times_out_at_the_deadline_only() {
    let config = Config {
        handshake_timeout: Some(Duration::from_secs(10)),
        ..Config::default()
    };
    let mut server = ServerHandshake::new(config, Duration::from_secs(100));
    assert_eq!(server.poll_timeout(), Some(Duration::from_secs(110)));
    assert_eq!(server.handle_timeout(Duration::from_secs(105)), Ok(()));
    assert_eq!(server.receive(&RFC_REQUEST[..10]), Ok(None));
    assert_eq!(
        server.handle_timeout(Duration::from_secs(110)),
        Err(HandshakeError::Timeout)
    );
    assert_eq!(server.poll_timeout(), None);
    assert_eq!(
        server.receive(&RFC_REQUEST[10..]),
        Err(HandshakeError::Finished)
    );
}

#[test]
fn query_decoding_handles_plus_percent_and_bad_escapes() {
    let mut bytes = b"GET /a/b?q=x+y%2Bz&empty&bad=%zz%4&utf=%C3%A9 HTTP/1.1\r\n".to_vec();
    bytes.extend_from_slice(
        &RFC_REQUEST[RFC_REQUEST.iter().position(|&b| b == b'\n').unwrap() + 1..],
    );
    let request = receive_all(&bytes).unwrap().unwrap();
    assert_eq!(request.path(), "/a/b");
    assert_eq!(
        request.raw_query(),
        Some("q=x+y%2Bz&empty&bad=%zz%4&utf=%C3%A9")
    );
    assert_eq!(request.query("q").as_deref(), Some("x y+z"));
    assert_eq!(request.query("empty").as_deref(), Some(""));
    assert_eq!(request.query("bad").as_deref(), Some("%zz%4"));
    assert_eq!(request.query("utf").as_deref(), Some("é"));
    assert_eq!(request.query("missing"), None);
    assert_eq!(request.query_pairs().count(), 4);
}

#[test]
fn absolute_form_target_yields_its_path() {
    let bytes = rfc_request_with(
        "",
        Some("GET ws://server.example.com/chat?a=1 HTTP/1.1\r\n"),
    );
    let request = receive_all(&bytes).unwrap().unwrap();
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query("a").as_deref(), Some("1"));
}

#[test]
fn leading_blank_lines_are_skipped() {
    let mut bytes = b"\r\n".to_vec();
    bytes.extend_from_slice(RFC_REQUEST);
    assert!(receive_all(&bytes).unwrap().is_some());
}

/// Feeds `pieces` one by one. Pieces left over once the handshake ended
/// are what the caller would hand to the connection next, so they are
/// appended to the request's trailing bytes to compare with one call.
fn receive_in_pieces(
    pieces: impl IntoIterator<Item = Vec<u8>>,
) -> Result<Option<Request>, HandshakeError> {
    let mut server = ServerHandshake::new(Config::default(), Duration::ZERO);
    let mut pieces = pieces.into_iter();
    for piece in pieces.by_ref() {
        match server.receive(&piece) {
            Ok(None) => {}
            Ok(Some(mut request)) => {
                pieces.for_each(|rest| request.trailing.extend_from_slice(&rest));
                return Ok(Some(request));
            }
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

fn sample_requests() -> Vec<Vec<u8>> {
    let mut with_frame = CHROME_REQUEST.to_vec();
    with_frame.extend_from_slice(&[0x81, 0x80, 0, 0, 0, 0]);
    vec![
        RFC_REQUEST.to_vec(),
        with_frame,
        FIREFOX_REQUEST.to_vec(),
        rfc_request_with("Sec-WebSocket-Version", Some("8")),
        rfc_request_with("", Some("POST /chat HTTP/1.1\r\n")),
        rfc_request_with("Upgrade", None),
        b"GET / HTTP/1.1\r\nHost\r\n\r\n".to_vec(),
    ]
}

#[test]
fn one_byte_at_a_time_gives_the_same_result() {
    for bytes in sample_requests() {
        let whole = receive_all(&bytes);
        let bytewise = receive_in_pieces(bytes.iter().map(|&b| vec![b]));
        assert_eq!(whole, bytewise);
    }
}

proptest! {
    #[test]
    fn any_split_in_two_gives_the_same_result(which in 0usize..7, split in any::<prop::sample::Index>()) {
        let bytes = &sample_requests()[which];
        let at = split.index(bytes.len() + 1);
        let whole = receive_all(bytes);
        let split = receive_in_pieces([bytes[..at].to_vec(), bytes[at..].to_vec()]);
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = receive_all(&bytes);
    }
}
