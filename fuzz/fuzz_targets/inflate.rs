//! A server with permessage-deflate negotiated, fed arbitrary bytes as the
//! payload of compressed messages (twice, so the second message inflates
//! against the first one's window), whole or split into two frames, once in
//! whole-message mode and once in streaming mode. The engine must never
//! panic, never hand out more than the message-size limit, fail with a
//! proper close code on corrupt or oversized data, and, streaming, hand out
//! the same messages in bounded pieces.
#![no_main]

use core::time::Duration;

use libfuzzer_sys::fuzz_target;
use sockeye::deflate::DeflateParams;
use sockeye::{Config, Connection, DataKind, Event, ProtocolError};

/// Small enough that a few KiB of fuzz input can inflate past it.
const LIMIT: u64 = 64 << 10;

/// A masked client frame with a zero mask key (the payload stays as given).
fn client_frame(out: &mut Vec<u8>, first: u8, payload: &[u8]) {
    out.push(first);
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(payload);
}

/// What a receiver made of the wire: the messages it completed (streamed
/// pieces joined) and whether it failed.
struct Outcome {
    messages: Vec<(bool, Vec<u8>)>,
    failed: bool,
}

fn run(config: Config, params: DeflateParams, wire: &[u8], step_cap: usize) -> Outcome {
    let mut server = Connection::server(config, Duration::ZERO);
    server.enable_deflate(params);
    server.receive(Duration::ZERO, wire);
    let mut outcome = Outcome {
        messages: Vec::new(),
        failed: false,
    };
    let mut streamed: Option<(bool, Vec<u8>)> = None;
    while let Some(event) = server.poll_event() {
        match event {
            Event::Text(text) => {
                assert!(text.len() as u64 <= LIMIT);
                outcome.messages.push((true, text.as_bytes().to_vec()));
            }
            Event::Binary(data) => {
                assert!(data.len() as u64 <= LIMIT);
                outcome.messages.push((false, data.to_vec()));
            }
            Event::Fragment(piece) => {
                // One step of streaming mode hands out a bounded piece.
                assert!(piece.payload.len() <= step_cap, "{}", piece.payload.len());
                let text = piece.kind == DataKind::Text;
                let message = streamed.get_or_insert_with(|| (text, Vec::new()));
                message.1.extend_from_slice(&piece.payload);
                assert!(message.1.len() as u64 <= LIMIT);
                if piece.is_last {
                    outcome.messages.extend(streamed.take());
                }
            }
            Event::Failed(error) => {
                assert!(
                    matches!(
                        error,
                        ProtocolError::MessageTooLarge
                            | ProtocolError::InvalidCompressedData
                            | ProtocolError::InvalidUtf8
                    ),
                    "{error:?}"
                );
                let code = error.reported_code();
                assert!(code == 1007 || code == 1009, "{code}");
                outcome.failed = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    outcome
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, payload)) = data.split_first() else {
        return;
    };
    let params = DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: control & 2 != 0,
        server_max_window_bits: 15,
        client_max_window_bits: 8 + (control >> 4) % 8,
    };
    let text = control & 8 != 0;
    let opcode = if text { 0x1 } else { 0x2 };
    let mut wire = Vec::new();
    for _ in 0..2 {
        if control & 4 != 0 {
            let (a, b) = payload.split_at(payload.len() / 2);
            client_frame(&mut wire, 0x40 | opcode, a);
            client_frame(&mut wire, 0x80, b);
        } else {
            client_frame(&mut wire, 0xc0 | opcode, payload);
        }
    }

    let mut config = Config::default();
    config.max_message_size = LIMIT;
    let whole = run(config.clone(), params, &wire, 0);
    // Streaming mode, with the frame limit just large enough for the frames
    // (and, with bit 0, a step cap that small too): it must hand out the
    // same messages in pieces no larger than that.
    config.streaming = true;
    let step_cap = if control & 1 != 0 {
        payload.len().max(1)
    } else {
        64 << 10
    };
    config.max_frame_size = step_cap as u64;
    let streamed = run(config, params, &wire, step_cap);
    assert_eq!(whole.failed, streamed.failed);
    assert!(whole.messages == streamed.messages);
});
