//! permessage-deflate (RFC 7692) end to end: negotiation through the real
//! handshakes, bytes on the wire, limits, failures, and a property test that
//! compressed messages round-trip however they are cut.
#![cfg(feature = "deflate")]

mod common;

use bytes::Bytes;
use common::{client_frame, close_code_on_wire, decode_frames, raw_frame};
use core::time::Duration;
use proptest::prelude::*;
use sockeye::deflate::{DeflateConfig, DeflateParams};
use sockeye::handshake::{Accept, ClientHandshake, ClientRequest, HandshakeError, ServerHandshake};
use sockeye::testing::{SeededEntropy, take_output};
use sockeye::{Config, Connection, DataKind, Event, ProtocolError};

const NOW: Duration = Duration::ZERO;

fn with_deflate(deflate: DeflateConfig) -> Config {
    let mut config = Config::default();
    config.deflate = Some(deflate);
    config
}

/// A client and a server connected through the opening handshake.
fn connect(client: Config, server: Config) -> (Connection, Connection) {
    let request = ClientRequest::new("example.com", "/").unwrap();
    let mut client_hs =
        ClientHandshake::with_entropy(request, client, NOW, Box::new(SeededEntropy::new(7)));
    let mut server_hs = ServerHandshake::new(server, NOW);
    let request = server_hs
        .receive(client_hs.request_bytes())
        .unwrap()
        .unwrap();
    let (response, server) = request.accept(Accept::new(NOW)).unwrap();
    let client = client_hs
        .receive(&response)
        .unwrap()
        .unwrap()
        .into_connection(NOW);
    (client, server)
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn json_like(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"id\":{i},\"name\":\"user{}\",\"active\":true}},",
                i % 17
            )
        })
        .collect()
}

#[test]
fn negotiates_through_the_handshakes_with_the_same_parameters() {
    let (client, server) = connect(
        with_deflate(DeflateConfig::default()),
        with_deflate(DeflateConfig::default()),
    );
    let expected = DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    };
    assert_eq!(client.deflate_params(), Some(&expected));
    assert_eq!(server.deflate_params(), Some(&expected));
}

#[test]
fn stays_off_unless_both_ends_ask_for_it() {
    let (client, server) = connect(with_deflate(DeflateConfig::default()), Config::default());
    assert_eq!(client.deflate_params(), None);
    assert_eq!(server.deflate_params(), None);
    let (client, server) = connect(Config::default(), with_deflate(DeflateConfig::default()));
    assert_eq!(client.deflate_params(), None);
    assert_eq!(server.deflate_params(), None);
}

#[test]
fn server_settings_reach_the_client() {
    let mut server_config = DeflateConfig::default();
    server_config.server_no_context_takeover = true;
    server_config.server_max_window_bits = 10;
    server_config.client_max_window_bits = 11;
    let (client, server) = connect(
        with_deflate(DeflateConfig::default()),
        with_deflate(server_config),
    );
    let params = client.deflate_params().unwrap();
    assert!(params.server_no_context_takeover);
    assert_eq!(params.server_max_window_bits, 10);
    assert_eq!(params.client_max_window_bits, 11);
    assert_eq!(server.deflate_params(), Some(params));
}

#[test]
fn compressed_messages_carry_rsv1_and_round_trip_both_ways() {
    let (mut client, mut server) = connect(
        with_deflate(DeflateConfig::default()),
        with_deflate(DeflateConfig::default()),
    );
    let text = json_like(200);
    client.send_text(text.clone()).unwrap();
    let wire = take_output(&mut client);
    let frames = decode_frames(&wire);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].rsv, 0b100);
    assert!(frames[0].payload.len() < text.len() / 4);
    server.receive(Duration::ZERO, &wire);
    assert_eq!(events(&mut server), [Event::Text(text.clone().into())]);

    server.send_binary(text.clone().into_bytes()).unwrap();
    let wire = take_output(&mut server);
    let first = decode_frames(&wire)[0].payload.len();
    client.receive(Duration::ZERO, &wire);
    assert_eq!(events(&mut client), [Event::Binary(text.clone().into())]);
    // Context takeover: the same message again refers back to the first.
    server.send_binary(text.clone().into_bytes()).unwrap();
    let wire = take_output(&mut server);
    assert!(decode_frames(&wire)[0].payload.len() < first / 4);
    client.receive(Duration::ZERO, &wire);
    assert_eq!(events(&mut client), [Event::Binary(text.into())]);
}

#[test]
fn without_context_takeover_each_message_compresses_alone() {
    let mut config = DeflateConfig::default();
    config.server_no_context_takeover = true;
    let (mut client, mut server) =
        connect(with_deflate(DeflateConfig::default()), with_deflate(config));
    let text = json_like(50);
    let mut payloads = Vec::new();
    for _ in 0..2 {
        server.send_text(text.clone()).unwrap();
        let wire = take_output(&mut server);
        payloads.push(decode_frames(&wire)[0].payload.clone());
        client.receive(Duration::ZERO, &wire);
        assert_eq!(events(&mut client), [Event::Text(text.clone().into())]);
    }
    assert_eq!(payloads[0], payloads[1]);
}

#[test]
fn messages_below_the_threshold_go_uncompressed() {
    let (mut client, mut server) = connect(
        with_deflate(DeflateConfig::default()),
        with_deflate(DeflateConfig::default()),
    );
    server.send_text("tiny").unwrap();
    let wire = take_output(&mut server);
    assert_eq!(wire, b"\x81\x04tiny");
    client.receive(Duration::ZERO, &wire);
    assert_eq!(events(&mut client), [Event::Text("tiny".into())]);
}

#[test]
fn inflates_rfc_7692_examples_whole_and_fragmented() {
    let (_, mut server) = connect(
        with_deflate(DeflateConfig::default()),
        with_deflate(DeflateConfig::default()),
    );
    // §7.2.3.1: "Hello" compressed, in one frame...
    server.receive(
        Duration::ZERO,
        &client_frame(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
    );
    // ...and in two, RSV1 on the first only.
    server.receive(Duration::ZERO, &client_frame(0x41, &[0xf2, 0x48, 0xcd]));
    server.receive(
        Duration::ZERO,
        &client_frame(0x80, &[0xc9, 0xc9, 0x07, 0x00]),
    );
    // §7.2.3.2: with context takeover, a second "Hello" is a back reference.
    server.receive(
        Duration::ZERO,
        &client_frame(0xc1, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
    );
    // An uncompressed message between compressed ones.
    server.receive(Duration::ZERO, &client_frame(0x81, b"plain"));
    assert_eq!(
        events(&mut server),
        [
            Event::Text("Hello".into()),
            Event::Text("Hello".into()),
            Event::Text("Hello".into()),
            Event::Text("plain".into()),
        ]
    );
}

#[test]
fn streaming_mode_hands_out_inflated_pieces() {
    let mut streaming = with_deflate(DeflateConfig::default());
    streaming.streaming = true;
    let (mut client, mut server) = connect(with_deflate(DeflateConfig::default()), streaming);
    let text = json_like(300);
    client.send_text(text.clone()).unwrap();
    let wire = take_output(&mut client);
    let mut received = Vec::new();
    let mut last_seen = false;
    for chunk in wire.chunks(97) {
        server.receive(Duration::ZERO, chunk);
        for event in events(&mut server) {
            let Event::Fragment(piece) = event else {
                panic!("unexpected {event:?}");
            };
            assert_eq!(piece.kind, DataKind::Text);
            received.extend_from_slice(&piece.payload);
            last_seen |= piece.is_last;
        }
    }
    assert!(last_seen);
    assert_eq!(received, text.as_bytes());
}

#[test]
fn zip_bomb_fails_with_1009_without_inflating_past_the_limit() {
    let mut sender_config = with_deflate(DeflateConfig::default());
    sender_config.max_message_size = u64::MAX;
    let mut limited = with_deflate(DeflateConfig::default());
    limited.max_message_size = 1 << 20;
    for streaming in [false, true] {
        limited.streaming = streaming;
        let (mut client, mut server) = connect(sender_config.clone(), limited.clone());
        client.send_binary(vec![0u8; 64 << 20]).unwrap();
        let wire = take_output(&mut client);
        assert!(wire.len() < 128 << 10, "{}", wire.len());
        server.receive(Duration::ZERO, &wire);
        let got = events(&mut server);
        assert!(
            matches!(
                got.last(),
                Some(Event::Failed(ProtocolError::MessageTooLarge))
            ),
            "{got:?}"
        );
        let delivered: usize = got
            .iter()
            .map(|e| match e {
                Event::Fragment(piece) => piece.payload.len(),
                _ => 0,
            })
            .sum();
        assert!(delivered <= 1 << 20);
        assert_eq!(close_code_on_wire(&take_output(&mut server)), Some(1009));
    }
}

#[test]
fn rsv1_outside_the_first_data_frame_fails_with_1002() {
    for frames in [
        // RSV1 on a continuation frame.
        [
            client_frame(0x41, &[0xf2, 0x48, 0xcd]),
            client_frame(0xc0, &[0xc9, 0xc9, 0x07, 0x00]),
        ]
        .concat(),
        // RSV1 on a ping.
        client_frame(0xc9, b"x"),
    ] {
        let (_, mut server) = connect(
            with_deflate(DeflateConfig::default()),
            with_deflate(DeflateConfig::default()),
        );
        server.receive(Duration::ZERO, &frames);
        let got = events(&mut server);
        assert!(
            matches!(
                got.last(),
                Some(Event::Failed(ProtocolError::ReservedBitsSet(_)))
            ),
            "{got:?}"
        );
        assert_eq!(close_code_on_wire(&take_output(&mut server)), Some(1002));
    }
}

#[test]
fn rsv1_without_negotiation_fails_with_1002() {
    let (_, mut server) = connect(Config::default(), with_deflate(DeflateConfig::default()));
    server.receive(
        Duration::ZERO,
        &client_frame(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
    );
    let got = events(&mut server);
    assert!(matches!(
        got.last(),
        Some(Event::Failed(ProtocolError::ReservedBitsSet(4)))
    ));
    assert_eq!(close_code_on_wire(&take_output(&mut server)), Some(1002));
}

#[test]
fn corrupt_compressed_data_fails_with_1007() {
    let (mut client, _) = connect(
        with_deflate(DeflateConfig::default()),
        with_deflate(DeflateConfig::default()),
    );
    client.receive(
        Duration::ZERO,
        &raw_frame(0xc2, None, &[0xff, 0xff, 0xff, 0xff]),
    );
    let got = events(&mut client);
    assert!(matches!(
        got.last(),
        Some(Event::Failed(ProtocolError::InvalidCompressedData))
    ));
    assert_eq!(close_code_on_wire(&take_output(&mut client)), Some(1007));
}

#[test]
fn invalid_utf8_inside_compressed_text_fails_with_1007() {
    let (mut client, mut server) = connect(
        with_deflate(DeflateConfig::default()),
        with_deflate(DeflateConfig::default()),
    );
    // Compress invalid text by sending it as binary, then flip the opcode.
    let mut bad = vec![b'a'; 100];
    bad.push(0xff);
    client.send_binary(bad).unwrap();
    let mut wire = take_output(&mut client);
    wire[0] = (wire[0] & 0xf0) | 0x1;
    server.receive(Duration::ZERO, &wire);
    let got = events(&mut server);
    assert!(matches!(
        got.last(),
        Some(Event::Failed(ProtocolError::InvalidUtf8))
    ));
}

#[test]
fn pieces_sent_with_send_fragment_form_one_compressed_message() {
    let (mut client, mut server) = connect(
        with_deflate(DeflateConfig::default()),
        with_deflate(DeflateConfig::default()),
    );
    let text = json_like(40);
    let (a, b) = text.split_at(text.len() / 2);
    client
        .send_fragment(DataKind::Text, Bytes::copy_from_slice(a.as_bytes()), false)
        .unwrap();
    client.ping(Bytes::from_static(b"p")).unwrap();
    client
        .send_fragment(DataKind::Text, Bytes::copy_from_slice(b.as_bytes()), true)
        .unwrap();
    let wire = take_output(&mut client);
    let rsv: Vec<u8> = decode_frames(&wire).iter().map(|f| f.rsv).collect();
    assert_eq!(rsv, [0b100, 0, 0]);
    server.receive(Duration::ZERO, &wire);
    assert_eq!(
        events(&mut server),
        [
            Event::Ping(Bytes::from_static(b"p")),
            Event::Text(text.into())
        ]
    );
}

#[test]
fn client_imposed_window_of_8_sends_uncompressed_but_still_inflates() {
    let mut server_config = DeflateConfig::default();
    server_config.client_max_window_bits = 8;
    let (mut client, mut server) = connect(
        with_deflate(DeflateConfig::default()),
        with_deflate(server_config),
    );
    assert_eq!(client.deflate_params().unwrap().client_max_window_bits, 8);
    let text = json_like(20);
    client.send_text(text.clone()).unwrap();
    let wire = take_output(&mut client);
    assert_eq!(decode_frames(&wire)[0].rsv, 0);
    server.receive(Duration::ZERO, &wire);
    assert_eq!(events(&mut server), [Event::Text(text.clone().into())]);
    server.send_text(text.clone()).unwrap();
    let wire = take_output(&mut server);
    assert_eq!(decode_frames(&wire)[0].rsv, 0b100);
    client.receive(Duration::ZERO, &wire);
    assert_eq!(events(&mut client), [Event::Text(text.into())]);
}

#[test]
fn client_with_a_fallback_offer_keeps_its_context_unless_the_server_asks() {
    let mut offering = DeflateConfig::default();
    offering.offer_no_context_takeover_fallback = true;
    let mut asking = DeflateConfig::default();
    asking.client_no_context_takeover = true;
    for (server_config, client_takeover) in [(DeflateConfig::default(), true), (asking, false)] {
        let (mut client, mut server) =
            connect(with_deflate(offering.clone()), with_deflate(server_config));
        let params = *client.deflate_params().unwrap();
        assert_eq!(server.deflate_params(), Some(&params));
        assert_eq!(params.client_no_context_takeover, !client_takeover);
        // The same message twice: with context takeover the second refers
        // back to the first and shrinks to a few bytes.
        let text = json_like(20);
        let mut sizes = Vec::new();
        for _ in 0..2 {
            client.send_text(text.clone()).unwrap();
            let wire = take_output(&mut client);
            sizes.push(decode_frames(&wire)[0].payload.len());
            server.receive(Duration::ZERO, &wire);
            assert_eq!(events(&mut server), [Event::Text(text.clone().into())]);
        }
        assert_eq!(sizes[1] < sizes[0] / 4, client_takeover, "{sizes:?}");
    }
}

#[test]
fn client_fails_a_response_with_invalid_deflate_parameters() {
    let request = ClientRequest::new("example.com", "/").unwrap();
    let mut client = ClientHandshake::with_entropy(
        request,
        with_deflate(DeflateConfig::default()),
        NOW,
        Box::new(SeededEntropy::new(7)),
    );
    let mut server = ServerHandshake::new(Config::default(), NOW);
    let request = server.receive(client.request_bytes()).unwrap().unwrap();
    // A server that answers client_max_window_bits without a value (RFC 7692 §7.1.2.2).
    let accept = Accept::new(NOW).extension("permessage-deflate; client_max_window_bits");
    let (response, _) = request.accept(accept).unwrap();
    assert_eq!(
        client.receive(&response).unwrap_err(),
        HandshakeError::InvalidExtensionResponse("permessage-deflate".into())
    );
}

#[test]
fn client_fails_a_response_naming_an_extension_it_did_not_offer() {
    let request = ClientRequest::new("example.com", "/").unwrap();
    let mut client = ClientHandshake::with_entropy(
        request,
        Config::default(),
        NOW,
        Box::new(SeededEntropy::new(7)),
    );
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        accept_of(client.request_bytes())
    );
    assert_eq!(
        client.receive(response.as_bytes()).unwrap_err(),
        HandshakeError::UnexpectedExtension("permessage-deflate".into())
    );
}

fn accept_of(request: &[u8]) -> String {
    let text = std::str::from_utf8(request).unwrap();
    let key = text
        .lines()
        .find_map(|line| line.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    sockeye::handshake::accept_key(key.trim().as_bytes())
}

// ----- property: any messages, any pieces, any split ------------------------

#[derive(Clone, Debug)]
struct Message {
    kind: DataKind,
    payload: Vec<u8>,
    pieces: Vec<usize>,
}

fn any_message() -> impl Strategy<Value = Message> {
    let text =
        "(\\PC{0,40}|[a-z\"{}:, ]{0,400})".prop_map(|s: String| (DataKind::Text, s.into_bytes()));
    let binary = proptest::collection::vec(0u8..4, 0..3000).prop_map(|b| (DataKind::Binary, b));
    (
        prop_oneof![text, binary],
        proptest::collection::vec(0usize..500, 0..4),
    )
        .prop_map(|((kind, payload), pieces)| Message {
            kind,
            payload,
            pieces,
        })
}

fn send(conn: &mut Connection, message: &Message) {
    if message.pieces.is_empty() {
        match message.kind {
            DataKind::Text => conn
                .send_text(String::from_utf8(message.payload.clone()).unwrap())
                .unwrap(),
            DataKind::Binary => conn.send_binary(message.payload.clone()).unwrap(),
        }
        return;
    }
    let mut rest = message.payload.as_slice();
    for &size in &message.pieces {
        // Cut text on a character boundary so every piece is accepted.
        let mut cut = size.min(rest.len());
        if message.kind == DataKind::Text {
            while std::str::from_utf8(&rest[..cut]).is_err() {
                cut -= 1;
            }
        }
        let (piece, tail) = rest.split_at(cut);
        conn.send_fragment(message.kind, Bytes::copy_from_slice(piece), false)
            .unwrap();
        rest = tail;
    }
    conn.send_fragment(message.kind, Bytes::copy_from_slice(rest), true)
        .unwrap();
}

fn received_messages(
    conn: &mut Connection,
    wire: &[u8],
    cuts: &[usize],
) -> Vec<(DataKind, Vec<u8>)> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    points.extend([0, wire.len()]);
    points.sort_unstable();
    let mut out = Vec::new();
    let mut partial: Option<(DataKind, Vec<u8>)> = None;
    for window in points.windows(2) {
        conn.receive(Duration::ZERO, &wire[window[0]..window[1]]);
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Text(text) => out.push((DataKind::Text, text.as_bytes().to_vec())),
                Event::Binary(data) => out.push((DataKind::Binary, data.to_vec())),
                Event::Fragment(piece) => {
                    let entry = partial.get_or_insert_with(|| (piece.kind, Vec::new()));
                    entry.1.extend_from_slice(&piece.payload);
                    if piece.is_last {
                        out.push(partial.take().unwrap());
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn compressed_messages_round_trip_however_cut(
        messages in proptest::collection::vec(any_message(), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        client_takeover in any::<bool>(),
        server_takeover in any::<bool>(),
        server_bits in 9u8..=15,
        threshold in 0usize..64,
        streaming in any::<bool>(),
        from_client in any::<bool>(),
    ) {
        let mut deflate = DeflateConfig::default();
        deflate.client_no_context_takeover = !client_takeover;
        deflate.server_no_context_takeover = !server_takeover;
        deflate.server_max_window_bits = server_bits;
        deflate.threshold = threshold;
        let mut receiving = with_deflate(deflate.clone());
        receiving.streaming = streaming;
        let (mut client, mut server) = if from_client {
            connect(with_deflate(deflate), receiving)
        } else {
            connect(receiving, with_deflate(deflate))
        };
        let (sender, receiver) = if from_client {
            (&mut client, &mut server)
        } else {
            (&mut server, &mut client)
        };
        for message in &messages {
            send(sender, message);
        }
        let wire = take_output(sender);
        let got = received_messages(receiver, &wire, &cuts);
        let want: Vec<(DataKind, Vec<u8>)> =
            messages.iter().map(|m| (m.kind, m.payload.clone())).collect();
        prop_assert_eq!(got, want);
    }
}

// ----- streaming: bounded inflate steps -------------------------------------

/// The pieces a streaming receiver hands out for `wire` cut at `cuts`,
/// message by message.
fn received_pieces(
    conn: &mut Connection,
    wire: &[u8],
    cuts: &[usize],
) -> Vec<(DataKind, Vec<Bytes>)> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    points.extend([0, wire.len()]);
    points.sort_unstable();
    let mut out = Vec::new();
    let mut partial: Option<(DataKind, Vec<Bytes>)> = None;
    for window in points.windows(2) {
        conn.receive(Duration::ZERO, &wire[window[0]..window[1]]);
        while let Some(event) = conn.poll_event() {
            let Event::Fragment(piece) = event else {
                panic!("unexpected {event:?}");
            };
            assert_eq!(piece.is_first, partial.is_none());
            let entry = partial.get_or_insert_with(|| (piece.kind, Vec::new()));
            entry.1.push(piece.payload);
            if piece.is_last {
                out.push(partial.take().unwrap());
            }
        }
    }
    assert!(partial.is_none(), "a message was left unfinished");
    out
}

#[test]
fn streaming_inflates_a_large_piece_in_bounded_steps() {
    let mut streaming = with_deflate(DeflateConfig::default());
    streaming.streaming = true;
    let (mut client, mut server) = connect(with_deflate(DeflateConfig::default()), streaming);
    let text = json_like(100_000);
    assert!(text.len() > 4 << 20);
    client.send_text(text.clone()).unwrap();
    let wire = take_output(&mut client);
    assert_eq!(decode_frames(&wire).len(), 1);
    // The whole compressed frame arrives at once; it still comes out in steps.
    let messages = received_pieces(&mut server, &wire, &[]);
    assert_eq!(messages.len(), 1);
    let (kind, pieces) = &messages[0];
    assert_eq!(*kind, DataKind::Text);
    assert!(pieces.len() >= text.len() / (64 << 10), "{}", pieces.len());
    assert!(pieces.iter().all(|piece| piece.len() <= 64 << 10));
    assert_eq!(pieces.concat(), text.as_bytes());
}

fn repetitive_message() -> impl Strategy<Value = Message> {
    let text = ("[a-zé€😀 ]{1,12}", 1usize..3000)
        .prop_map(|(unit, times)| (DataKind::Text, unit.repeat(times).into_bytes()));
    let binary = (proptest::collection::vec(any::<u8>(), 1..12), 1usize..3000)
        .prop_map(|(unit, times)| (DataKind::Binary, unit.repeat(times)));
    (
        prop_oneof![text, binary],
        proptest::collection::vec(0usize..4000, 0..3),
    )
        .prop_map(|((kind, payload), pieces)| Message {
            kind,
            payload,
            pieces,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn streamed_pieces_concatenate_to_the_message_however_cut(
        messages in proptest::collection::vec(repetitive_message(), 1..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        takeover in any::<bool>(),
        max_frame_size in 256u64..4096,
    ) {
        let mut deflate = DeflateConfig::default();
        deflate.client_no_context_takeover = !takeover;
        let mut receiving = with_deflate(deflate.clone());
        receiving.streaming = true;
        receiving.max_frame_size = max_frame_size;
        let (mut client, mut server) = connect(with_deflate(deflate), receiving);
        for message in &messages {
            send(&mut client, message);
        }
        let wire = take_output(&mut client);
        // Only frames the receiver accepts: its frame limit bounds the steps.
        prop_assume!(decode_frames(&wire)
            .iter()
            .all(|frame| frame.payload.len() as u64 <= max_frame_size));
        let got = received_pieces(&mut server, &wire, &cuts);
        prop_assert_eq!(got.len(), messages.len());
        for ((kind, pieces), message) in got.iter().zip(&messages) {
            prop_assert_eq!(*kind, message.kind);
            for piece in pieces {
                prop_assert!(piece.len() as u64 <= max_frame_size);
            }
            prop_assert_eq!(pieces.concat(), message.payload.clone());
        }
    }
}
