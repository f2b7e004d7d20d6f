//! One row per RFC 6455 rule: raw bytes in, events and the close code on the
//! wire out.

mod common;

use bytes::Bytes;
use common::{client_frame, close_code_on_wire, decode_frames, raw_frame};
use core::time::Duration;
use sockeye::testing::take_output;
use sockeye::{CloseCode, Config, Connection, Event, ProtocolError, Role, State};

const FIN: u8 = 0x80;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONT: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

fn server_with(config: Config) -> Connection {
    Connection::server(config, Duration::ZERO)
}

fn client() -> Connection {
    Connection::new(Role::Client, Config::default(), Duration::ZERO)
}

fn events(conn: &mut Connection, input: &[u8]) -> Vec<Event> {
    conn.receive(Duration::ZERO, input);
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// Feed `input` to a fresh server and expect it to fail with `error`,
/// answering with a close frame carrying `code`.
fn assert_server_fails(input: &[u8], error: ProtocolError, code: u16) {
    assert_fails(&mut server_with(Config::default()), input, error, code);
}

fn assert_fails(conn: &mut Connection, input: &[u8], error: ProtocolError, code: u16) {
    let events = events(conn, input);
    assert_eq!(
        events.last(),
        Some(&Event::Failed(error)),
        "events: {events:?}"
    );
    assert_eq!(error.wire_code().map(|wire| wire.get()), Some(code));
    assert_eq!(conn.state(), State::Closed);
    let wire = take_output(conn);
    assert_eq!(close_code_on_wire(&wire), Some(code), "wire: {wire:x?}");
    let status = conn
        .close_status()
        .expect("closed connections report a status");
    assert_eq!((status.code, status.was_clean), (code, false));
}

#[test]
fn accepts_masked_text_from_client() {
    let mut server = server_with(Config::default());
    let events = events(&mut server, &client_frame(FIN | TEXT, b"Hello"));
    assert_eq!(events, [Event::Text("Hello".into())]);
}

#[test]
fn rejects_unmasked_frame_from_client_with_1002() {
    assert_server_fails(
        &raw_frame(FIN | TEXT, None, b"Hello"),
        ProtocolError::UnmaskedFrame,
        1002,
    );
}

#[test]
fn rejects_masked_frame_from_server_with_1002() {
    let mut client = client();
    let input = raw_frame(FIN | TEXT, Some([1, 2, 3, 4]), b"Hello");
    let events = events(&mut client, &input);
    assert_eq!(
        events.last(),
        Some(&Event::Failed(ProtocolError::MaskedFrame))
    );
    // The client's own close frame is masked (RFC 6455 §5.1), even when it
    // answers a server that broke that rule.
    let wire = take_output(&mut client);
    assert_eq!(wire[0], FIN | CLOSE, "wire: {wire:x?}");
    assert_ne!(wire[1] & 0x80, 0, "mask bit clear: {wire:x?}");
    let frames = decode_frames(&wire);
    assert_eq!(frames.len(), 1, "{frames:?}");
    let mut expected = 1002u16.to_be_bytes().to_vec();
    expected.extend_from_slice(ProtocolError::MaskedFrame.to_string().as_bytes());
    assert_eq!(frames[0].payload, expected);
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn client_accepts_unmasked_server_frame() {
    let mut client = client();
    assert_eq!(
        events(&mut client, &raw_frame(FIN | BINARY, None, &[1, 2, 3])),
        [Event::Binary(Bytes::from_static(&[1, 2, 3]))]
    );
}

#[test]
fn rejects_reserved_opcodes_with_1002() {
    for opcode in [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        assert_server_fails(
            &client_frame(FIN | opcode, b""),
            ProtocolError::ReservedOpcode(opcode),
            1002,
        );
    }
}

#[test]
fn rejects_reserved_bits_without_extension_with_1002() {
    for rsv in [0x40u8, 0x20, 0x10, 0x70] {
        assert_server_fails(
            &client_frame(FIN | rsv | TEXT, b"x"),
            ProtocolError::ReservedBitsSet(rsv >> 4),
            1002,
        );
    }
}

#[test]
fn rejects_control_frame_over_125_bytes_with_1002() {
    assert_server_fails(
        &client_frame(FIN | PING, &[0; 126]),
        ProtocolError::ControlFrameTooLong,
        1002,
    );
}

#[test]
fn rejects_fragmented_control_frame_with_1002() {
    assert_server_fails(
        &client_frame(PING, b"x"),
        ProtocolError::FragmentedControlFrame,
        1002,
    );
}

#[test]
fn rejects_continuation_without_message_with_1002() {
    assert_server_fails(
        &client_frame(FIN | CONT, b"x"),
        ProtocolError::UnexpectedContinuation,
        1002,
    );
}

#[test]
fn rejects_new_message_inside_fragmented_message_with_1002() {
    let mut input = client_frame(TEXT, b"a");
    input.extend(client_frame(FIN | TEXT, b"b"));
    assert_server_fails(&input, ProtocolError::ExpectedContinuation, 1002);
}

#[test]
fn rejects_top_bit_of_64_bit_length_with_1002() {
    let input = [0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
    assert_server_fails(&input, ProtocolError::PayloadLengthOverflow, 1002);
}

#[test]
fn rejects_invalid_utf8_text_with_1007() {
    assert_server_fails(
        &client_frame(
            FIN | TEXT,
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80",
        ),
        ProtocolError::InvalidUtf8,
        1007,
    );
}

#[test]
fn rejects_text_ending_inside_a_code_point_with_1007() {
    assert_server_fails(
        &client_frame(FIN | TEXT, b"ok\xe2\x82"),
        ProtocolError::InvalidUtf8,
        1007,
    );
}

#[test]
fn fails_fast_on_invalid_utf8_in_an_early_fragment() {
    // The second fragment is already impossible; the third never arrives.
    let mut server = server_with(Config::default());
    let mut input = client_frame(TEXT, b"valid ");
    input.extend(client_frame(CONT, b"\xf4\x90\x80\x80"));
    assert_fails(&mut server, &input, ProtocolError::InvalidUtf8, 1007);
}

#[test]
fn fails_fast_on_invalid_utf8_inside_a_partial_frame() {
    // Only the first bytes of a long text frame have arrived, and they are invalid.
    let frame = client_frame(FIN | TEXT, &[b"ok \xc0".as_slice(), &[b'a'; 1000]].concat());
    let mut server = server_with(Config::default());
    assert_fails(&mut server, &frame[..20], ProtocolError::InvalidUtf8, 1007);
}

#[test]
fn accepts_utf8_code_point_split_across_fragments() {
    let mut server = server_with(Config::default());
    let mut input = client_frame(TEXT, b"\xe2\x82");
    input.extend(client_frame(FIN | CONT, b"\xac"));
    assert_eq!(events(&mut server, &input), [Event::Text("€".into())]);
}

#[test]
fn rejects_one_byte_close_payload_with_1002() {
    assert_server_fails(
        &client_frame(FIN | CLOSE, &[0x03]),
        ProtocolError::CloseFrameTooShort,
        1002,
    );
}

#[test]
fn rejects_close_codes_not_allowed_on_the_wire_with_1002() {
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        assert_server_fails(
            &client_frame(FIN | CLOSE, &code.to_be_bytes()),
            ProtocolError::InvalidCloseCode(code),
            1002,
        );
    }
}

#[test]
fn rejects_close_reason_that_is_not_utf8_with_1007() {
    assert_server_fails(
        &client_frame(FIN | CLOSE, b"\x03\xe8\xff\xfe"),
        ProtocolError::InvalidUtf8,
        1007,
    );
}

#[test]
fn echoes_valid_close_codes_and_closes_cleanly() {
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
        4000, 4999,
    ] {
        let mut server = server_with(Config::default());
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(b"reason");
        let events = events(&mut server, &client_frame(FIN | CLOSE, &payload));
        let expected = sockeye::CloseFrame::new(CloseCode::new(code).unwrap(), "reason").unwrap();
        assert_eq!(events, [Event::Close(Some(expected))]);
        assert_eq!(server.state(), State::Closed);
        assert_eq!(close_code_on_wire(&take_output(&mut server)), Some(code));
        let status = server.close_status().unwrap();
        assert_eq!(
            (status.code, status.reason.as_str(), status.was_clean),
            (code, "reason", true)
        );
    }
}

#[test]
fn empty_close_is_reported_as_1005_and_answered_with_empty_close() {
    let mut server = server_with(Config::default());
    assert_eq!(
        events(&mut server, &client_frame(FIN | CLOSE, b"")),
        [Event::Close(None)]
    );
    let wire = decode_frames(&take_output(&mut server));
    assert_eq!((wire[0].opcode, wire[0].payload.len()), (0x8, 0));
    assert_eq!(server.close_status().unwrap().code, 1005);
}

#[test]
fn ignores_frames_after_close() {
    let mut server = server_with(Config::default());
    let mut input = client_frame(FIN | CLOSE, &1000u16.to_be_bytes());
    input.extend(client_frame(FIN | TEXT, b"late"));
    let events = events(&mut server, &input);
    assert_eq!(events.len(), 1);
    server.receive(Duration::ZERO, &client_frame(FIN | TEXT, b"later"));
    assert_eq!(server.poll_event(), None);
}

#[test]
fn answers_ping_with_pong_carrying_the_same_payload() {
    let mut server = server_with(Config::default());
    assert_eq!(
        events(&mut server, &client_frame(FIN | PING, b"Hello")),
        [Event::Ping(Bytes::from_static(b"Hello"))]
    );
    let wire = decode_frames(&take_output(&mut server));
    assert_eq!(wire.len(), 1);
    assert_eq!(
        (wire[0].opcode, wire[0].masked, wire[0].payload.as_slice()),
        (PONG, false, b"Hello".as_slice())
    );
}

#[test]
fn auto_pong_can_be_disabled() {
    let mut config = Config::default();
    config.auto_pong = false;
    let mut server = server_with(config);
    assert_eq!(
        events(&mut server, &client_frame(FIN | PING, b"x")).len(),
        1
    );
    assert!(server.poll_transmit().is_none());
}

#[test]
fn reports_pongs() {
    let mut server = server_with(Config::default());
    assert_eq!(
        events(&mut server, &client_frame(FIN | PONG, b"hb")),
        [Event::Pong(Bytes::from_static(b"hb"))]
    );
}

#[test]
fn control_frames_may_interleave_a_fragmented_message() {
    let mut server = server_with(Config::default());
    let mut input = client_frame(TEXT, b"Hel");
    input.extend(client_frame(FIN | PING, b"p"));
    input.extend(client_frame(FIN | CONT, b"lo"));
    assert_eq!(
        events(&mut server, &input),
        [
            Event::Ping(Bytes::from_static(b"p")),
            Event::Text("Hello".into())
        ]
    );
}

#[test]
fn rejects_frame_over_size_limit_from_header_alone_with_1009() {
    let mut config = Config::default();
    config.max_frame_size = 1000;
    let mut server = server_with(config);
    // Only the header of a 1001-byte frame: the limit is enforced before any payload.
    let header = &client_frame(FIN | BINARY, &[0; 1001])[..8];
    assert_fails(&mut server, header, ProtocolError::FrameTooLarge, 1009);
}

#[test]
fn rejects_message_over_size_limit_across_fragments_with_1009() {
    let mut config = Config::default();
    config.max_message_size = 10;
    let mut server = server_with(config);
    let mut input = client_frame(BINARY, &[0; 6]);
    input.extend(client_frame(FIN | CONT, &[0; 6]));
    assert_fails(&mut server, &input, ProtocolError::MessageTooLarge, 1009);
}

#[test]
fn rejects_too_many_fragments_with_1009() {
    let mut config = Config::default();
    config.max_fragments = 3;
    let mut server = server_with(config);
    let mut input = client_frame(BINARY, b"a");
    input.extend(client_frame(CONT, b"b"));
    input.extend(client_frame(CONT, b"c"));
    input.extend(client_frame(FIN | CONT, b"d"));
    assert_fails(&mut server, &input, ProtocolError::TooManyFragments, 1009);
}

#[test]
fn rejects_non_minimal_length_with_1002() {
    let input = [0x82, 0xfe, 0x00, 0x05, 1, 2, 3, 4, 0, 0, 0, 0, 0];
    assert_server_fails(&input, ProtocolError::NonMinimalLength, 1002);
}

#[test]
fn eof_mid_frame_is_an_abnormal_closure_without_close_frame() {
    let mut server = server_with(Config::default());
    server.receive(Duration::ZERO, &client_frame(FIN | TEXT, b"Hello")[..4]);
    server.receive_eof(Duration::ZERO);
    assert_eq!(
        server.poll_event(),
        Some(Event::Failed(ProtocolError::UnexpectedEof))
    );
    assert!(server.poll_transmit().is_none());
    let status = server.close_status().unwrap();
    assert_eq!((status.code, status.was_clean), (1006, false));
}

#[test]
fn eof_after_complete_close_frame_still_reports_the_close() {
    let mut server = server_with(Config::default());
    server.receive(
        Duration::ZERO,
        &client_frame(FIN | CLOSE, &1001u16.to_be_bytes()),
    );
    server.receive_eof(Duration::ZERO);
    assert!(
        matches!(server.poll_event(), Some(Event::Close(Some(frame))) if frame.code == CloseCode::GOING_AWAY)
    );
    assert_eq!(server.poll_event(), None);
}

#[test]
fn rfc_5_7_frames_decode_to_their_messages() {
    let mut client = client();
    let unmasked_hello = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let fragmented = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    assert_eq!(
        events(&mut client, &unmasked_hello),
        [Event::Text("Hello".into())]
    );
    assert_eq!(
        events(&mut client, &fragmented),
        [Event::Text("Hello".into())]
    );
    assert_eq!(
        events(&mut client, &ping),
        [Event::Ping(Bytes::from_static(b"Hello"))]
    );
    let mut big = vec![0x82, 0x7e, 0x01, 0x00];
    big.extend([7u8; 256]);
    assert_eq!(
        events(&mut client, &big),
        [Event::Binary(Bytes::from(vec![7u8; 256]))]
    );
    let mut huge = vec![0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0];
    huge.extend(vec![9u8; 65536]);
    assert_eq!(
        events(&mut client, &huge),
        [Event::Binary(Bytes::from(vec![9u8; 65536]))]
    );

    let mut server = server_with(Config::default());
    let masked_hello = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(
        events(&mut server, &masked_hello),
        [Event::Text("Hello".into())]
    );
}

#[test]
fn server_output_matches_rfc_5_7_encodings() {
    let mut server = server_with(Config::default());
    server.send_text("Hello").unwrap();
    server.ping("Hello").unwrap();
    server.send_binary(vec![0u8; 256]).unwrap();
    let wire = take_output(&mut server);
    assert_eq!(&wire[..7], [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(&wire[7..14], [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(&wire[14..18], [0x82, 0x7e, 0x01, 0x00]);
    assert_eq!(wire.len(), 18 + 256);
}

#[test]
fn client_output_is_masked_with_fresh_keys() {
    // RFC 6455 §5.3: a fresh key per frame, which a source of constant bytes
    // would fail. Several frames, so that two random keys colliding by
    // chance (one in 2^32 per pair) cannot pass for reuse.
    let mut client = client();
    for _ in 0..4 {
        client.send_text("Hello").unwrap();
    }
    let frames = decode_frames(&take_output(&mut client));
    assert_eq!(frames.len(), 4);
    assert!(frames.iter().all(|f| f.masked && f.payload == b"Hello"));
    let keys: Vec<[u8; 4]> = frames.iter().map(|f| f.key.unwrap()).collect();
    let distinct: std::collections::BTreeSet<_> = keys.iter().collect();
    assert!(
        distinct.len() > 1,
        "every frame used the key {:x?}",
        keys[0]
    );
}

#[test]
fn api_misuse_is_a_typed_error_that_changes_nothing() {
    let mut server = server_with(Config::default());
    assert_eq!(
        server.ping(vec![0u8; 126]),
        Err(sockeye::SendError::ControlPayloadTooLong { len: 126 })
    );
    let long = "x".repeat(124);
    assert_eq!(
        server.close(Duration::ZERO, CloseCode::NORMAL, &long),
        Err(sockeye::SendError::ReasonTooLong { len: 124 })
    );
    assert_eq!(server.state(), State::Open);
    assert_eq!(server.buffered_amount(), 0);
    server.close(Duration::ZERO, CloseCode::NORMAL, "").unwrap();
    assert_eq!(
        server.send_text("after close"),
        Err(sockeye::SendError::Closed)
    );
    assert_eq!(
        server.close(Duration::ZERO, CloseCode::NORMAL, ""),
        Err(sockeye::SendError::Closed)
    );
    assert_eq!(decode_frames(&take_output(&mut server)).len(), 1);
}

#[test]
fn streaming_mode_hands_out_pieces_as_they_arrive() {
    let mut config = Config::default();
    config.streaming = true;
    let mut server = server_with(config);
    let frame = client_frame(FIN | BINARY, &[5u8; 1000]);
    server.receive(Duration::ZERO, &frame[..500]);
    let first = server.poll_event();
    assert!(
        matches!(&first, Some(Event::Fragment(f)) if f.is_first && !f.is_last && f.payload.len() == 500 - 8)
    );
    assert_eq!(server.poll_event(), None);
    server.receive(Duration::ZERO, &frame[500..]);
    let rest = server.poll_event();
    assert!(
        matches!(&rest, Some(Event::Fragment(f)) if !f.is_first && f.is_last && f.payload.iter().all(|&b| b == 5))
    );
}

#[test]
fn buffered_amount_and_high_water_mark() {
    let mut config = Config::default();
    config.write_high_water_mark = 100;
    let mut server = server_with(config);
    server.send_binary(vec![0u8; 60]).unwrap();
    assert_eq!(server.buffered_amount(), 62);
    assert!(!server.is_write_blocked());
    server.send_binary(vec![0u8; 60]).unwrap();
    assert!(server.is_write_blocked());
    let n = server.buffered_amount();
    server.transmit().written(n);
    assert_eq!(server.buffered_amount(), 0);
    assert!(!server.is_write_blocked());
}

/// Found by the fuzz targets: text sent in pieces was never validated, so an
/// application could put invalid UTF-8 on the wire.
#[test]
fn text_sent_in_pieces_is_validated_and_a_refused_piece_changes_nothing() {
    use sockeye::{DataKind, SendError};
    let mut server = server_with(Config::default());
    server
        .send_fragment(DataKind::Text, &b"caf\xc3"[..], false)
        .unwrap();
    assert_eq!(
        server.send_fragment(DataKind::Text, &b"\xff"[..], false),
        Err(SendError::InvalidUtf8)
    );
    assert_eq!(
        server.send_fragment(DataKind::Text, &b""[..], true),
        Err(SendError::InvalidUtf8),
        "ends inside a character"
    );
    server
        .send_fragment(DataKind::Text, &b"\xa9!"[..], true)
        .unwrap();
    let frames = decode_frames(&take_output(&mut server));
    let text: Vec<u8> = frames.iter().flat_map(|f| f.payload.clone()).collect();
    assert_eq!(String::from_utf8(text).unwrap(), "café!");
    assert_eq!(frames.len(), 2);
    // A new message starts from a clean validator.
    server.send_fragment(DataKind::Text, "ok", true).unwrap();
}
