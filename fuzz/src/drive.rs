//! Drive one engine with arbitrary peer bytes and application calls, checking
//! its invariants after every step. Shared by `connection_server` and
//! `connection_client`.

use std::time::Duration;

use arbitrary::Arbitrary;
use sockeye::connection::Fragment;
use sockeye::frame::MAX_HEADER_LEN;
use sockeye::testing::SeededEntropy;
use sockeye::{
    CloseCode, Config, Connection, DataKind, Event, ProtocolError, Role, SendError, State,
};

use crate::wire::{RefEvent, Sender, WireChecker, close_code_allowed, encode_frame};

/// Limits kept small so that the fuzzer reaches them.
#[derive(Arbitrary, Debug)]
pub struct FuzzConfig {
    max_frame_size: u16,
    max_message_size: u16,
    max_fragments: u8,
    auto_pong: bool,
    streaming: bool,
    max_send_frame_size: Option<u8>,
    close_timeout_ms: Option<u16>,
    keepalive_ms: Option<u16>,
    pong_timeout_ms: u16,
    idle_ms: Option<u16>,
}

impl FuzzConfig {
    /// The engine configuration: frames up to 1 KiB, messages up to 4 KiB.
    pub fn to_config(&self) -> Config {
        let mut config = Config::default();
        config.max_frame_size = u64::from(self.max_frame_size % 1025);
        config.max_message_size = u64::from(self.max_message_size % 4097);
        config.max_fragments = usize::from(self.max_fragments % 17);
        config.auto_pong = self.auto_pong;
        config.streaming = self.streaming;
        config.max_send_frame_size = self.max_send_frame_size.map(usize::from);
        config.close_timeout = self.close_timeout_ms.map(ms);
        // A zero keepalive interval re-arms the keepalive at `now` on every
        // `handle_timeout` (see docs/security.md, Findings); keep it out so
        // the fuzzer can look elsewhere.
        config.keepalive_interval = self.keepalive_ms.map(|v| ms(v.max(1)));
        config.pong_timeout = ms(self.pong_timeout_ms);
        config.idle_timeout = self.idle_ms.map(ms);
        config
    }
}

fn ms(value: u16) -> Duration {
    Duration::from_millis(u64::from(value))
}

/// A frame as the peer would send it; masked by the peer's role unless
/// `wrong_masking` asks for the opposite.
#[derive(Arbitrary, Debug)]
pub struct PeerFrame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    key: [u8; 4],
    wrong_masking: bool,
    payload: Vec<u8>,
    /// Deliver the encoded frame in two pieces, cut here (modulo its length).
    cut: u16,
}

/// One step of a scenario.
#[derive(Arbitrary, Debug)]
pub enum Op {
    /// Raw bytes from the peer.
    Bytes(Vec<u8>),
    /// Raw bytes from the peer, read straight into the engine's buffer
    /// through `receive_with`, in at most two appends.
    ReadInto {
        bytes: Vec<u8>,
        cut: u16,
    },
    /// A frame from the peer.
    Frame(PeerFrame),
    /// A close frame from the peer with this code and reason.
    PeerClose(u16, String),
    /// The transport ended.
    Eof,
    /// Time passes.
    AdvanceMs(u16),
    /// Time passes to the engine's next deadline.
    AdvanceToTimeout,
    SendText(String),
    SendBinary(Vec<u8>),
    /// A piece of a text message: `text[..cut]` now, the rest kept for the
    /// next piece, so that the whole message stays UTF-8.
    SendTextFragment {
        text: String,
        cut: u8,
        last: bool,
    },
    SendBinaryFragment {
        data: Vec<u8>,
        last: bool,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, String),
    /// A close frame without a status code.
    CloseWithoutStatus,
    /// Let the engine drop empty buffers, as an adapter does when idle.
    ReleaseIdle,
    /// Write out at most this many queued bytes through `transmit_chunk`.
    TransmitSome(u16),
    /// Write out everything through `poll_transmit`.
    TransmitAll,
    /// Write out at most `limit` bytes gathered by `Transmit::chunks` into
    /// `slots` slots, as a vectored write would.
    TransmitVectored {
        slots: u8,
        limit: u16,
    },
}

/// A scenario for one engine.
#[derive(Arbitrary, Debug)]
pub struct Scenario {
    pub config: FuzzConfig,
    pub seed: u64,
    pub ops: Vec<Op>,
}

fn rank(state: State) -> u8 {
    match state {
        State::Connecting => 0,
        State::Open => 1,
        State::Closing => 2,
        State::Closed => 3,
    }
}

/// The harness: one engine, the checker of its output, and the facts the
/// invariants compare against.
struct Harness {
    conn: Connection,
    config: Config,
    role: Role,
    now: Duration,
    wire: WireChecker,
    /// The independent reading of what the peer sent.
    incoming: WireChecker,
    /// What the engine reported, in the reference's terms.
    reported: Vec<RefEvent>,
    state: State,
    /// The streamed message in progress: its kind and bytes so far.
    streamed: Option<(DataKind, Vec<u8>)>,
    terminal_event: Option<Event>,
    /// The tail of a text message being sent in pieces.
    text_carry: Vec<u8>,
    sending_kind: Option<DataKind>,
    /// Whether the connection failed because the transport went away (no close frame owed).
    transport_gone: bool,
    /// Whether `receive_eof` was called.
    eof_fed: bool,
    /// Whether `should_close_transport` has said yes.
    transport_closable: bool,
}

/// Run a scenario against an engine in `role`.
pub fn run(role: Role, scenario: Scenario) {
    let config = scenario.config.to_config();
    let conn = match role {
        Role::Server => Connection::server(config.clone(), Duration::ZERO),
        Role::Client => Connection::with_entropy(
            Role::Client,
            config.clone(),
            Duration::ZERO,
            Box::new(SeededEntropy::new(scenario.seed)),
        ),
    };
    let (sender, peer) = match role {
        Role::Client => (Sender::Client, Sender::Server),
        Role::Server => (Sender::Server, Sender::Client),
    };
    let mut h = Harness {
        state: conn.state(),
        conn,
        config,
        role,
        now: Duration::ZERO,
        wire: WireChecker::new(sender),
        incoming: WireChecker::incoming(peer),
        reported: Vec::new(),
        streamed: None,
        terminal_event: None,
        text_carry: Vec::new(),
        sending_kind: None,
        transport_gone: false,
        eof_fed: false,
        transport_closable: false,
    };
    assert_eq!(h.state, State::Open, "a new connection is open");
    for op in scenario.ops.into_iter().take(256) {
        h.apply(op);
        h.drain_events();
        h.check_state();
        h.check_against_reference();
    }
    h.transmit_all();
    h.check_state();
}

impl Harness {
    fn apply(&mut self, op: Op) {
        match op {
            Op::Bytes(bytes) => self.receive(&bytes),
            Op::ReadInto { bytes, cut } => {
                let cut = usize::from(cut) % (bytes.len() + 1);
                self.receive_into(&bytes, cut);
            }
            Op::Frame(frame) => {
                let peer_masks = self.role == Role::Server;
                let masked = peer_masks != frame.wrong_masking;
                let bytes = encode_frame(
                    frame.fin,
                    frame.rsv,
                    frame.opcode,
                    masked.then_some(frame.key),
                    &frame.payload,
                );
                let cut = usize::from(frame.cut) % (bytes.len() + 1);
                self.receive(&bytes[..cut]);
                self.drain_events();
                self.receive(&bytes[cut..]);
            }
            Op::PeerClose(code, reason) => {
                let mut payload = code.to_be_bytes().to_vec();
                payload.extend_from_slice(reason.as_bytes());
                payload.truncate(125);
                let mask = (self.role == Role::Server).then_some([1, 2, 3, 4]);
                self.receive(&encode_frame(true, 0, 0x8, mask, &payload));
            }
            Op::Eof => {
                self.eof_fed = true;
                self.conn.receive_eof(self.now);
            }
            Op::AdvanceMs(by) => self.advance_to(self.now + ms(by)),
            Op::AdvanceToTimeout => {
                if let Some(at) = self.conn.poll_timeout() {
                    self.advance_to(at.max(self.now));
                }
            }
            Op::SendText(text) => {
                let before = self.conn.state();
                let result = self.conn.send_text(text);
                self.check_send(before, &result, false);
            }
            Op::SendBinary(data) => {
                let before = self.conn.state();
                let result = self.conn.send_binary(data);
                self.check_send(before, &result, false);
            }
            Op::SendTextFragment { text, cut, last } => {
                let mut piece = std::mem::take(&mut self.text_carry);
                let carry_len = piece.len();
                let bytes = text.as_bytes();
                let cut = if last {
                    bytes.len()
                } else {
                    usize::from(cut).min(bytes.len())
                };
                piece.extend_from_slice(&bytes[..cut]);
                let before = self.conn.state();
                let result = self.conn.send_fragment(DataKind::Text, piece.clone(), last);
                self.check_send(before, &result, true);
                match result {
                    Ok(()) => {
                        self.sending_kind = (!last).then_some(DataKind::Text);
                        if !last {
                            self.text_carry = bytes[cut..].to_vec();
                        }
                    }
                    Err(_) => {
                        piece.truncate(carry_len);
                        self.text_carry = piece;
                    }
                }
            }
            Op::SendBinaryFragment { data, last } => {
                let before = self.conn.state();
                let result = self.conn.send_fragment(DataKind::Binary, data, last);
                self.check_send(before, &result, true);
                if result.is_ok() {
                    self.sending_kind = (!last).then_some(DataKind::Binary);
                }
            }
            Op::Ping(payload) => {
                let len = payload.len();
                let before = self.conn.state();
                let result = self.conn.ping(payload);
                self.check_control(before, len, &result);
            }
            Op::Pong(payload) => {
                let len = payload.len();
                let before = self.conn.state();
                let result = self.conn.pong(payload);
                self.check_control(before, len, &result);
            }
            Op::Close(code, reason) => {
                let before = self.conn.state();
                let Some(code) = CloseCode::new(code) else {
                    assert!(!close_code_allowed(code), "CloseCode::new refused {code}");
                    return;
                };
                let result = self.conn.close(self.now, code, &reason);
                match &result {
                    Ok(()) => {
                        assert_eq!(before, State::Open, "close accepted in {before:?}");
                        assert!(
                            reason.len() <= 123,
                            "close accepted a {}-byte reason",
                            reason.len()
                        );
                        assert_eq!(self.conn.state(), State::Closing);
                        self.sending_kind = None;
                        self.text_carry.clear();
                    }
                    Err(SendError::ReasonTooLong { len }) => assert!(*len > 123),
                    Err(SendError::Closed) => {
                        assert_ne!(before, State::Open, "close refused while open")
                    }
                    Err(other) => panic!("close failed with {other:?}"),
                }
            }
            Op::TransmitSome(limit) => {
                let before = self.conn.buffered_amount();
                let transmit = self.conn.transmit();
                assert_eq!(transmit.len(), before);
                let mut first: [&[u8]; 1] = [&[]];
                transmit.chunks(&mut first);
                let n = usize::from(limit).min(first[0].len());
                let taken = first[0][..n].to_vec();
                transmit.written(n);
                self.feed_wire(&taken);
                assert_eq!(self.conn.buffered_amount(), before - n, "written({n})");
            }
            Op::TransmitAll => {
                self.transmit_all();
            }
            Op::TransmitVectored { slots, limit } => self.transmit_vectored(slots, limit),
            Op::CloseWithoutStatus => {
                let before = self.conn.state();
                match self.conn.close_without_status(self.now) {
                    Ok(()) => {
                        assert_eq!(before, State::Open, "close accepted in {before:?}");
                        assert_eq!(self.conn.state(), State::Closing);
                        self.sending_kind = None;
                        self.text_carry.clear();
                    }
                    Err(SendError::Closed) => {
                        assert_ne!(before, State::Open, "close refused while open")
                    }
                    Err(other) => panic!("close without status failed with {other:?}"),
                }
            }
            Op::ReleaseIdle => {
                let queued = self.conn.buffered_amount();
                let received = self.conn.received_len();
                let pending = self.conn.has_buffered_event();
                self.conn.read_blocked();
                assert_eq!(self.conn.buffered_amount(), queued, "release lost output");
                assert_eq!(self.conn.received_len(), received, "release lost input");
                assert_eq!(self.conn.has_buffered_event(), pending);
            }
        }
    }

    /// `receive_with` as an adapter's read uses it: append in place.
    fn receive_into(&mut self, bytes: &[u8], cut: usize) {
        let closed_before = self.conn.state() == State::Closed;
        if !closed_before {
            let _ = self.incoming.feed(bytes);
        }
        let before = self.conn.received_len();
        let appended = self.conn.receive_with(self.now, |buf| {
            let start = buf.len();
            buf.extend_from_slice(&bytes[..cut]);
            buf.extend_from_slice(&bytes[cut..]);
            buf.len() - start
        });
        assert_eq!(appended, bytes.len());
        let len = self.conn.received_len();
        if closed_before {
            assert_eq!(len, 0, "a closed connection buffered input");
        } else {
            assert_eq!(len, before + bytes.len(), "receive_with lost bytes");
        }
    }

    /// A vectored write of at most `limit` bytes from `Transmit::chunks`.
    fn transmit_vectored(&mut self, slots: u8, limit: u16) {
        let mut runs: [&[u8]; 8] = [&[]; 8];
        let slots = usize::from(slots % 9);
        let transmit = self.conn.transmit();
        let filled = transmit.chunks(&mut runs[..slots]);
        assert!(filled <= slots);
        let runs = &runs[..filled];
        assert!(
            runs.iter().all(|run| !run.is_empty()),
            "empty run handed out"
        );
        let gathered: Vec<u8> = runs.concat();
        let before = transmit.len();
        assert!(gathered.len() <= before, "more runs than bytes queued");
        if slots > 0 && before > 0 {
            assert!(filled > 0, "queued bytes but no run handed out");
        }
        let n = usize::from(limit).min(gathered.len());
        transmit.written(n);
        self.feed_wire(&gathered[..n]);
        assert_eq!(self.conn.buffered_amount(), before - n);
    }

    fn receive(&mut self, bytes: &[u8]) {
        let closed_before = self.conn.state() == State::Closed;
        if !closed_before {
            // A violation is recorded inside the checker.
            let _ = self.incoming.feed(bytes);
        }
        self.conn.receive(self.now, bytes);
        let len = self.conn.received_len();
        if closed_before {
            assert_eq!(len, 0, "a closed connection buffered input");
        }
        let bound = self.receive_bound() + bytes.len();
        assert!(
            len <= bound,
            "received_len {len} > bound {bound} right after a receive"
        );
    }

    /// Most bytes the receive buffer may hold once events are drained: a
    /// frame's payload (data frames up to the limit, control frames up to
    /// 125 bytes) plus a header.
    fn receive_bound(&self) -> usize {
        let frame = usize::try_from(self.config.max_frame_size).unwrap_or(usize::MAX);
        frame.max(125) + MAX_HEADER_LEN
    }

    /// Move the clock to `now` and fire timers the way an adapter does:
    /// call `handle_timeout` while `poll_timeout` says a deadline is due. A
    /// timer armed by a fired one (a pong deadline of zero) may be due at
    /// once, but the calls must settle: a timer that re-arms itself at `now`
    /// forever would spin the adapter's event loop.
    fn advance_to(&mut self, now: Duration) {
        self.now = now;
        for _ in 0..4 {
            self.conn.handle_timeout(now);
            match self.conn.poll_timeout() {
                Some(next) if next <= now => {}
                _ => return,
            }
        }
        panic!(
            "timer at {:?} still due after four handle_timeout({now:?}) calls",
            self.conn.poll_timeout()
        );
    }

    fn check_send(&mut self, before: State, result: &Result<(), SendError>, fragment: bool) {
        match result {
            Ok(()) => assert_eq!(before, State::Open, "send accepted in {before:?}"),
            Err(SendError::Closed) => assert_ne!(before, State::Open, "send refused while open"),
            Err(SendError::FragmentOutOfOrder) => {
                assert_eq!(before, State::Open);
                if !fragment {
                    assert!(
                        self.sending_kind.is_some(),
                        "whole message refused with no fragmented one in progress"
                    );
                }
            }
            Err(other) => panic!("send failed with {other:?}"),
        }
    }

    fn check_control(&mut self, before: State, len: usize, result: &Result<(), SendError>) {
        match result {
            Ok(()) => {
                assert_eq!(before, State::Open, "control frame accepted in {before:?}");
                assert!(len <= 125);
            }
            Err(SendError::ControlPayloadTooLong { len: reported }) => {
                assert_eq!(*reported, len);
                assert!(len > 125);
            }
            Err(SendError::Closed) => {
                assert_ne!(before, State::Open, "control frame refused while open")
            }
            Err(other) => panic!("control frame failed with {other:?}"),
        }
    }

    fn drain_events(&mut self) {
        for _ in 0..100_000 {
            // `has_buffered_event` may be true for a whole frame that yields
            // no event (a non-final fragment in whole-message mode; see
            // docs/security.md, Findings), but once `poll_event` says it
            // needs data it must be false, or an adapter waiting on it spins.
            let event = self.conn.poll_event();
            assert!(
                event.is_some() || !self.conn.has_buffered_event(),
                "has_buffered_event() still true after poll_event() returned None"
            );
            let Some(event) = event else {
                let len = self.conn.received_len();
                let bound = self.receive_bound();
                assert!(
                    len <= bound,
                    "received_len {len} > bound {bound} with events drained"
                );
                return;
            };
            self.check_event(event);
        }
        panic!("poll_event never returned None");
    }

    fn check_event(&mut self, event: Event) {
        if let Some(terminal) = &self.terminal_event {
            panic!("{event:?} reported after {terminal:?}");
        }
        let max_message = usize::try_from(self.config.max_message_size).unwrap_or(usize::MAX);
        let max_frame = usize::try_from(self.config.max_frame_size).unwrap_or(usize::MAX);
        match &event {
            Event::Text(text) => {
                self.reported.push(RefEvent::Text(text.as_bytes().to_vec()));
                assert!(!self.config.streaming, "whole message in streaming mode");
                assert!(
                    std::str::from_utf8(text.as_bytes()).is_ok(),
                    "text event not UTF-8"
                );
                assert!(
                    text.len() <= max_message,
                    "text of {} bytes over the limit",
                    text.len()
                );
            }
            Event::Binary(data) => {
                self.reported.push(RefEvent::Binary(data.to_vec()));
                assert!(!self.config.streaming, "whole message in streaming mode");
                assert!(
                    data.len() <= max_message,
                    "binary of {} bytes over the limit",
                    data.len()
                );
            }
            Event::Fragment(Fragment {
                kind,
                payload,
                is_first,
                is_last,
            }) => {
                assert!(self.config.streaming, "fragment outside streaming mode");
                assert!(payload.len() <= max_frame, "piece larger than a frame");
                match (&mut self.streamed, is_first) {
                    (None, true) => self.streamed = Some((*kind, payload.to_vec())),
                    (None, false) => panic!("piece without is_first starts a message"),
                    (Some(_), true) => panic!("is_first inside a message"),
                    (Some((current, so_far)), false) => {
                        assert_eq!(current, kind, "kind changed inside a message");
                        so_far.extend_from_slice(payload);
                    }
                }
                if let Some((_, so_far)) = &self.streamed {
                    assert!(
                        so_far.len() <= max_message,
                        "streamed message over the limit"
                    );
                }
                if *is_last {
                    let (kind, whole) = self.streamed.take().unwrap_or((*kind, Vec::new()));
                    if kind == DataKind::Text {
                        assert!(
                            std::str::from_utf8(&whole).is_ok(),
                            "streamed text not UTF-8"
                        );
                        self.reported.push(RefEvent::Text(whole));
                    } else {
                        self.reported.push(RefEvent::Binary(whole));
                    }
                }
            }
            Event::Ping(payload) => {
                assert!(payload.len() <= 125);
                self.reported.push(RefEvent::Ping(payload.to_vec()));
            }
            Event::Pong(payload) => {
                assert!(payload.len() <= 125);
                self.reported.push(RefEvent::Pong(payload.to_vec()));
            }
            Event::Close(frame) => {
                let mut payload = Vec::new();
                if let Some(frame) = frame {
                    payload.extend_from_slice(&frame.code.get().to_be_bytes());
                    payload.extend_from_slice(frame.reason.as_bytes());
                }
                self.reported.push(RefEvent::Close(payload));
                assert!(
                    self.incoming.close_seen() && self.incoming.violation().is_none(),
                    "engine accepted a close frame the reference rejects: {:?}",
                    self.incoming.violation()
                );
                if let Some(frame) = frame {
                    assert!(
                        close_code_allowed(frame.code.get()),
                        "reported close code {}",
                        frame.code
                    );
                    assert!(frame.reason.len() <= 123);
                }
                assert_eq!(
                    self.conn.state(),
                    State::Closed,
                    "Close event but not closed"
                );
                self.terminal_event = Some(event);
            }
            Event::Failed(error) => {
                assert_eq!(
                    self.conn.state(),
                    State::Closed,
                    "Failed event but not closed"
                );
                match error {
                    ProtocolError::UnexpectedEof
                    | ProtocolError::CloseTimeout
                    | ProtocolError::KeepaliveTimeout => self.transport_gone = true,
                    // Limits are the engine's own; the reference knows none.
                    ProtocolError::FrameTooLarge
                    | ProtocolError::MessageTooLarge
                    | ProtocolError::TooManyFragments => {}
                    violation => assert!(
                        self.incoming.pending_violation().is_some(),
                        "engine failed with {violation:?} on input the reference accepts"
                    ),
                }
                self.terminal_event = Some(event);
            }
            _ => {}
        }
    }

    fn check_state(&mut self) {
        let state = self.conn.state();
        let closable = self.conn.should_close_transport();
        assert!(
            closable || !self.transport_closable,
            "should_close_transport went back to false"
        );
        self.transport_closable = closable;
        if closable {
            assert_eq!(state, State::Closed, "transport closable before Closed");
            assert_eq!(
                self.conn.buffered_amount(),
                0,
                "closable with output queued"
            );
        }
        assert!(
            rank(state) >= rank(self.state),
            "state went back from {:?} to {state:?}",
            self.state
        );
        assert_ne!(state, State::Connecting, "a connection reported Connecting");
        if state == State::Closed {
            assert!(
                self.conn.close_status().is_some(),
                "closed without a close status"
            );
            // Only the last wait may run once closed: a client's for the
            // server to close the transport, or either side's for output
            // still queued to leave.
            assert!(
                self.conn.poll_timeout().is_none()
                    || self.role == Role::Client
                    || self.conn.buffered_amount() > 0,
                "closed server with nothing queued still arms a timer"
            );
        }
        if state != State::Open {
            // Whatever is queued must by now include our close frame, unless
            // the transport went away before one was owed.
            self.transmit_all();
            if state == State::Closed && (self.role == Role::Server || self.eof_fed) {
                // RFC 6455 §7.1.1: the server closes the transport first; a
                // client closes it once the server has.
                assert!(
                    self.conn.should_close_transport(),
                    "closed with nothing queued keeps the transport"
                );
                self.transport_closable = true;
            }
            if !(state == State::Closed && self.transport_gone) {
                assert!(
                    self.wire.close_seen(),
                    "{state:?} without a close frame written"
                );
            }
        }
        self.state = state;
    }

    /// The engine reports what the independent reader reads from the same
    /// bytes, and fails where it finds a violation.
    fn check_against_reference(&mut self) {
        let reference = &self.incoming.events;
        if self.conn.state() == State::Closed {
            assert!(
                reference.starts_with(&self.reported),
                "engine reported {:?}, the reference read {reference:?}",
                self.reported
            );
        } else {
            assert_eq!(&self.reported, reference, "engine and reference disagree");
        }
        if let Some(violation) = self.incoming.violation() {
            assert_eq!(
                self.conn.state(),
                State::Closed,
                "engine still open after {violation}"
            );
            assert!(
                matches!(self.terminal_event, Some(Event::Failed(_))),
                "after {violation} the engine ended with {:?}",
                self.terminal_event
            );
        }
    }

    fn transmit_all(&mut self) -> usize {
        let expected = self.conn.buffered_amount();
        let mut total = 0;
        while let Some(bytes) = self.conn.poll_transmit() {
            assert!(!bytes.is_empty(), "poll_transmit handed out an empty run");
            total += bytes.len();
            self.feed_wire(&bytes);
        }
        assert_eq!(
            total, expected,
            "buffered_amount disagrees with poll_transmit"
        );
        assert_eq!(self.conn.buffered_amount(), 0);
        if self.wire.close_seen() {
            assert!(
                self.wire.at_frame_boundary(),
                "output ends inside a frame after close"
            );
        }
        total
    }

    fn feed_wire(&mut self, bytes: &[u8]) {
        if let Err(violation) = self.wire.feed(bytes) {
            panic!("{violation}");
        }
    }
}
