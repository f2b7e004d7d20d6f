use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use proptest::prelude::*;

use super::{Endpoint, EndpointEvent};
use crate::connection::{Connection, Event, State};
use crate::handshake::{Accept, ClientRequest, HandshakeError, Headers, Request, Upgrade};
use crate::testing::{SeededEntropy, hostile_handshakes};
use crate::{CloseCode, Config};

const REQUEST: &[u8] = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat.v2, chat.v1\r\n\r\n";

/// A masked text frame "Hi" (mask key 1, 2, 3, 4).
const MASKED_HI: &[u8] = &[0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2];

fn client(now: Duration) -> Endpoint {
    let request = ClientRequest::new("example.com", "/chat")
        .and_then(|r| r.protocol("chat.v2"))
        .and_then(|r| r.protocol("chat.v1"))
        .unwrap();
    Endpoint::client_with_entropy(
        request,
        Config::default(),
        now,
        Box::new(SeededEntropy::new(7)),
    )
}

/// Everything the endpoint has to write, taken through `poll_transmit`.
fn output(endpoint: &mut Endpoint) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(bytes) = endpoint.poll_transmit() {
        out.extend_from_slice(&bytes);
    }
    out
}

fn events(endpoint: &mut Endpoint) -> Vec<EndpointEvent> {
    core::iter::from_fn(|| endpoint.poll_event()).collect()
}

fn status_line(response: &[u8]) -> &[u8] {
    let end = response
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(response.len());
    &response[..end]
}

#[test]
fn a_server_reports_the_request_and_answers_through_transmit() {
    let now = Duration::ZERO;
    let mut server = Endpoint::server(Config::default(), now);
    assert_eq!(server.state(), State::Connecting);
    server.receive(now, REQUEST);
    assert_eq!(events(&mut server), [EndpointEvent::Request]);
    let request = server.request().expect("the request waits");
    assert_eq!(request.path(), "/chat");
    let chosen = String::from(request.select_protocol(&["chat.v1", "chat.v2"]).unwrap());
    assert_eq!(chosen, "chat.v2", "the client's order wins");

    let request = server.accept(Accept::new(now).protocol(&chosen)).unwrap();
    assert_eq!(request.query("room").as_deref(), Some("1"));
    assert!(server.request().is_none());
    let Some(EndpointEvent::Opened(opened)) = server.poll_event() else {
        panic!("expected Opened");
    };
    assert_eq!(opened.protocol.as_deref(), Some("chat.v2"));
    assert_eq!(server.state(), State::Open);
    let response = output(&mut server);
    assert_eq!(status_line(&response), b"HTTP/1.1 101 Switching Protocols");
    assert!(
        response
            .windows(28)
            .any(|w| w == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert!(
        server.into_connection().is_ok(),
        "nothing of the handshake is left"
    );
}

#[test]
fn frames_behind_the_request_reach_the_connection_even_before_the_answer() {
    let now = Duration::ZERO;
    let mut server = Endpoint::server(Config::default(), now);
    let mut bytes = REQUEST.to_vec();
    bytes.extend_from_slice(&MASKED_HI[..3]);
    server.receive(now, &bytes);
    assert_eq!(server.poll_event(), Some(EndpointEvent::Request));
    // More of the frame arrives while the application decides.
    server.receive(now, &MASKED_HI[3..]);
    server.accept(Accept::new(now)).unwrap();
    let events = events(&mut server);
    assert!(matches!(events[0], EndpointEvent::Opened(_)));
    assert_eq!(
        events[1..],
        [EndpointEvent::Connection(Event::Text("Hi".into()))]
    );
}

#[test]
fn a_client_and_a_server_open_talk_and_close() {
    let now = Duration::ZERO;
    let mut client = client(now);
    let mut server = Endpoint::server(Config::default(), now);
    assert_eq!(client.state(), State::Connecting);
    let request = output(&mut client);
    assert!(request.starts_with(b"GET /chat HTTP/1.1\r\n"));
    server.receive(now, &request);
    assert_eq!(server.poll_event(), Some(EndpointEvent::Request));
    server.accept(Accept::new(now).protocol("chat.v1")).unwrap();
    assert!(matches!(
        server.poll_event(),
        Some(EndpointEvent::Opened(_))
    ));
    server.connection_mut().unwrap().send_text("hello").unwrap();

    client.receive(now, &output(&mut server));
    let Some(EndpointEvent::Opened(opened)) = client.poll_event() else {
        panic!("expected Opened");
    };
    assert_eq!(opened.protocol.as_deref(), Some("chat.v1"));
    assert_eq!(opened.headers.get("Upgrade"), Some("websocket"));
    assert_eq!(
        client.poll_event(),
        Some(EndpointEvent::Connection(Event::Text("hello".into())))
    );

    let connection = client.connection_mut().unwrap();
    connection.close(now, CloseCode::NORMAL, "bye").unwrap();
    server.receive(now, &output(&mut client));
    assert!(matches!(
        server.poll_event(),
        Some(EndpointEvent::Connection(Event::Close(Some(_))))
    ));
    client.receive(now, &output(&mut server));
    assert!(server.should_close_transport(), "a server closes first");
    assert!(matches!(
        client.poll_event(),
        Some(EndpointEvent::Connection(Event::Close(Some(_))))
    ));
    assert_eq!(client.state(), State::Closed);
    assert!(client.close_status().unwrap().was_clean);
}

/// The hostile handshakes every driver must answer the same way: the
/// endpoint gives the answer, so each driver only writes it.
#[test]
fn hostile_requests_get_their_http_answer_and_a_close() {
    let config = Config::default();
    for case in hostile_handshakes(&config) {
        let mut server = Endpoint::server(config.clone(), Duration::ZERO);
        server.receive(Duration::ZERO, &case.request);
        if case.answer.is_none() {
            assert_eq!(server.poll_event(), None, "{}", case.name);
            server.handle_timeout(server.poll_timeout().expect("a deadline"));
        }
        let events = events(&mut server);
        assert!(
            matches!(events[..], [EndpointEvent::Rejected(_)]),
            "{}: {events:?}",
            case.name
        );
        assert_eq!(server.state(), State::Closed);
        let response = output(&mut server);
        let expected = case.answer.map(str::as_bytes).unwrap_or_default();
        assert_eq!(status_line(&response), expected, "{}", case.name);
        assert!(server.should_close_transport());
        assert!(server.connection_mut().is_none());
    }
}

#[test]
fn a_slow_request_times_out_at_the_deadline_from_poll_timeout() {
    let mut server = Endpoint::server(Config::default(), Duration::ZERO);
    server.receive(Duration::from_secs(1), &REQUEST[..20]);
    let deadline = server.poll_timeout().expect("the handshake has a deadline");
    server.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(server.poll_event(), None);
    server.handle_timeout(deadline);
    assert_eq!(
        events(&mut server),
        [EndpointEvent::Rejected(HandshakeError::Timeout)]
    );
    assert!(server.should_close_transport());
    assert_eq!(server.poll_timeout(), None);
}

#[test]
fn a_plain_request_is_reported_for_the_server_to_answer() {
    let now = Duration::ZERO;
    let plain = b"GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n";

    let mut server = Endpoint::server(Config::default(), now);
    server.receive(now, plain);
    assert_eq!(server.poll_event(), Some(EndpointEvent::Request));
    assert!(!server.request().unwrap().is_websocket());
    assert!(matches!(
        server.accept(Accept::new(now)),
        Err(HandshakeError::NotWebSocket(_))
    ));
    let request = server.decline().unwrap();
    assert_eq!(request.path(), "/index.html");
    assert_eq!(
        status_line(&output(&mut server)),
        b"HTTP/1.1 426 Upgrade Required"
    );
    assert!(server.should_close_transport());

    let mut server = Endpoint::server(Config::default(), now);
    server.receive(now, plain);
    let _ = server.poll_event();
    server
        .respond(b"HTTP/1.1 200 OK\r\n\r\npage".to_vec())
        .unwrap();
    assert_eq!(output(&mut server), b"HTTP/1.1 200 OK\r\n\r\npage");
    assert_eq!(
        server.decline().unwrap_err(),
        HandshakeError::NoPendingRequest
    );
}

#[test]
fn a_refused_answer_keeps_the_request_waiting() {
    let now = Duration::ZERO;
    let mut server = Endpoint::server(Config::default(), now);
    server.receive(now, REQUEST);
    let _ = server.poll_event();
    assert_eq!(
        server
            .accept(Accept::new(now).protocol("mqtt"))
            .unwrap_err(),
        HandshakeError::NotOffered(String::from("mqtt"))
    );
    assert!(server.request().is_some());
    server.reject(403, &[], b"no").unwrap();
    let response = output(&mut server);
    assert_eq!(status_line(&response), b"HTTP/1.1 403 Forbidden");
    assert!(response.ends_with(b"\r\n\r\nno"));
    assert!(server.should_close_transport());
}

#[test]
fn a_client_reports_a_refusal() {
    let now = Duration::ZERO;
    let mut client = client(now);
    let _ = output(&mut client);
    client.receive(
        now,
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope",
    );
    let events = events(&mut client);
    let [EndpointEvent::Rejected(HandshakeError::Rejected { status, body, .. })] = &events[..]
    else {
        panic!("expected a rejection, got {events:?}");
    };
    assert_eq!((*status, &body[..]), (401, &b"nope"[..]));
    assert!(client.should_close_transport());
    assert_eq!(client.buffered_amount(), 0);
}

#[test]
fn a_client_whose_server_vanishes_fails_as_incomplete() {
    let mut client = client(Duration::ZERO);
    let _ = output(&mut client);
    client.receive(Duration::ZERO, b"HTTP/1.1 101 Swi");
    client.receive_eof(Duration::ZERO);
    assert_eq!(
        events(&mut client),
        [EndpointEvent::Rejected(HandshakeError::Incomplete)]
    );
}

#[test]
fn transmit_writes_vectored_and_does_the_bookkeeping() {
    let now = Duration::ZERO;
    let mut server = Endpoint::server(Config::default(), now);
    server.receive(now, REQUEST);
    let _ = server.poll_event();
    server.accept(Accept::new(now)).unwrap();
    server.connection_mut().unwrap().send_text("hello").unwrap();
    let total = server.buffered_amount();
    let mut wire = Vec::new();
    // A transport that takes five bytes a call, across the 101's end and
    // the frame's start.
    while server.buffered_amount() > 0 {
        let transmit = server.transmit();
        let mut runs: [&[u8]; 4] = [&[]; 4];
        let filled = transmit.chunks(&mut runs);
        let mut taken = 0;
        for run in &runs[..filled] {
            let n = run.len().min(5 - taken);
            wire.extend_from_slice(&run[..n]);
            taken += n;
        }
        transmit.written(taken);
    }
    assert_eq!(wire.len(), total);
    assert!(wire.starts_with(b"HTTP/1.1 101 "));
    assert!(wire.ends_with(b"\x81\x05hello"));
    // A write that failed reports nothing, and nothing leaves.
    server.connection_mut().unwrap().send_text("again").unwrap();
    let _ = server.transmit();
    assert_eq!(server.buffered_amount(), 7);
}

#[test]
fn an_open_endpoint_costs_what_its_connection_costs() {
    assert!(core::mem::size_of::<Endpoint>() <= core::mem::size_of::<Connection>() + 8);
}

/// Feeds `bytes` to a server cut at `cuts` (offsets taken modulo the
/// length), accepting as soon as the request is there as a driver would, and
/// returns the connection's events and everything the server wrote.
fn serve_split(bytes: &[u8], cuts: &[usize]) -> (Vec<Event>, Vec<u8>) {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut server = Endpoint::server(Config::default(), Duration::ZERO);
    let mut received = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        server.receive(Duration::ZERO, &bytes[start..cut]);
        start = cut;
        while let Some(event) = server.poll_event() {
            match event {
                EndpointEvent::Request => {
                    server.accept(Accept::new(Duration::ZERO)).unwrap();
                }
                EndpointEvent::Connection(event) => received.push(event),
                EndpointEvent::Opened(_) => {}
                EndpointEvent::Rejected(error) => panic!("{error}"),
            }
        }
    }
    (received, output(&mut server))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The handshake and the frames behind it give the same result however
    /// the byte stream is split.
    #[test]
    fn splitting_the_stream_changes_nothing(cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let mut bytes = REQUEST.to_vec();
        bytes.extend_from_slice(MASKED_HI);
        bytes.extend_from_slice(MASKED_HI);
        let (whole_events, whole_output) = serve_split(&bytes, &[]);
        let (events, output) = serve_split(&bytes, &cuts);
        prop_assert_eq!(&events, &[Event::Text("Hi".into()), Event::Text("Hi".into())]);
        prop_assert_eq!(events, whole_events);
        prop_assert_eq!(output, whole_output);
    }
}

fn h2_headers(fields: &[(&str, &str)]) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in fields {
        headers.append(name, value);
    }
    headers
}

#[test]
fn an_http2_extended_connect_is_judged_by_the_same_rules_and_answered_200() {
    let now = Duration::ZERO;
    let headers = h2_headers(&[
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Protocol", "chat.v2, chat.v1"),
        ("Origin", "https://example.com"),
    ]);
    let request = Request::from_extended_connect(
        "websocket",
        "/ws?x=1",
        "example.com",
        headers,
        Config::default(),
    )
    .unwrap();
    assert_eq!(request.upgrade(), Upgrade::ExtendedConnect);
    assert_eq!((request.method(), request.path()), ("CONNECT", "/ws"));
    assert_eq!(request.key(), None, "RFC 8441 §5: no key");
    let mut server = Endpoint::server_for(request, now);
    assert_eq!(server.poll_event(), Some(EndpointEvent::Request));
    let chosen = String::from(
        server
            .request()
            .unwrap()
            .select_protocol(&["chat.v1", "chat.v2"])
            .unwrap(),
    );
    server.accept(Accept::new(now).protocol(&chosen)).unwrap();
    let Some(EndpointEvent::Opened(opened)) = server.poll_event() else {
        panic!("expected Opened");
    };
    let head = opened.response.expect("the HTTP/2 layer writes the answer");
    assert_eq!(head.status, 200);
    assert_eq!(
        head.headers,
        [(
            String::from("Sec-WebSocket-Protocol"),
            String::from("chat.v2")
        )]
    );
    assert_eq!(
        server.buffered_amount(),
        0,
        "no handshake bytes on the stream"
    );
    server.receive(now, MASKED_HI);
    assert_eq!(
        server.poll_event(),
        Some(EndpointEvent::Connection(Event::Text("Hi".into())))
    );
}

#[test]
fn an_extended_connect_breaking_the_rules_is_refused() {
    let config = Config::default();
    let no_version =
        Request::from_extended_connect("websocket", "/", "h", Headers::new(), config.clone());
    assert_eq!(no_version.unwrap_err(), HandshakeError::UnsupportedVersion);
    let other = Request::from_extended_connect(
        "webtransport",
        "/",
        "h",
        h2_headers(&[("Sec-WebSocket-Version", "13")]),
        config.clone(),
    );
    assert!(matches!(other, Err(HandshakeError::NotWebSocket(_))));
    let bad_protocol = Request::from_extended_connect(
        "websocket",
        "/",
        "h",
        h2_headers(&[
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Protocol", "a b"),
        ]),
        config,
    );
    assert_eq!(
        bad_protocol.unwrap_err(),
        HandshakeError::MalformedHeader("Sec-WebSocket-Protocol")
    );
}

#[test]
fn a_request_parsed_by_another_http1_layer_gets_the_101_fields() {
    let headers = h2_headers(&[
        ("Host", "example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ]);
    let request = Request::from_http1("GET", "/chat", headers, Config::default()).unwrap();
    let mut server = Endpoint::server_for(request, Duration::ZERO);
    let _ = server.poll_event();
    server.accept(Accept::new(Duration::ZERO)).unwrap();
    let Some(EndpointEvent::Opened(opened)) = server.poll_event() else {
        panic!("expected Opened");
    };
    let head = opened.response.unwrap();
    assert_eq!(head.status, 101);
    assert!(head.headers.contains(&(
        String::from("Sec-WebSocket-Accept"),
        String::from("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    )));
    let wrong = h2_headers(&[
        ("Host", "h"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
    ]);
    assert_eq!(
        Request::from_http1("GET", "/", wrong, Config::default()).unwrap_err(),
        HandshakeError::UnsupportedVersion
    );
}
