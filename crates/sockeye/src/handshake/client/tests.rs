use super::*;
use crate::config::Config;
use crate::entropy::Entropy;
use crate::handshake::{Accept, ServerHandshake};
use alloc::boxed::Box;
use alloc::format;
use alloc::vec;
use proptest::prelude::*;

/// A repeatable random source: 0, 1, 2, ...
struct Counter(u8);

impl Entropy for Counter {
    fn fill(&mut self, dest: &mut [u8]) {
        for byte in dest {
            *byte = self.0;
            self.0 = self.0.wrapping_add(1);
        }
    }
}

/// The key drawn from `Counter(0)`: the bytes 0 to 15.
const KEY: &str = "AAECAwQFBgcICQoLDA0ODw==";

fn handshake(request: ClientRequest) -> ClientHandshake {
    ClientHandshake::with_entropy(
        request,
        Config::default(),
        Duration::ZERO,
        Box::new(Counter(0)),
    )
}

fn chat_request() -> ClientRequest {
    ClientRequest::new("server.example.com", "/chat")
        .unwrap()
        .protocol("chat")
        .unwrap()
        .extension("permessage-deflate; client_max_window_bits")
        .unwrap()
}

fn switching(extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(KEY.as_bytes())
    )
    .into_bytes()
}

#[test]
fn request_bytes_are_exact() {
    let request = ClientRequest::new("example.com:8080", "/chat?x=1")
        .unwrap()
        .origin("https://example.com")
        .unwrap()
        .protocol("a")
        .unwrap()
        .protocol("b")
        .unwrap()
        .extension("permessage-deflate; client_max_window_bits")
        .unwrap()
        .header("Authorization", "Bearer t")
        .unwrap();
    let client = handshake(request);
    let expected = format!(
        "GET /chat?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\
         Origin: https://example.com\r\nSec-WebSocket-Protocol: a, b\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
         Authorization: Bearer t\r\n\r\n"
    );
    assert_eq!(client.request_bytes(), expected.as_bytes());
}

#[test]
fn builder_refuses_bad_input() {
    let base = || ClientRequest::new("h", "/").unwrap();
    assert!(ClientRequest::new("", "/").is_err());
    assert!(ClientRequest::new("h st", "/").is_err());
    assert!(ClientRequest::new("h", "chat").is_err());
    assert!(ClientRequest::new("h", "/a b").is_err());
    assert!(ClientRequest::new("h", "/a\r\nX: y").is_err());
    assert!(base().protocol("a b").is_err());
    assert!(base().protocol("").is_err());
    assert!(base().protocol("a").unwrap().protocol("a").is_err());
    assert!(base().extension("a; b=\"c d\"").is_err());
    assert!(base().origin("x\ny").is_err());
    assert!(base().header("X-A", "1\r\nX-B: 2").is_err());
    assert!(base().header("Bad Name", "1").is_err());
    for owned in [
        "sec-websocket-key",
        "Host",
        "Upgrade",
        "CONNECTION",
        "Content-Length",
    ] {
        assert!(base().header(owned, "x").is_err(), "{owned}");
    }
}

#[test]
fn round_trip_with_the_server_yields_two_connections() {
    let mut client = handshake(chat_request());
    let mut server = ServerHandshake::new(Config::default(), Duration::ZERO);
    let request = server.receive(client.request_bytes()).unwrap().unwrap();
    assert_eq!(request.key(), Some(KEY));
    let (response, server_connection) = request
        .accept(
            Accept::new(Duration::ZERO)
                .protocol("chat")
                .extension("permessage-deflate"),
        )
        .unwrap();
    let established = client.receive(&response).unwrap().unwrap();
    assert_eq!(established.protocol(), Some("chat"));
    assert_eq!(established.extensions()[0].name(), "permessage-deflate");
    assert!(established.trailing().is_empty());
    assert_eq!(server_connection.role(), Role::Server);
    assert_eq!(
        established.into_connection(Duration::ZERO).role(),
        Role::Client
    );
    assert_eq!(client.poll_timeout(), None);
    assert!(matches!(
        client.receive(b"more"),
        Err(HandshakeError::Finished)
    ));
}

/// The extended CONNECT fields of `client` as the server's HTTP/2 layer
/// would hand them to [`Request::from_extended_connect`].
fn extended_connect_request(client: &ClientHandshake) -> crate::handshake::Request {
    let mut headers = Headers::new();
    for (name, value) in client.extended_connect_fields() {
        headers.append(&name, &value);
    }
    crate::handshake::Request::from_extended_connect(
        "websocket",
        client.request().path_and_query(),
        client.request().host(),
        headers,
        Config::default(),
    )
    .unwrap()
}

fn response_headers(head: &crate::handshake::ResponseHead) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in &head.headers {
        headers.append(name, value);
    }
    headers
}

#[test]
fn extended_connect_round_trip_with_the_server_yields_two_connections() {
    let mut client = handshake(
        chat_request()
            .origin("https://example.com")
            .unwrap()
            .header("Authorization", "Bearer x")
            .unwrap(),
    );
    let fields = client.extended_connect_fields();
    assert_eq!(
        fields,
        [
            ("sec-websocket-version", "13"),
            ("origin", "https://example.com"),
            ("sec-websocket-protocol", "chat"),
            (
                "sec-websocket-extensions",
                "permessage-deflate; client_max_window_bits"
            ),
            ("authorization", "Bearer x"),
        ]
        .map(|(name, value)| (String::from(name), String::from(value)))
    );
    let request = extended_connect_request(&client);
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.origin(), Some("https://example.com"));
    let (head, mut server) = request
        .accept_head(Accept::new(Duration::ZERO).protocol("chat"))
        .unwrap();
    assert_eq!(head.status, 200);
    let established = client
        .receive_extended_connect(head.status, response_headers(&head))
        .unwrap();
    assert_eq!(established.protocol(), Some("chat"));
    assert!(established.trailing().is_empty());
    let mut connection = established.into_connection(Duration::ZERO);
    assert_eq!(connection.role(), Role::Client);
    // The two ends speak frames to each other at once: no 101, no key.
    connection.send_text("over h2").unwrap();
    let mut wire = Vec::new();
    while let Some(chunk) = connection.poll_transmit() {
        wire.extend_from_slice(&chunk);
    }
    server.receive(Duration::ZERO, &wire);
    let event = server.poll_event().unwrap();
    assert!(format!("{event:?}").contains("over h2"), "{event:?}");
    assert_eq!(client.poll_timeout(), None);
    assert!(matches!(
        client.receive_extended_connect(200, Headers::new()),
        Err(HandshakeError::Finished)
    ));
}

#[test]
fn extended_connect_answers_other_than_2xx_or_unoffered_choices_fail() {
    let mut forbidden = Headers::new();
    forbidden.append("content-type", "text/plain");
    match handshake(chat_request()).receive_extended_connect(403, forbidden.clone()) {
        Err(HandshakeError::Rejected {
            status: 403,
            headers,
            body,
            ..
        }) => {
            assert_eq!(headers, forbidden);
            assert!(body.is_empty());
        }
        other => panic!("{other:?}"),
    }
    // A 101 belongs to HTTP/1.1; over HTTP/2 it is no success.
    assert!(matches!(
        handshake(chat_request()).receive_extended_connect(101, Headers::new()),
        Err(HandshakeError::Rejected { status: 101, .. })
    ));
    let mut other_protocol = Headers::new();
    other_protocol.append("sec-websocket-protocol", "superchat");
    assert!(matches!(
        handshake(chat_request()).receive_extended_connect(200, other_protocol),
        Err(HandshakeError::UnexpectedProtocol(p)) if p == "superchat"
    ));
    let mut other_extension = Headers::new();
    other_extension.append("sec-websocket-extensions", "x-webkit-deflate-frame");
    assert!(matches!(
        handshake(chat_request()).receive_extended_connect(200, other_extension),
        Err(HandshakeError::UnexpectedExtension(_))
    ));
    // Any 2xx opens it (RFC 8441 §5), and nothing asks for an accept key.
    assert!(
        handshake(chat_request())
            .receive_extended_connect(204, Headers::new())
            .is_ok()
    );
}

#[test]
fn frame_in_the_same_chunk_as_the_101_is_kept() {
    let mut client = handshake(chat_request());
    let mut bytes = switching("");
    let frame = [0x81, 0x02, b'H', b'i'];
    bytes.extend_from_slice(&frame);
    let established = client.receive(&bytes).unwrap().unwrap();
    assert_eq!(established.trailing(), frame);
    assert_eq!(established.protocol(), None);
    assert_eq!(
        established.into_connection(Duration::ZERO).role(),
        Role::Client
    );
}

#[test]
fn invalid_101_responses_fail_the_connection() {
    let cases: [(Vec<u8>, HandshakeError); 8] = [
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
                .to_vec(),
            HandshakeError::InvalidAccept,
        ),
        (
            format!(
                "HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_key(KEY.as_bytes())
            )
            .into_bytes(),
            HandshakeError::MissingUpgrade,
        ),
        (
            format!(
                "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_key(KEY.as_bytes())
            )
            .into_bytes(),
            HandshakeError::MissingUpgrade,
        ),
        (
            b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec(),
            HandshakeError::InvalidAccept,
        ),
        (
            switching("Sec-WebSocket-Protocol: superchat\r\n"),
            HandshakeError::UnexpectedProtocol(String::from("superchat")),
        ),
        (
            switching("Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n"),
            HandshakeError::UnexpectedExtension(String::from("x-webkit-deflate-frame")),
        ),
        (
            switching("Sec-WebSocket-Extensions: permessage-deflate; x=\"a b\"\r\n"),
            HandshakeError::MalformedHeader("Sec-WebSocket-Extensions"),
        ),
        (
            b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(),
            HandshakeError::BadStatus(100),
        ),
    ];
    for (response, expected) in cases {
        let mut client = handshake(chat_request());
        assert_eq!(client.receive(&response).unwrap_err(), expected);
    }
}

#[test]
fn accept_with_surrounding_whitespace_and_mixed_case_tokens_is_valid() {
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n\
         sec-websocket-accept:   {}  \r\n\r\n",
        accept_key(KEY.as_bytes())
    );
    let mut client = handshake(chat_request());
    assert!(client.receive(response.as_bytes()).unwrap().is_some());
}

fn rejected_401(body: &[u8]) -> HandshakeError {
    let mut headers = Headers::new();
    headers.append("WWW-Authenticate", "Bearer");
    HandshakeError::Rejected {
        status: 401,
        reason: String::from("Unauthorized"),
        headers,
        body: body.to_vec(),
    }
}

#[test]
fn rejection_body_is_read_per_content_length_across_reads() {
    let mut client = handshake(chat_request());
    let head =
        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 12\r\n\r\nlog";
    assert!(matches!(client.receive(head), Ok(None)));
    let Err(HandshakeError::Rejected {
        status,
        reason,
        headers,
        body,
    }) = client.receive(b" in firstEXTRA")
    else {
        panic!("expected a rejection");
    };
    assert_eq!((status, reason.as_str()), (401, "Unauthorized"));
    assert_eq!(headers.get("www-authenticate"), Some("Bearer"));
    assert_eq!(body, b"log in first");
    assert_eq!(client.poll_timeout(), None);
}

#[test]
fn rejection_body_without_length_runs_to_eof() {
    let mut client = handshake(chat_request());
    let head = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n\r\ngo ";
    assert!(matches!(client.receive(head), Ok(None)));
    assert!(matches!(client.receive(b"away"), Ok(None)));
    assert_eq!(client.receive_eof(), rejected_401(b"go away"));
    assert_eq!(client.receive_eof(), HandshakeError::Finished);
}

#[test]
fn rejection_body_is_cut_at_the_configured_limit() {
    let config = Config {
        max_rejection_body: 4,
        ..Config::default()
    };
    let mut client =
        ClientHandshake::with_entropy(chat_request(), config, Duration::ZERO, Box::new(Counter(0)));
    let response = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 100\r\n\r\n0123456789";
    let Err(HandshakeError::Rejected { status, body, .. }) = client.receive(response) else {
        panic!("expected a rejection");
    };
    assert_eq!((status, body.as_slice()), (401, &b"0123"[..]));
}

#[test]
fn eof_inside_the_header_block_is_incomplete() {
    let mut client = handshake(chat_request());
    assert!(matches!(
        client.receive(b"HTTP/1.1 101 Switching"),
        Ok(None)
    ));
    assert_eq!(client.receive_eof(), HandshakeError::Incomplete);
}

#[test]
fn oversized_response_header_block_fails() {
    let mut client = handshake(chat_request());
    let mut response = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
    response.resize(64 << 10, b'a');
    assert_eq!(
        client.receive(&response).unwrap_err(),
        HandshakeError::TooLarge
    );
}

#[test]
fn timeout_fires_at_the_deadline_only() {
    let config = Config {
        handshake_timeout: Some(Duration::from_secs(5)),
        ..Config::default()
    };
    let mut client = ClientHandshake::with_entropy(
        chat_request(),
        config,
        Duration::from_secs(1),
        Box::new(Counter(0)),
    );
    assert_eq!(client.poll_timeout(), Some(Duration::from_secs(6)));
    assert_eq!(client.handle_timeout(Duration::from_secs(2)), Ok(()));
    assert_eq!(
        client.handle_timeout(Duration::from_secs(6)),
        Err(HandshakeError::Timeout)
    );
    assert_eq!(client.poll_timeout(), None);
}

/// What a completed handshake handed over: trailing bytes and subprotocol.
type Outcome = Result<Option<(Vec<u8>, Option<String>)>, HandshakeError>;

/// Feeds `bytes` split at `at`; leftover input after completion is
/// appended to the trailing bytes, as the caller would hand it on.
fn receive_split(bytes: &[u8], at: usize) -> Outcome {
    let mut client = handshake(chat_request());
    match client.receive(&bytes[..at])? {
        Some(done) => {
            let mut trailing = done.trailing().to_vec();
            trailing.extend_from_slice(&bytes[at..]);
            Ok(Some((trailing, done.protocol().map(String::from))))
        }
        None => Ok(client
            .receive(&bytes[at..])?
            .map(|done| (done.trailing().to_vec(), done.protocol().map(String::from)))),
    }
}

fn sample_responses() -> Vec<Vec<u8>> {
    let mut with_frame = switching("Sec-WebSocket-Protocol: chat\r\n");
    with_frame.extend_from_slice(&[0x81, 0x00]);
    vec![
        with_frame,
        switching("Sec-WebSocket-Protocol: other\r\n"),
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno".to_vec(),
    ]
}

proptest! {
    #[test]
    fn any_split_in_two_gives_the_same_result(which in 0usize..3, split in any::<prop::sample::Index>()) {
        let bytes = &sample_responses()[which];
        let at = split.index(bytes.len() + 1);
        prop_assert_eq!(receive_split(bytes, bytes.len()), receive_split(bytes, at));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut client = handshake(chat_request());
        let _ = client.receive(&bytes);
        let _ = client.receive_eof();
    }
}
