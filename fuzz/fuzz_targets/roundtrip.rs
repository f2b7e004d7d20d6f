//! Messages of every shape sent by one engine and received by the other,
//! with the bytes between them cut at arbitrary points.
//!
//! Invariants: the receiver reports exactly the messages, pings and pongs
//! that were sent, in order and byte for byte (whole-message or streaming
//! mode, with or without send-side frame splitting, control frames between
//! fragments); auto-pong answers every ping; a closing handshake started by
//! either side delivers the code and reason and leaves both ends closed
//! cleanly. Both directions are exercised.
#![no_main]

use core::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sockeye::connection::Fragment;
use sockeye::testing::Pair;
use sockeye::{CloseCode, Config, Connection, DataKind, Event, State};

#[derive(Arbitrary, Debug)]
enum Message {
    Text(String),
    Binary(Vec<u8>),
    /// A message sent in pieces cut at these byte lengths, with a ping
    /// (payload `ping`) sent after the first piece if given.
    Pieces {
        text: bool,
        body: String,
        cuts: Vec<u8>,
        ping: Option<Vec<u8>>,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    seed: u64,
    client_max_send_frame: Option<u8>,
    server_max_send_frame: Option<u8>,
    client_streaming: bool,
    server_streaming: bool,
    to_server: Vec<Message>,
    to_client: Vec<Message>,
    /// Chunk lengths for the transfers (cycled).
    chunks: Vec<u16>,
    /// Close code, reason and which side starts the closing handshake.
    close: Option<(u16, String, bool)>,
}

/// What a receiver reports, with streamed pieces joined into messages.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Got {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<(u16, String)>),
}

fn control_payload(mut payload: Vec<u8>) -> Vec<u8> {
    payload.truncate(125);
    payload
}

/// Queue `messages` on `sender`; returns what the receiver should report.
fn send_all(sender: &mut Connection, messages: Vec<Message>) -> (Vec<Got>, Vec<Vec<u8>>) {
    let mut expected = Vec::new();
    let mut pings = Vec::new();
    for message in messages.into_iter().take(64) {
        match message {
            Message::Text(text) => {
                expected.push(Got::Text(text.as_bytes().to_vec()));
                sender.send_text(text).expect("send_text");
            }
            Message::Binary(data) => {
                expected.push(Got::Binary(data.clone()));
                sender.send_binary(data).expect("send_binary");
            }
            Message::Pieces {
                text,
                body,
                cuts,
                ping,
            } => {
                let kind = if text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                let bytes = body.as_bytes();
                let ping = ping.map(control_payload);
                let cuts: Vec<u8> = cuts.into_iter().take(16).collect();
                // The ping goes after the first piece when there are several,
                // after the whole message otherwise; the receiver reports a
                // message when its last piece arrives.
                let ping_inside = !cuts.is_empty();
                let mut at = 0;
                for (i, cut) in cuts.iter().enumerate() {
                    let end = (at + usize::from(*cut)).min(bytes.len());
                    sender
                        .send_fragment(kind, bytes[at..end].to_vec(), false)
                        .expect("send_fragment");
                    at = end;
                    if i == 0 {
                        if let Some(payload) = &ping {
                            sender.ping(payload.clone()).expect("ping between pieces");
                            expected.push(Got::Ping(payload.clone()));
                            pings.push(payload.clone());
                        }
                    }
                }
                sender
                    .send_fragment(kind, bytes[at..].to_vec(), true)
                    .expect("last fragment");
                let body = bytes.to_vec();
                expected.push(if text {
                    Got::Text(body)
                } else {
                    Got::Binary(body)
                });
                if let (Some(payload), false) = (ping, ping_inside) {
                    sender.ping(payload.clone()).expect("ping");
                    expected.push(Got::Ping(payload.clone()));
                    pings.push(payload);
                }
            }
            Message::Ping(payload) => {
                let payload = control_payload(payload);
                sender.ping(payload.clone()).expect("ping");
                expected.push(Got::Ping(payload.clone()));
                pings.push(payload);
            }
            Message::Pong(payload) => {
                let payload = control_payload(payload);
                sender.pong(payload.clone()).expect("pong");
                expected.push(Got::Pong(payload));
            }
        }
    }
    (expected, pings)
}

struct Receiver {
    got: Vec<Got>,
    streamed: Option<(DataKind, Vec<u8>)>,
}

impl Receiver {
    fn new() -> Self {
        Self {
            got: Vec::new(),
            streamed: None,
        }
    }

    fn poll(&mut self, conn: &mut Connection) {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Text(text) => self.got.push(Got::Text(text.as_bytes().to_vec())),
                Event::Binary(data) => self.got.push(Got::Binary(data.to_vec())),
                Event::Ping(payload) => self.got.push(Got::Ping(payload.to_vec())),
                Event::Pong(payload) => self.got.push(Got::Pong(payload.to_vec())),
                Event::Close(frame) => self
                    .got
                    .push(Got::Close(frame.map(|f| (f.code.get(), f.reason)))),
                Event::Fragment(Fragment {
                    kind,
                    payload,
                    is_first,
                    is_last,
                }) => {
                    if is_first {
                        assert!(self.streamed.is_none(), "is_first inside a message");
                        self.streamed = Some((kind, Vec::new()));
                    }
                    let (current, so_far) = self.streamed.as_mut().expect("piece without is_first");
                    assert_eq!(*current, kind);
                    so_far.extend_from_slice(&payload);
                    if is_last {
                        let (kind, whole) = self.streamed.take().unwrap_or((kind, Vec::new()));
                        self.got.push(match kind {
                            DataKind::Text => {
                                assert!(std::str::from_utf8(&whole).is_ok());
                                Got::Text(whole)
                            }
                            DataKind::Binary => Got::Binary(whole),
                        });
                    }
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
}

/// Move everything queued on `from` into `to` in chunks, polling `to`
/// after each; returns the number of bytes moved.
fn transfer(
    from: &mut Connection,
    to: &mut Connection,
    rx: &mut Receiver,
    chunks: &[u16],
    turn: &mut usize,
) -> usize {
    let mut bytes = Vec::new();
    while let Some(run) = from.poll_transmit() {
        bytes.extend_from_slice(&run);
    }
    let mut at = 0;
    while at < bytes.len() {
        let len = chunks
            .get(*turn % chunks.len().max(1))
            .map_or(bytes.len(), |&c| usize::from(c) % 512 + 1);
        *turn += 1;
        let end = (at + len).min(bytes.len());
        to.receive(Duration::ZERO, &bytes[at..end]);
        rx.poll(to);
        at = end;
    }
    rx.poll(to);
    bytes.len()
}

fn config(max_send_frame: Option<u8>, streaming: bool) -> Config {
    let mut config = Config::default();
    config.max_send_frame_size = max_send_frame.map(usize::from);
    config.streaming = streaming;
    config
}

fn pongs(pings: Vec<Vec<u8>>) -> Vec<Got> {
    pings.into_iter().map(Got::Pong).collect()
}

fuzz_target!(|input: Input| {
    let mut pair = Pair::with_configs(
        config(input.client_max_send_frame, input.client_streaming),
        config(input.server_max_send_frame, input.server_streaming),
        input.seed,
    );
    let mut at_server = Receiver::new();
    let mut at_client = Receiver::new();
    let mut turn = 0;
    let chunks = &input.chunks;

    // Client to server, then the server's automatic pongs back.
    let (expected, pings) = send_all(&mut pair.client, input.to_server);
    transfer(
        &mut pair.client,
        &mut pair.server,
        &mut at_server,
        chunks,
        &mut turn,
    );
    assert_eq!(at_server.got, expected, "server received");
    transfer(
        &mut pair.server,
        &mut pair.client,
        &mut at_client,
        chunks,
        &mut turn,
    );
    assert_eq!(at_client.got, pongs(pings), "client's pongs");
    at_server.got.clear();
    at_client.got.clear();

    // Server to client, then the client's automatic pongs back.
    let (expected, pings) = send_all(&mut pair.server, input.to_client);
    transfer(
        &mut pair.server,
        &mut pair.client,
        &mut at_client,
        chunks,
        &mut turn,
    );
    assert_eq!(at_client.got, expected, "client received");
    transfer(
        &mut pair.client,
        &mut pair.server,
        &mut at_server,
        chunks,
        &mut turn,
    );
    assert_eq!(at_server.got, pongs(pings), "server's pongs");
    at_server.got.clear();
    at_client.got.clear();

    // The closing handshake.
    let Some((code, mut reason, client_starts)) = input.close else {
        return;
    };
    let Some(code) = CloseCode::new(code) else {
        return;
    };
    while reason.len() > 123 {
        reason.pop();
    }
    let now = pair.now;
    let expected = vec![Got::Close(Some((code.get(), reason.clone())))];
    if client_starts {
        pair.client.close(now, code, &reason).expect("close");
        assert_eq!(pair.client.state(), State::Closing);
        transfer(
            &mut pair.client,
            &mut pair.server,
            &mut at_server,
            chunks,
            &mut turn,
        );
        transfer(
            &mut pair.server,
            &mut pair.client,
            &mut at_client,
            chunks,
            &mut turn,
        );
    } else {
        pair.server.close(now, code, &reason).expect("close");
        assert_eq!(pair.server.state(), State::Closing);
        transfer(
            &mut pair.server,
            &mut pair.client,
            &mut at_client,
            chunks,
            &mut turn,
        );
        transfer(
            &mut pair.client,
            &mut pair.server,
            &mut at_server,
            chunks,
            &mut turn,
        );
    }
    // The answering side echoes the code (RFC 6455 §5.5.1).
    assert_eq!(at_server.got, expected, "server's close event");
    assert_eq!(at_client.got, expected, "client's close event");
    assert!(pair.both_closed(), "both ends closed");
    for conn in [&pair.client, &pair.server] {
        let status = conn.close_status().expect("close status");
        assert!(status.was_clean, "closing handshake not clean: {status:?}");
        assert_eq!(status.code, code.get());
    }
});
