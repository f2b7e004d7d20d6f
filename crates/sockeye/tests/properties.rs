//! Property tests: what goes in on one side comes out on the other, however
//! it is fragmented and however the byte stream is split.

mod common;

use bytes::Bytes;
use core::time::Duration;
use proptest::prelude::*;
use sockeye::testing::{Pair, SeededEntropy, take_output};
use sockeye::{CloseCode, Config, Connection, DataKind, Event, Role, State};

#[derive(Clone, Debug)]
struct Message {
    kind: DataKind,
    payload: Vec<u8>,
    /// Sizes of the pieces it is sent in (the last piece takes the rest).
    pieces: Vec<usize>,
}

fn any_message() -> impl Strategy<Value = Message> {
    let text = "\\PC{0,200}".prop_map(|s: String| (DataKind::Text, s.into_bytes()));
    let binary =
        proptest::collection::vec(any::<u8>(), 0..2000).prop_map(|b| (DataKind::Binary, b));
    (
        prop_oneof![text, binary],
        proptest::collection::vec(0usize..300, 0..5),
    )
        .prop_map(|((kind, payload), pieces)| Message {
            kind,
            payload,
            pieces,
        })
}

/// Queue `message` on `conn`, as one frame or in pieces.
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
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        conn.send_fragment(message.kind, Bytes::copy_from_slice(piece), false)
            .unwrap();
        if size % 7 == 0 {
            conn.ping(Bytes::from_static(b"between")).unwrap();
        }
        rest = tail;
    }
    conn.send_fragment(message.kind, Bytes::copy_from_slice(rest), true)
        .unwrap();
}

/// Deliver `bytes` to `conn` in pieces cut at `cuts` (taken modulo the length).
fn deliver_split(conn: &mut Connection, bytes: &[u8], cuts: &[usize]) -> Vec<Event> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    let mut events = Vec::new();
    for window in points.windows(2) {
        conn.receive(Duration::ZERO, &bytes[window[0]..window[1]]);
        while let Some(event) = conn.poll_event() {
            events.push(event);
        }
    }
    events
}

/// The data messages among `events`, with pings dropped; streaming pieces joined.
fn messages_of(events: Vec<Event>) -> Vec<(DataKind, Vec<u8>)> {
    let mut out = Vec::new();
    let mut streaming: Option<(DataKind, Vec<u8>)> = None;
    for event in events {
        match event {
            Event::Text(text) => out.push((DataKind::Text, text.as_bytes().to_vec())),
            Event::Binary(data) => out.push((DataKind::Binary, data.to_vec())),
            Event::Fragment(piece) => {
                let entry = streaming.get_or_insert_with(|| (piece.kind, Vec::new()));
                assert_eq!(entry.0, piece.kind);
                entry.1.extend_from_slice(&piece.payload);
                if piece.is_last {
                    out.push(streaming.take().unwrap());
                }
            }
            Event::Ping(_) | Event::Pong(_) => {}
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(streaming.is_none(), "unfinished streamed message");
    out
}

fn expected(messages: &[Message]) -> Vec<(DataKind, Vec<u8>)> {
    messages
        .iter()
        .map(|m| (m.kind, m.payload.clone()))
        .collect()
}

fn run_direction(
    from: Role,
    messages: &[Message],
    cuts: &[usize],
    streaming: bool,
    seed: u64,
) -> Result<(), TestCaseError> {
    let now = Duration::ZERO;
    let mut config = Config::default();
    config.streaming = streaming;
    let (mut sender, mut receiver) = match from {
        Role::Client => (
            Connection::with_entropy(
                Role::Client,
                Config::default(),
                now,
                Box::new(SeededEntropy::new(seed)),
            ),
            Connection::server(config, now),
        ),
        Role::Server => (
            Connection::server(Config::default(), now),
            Connection::with_entropy(
                Role::Client,
                config,
                now,
                Box::new(SeededEntropy::new(seed)),
            ),
        ),
    };
    for message in messages {
        send(&mut sender, message);
    }
    let wire = take_output(&mut sender);
    // Every frame on the wire is well formed and masked by role.
    for frame in common::decode_frames(&wire) {
        prop_assert_eq!(frame.masked, from == Role::Client);
        prop_assert_eq!(frame.rsv, 0);
    }
    let events = deliver_split(&mut receiver, &wire, cuts);
    prop_assert_eq!(messages_of(events), expected(messages));
    prop_assert_eq!(receiver.state(), State::Open);
    prop_assert!(!receiver.has_buffered_event());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 1 } else { 64 }, ..ProptestConfig::default() })]

    #[test]
    fn client_to_server_round_trips_under_any_split(
        messages in proptest::collection::vec(any_message(), 0..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
        streaming in any::<bool>(),
        seed in any::<u64>(),
    ) {
        run_direction(Role::Client, &messages, &cuts, streaming, seed)?;
    }

    #[test]
    fn server_to_client_round_trips_under_any_split(
        messages in proptest::collection::vec(any_message(), 0..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
        streaming in any::<bool>(),
    ) {
        run_direction(Role::Server, &messages, &cuts, streaming, 3)?;
    }

    #[test]
    fn one_byte_at_a_time_gives_the_same_messages(messages in proptest::collection::vec(any_message(), 0..3)) {
        let mut client = Connection::with_entropy(Role::Client, Config::default(), Duration::ZERO, Box::new(SeededEntropy::new(9)));
        let mut server = Connection::server(Config::default(), Duration::ZERO);
        for message in &messages {
            send(&mut client, message);
        }
        let wire = take_output(&mut client);
        let cuts: Vec<usize> = (0..wire.len()).collect();
        prop_assert_eq!(messages_of(deliver_split(&mut server, &wire, &cuts)), expected(&messages));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_failures_send_their_code(
        input in proptest::collection::vec(any::<u8>(), 0..512),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        as_server in any::<bool>(),
    ) {
        let mut conn = if as_server {
            Connection::server(Config::default(), Duration::ZERO)
        } else {
            Connection::with_entropy(Role::Client, Config::default(), Duration::ZERO, Box::new(SeededEntropy::new(1)))
        };
        let events = deliver_split(&mut conn, &input, &cuts);
        let wire = take_output(&mut conn);
        let frames = common::decode_frames(&wire);
        if let Some(Event::Failed(error)) = events.last() {
            prop_assert_eq!(conn.state(), State::Closed);
            let close = frames.last().expect("a close frame");
            prop_assert_eq!(close.opcode, 0x8);
            prop_assert_eq!(u16::from_be_bytes([close.payload[0], close.payload[1]]), error.wire_code().unwrap().get());
        }
        // Never a data frame after a close frame.
        if let Some(at) = frames.iter().position(|f| f.opcode == 0x8) {
            prop_assert_eq!(at, frames.len() - 1);
        }
    }

    #[test]
    fn random_exchanges_end_closed_with_the_initiators_code(
        ops in proptest::collection::vec((any::<bool>(), 0u8..4, any_message()), 0..20),
        closer_is_client in any::<bool>(),
        code in prop_oneof![Just(1000u16), Just(1001), 3000u16..5000],
    ) {
        let mut pair = Pair::with_configs(Config::default(), Config::default(), 5);
        let mut sent_by_client = Vec::new();
        let mut sent_by_server = Vec::new();
        for (from_client, op, message) in &ops {
            let (conn, log) = if *from_client {
                (&mut pair.client, &mut sent_by_client)
            } else {
                (&mut pair.server, &mut sent_by_server)
            };
            match op {
                0 | 1 => {
                    send(conn, message);
                    log.push((message.kind, message.payload.clone()));
                }
                2 => conn.ping(Bytes::from_static(b"p")).unwrap(),
                _ => pair.drive(),
            }
        }
        let code = CloseCode::new(code).unwrap();
        if closer_is_client {
            pair.client.close(pair.now, code, "done").unwrap();
        } else {
            pair.server.close(pair.now, code, "done").unwrap();
        }
        pair.drive();
        prop_assert!(pair.both_closed());
        for conn in [&pair.client, &pair.server] {
            let status = conn.close_status().unwrap();
            prop_assert_eq!((status.code, status.was_clean), (code.get(), true));
        }
        let received_by_server: Vec<Event> = pair.server_events.drain(..).filter(|e| !matches!(e, Event::Close(_))).collect();
        let received_by_client: Vec<Event> = pair.client_events.drain(..).filter(|e| !matches!(e, Event::Close(_))).collect();
        prop_assert_eq!(messages_of(received_by_server), sent_by_client);
        prop_assert_eq!(messages_of(received_by_client), sent_by_server);
        prop_assert!(pair.client.poll_transmit().is_none() && pair.server.poll_transmit().is_none());
    }
}

/// One frame as a hostile or careless peer might send it: any opcode
/// (reserved ones now and then), FIN and RSV as they come, masked or not,
/// text that may be invalid UTF-8, lengths on both sides of the limits below.
fn any_raw_frame() -> impl Strategy<Value = Vec<u8>> {
    let opcode = prop_oneof![
        8 => prop_oneof![Just(0x1u8), Just(0x2)],
        2 => Just(0x0u8),
        2 => prop_oneof![Just(0x8u8), Just(0x9), Just(0xa)],
        1 => prop_oneof![Just(0x3u8), Just(0xb)],
    ];
    let payload = prop_oneof![
        "\\PC{0,60}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..300),
    ];
    (
        opcode,
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.05),
        prop::bool::weighted(0.95),
        any::<[u8; 4]>(),
        payload,
    )
        .prop_map(|(opcode, fin, rsv1, masked, key, payload)| {
            let first = opcode | if fin { 0x80 } else { 0 } | if rsv1 { 0x40 } else { 0 };
            common::raw_frame(first, masked.then_some(key), &payload)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 1 } else { 256 }, ..ProptestConfig::default() })]

    /// A whole frame that has fully arrived takes a shorter way through the
    /// engine than one arriving in pieces. Both must give the same events,
    /// the same failure and the same bytes back, rule-breaking input included.
    #[test]
    fn frames_delivered_whole_or_byte_by_byte_give_the_same_outcome(
        frames in proptest::collection::vec(any_raw_frame(), 1..8),
    ) {
        let wire: Vec<u8> = frames.concat();
        let mut config = Config::default();
        config.max_frame_size = 200;
        config.max_message_size = 250;
        let outcome = |cuts: &[usize]| {
            let mut server = Connection::server(config.clone(), Duration::ZERO);
            let events = deliver_split(&mut server, &wire, cuts);
            (events, take_output(&mut server), server.state())
        };
        let whole = outcome(&[]);
        let bytewise = outcome(&(0..wire.len()).collect::<Vec<_>>());
        prop_assert_eq!(whole, bytewise);
    }
}
