//! A server with permessage-deflate negotiated, fed arbitrary bytes as the
//! payload of compressed messages (twice, so the second message inflates
//! against the first one's window), whole or split into two frames, in
//! whole-message or streaming mode. The engine must never panic, never hand
//! out more than the message-size limit, and fail with a proper close code
//! on corrupt or oversized data.
#![no_main]

use core::time::Duration;

use libfuzzer_sys::fuzz_target;
use sockeye::deflate::DeflateParams;
use sockeye::{Config, Connection, Event, ProtocolError};

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

fuzz_target!(|data: &[u8]| {
    let Some((&control, payload)) = data.split_first() else {
        return;
    };
    let mut config = Config::default();
    config.max_message_size = LIMIT;
    config.streaming = control & 1 != 0;
    let mut server = Connection::server(config, Duration::ZERO);
    server.enable_deflate(DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: control & 2 != 0,
        server_max_window_bits: 15,
        client_max_window_bits: 8 + (control >> 4) % 8,
    });
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
    server.receive(&wire);

    let mut streamed = 0u64;
    while let Some(event) = server.poll_event() {
        match event {
            Event::Text(text) => assert!(text.len() as u64 <= LIMIT),
            Event::Binary(data) => assert!(data.len() as u64 <= LIMIT),
            Event::Fragment(piece) => {
                streamed += piece.payload.len() as u64;
                assert!(streamed <= LIMIT);
                if piece.is_last {
                    streamed = 0;
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
                let code = error.close_code().get();
                assert!(code == 1007 || code == 1009, "{code}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
});
