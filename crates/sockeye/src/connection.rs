//! The connection state machine: bytes in, events out; commands in, bytes out.
//!
//! A [`Connection`] is what an opening handshake turns into. It owns no
//! socket, thread or clock. Its methods fall into four families, in the
//! manner of sans-IO protocol engines:
//!
//! * **inputs**: [`receive`](Connection::receive) (or
//!   [`receive_with`](Connection::receive_with) to read straight into the
//!   engine's buffer), [`receive_eof`](Connection::receive_eof) and
//!   [`handle_timeout`](Connection::handle_timeout);
//! * **commands**: [`send_text`](Connection::send_text),
//!   [`send_binary`](Connection::send_binary),
//!   [`send_fragment`](Connection::send_fragment), [`ping`](Connection::ping),
//!   [`pong`](Connection::pong), [`close`](Connection::close);
//! * **outputs**, to drain after every input or command:
//!   [`poll_event`](Connection::poll_event), the transmit methods
//!   ([`poll_transmit`](Connection::poll_transmit), or
//!   [`transmit_chunks`](Connection::transmit_chunks) with
//!   [`advance_transmit`](Connection::advance_transmit) for vectored writes)
//!   and [`poll_timeout`](Connection::poll_timeout);
//! * **getters**: [`state`](Connection::state),
//!   [`buffered_amount`](Connection::buffered_amount),
//!   [`close_status`](Connection::close_status) and friends.
//!
//! A peer that breaks the protocol never makes an input fail: the connection
//! queues a close frame with the matching code, moves to [`State::Closed`]
//! and reports [`Event::Failed`]. Misuse of the API returns a [`SendError`]
//! at once and changes nothing.
//!
//! ```
//! use core::time::Duration;
//! use sockeye::{CloseCode, Config, Connection, Event, Role, State};
//!
//! let now = Duration::ZERO;
//! let mut server = Connection::new(Role::Server, Config::default(), now);
//!
//! // A masked text frame "Hello" from a client (RFC 6455 §5.7).
//! server.receive(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
//! match server.poll_event() {
//!     Some(Event::Text(text)) => assert_eq!(text, "Hello"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! assert_eq!(server.poll_event(), None); // needs more bytes
//!
//! server.send_text("Hi!").unwrap();
//! assert_eq!(server.poll_transmit().unwrap().as_ref(), b"\x81\x03Hi!");
//!
//! server.close(now, CloseCode::NORMAL, "done").unwrap();
//! assert_eq!(server.state(), State::Closing);
//! ```

mod flags;
mod outgoing;
pub(crate) mod timers;

use alloc::string::{String, ToString};
use bytes::{Buf, Bytes, BytesMut};
use core::fmt;
use core::time::Duration;

use crate::close::{CloseCode, CloseFrame, CloseStatus, MAX_REASON_LEN};
use crate::config::{Config, Role, SharedConfig};
use crate::entropy::BoxedEntropy;
use crate::error::{ProtocolError, SendError};
use crate::frame::{Decoded, FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode};
use crate::message::{DataKind, Utf8Bytes};
use crate::utf8::Utf8Validator;
use flags::Flags;
use outgoing::Outgoing;
use timers::{Timer, Timers};

/// Where a connection is in its life (the browser API's `readyState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// The opening handshake is in progress. A [`Connection`] never reports
    /// this state; handshake types and adapters do.
    Connecting,
    /// Data flows both ways.
    Open,
    /// This end sent a close frame and waits for the peer's.
    Closing,
    /// The closing handshake finished, or the connection failed. Write out
    /// whatever the transmit methods still hand out, then close the
    /// transport: a server at once (RFC 6455 §7.1.1), a client after the
    /// server has closed it or after [`Config::close_timeout`].
    Closed,
}

/// Something that happened on the connection, returned by [`Connection::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A whole text message.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// A piece of a data message, in streaming mode ([`Config::streaming`]).
    Fragment(Fragment),
    /// A ping with its payload. With [`Config::auto_pong`] the pong is already queued.
    Ping(Bytes),
    /// A pong with its payload.
    Pong(Bytes),
    /// The peer's close frame: its code and reason, or `None` when it carried
    /// no status (reported as 1005). The reply is already queued; the
    /// connection is now [`State::Closed`].
    Close(Option<CloseFrame>),
    /// The connection failed: the peer broke the protocol, exceeded a limit,
    /// went away without a closing handshake, or stopped answering. Where the
    /// transport still works, a close frame with
    /// [`ProtocolError::close_code`] is queued. The connection is now
    /// [`State::Closed`].
    Failed(ProtocolError),
}

/// A piece of a data message in streaming mode.
///
/// The pieces of one message arrive in order, the first with `is_first`,
/// the last with `is_last`. For text, each piece has been validated as far as
/// it goes, but a piece may end inside a multi-byte character; the
/// concatenation is valid UTF-8 once `is_last` arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Text or binary.
    pub kind: DataKind,
    /// The bytes, unmasked.
    pub payload: Bytes,
    /// The first piece of a message.
    pub is_first: bool,
    /// The last piece of a message.
    pub is_last: bool,
}

/// Most extra capacity reserved at once for a pending frame: 64 KiB of
/// payload and the largest header, so that a 64 KiB message arrives in one
/// read rather than a full one and a second for its last few bytes.
const READ_CHUNK_MAX: usize = (64 << 10) + MAX_HEADER_LEN;
/// An empty receive buffer with more capacity than this is released.
const RECEIVE_RETAIN_MAX: usize = READ_CHUNK_MAX;
/// RSV1 in [`FrameHeader::rsv`]: "this message is compressed" under
/// permessage-deflate (RFC 7692 §6).
#[cfg(feature = "deflate")]
const RSV1: u8 = 0b100;

/// The frame whose header has been decoded and whose payload is arriving.
#[derive(Debug)]
struct CurrentFrame {
    fin: bool,
    opcode: OpCode,
    mask: Option<[u8; 4]>,
    /// Payload bytes not yet split off `received`.
    remaining: u64,
    /// Payload bytes already split off (streaming), for the key-stream offset.
    taken: u64,
    /// Bytes at the front of `received` that are already unmasked (and validated, for text).
    unmasked: usize,
    /// Whether the payload is text that needs validating.
    is_text: bool,
}

/// The data message being received.
#[derive(Debug)]
struct IncomingMessage {
    kind: DataKind,
    fragments: usize,
    size: u64,
    /// Earlier fragments' payloads (whole-message mode, fragmented messages only).
    assembled: BytesMut,
    /// No piece handed out yet (streaming mode).
    first_piece_pending: bool,
    /// The first frame had RSV1 set: the payload is deflated (RFC 7692 §6).
    compressed: bool,
    /// The inflated payload so far (whole-message mode).
    #[cfg(feature = "deflate")]
    inflated: alloc::vec::Vec<u8>,
    /// Bytes inflated so far (streaming mode), for the size limit.
    #[cfg(feature = "deflate")]
    inflated_len: u64,
    /// A received compressed piece still being inflated (streaming mode).
    #[cfg(feature = "deflate")]
    inflating: Option<StreamedInflate>,
}

/// The state of what is being received beyond the fast path: the frame
/// whose payload has not all arrived, and the data message being
/// assembled.
#[derive(Debug, Default)]
struct Receiving {
    frame: Option<CurrentFrame>,
    message: Option<IncomingMessage>,
}

/// Where [`Receiving`] lives: in a box that outlasts each frame and
/// message, so that an idle connection pays a pointer for it instead of the
/// whole state (up to 160 bytes with permessage-deflate), and a busy one
/// allocates it once rather than per frame. The box goes with the other
/// buffers in [`Connection::release_idle_buffers`]. A whole message in one
/// frame that has arrived in full never touches it.
#[derive(Debug, Default)]
struct ReceiveSlot(Option<alloc::boxed::Box<Receiving>>);

impl ReceiveSlot {
    fn state(&mut self) -> &mut Receiving {
        self.0.get_or_insert_with(alloc::boxed::Box::default)
    }

    fn frame(&self) -> Option<&CurrentFrame> {
        self.0.as_deref().and_then(|state| state.frame.as_ref())
    }

    fn frame_mut(&mut self) -> Option<&mut CurrentFrame> {
        self.0.as_deref_mut().and_then(|state| state.frame.as_mut())
    }

    fn has_frame(&self) -> bool {
        self.frame().is_some()
    }

    /// A frame's header was read; its payload follows.
    fn start_frame(&mut self, frame: CurrentFrame) {
        self.state().frame = Some(frame);
    }

    /// The frame's payload is all in (the box is kept).
    fn end_frame(&mut self) {
        if let Some(state) = &mut self.0 {
            state.frame = None;
        }
    }

    fn has_message(&self) -> bool {
        self.message().is_some()
    }

    fn message(&self) -> Option<&IncomingMessage> {
        self.0.as_deref().and_then(|state| state.message.as_ref())
    }

    fn message_mut(&mut self) -> Option<&mut IncomingMessage> {
        self.0
            .as_deref_mut()
            .and_then(|state| state.message.as_mut())
    }

    /// A new message begins.
    fn start_message(&mut self, message: IncomingMessage) {
        self.state().message = Some(message);
    }

    /// The message is over (its buffers are dropped; the box is kept).
    fn end_message(&mut self) {
        if let Some(state) = &mut self.0 {
            state.message = None;
        }
    }

    /// Free the box if neither a frame nor a message is under way.
    fn release_idle(&mut self) {
        if !self.has_frame() && !self.has_message() {
            self.0 = None;
        }
    }

    #[cfg(test)]
    fn is_allocated(&self) -> bool {
        self.0.is_some()
    }
}

/// What [`Connection::judge`] found a frame header to be, once it broke
/// no rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// A ping, pong or close frame.
    Control,
    /// The first frame of a data message.
    Starts {
        /// Text or binary.
        kind: DataKind,
        /// RSV1 set: the message is deflated (RFC 7692 §6).
        compressed: bool,
    },
    /// A continuation of the message in progress.
    Continues {
        /// The payload is text to validate as it arrives (not compressed).
        text: bool,
    },
}

/// What one parsing step produced.
enum Step {
    Event(Event),
    Continue,
    NeedData,
}

/// A WebSocket connection after the opening handshake. See the [module documentation](self).
pub struct Connection {
    role: Role,
    /// The [`Config`], shared with the other connections made with it.
    config: SharedConfig,
    /// A client's source of mask keys, boxed once more so that the field is
    /// one word (a server has none).
    entropy: Option<alloc::boxed::Box<BoxedEntropy>>,

    received: BytesMut,
    receiving: ReceiveSlot,
    validator: Utf8Validator,
    /// The failure `poll_event` has yet to report. A connection fails once
    /// (it is closed afterwards), so one slot is enough.
    pending_failure: Option<ProtocolError>,

    outgoing: Outgoing,
    sending_fragmented: Option<DataKind>,
    /// Validates the text message being sent in pieces.
    send_validator: Utf8Validator,
    /// permessage-deflate, once negotiated.
    #[cfg(feature = "deflate")]
    deflate: Option<alloc::boxed::Box<crate::deflate::PerMessageDeflate>>,

    /// Boxed: set once, at the end, so an open connection pays a pointer.
    close_status: Option<alloc::boxed::Box<CloseStatus>>,

    timers: Timers,
    allowed_rsv: u8,
    flags: Flags,
    /// Payload length of the last data frame's header (saturating), which
    /// sizes the read that starts the next frame.
    last_data_frame_len: u32,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("received", &self.received.len())
            .field("buffered_amount", &self.outgoing.len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// The smallest [`read_size_hint`](Self::read_size_hint): the bytes read
    /// at a time when nothing bigger is expected.
    pub const MIN_READ_SIZE: usize = 8 << 10;

    /// A connection in `role`, open from `now` (time since an epoch of the
    /// caller's choosing, the same one for every call), drawing mask keys
    /// from an OS-seeded generator.
    ///
    /// `config` is a [`Config`] or a [`SharedConfig`] (which connections
    /// made with the same settings share instead of each keeping a copy).
    #[cfg(feature = "os-rng")]
    pub fn new(role: Role, config: impl Into<SharedConfig>, now: Duration) -> Self {
        let entropy = match role {
            Role::Client => Some(crate::entropy::os_seeded()),
            Role::Server => None,
        };
        Self::build(role, config.into(), now, entropy)
    }

    /// Like [`Connection::new`], drawing mask keys from `entropy` (a server
    /// never draws any).
    pub fn with_entropy(
        role: Role,
        config: impl Into<SharedConfig>,
        now: Duration,
        entropy: BoxedEntropy,
    ) -> Self {
        Self::build(role, config.into(), now, Some(entropy))
    }

    /// A server connection; it needs no randomness, so this works without `std`.
    pub fn server(config: impl Into<SharedConfig>, now: Duration) -> Self {
        Self::build(Role::Server, config.into(), now, None)
    }

    fn build(
        role: Role,
        config: SharedConfig,
        now: Duration,
        entropy: Option<BoxedEntropy>,
    ) -> Self {
        let mut timers = Timers::default();
        let settings = config.settings();
        if let Some(interval) = settings.keepalive_interval().filter(|i| !i.is_zero()) {
            timers.set(Timer::Keepalive, now.saturating_add(interval));
        }
        if let Some(idle) = settings.idle_timeout() {
            timers.set(Timer::Idle, now.saturating_add(idle));
        }
        Self {
            role,
            config,
            entropy: entropy.map(alloc::boxed::Box::new),
            received: BytesMut::new(),
            receiving: ReceiveSlot::default(),
            validator: Utf8Validator::new(),
            pending_failure: None,
            outgoing: Outgoing::default(),
            sending_fragmented: None,
            send_validator: Utf8Validator::new(),
            #[cfg(feature = "deflate")]
            deflate: None,
            close_status: None,
            timers,
            flags: Flags::default(),
            allowed_rsv: 0,
            last_data_frame_len: 0,
        }
    }

    /// Turn on permessage-deflate with parameters both ends agreed on.
    ///
    /// The opening handshake calls this when [`Config::deflate`] is set and
    /// the negotiation succeeds; call it yourself only when the extension was
    /// negotiated some other way. From then on, RSV1 marks compressed
    /// messages in both directions. Compression settings (level, memory
    /// level, threshold) come from [`Config::deflate`], or its defaults.
    #[cfg(feature = "deflate")]
    pub fn enable_deflate(&mut self, params: crate::deflate::DeflateParams) {
        let config = self.config.settings().deflate.clone().unwrap_or_default();
        self.deflate = Some(alloc::boxed::Box::new(
            crate::deflate::PerMessageDeflate::new(self.role, params, &config),
        ));
        self.allowed_rsv = RSV1;
    }

    // ----- getters -------------------------------------------------------

    /// The permessage-deflate parameters in use, if the extension was negotiated.
    #[cfg(feature = "deflate")]
    pub fn deflate_params(&self) -> Option<&crate::deflate::DeflateParams> {
        self.deflate.as_ref().map(|deflate| &deflate.params)
    }

    /// This connection's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration the connection runs with.
    ///
    /// Rebuilt from the compact form connections keep (timeouts are stored
    /// as nanoseconds): equal to the `Config` it was made with, except that
    /// a timeout longer than 584 years reads back as that.
    pub fn config(&self) -> Config {
        self.config.to_config()
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        if self.flags.closed() {
            State::Closed
        } else if self.flags.close_sent() {
            State::Closing
        } else {
            State::Open
        }
    }

    /// Bytes queued for the transport and not yet taken (the browser API's `bufferedAmount`).
    pub fn buffered_amount(&self) -> usize {
        self.outgoing.len()
    }

    /// Whether the queued output has reached [`Config::write_high_water_mark`]:
    /// write some out before queueing more.
    pub fn is_write_blocked(&self) -> bool {
        self.outgoing.len() >= self.config.settings().write_high_water_mark
    }

    /// How the connection ended, once it is [`State::Closed`].
    pub fn close_status(&self) -> Option<&CloseStatus> {
        self.close_status.as_deref()
    }

    /// Received bytes not yet turned into events.
    pub fn received_len(&self) -> usize {
        self.received.len()
    }

    /// Whether [`poll_event`](Self::poll_event) can make progress without
    /// more input: an event is queued, or the received bytes hold a whole
    /// frame (in streaming mode, any payload of the current frame). A whole
    /// frame that yields no event of its own (a non-final fragment in
    /// whole-message mode) counts too; once `poll_event` has returned `None`,
    /// this is false until more bytes arrive.
    ///
    /// Adapters use it to batch output: while it is true, more replies may
    /// be about to be queued, so writing can wait until the batch is drained.
    pub fn has_buffered_event(&self) -> bool {
        if self.pending_failure.is_some() {
            return true;
        }
        if self.flags.closed() {
            return false;
        }
        let available = self.received.len() as u64;
        if let Some(frame) = self.receiving.frame() {
            let streams = self.config.settings().streaming && !frame.opcode.is_control();
            return if streams {
                available > 0
            } else {
                available >= frame.remaining
            };
        }
        match FrameHeader::decode(&self.received) {
            Ok(Decoded::Partial { .. }) => self.flags.eof(),
            Ok(Decoded::Complete { header, header_len }) => {
                let streams = self.config.settings().streaming && !header.opcode.is_control();
                streams || available >= header_len as u64 + header.payload_len
            }
            // A header that breaks the protocol yields a failure event.
            Err(_) => true,
        }
    }

    /// Whether the transport should be closed now (RFC 6455 §7.1.1).
    ///
    /// True once the connection is [`State::Closed`], everything queued has
    /// been taken, and: this is a server (which closes the TCP connection
    /// first), or the connection failed, or the server has already closed the
    /// transport ([`receive_eof`](Self::receive_eof)), or a client waited
    /// [`Config::close_timeout`] for it. A client's wait is an engine timer:
    /// keep calling [`handle_timeout`](Self::handle_timeout) at
    /// [`poll_timeout`](Self::poll_timeout) until this turns true.
    pub fn should_close_transport(&self) -> bool {
        self.flags.closed()
            && self.outgoing.len() == 0
            && (self.role == Role::Server || self.flags.linger_over() || self.flags.eof())
    }

    // ----- inputs --------------------------------------------------------

    /// Feed bytes received from the transport. Parsing happens in
    /// [`poll_event`](Self::poll_event).
    pub fn receive(&mut self, data: &[u8]) {
        if data.is_empty() || self.flags.closed() {
            return;
        }
        self.flags.set_received_since_ping(true);
        self.flags.set_active_since_idle_check(true);
        self.received.extend_from_slice(data);
    }

    /// Read from the transport straight into the receive buffer.
    ///
    /// Reserves room for the next read (more when a large frame is pending),
    /// then calls `read` with the buffer; `read` must only append to it (as
    /// `tokio_util::io::poll_read_buf` or a `read` into its spare capacity
    /// do). Returns what `read` returned.
    ///
    /// ```
    /// # use sockeye::{Config, Connection, Event, Role};
    /// # use core::time::Duration;
    /// let mut server = Connection::new(Role::Server, Config::default(), Duration::ZERO);
    /// let wire: &[u8] = &[0x82, 0x80, 1, 2, 3, 4]; // an empty masked binary frame
    /// let n = server.receive_with(|buf| {
    ///     buf.extend_from_slice(wire);
    ///     wire.len()
    /// });
    /// assert_eq!(n, 6);
    /// assert_eq!(server.poll_event(), Some(Event::Binary(Default::default())));
    /// ```
    pub fn receive_with<R>(&mut self, read: impl FnOnce(&mut BytesMut) -> R) -> R {
        self.received.reserve(self.read_size_hint());
        let before = self.received.len();
        let result = read(&mut self.received);
        if self.received.len() != before {
            self.flags.set_received_since_ping(true);
            self.flags.set_active_since_idle_check(true);
            if self.flags.closed() {
                self.received.clear();
            }
        }
        result
    }

    /// The transport reached end of stream: nothing more will be received.
    ///
    /// Bytes already received are still parsed; if the connection had not
    /// closed by then, [`poll_event`](Self::poll_event) reports
    /// [`ProtocolError::UnexpectedEof`] (an abnormal closure, 1006).
    pub fn receive_eof(&mut self) {
        self.flags.set_eof(true);
    }

    /// Fire every timer whose deadline is at or before `now`. Calling it
    /// early, or more often than needed, does nothing.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.flags.linger_unarmed() {
            self.flags.set_linger_unarmed(false);
            match self.config.settings().close_timeout() {
                Some(timeout) => self.timers.set(Timer::Linger, now.saturating_add(timeout)),
                None => self.flags.set_linger_over(true),
            }
        }
        for timer in self.timers.expire(now) {
            if timer == Timer::Linger {
                self.flags.set_linger_over(true);
                continue;
            }
            if self.flags.closed() {
                return;
            }
            match timer {
                Timer::Close => self.fail(ProtocolError::CloseTimeout),
                Timer::Keepalive => self.keepalive(now),
                Timer::PongDeadline => {
                    if !self.flags.received_since_ping() {
                        self.fail(ProtocolError::KeepaliveTimeout);
                    }
                }
                Timer::Idle => self.check_idle(now),
                Timer::Linger => {}
            }
        }
    }

    // ----- outputs -------------------------------------------------------

    /// The next event, or `None` when more input is needed.
    ///
    /// Parses received bytes as far as needed for one event, so a caller that
    /// stops polling also stops the engine from buffering events.
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(event) = self.take_failure() {
            return Some(event);
        }
        while !self.flags.closed() {
            match self.step() {
                Ok(Step::Event(event)) => return Some(event),
                Ok(Step::Continue) => {}
                Ok(Step::NeedData) => {
                    if self.flags.eof() {
                        self.fail(ProtocolError::UnexpectedEof);
                        return self.take_failure();
                    }
                    if self.received.is_empty() && self.received.capacity() > RECEIVE_RETAIN_MAX {
                        self.received = BytesMut::new();
                    }
                    return None;
                }
                Err(error) => {
                    self.fail(error);
                    return self.take_failure();
                }
            }
        }
        self.take_failure()
    }

    fn take_failure(&mut self) -> Option<Event> {
        self.pending_failure.take().map(Event::Failed)
    }

    /// The earliest time at which [`handle_timeout`](Self::handle_timeout)
    /// should be called, if any timer is armed.
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.flags.linger_unarmed() {
            // Due at once: the next `handle_timeout(now)` arms the real deadline.
            return Some(Duration::ZERO);
        }
        self.timers.earliest()
    }

    /// Take the next run of bytes to write, as owned bytes.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.outgoing.pop()
    }

    /// The first run of bytes to write (empty when nothing is queued). After
    /// writing `n` of them, call [`advance_transmit`](Self::advance_transmit).
    pub fn transmit_chunk(&self) -> &[u8] {
        self.outgoing.chunk()
    }

    /// Fill `out` with the queued runs of bytes in order, for a vectored
    /// write; returns how many slots were filled. After writing `n` bytes,
    /// call [`advance_transmit`](Self::advance_transmit).
    pub fn transmit_chunks<'a>(&'a self, out: &mut [&'a [u8]]) -> usize {
        self.outgoing.chunks(out)
    }

    /// Like [`transmit_chunks`](Self::transmit_chunks), as `IoSlice`s for `write_vectored`.
    #[cfg(feature = "std")]
    pub fn transmit_io_slices<'a>(&'a self, out: &mut [std::io::IoSlice<'a>]) -> usize {
        const BATCH: usize = 64;
        let mut runs: [&[u8]; BATCH] = [&[]; BATCH];
        let limit = out.len().min(BATCH);
        let filled = self.outgoing.chunks(&mut runs[..limit]);
        for (slot, run) in out.iter_mut().zip(&runs[..filled]) {
            *slot = std::io::IoSlice::new(run);
        }
        filled
    }

    /// Mark the first `n` queued bytes as written.
    ///
    /// # Panics
    /// If `n` exceeds [`buffered_amount`](Self::buffered_amount).
    pub fn advance_transmit(&mut self, n: usize) {
        self.outgoing.advance(n);
    }

    /// How many bytes the next read should make room for, between
    /// [`MIN_READ_SIZE`](Self::MIN_READ_SIZE) (8 KiB) and 64 KiB plus the
    /// largest frame header (14 bytes): the rest of the frame being received
    /// or, between frames, the size of the last data frame, since a peer
    /// that sends large messages is likely to send more.
    /// [`receive_with`](Self::receive_with) reserves this much. A hint above
    /// the minimum means a large frame is expected: an adapter that reads
    /// small batches through a scratch buffer of its own can read straight
    /// into the engine's buffer instead and save the copy.
    ///
    /// ```
    /// # use sockeye::{Config, Connection, Role};
    /// # use core::time::Duration;
    /// let mut server = Connection::new(Role::Server, Config::default(), Duration::ZERO);
    /// assert_eq!(server.read_size_hint(), Connection::MIN_READ_SIZE);
    /// // The header of a masked 1 MiB binary frame: the rest is awaited.
    /// server.receive(&[0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4]);
    /// assert_eq!(server.poll_event(), None);
    /// assert_eq!(server.read_size_hint(), (64 << 10) + 14);
    /// ```
    pub fn read_size_hint(&self) -> usize {
        let expected = match self.receiving.frame() {
            Some(frame) => frame.remaining.saturating_sub(self.received.len() as u64),
            None => u64::from(self.last_data_frame_len) + MAX_HEADER_LEN as u64,
        };
        usize::try_from(expected)
            .unwrap_or(usize::MAX)
            .clamp(Self::MIN_READ_SIZE, READ_CHUNK_MAX)
    }

    /// Whether part of a frame has arrived and the rest is awaited.
    ///
    /// When not, the next read starts a new frame: an adapter may read it
    /// into a scratch buffer shared by its connections and hand the bytes to
    /// [`receive`](Self::receive), so that a connection waiting for input
    /// holds no read buffer of its own. When so, reading with
    /// [`receive_with`](Self::receive_with) sizes the buffer for the frame.
    pub fn has_partial_frame(&self) -> bool {
        !self.received.is_empty() || self.receiving.has_frame()
    }

    /// Release the receive and send buffers if they hold nothing, so an idle
    /// connection costs only its fixed state.
    ///
    /// Meant for the moment a read would block: a connection that keeps its
    /// buffers while busy and drops them while waiting costs its fixed state
    /// when idle, whatever the largest message it has seen.
    pub fn release_idle_buffers(&mut self) {
        if !self.has_partial_frame() {
            self.received = BytesMut::new();
        }
        self.receiving.release_idle();
        self.outgoing.release_idle();
    }

    // ----- commands ------------------------------------------------------

    /// Queue a text message.
    ///
    /// # Errors
    /// [`SendError::Closed`] after a close frame was sent;
    /// [`SendError::FragmentOutOfOrder`] while a fragmented message is being sent.
    pub fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), SendError> {
        self.send_message(OpCode::Text, text.into().into_bytes())
    }

    /// Queue a binary message.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send_message(OpCode::Binary, data.into())
    }

    /// Queue one piece of a message sent in pieces: the first call starts a
    /// message of `kind`, later calls (with the same `kind`) continue it, and
    /// the call with `is_last` ends it. Control frames may be sent between
    /// pieces. Text pieces may split a character; they are validated as
    /// they come, so invalid text never reaches the wire.
    ///
    /// # Errors
    /// [`SendError::Closed`] after a close frame was sent;
    /// [`SendError::FragmentOutOfOrder`] when `kind` differs from the
    /// message in progress, or a whole message is being sent meanwhile;
    /// [`SendError::InvalidUtf8`] when a text piece makes the message invalid
    /// UTF-8 (or the last piece ends inside a character). A refused piece is
    /// not queued and the message stays where it was.
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        payload: impl Into<Bytes>,
        is_last: bool,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        let opcode = match self.sending_fragmented {
            None => match kind {
                DataKind::Text => OpCode::Text,
                DataKind::Binary => OpCode::Binary,
            },
            Some(current) if current == kind => OpCode::Continuation,
            Some(_) => return Err(SendError::FragmentOutOfOrder),
        };
        let payload = payload.into();
        if kind == DataKind::Text {
            // Validate on a copy, so a refused piece leaves the state as it was.
            let mut validator = match self.sending_fragmented {
                None => Utf8Validator::new(),
                Some(_) => self.send_validator.clone(),
            };
            validator
                .feed(&payload)
                .map_err(|_| SendError::InvalidUtf8)?;
            if is_last {
                validator.finish().map_err(|_| SendError::InvalidUtf8)?;
            }
            self.send_validator = validator;
        }
        let is_first = self.sending_fragmented.is_none();
        self.sending_fragmented = if is_last { None } else { Some(kind) };
        #[cfg(feature = "deflate")]
        let (payload, rsv) = self.compress_piece(payload, is_first, is_last);
        #[cfg(not(feature = "deflate"))]
        let rsv = {
            let _ = is_first;
            0
        };
        self.queue_frame_with_rsv(is_last, rsv, opcode, &payload, Some(&payload));
        self.flags.set_active_since_idle_check(true);
        Ok(())
    }

    /// Queue a ping.
    ///
    /// # Errors
    /// [`SendError::ControlPayloadTooLong`] over 125 bytes;
    /// [`SendError::Closed`] after a close frame was sent.
    pub fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, payload.into())
    }

    /// Queue an unsolicited pong (a unidirectional heartbeat, RFC 6455 §5.5.3).
    ///
    /// # Errors
    /// As [`ping`](Self::ping).
    pub fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, payload.into())
    }

    /// Start the closing handshake: queue a close frame with `code` and
    /// `reason` and wait up to [`Config::close_timeout`] from `now` for the
    /// peer's.
    ///
    /// # Errors
    /// [`SendError::ReasonTooLong`] for a reason over 123 bytes;
    /// [`SendError::Closed`] if a close frame was already sent.
    pub fn close(&mut self, now: Duration, code: CloseCode, reason: &str) -> Result<(), SendError> {
        let frame = CloseFrame::new(code, reason)?;
        if self.flags.close_sent() || self.flags.closed() {
            return Err(SendError::Closed);
        }
        self.start_closing(now, Some(&frame));
        Ok(())
    }

    /// Start the closing handshake with a close frame that carries no
    /// status code (the peer reports 1005). Prefer [`close`](Self::close)
    /// with a code; this exists for callers that must relay an empty close.
    ///
    /// # Errors
    /// [`SendError::Closed`] if a close frame was already sent.
    pub fn close_without_status(&mut self, now: Duration) -> Result<(), SendError> {
        if self.flags.close_sent() || self.flags.closed() {
            return Err(SendError::Closed);
        }
        self.start_closing(now, None);
        Ok(())
    }

    /// Send our close frame and wait for the peer's (RFC 6455 §7.1.2).
    fn start_closing(&mut self, now: Duration, frame: Option<&CloseFrame>) {
        self.queue_close(frame);
        self.timers.stop_all();
        if let Some(timeout) = self.config.settings().close_timeout() {
            self.timers.set(Timer::Close, now.saturating_add(timeout));
        }
    }

    // ----- sending internals ---------------------------------------------

    fn check_can_send(&self) -> Result<(), SendError> {
        if self.flags.close_sent() || self.flags.closed() {
            Err(SendError::Closed)
        } else {
            Ok(())
        }
    }

    fn send_message(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending_fragmented.is_some() {
            return Err(SendError::FragmentOutOfOrder);
        }
        #[cfg(feature = "deflate")]
        let (payload, rsv) = self.compress_message(payload);
        #[cfg(not(feature = "deflate"))]
        let rsv = 0;
        match self.config.settings().max_send_frame_size() {
            Some(max) if payload.len() > max && max > 0 => {
                let mut rest = payload;
                let mut frame_opcode = opcode;
                let mut frame_rsv = rsv;
                while rest.len() > max {
                    let piece = rest.split_to(max);
                    self.queue_frame_with_rsv(false, frame_rsv, frame_opcode, &piece, Some(&piece));
                    frame_opcode = OpCode::Continuation;
                    frame_rsv = 0;
                }
                self.queue_frame_with_rsv(true, frame_rsv, frame_opcode, &rest, Some(&rest));
            }
            _ => self.queue_frame_with_rsv(true, rsv, opcode, &payload, Some(&payload)),
        }
        self.flags.set_active_since_idle_check(true);
        Ok(())
    }

    fn send_control(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong { len: payload.len() });
        }
        self.check_can_send()?;
        self.queue_frame(true, opcode, &payload, None);
        Ok(())
    }

    fn queue_close(&mut self, frame: Option<&CloseFrame>) {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = match frame {
            Some(frame) => {
                payload[..2].copy_from_slice(&frame.code.get().to_be_bytes());
                payload[2..2 + frame.reason.len()].copy_from_slice(frame.reason.as_bytes());
                2 + frame.reason.len()
            }
            None => 0,
        };
        self.queue_frame(true, OpCode::Close, &payload[..len], None);
        self.flags.set_close_sent(true);
        self.sending_fragmented = None;
    }

    /// A whole message's payload as it goes on the wire, and its RSV bits:
    /// deflated with RSV1 when permessage-deflate is on and the message is
    /// not below the threshold.
    #[cfg(feature = "deflate")]
    fn compress_message(&mut self, payload: Bytes) -> (Bytes, u8) {
        let Some(deflate) = self.deflate.as_mut() else {
            return (payload, 0);
        };
        if payload.len() < deflate.threshold {
            return (payload, 0);
        }
        let Some(compressor) = deflate.compressor.as_mut() else {
            return (payload, 0);
        };
        let mut out = alloc::vec::Vec::new();
        compressor.compress(&payload, &mut out, true);
        // Without context takeover nothing of this message stays in the
        // compressor, so the original may go instead when it is no bigger.
        if compressor.resets_after_message() && out.len() >= payload.len() {
            return (payload, 0);
        }
        (Bytes::from(out), RSV1)
    }

    /// One piece of a message sent in pieces as it goes on the wire, and
    /// its RSV bits: every piece of a compressed message goes through the
    /// compressor, and the first carries RSV1.
    #[cfg(feature = "deflate")]
    fn compress_piece(&mut self, payload: Bytes, is_first: bool, is_last: bool) -> (Bytes, u8) {
        let Some(compressor) = self
            .deflate
            .as_mut()
            .and_then(|deflate| deflate.compressor.as_mut())
        else {
            return (payload, 0);
        };
        if is_first {
            self.flags.set_sending_compressed(true);
        } else if !self.flags.sending_compressed() {
            return (payload, 0);
        }
        let mut out = alloc::vec::Vec::new();
        compressor.compress(&payload, &mut out, is_last);
        (Bytes::from(out), if is_first { RSV1 } else { 0 })
    }

    fn queue_frame(&mut self, fin: bool, opcode: OpCode, payload: &[u8], owned: Option<&Bytes>) {
        self.queue_frame_with_rsv(fin, 0, opcode, payload, owned);
    }

    fn queue_frame_with_rsv(
        &mut self,
        fin: bool,
        rsv: u8,
        opcode: OpCode,
        payload: &[u8],
        owned: Option<&Bytes>,
    ) {
        let mask = match self.role {
            Role::Server => None,
            Role::Client => {
                let mut key = [0u8; 4];
                if let Some(entropy) = self.entropy.as_mut() {
                    entropy.fill(&mut key);
                }
                Some(key)
            }
        };
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        self.outgoing.push_frame(header, payload, owned);
    }

    // ----- timers --------------------------------------------------------

    fn keepalive(&mut self, now: Duration) {
        let Some(interval) = self.config.settings().keepalive_interval() else {
            return;
        };
        if self.flags.close_sent() {
            return;
        }
        if !self.timers.is_set(Timer::PongDeadline) {
            self.flags.set_received_since_ping(false);
            self.timers.set(
                Timer::PongDeadline,
                now.saturating_add(self.config.settings().pong_timeout()),
            );
        }
        self.queue_frame(true, OpCode::Ping, &[], None);
        self.timers
            .set(Timer::Keepalive, now.saturating_add(interval));
    }

    fn check_idle(&mut self, now: Duration) {
        let Some(idle) = self.config.settings().idle_timeout() else {
            return;
        };
        if !self.flags.active_since_idle_check() && !self.flags.close_sent() {
            let frame = CloseFrame {
                code: CloseCode::NORMAL,
                reason: String::from("idle timeout"),
            };
            self.start_closing(now, Some(&frame));
        } else {
            self.flags.set_active_since_idle_check(false);
            self.timers.set(Timer::Idle, now.saturating_add(idle));
        }
    }

    // ----- receiving internals -------------------------------------------

    /// Fail the connection (RFC 6455 §7.1.7): send a close frame if the
    /// transport can still carry one, stop reading, report the error.
    fn fail(&mut self, error: ProtocolError) {
        let reason = error.to_string();
        if let Some(code) = error.wire_code().filter(|_| !self.flags.close_sent()) {
            let mut short = reason.as_str();
            while short.len() > MAX_REASON_LEN {
                short = &short[..short.len() - 1];
            }
            if let Ok(frame) = CloseFrame::new(code, short) {
                self.queue_close(Some(&frame));
            }
        }
        self.close_status = Some(alloc::boxed::Box::new(CloseStatus {
            code: error.reported_code(),
            reason,
            was_clean: false,
        }));
        self.enter_closed();
        // RFC 6455 §7.1.7: after failing, close the transport without waiting.
        self.flags.set_linger_over(true);
        debug_assert!(self.pending_failure.is_none(), "a connection fails once");
        self.pending_failure = Some(error);
    }

    fn enter_closed(&mut self) {
        self.flags.set_closed(true);
        self.flags.set_close_sent(true);
        self.timers.stop_all();
        self.received = BytesMut::new();
        self.receiving = ReceiveSlot::default();
    }

    /// One parsing step: decode a header, or take in as much of the current
    /// frame's payload as has arrived.
    fn step(&mut self) -> Result<Step, ProtocolError> {
        // A compressed piece is handed out in bounded steps before anything
        // after it is read.
        #[cfg(feature = "deflate")]
        if self
            .receiving
            .message()
            .is_some_and(|message| message.inflating.is_some())
        {
            return self.inflate_streamed();
        }
        if !self.receiving.has_frame() {
            let (header, header_len) = match FrameHeader::decode(&self.received)? {
                Decoded::Partial { .. } => return Ok(Step::NeedData),
                Decoded::Complete { header, header_len } => (header, header_len),
            };
            let verdict = self.judge(&header)?;
            if let Verdict::Starts {
                kind,
                compressed: false,
            } = verdict
                && header.fin
                && !self.config.settings().streaming
                && header.payload_len <= (self.received.len() - header_len) as u64
            {
                return self.whole_message_at_once(&header, header_len, kind);
            }
            let is_text = self.begin_frame(&header, verdict);
            self.received.advance(header_len);
            if !header.opcode.is_control() {
                self.last_data_frame_len = u32::try_from(header.payload_len).unwrap_or(u32::MAX);
            }
            self.receiving.start_frame(CurrentFrame {
                fin: header.fin,
                opcode: header.opcode,
                mask: header.mask,
                remaining: header.payload_len,
                taken: 0,
                unmasked: 0,
                is_text,
            });
        }
        let Some(frame) = self.receiving.frame_mut() else {
            return Ok(Step::NeedData);
        };
        let present = usize::try_from(frame.remaining)
            .unwrap_or(usize::MAX)
            .min(self.received.len());
        if present > frame.unmasked {
            let fresh = &mut self.received[frame.unmasked..present];
            if let Some(key) = frame.mask {
                // Only the offset modulo 4 matters for the key stream.
                let offset = (frame.taken % 4) as usize + frame.unmasked;
                crate::mask::apply_at(fresh, key, offset);
            }
            if frame.is_text {
                self.validator
                    .feed(fresh)
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            frame.unmasked = present;
        }
        let is_data = !frame.opcode.is_control();
        if is_data && self.config.settings().streaming {
            if present == 0 && frame.remaining > 0 {
                return Ok(Step::NeedData);
            }
            let payload = self.received.split_to(present).freeze();
            frame.taken += present as u64;
            frame.remaining -= present as u64;
            frame.unmasked = 0;
            let is_last = frame.remaining == 0 && frame.fin;
            if frame.remaining == 0 {
                self.receiving.end_frame();
            }
            return self.streamed_piece(payload, is_last);
        }
        if (present as u64) < frame.remaining {
            return Ok(Step::NeedData);
        }
        let payload = self.received.split_to(present).freeze();
        let (fin, opcode) = (frame.fin, frame.opcode);
        self.receiving.end_frame();
        self.complete_frame(fin, opcode, payload)
    }

    /// The common case under load, without per-frame bookkeeping: a whole
    /// message in one frame (final, uncompressed, judged a new message)
    /// whose payload has arrived in full, in whole-message mode. Unmasked
    /// and validated in one pass each, and handed out as one slice of the
    /// receive buffer. The rules were judged by [`Self::judge`], as for
    /// every other frame.
    fn whole_message_at_once(
        &mut self,
        header: &FrameHeader,
        header_len: usize,
        kind: DataKind,
    ) -> Result<Step, ProtocolError> {
        // At most what has arrived, so it fits in a usize.
        let len = header.payload_len as usize;
        self.last_data_frame_len = u32::try_from(len).unwrap_or(u32::MAX);
        self.received.advance(header_len);
        let mut payload = self.received.split_to(len);
        if let Some(key) = header.mask {
            crate::mask::apply(&mut payload, key);
        }
        let payload = payload.freeze();
        match kind {
            DataKind::Text => crate::utf8::validate(&payload)
                .map(|()| Step::Event(Event::Text(Utf8Bytes::from_validated(payload))))
                .map_err(|_| ProtocolError::InvalidUtf8),
            DataKind::Binary => Ok(Step::Event(Event::Binary(payload))),
        }
    }

    /// The frame rules of RFC 6455 §5 (and RFC 7692 §6) for a decoded
    /// header in this connection's state: the one place they are judged,
    /// by every way a frame is received. Changes nothing.
    #[inline]
    fn judge(&self, header: &FrameHeader) -> Result<Verdict, ProtocolError> {
        let settings = self.config.settings();
        // RFC 6455 §5.2: RSV bits must be 0 unless an extension defines them.
        if header.rsv & !self.allowed_rsv != 0 {
            return Err(ProtocolError::ReservedBitsSet(header.rsv));
        }
        // Only RSV1 can pass the check above (RFC 7692 §6), and only on the
        // first frame of a data message.
        let compressed = header.rsv != 0;
        if compressed && !matches!(header.opcode, OpCode::Text | OpCode::Binary) {
            return Err(ProtocolError::ReservedBitsSet(header.rsv));
        }
        // RFC 6455 §5.1: clients mask every frame, servers none.
        match (self.role, header.mask) {
            (Role::Server, None) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, Some(_)) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if header.opcode.is_control() {
            return Ok(Verdict::Control);
        }
        if header.payload_len > settings.max_frame_size
            || (!settings.streaming && usize::try_from(header.payload_len).is_err())
        {
            return Err(ProtocolError::FrameTooLarge);
        }
        // RFC 6455 §5.4: a message is one Text/Binary frame followed by
        // continuation frames until FIN; nothing else may interleave but control frames.
        match (header.opcode, self.receiving.message()) {
            (OpCode::Continuation, None) => Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Continuation, Some(message)) => {
                if message.fragments >= settings.max_fragments {
                    return Err(ProtocolError::TooManyFragments);
                }
                if message.size.saturating_add(header.payload_len) > settings.max_message_size {
                    return Err(ProtocolError::MessageTooLarge);
                }
                Ok(Verdict::Continues {
                    text: message.kind == DataKind::Text && !message.compressed,
                })
            }
            (_, Some(_)) => Err(ProtocolError::ExpectedContinuation),
            (opcode, None) => {
                if header.payload_len > settings.max_message_size {
                    return Err(ProtocolError::MessageTooLarge);
                }
                let kind = if opcode == OpCode::Text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                Ok(Verdict::Starts { kind, compressed })
            }
        }
    }

    /// Start or continue the incoming message as `verdict` says, and say
    /// whether the frame's payload is text to validate as it arrives.
    fn begin_frame(&mut self, header: &FrameHeader, verdict: Verdict) -> bool {
        match verdict {
            Verdict::Control => false,
            Verdict::Continues { text } => {
                if let Some(message) = self.receiving.message_mut() {
                    message.fragments += 1;
                    message.size = message.size.saturating_add(header.payload_len);
                }
                text
            }
            Verdict::Starts { kind, compressed } => {
                self.validator.reset();
                self.receiving.start_message(IncomingMessage {
                    kind,
                    fragments: 1,
                    size: header.payload_len,
                    assembled: BytesMut::new(),
                    first_piece_pending: true,
                    compressed,
                    #[cfg(feature = "deflate")]
                    inflated: alloc::vec::Vec::new(),
                    #[cfg(feature = "deflate")]
                    inflated_len: 0,
                    #[cfg(feature = "deflate")]
                    inflating: None,
                });
                // Compressed text is validated once inflated.
                kind == DataKind::Text && !compressed
            }
        }
    }

    fn streamed_piece(&mut self, payload: Bytes, is_last: bool) -> Result<Step, ProtocolError> {
        if !self.receiving.has_message() {
            return Ok(Step::Continue);
        }
        #[cfg(feature = "deflate")]
        if let Some(message) = self.receiving.message_mut()
            && message.compressed
        {
            message.inflating = Some(StreamedInflate {
                input: payload,
                ends_message: is_last,
            });
            return self.inflate_streamed();
        }
        self.hand_out_piece(payload, is_last)
    }

    /// The next bounded step of inflating a compressed piece (streaming
    /// mode): at most [`STREAMED_INFLATE_STEP`] bytes, or the frame-size
    /// limit if smaller, so that memory per step does not grow with the
    /// message-size limit. After the message's last piece comes the
    /// sync-flush tail the sender left off (RFC 7692 §7.2.2).
    #[cfg(feature = "deflate")]
    fn inflate_streamed(&mut self) -> Result<Step, ProtocolError> {
        let (Some(message), Some(deflate)) = (self.receiving.message_mut(), self.deflate.as_mut())
        else {
            return Err(ProtocolError::ReservedBitsSet(RSV1));
        };
        let Some(inflating) = message.inflating.as_mut() else {
            return Ok(Step::Continue);
        };
        let limit = self
            .config
            .settings()
            .max_message_size
            .saturating_sub(message.inflated_len);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let cap = usize::try_from(self.config.settings().max_frame_size)
            .unwrap_or(usize::MAX)
            .clamp(1, STREAMED_INFLATE_STEP);
        let mut out = alloc::vec::Vec::new();
        let decompressor = &mut deflate.decompressor;
        let mut is_last = false;
        if inflating.input.is_empty() && inflating.ends_message {
            // The piece is in; the codec ends the message (RFC 7692 §7.2.2).
            if decompressor
                .finish_some(&mut out, limit, cap)
                .map_err(inflate_error)?
            {
                is_last = true;
                message.inflating = None;
            }
        } else {
            let step = decompressor
                .inflate_some(&inflating.input, &mut out, limit, cap)
                .map_err(inflate_error)?;
            if step.consumed == 0
                && out.is_empty()
                && !step.output_full
                && !inflating.input.is_empty()
            {
                // zlib took nothing and gave nothing: the data cannot go on.
                return Err(ProtocolError::InvalidCompressedData);
            }
            inflating.input.advance(step.consumed);
            if !step.output_full && inflating.input.is_empty() && !inflating.ends_message {
                message.inflating = None;
            }
        }
        message.inflated_len += out.len() as u64;
        if message.kind == DataKind::Text {
            self.validator
                .feed(&out)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        if out.is_empty() && message.inflating.is_some() {
            return Ok(Step::Continue);
        }
        self.hand_out_piece(Bytes::from(out), is_last)
    }

    /// Hands out one piece of the message being received (streaming mode).
    fn hand_out_piece(&mut self, payload: Bytes, is_last: bool) -> Result<Step, ProtocolError> {
        let Some(message) = self.receiving.message_mut() else {
            return Ok(Step::Continue);
        };
        let is_first = core::mem::replace(&mut message.first_piece_pending, false);
        let kind = message.kind;
        if is_last {
            self.receiving.end_message();
            if kind == DataKind::Text {
                self.validator
                    .finish()
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
        }
        if payload.is_empty() && !is_first && !is_last {
            return Ok(Step::Continue);
        }
        Ok(Step::Event(Event::Fragment(Fragment {
            kind,
            payload,
            is_first,
            is_last,
        })))
    }

    fn complete_frame(
        &mut self,
        fin: bool,
        opcode: OpCode,
        payload: Bytes,
    ) -> Result<Step, ProtocolError> {
        match opcode {
            OpCode::Ping => {
                if self.config.settings().auto_pong && !self.flags.close_sent() {
                    self.queue_frame(true, OpCode::Pong, &payload, None);
                }
                Ok(Step::Event(Event::Ping(payload)))
            }
            OpCode::Pong => Ok(Step::Event(Event::Pong(payload))),
            OpCode::Close => {
                let frame = CloseFrame::decode(&payload)?;
                // RFC 6455 §5.5.1: answer with a close frame, echoing the code.
                if !self.flags.close_sent() {
                    self.queue_close(frame.as_ref());
                }
                self.close_status = Some(alloc::boxed::Box::new(match &frame {
                    Some(frame) => CloseStatus {
                        code: frame.code.get(),
                        reason: frame.reason.clone(),
                        was_clean: true,
                    },
                    None => CloseStatus {
                        code: CloseStatus::NO_STATUS_RECEIVED,
                        reason: String::new(),
                        was_clean: true,
                    },
                }));
                self.enter_closed();
                // RFC 6455 §7.1.1: the server closes the TCP connection
                // first; a client waits for that, up to the close timeout.
                self.flags.set_linger_unarmed(self.role == Role::Client);
                Ok(Step::Event(Event::Close(frame)))
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                let Some(message) = self.receiving.message_mut() else {
                    return Ok(Step::Continue);
                };
                #[cfg(feature = "deflate")]
                if message.compressed {
                    return self.complete_compressed_frame(fin, &payload);
                }
                if !fin {
                    message.assembled.extend_from_slice(&payload);
                    return Ok(Step::Continue);
                }
                let kind = message.kind;
                let data = if message.fragments == 1 {
                    payload
                } else {
                    message.assembled.extend_from_slice(&payload);
                    core::mem::take(&mut message.assembled).freeze()
                };
                self.receiving.end_message();
                Ok(Step::Event(match kind {
                    DataKind::Text => {
                        self.validator
                            .finish()
                            .map_err(|_| ProtocolError::InvalidUtf8)?;
                        Event::Text(Utf8Bytes::from_validated(data))
                    }
                    DataKind::Binary => Event::Binary(data),
                }))
            }
        }
    }

    /// A whole frame of a compressed message (whole-message mode): inflate
    /// it within the message-size limit, validate text as it comes, and
    /// after the last frame report the message.
    #[cfg(feature = "deflate")]
    fn complete_compressed_frame(
        &mut self,
        fin: bool,
        payload: &[u8],
    ) -> Result<Step, ProtocolError> {
        let (Some(message), Some(deflate)) = (self.receiving.message_mut(), self.deflate.as_mut())
        else {
            return Err(ProtocolError::ReservedBitsSet(RSV1));
        };
        let limit = usize::try_from(self.config.settings().max_message_size).unwrap_or(usize::MAX);
        let before = message.inflated.len();
        let decompressor = &mut deflate.decompressor;
        decompressor
            .inflate(payload, &mut message.inflated, limit)
            .and_then(|()| match fin {
                true => decompressor.finish(&mut message.inflated, limit),
                false => Ok(()),
            })
            .map_err(inflate_error)?;
        let kind = message.kind;
        if kind == DataKind::Text {
            self.validator
                .feed(&message.inflated[before..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        if !fin {
            return Ok(Step::Continue);
        }
        let data = Bytes::from(core::mem::take(&mut message.inflated));
        self.receiving.end_message();
        Ok(Step::Event(match kind {
            DataKind::Text => {
                self.validator
                    .finish()
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
                Event::Text(Utf8Bytes::from_validated(data))
            }
            DataKind::Binary => Event::Binary(data),
        }))
    }
}

/// The most inflated bytes one step of streaming mode hands out.
#[cfg(feature = "deflate")]
const STREAMED_INFLATE_STEP: usize = 64 << 10;

/// A received compressed piece still being inflated (streaming mode).
#[cfg(feature = "deflate")]
#[derive(Debug)]
struct StreamedInflate {
    /// Compressed bytes not yet taken by the decompressor.
    input: Bytes,
    /// The piece is the message's last: once `input` is taken, the message
    /// is ended ([`Decompressor::finish_some`](crate::deflate::Decompressor::finish_some)).
    ends_message: bool,
}

/// The protocol error an inflate failure is reported as.
#[cfg(feature = "deflate")]
fn inflate_error(failure: crate::deflate::InflateFailure) -> ProtocolError {
    match failure {
        crate::deflate::InflateFailure::TooLarge => ProtocolError::MessageTooLarge,
        crate::deflate::InflateFailure::Corrupt => ProtocolError::InvalidCompressedData,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeededEntropy;
    use alloc::{boxed::Box, vec};

    /// Move everything `from` queued into `to`, in reads of at most `read` bytes.
    fn shuttle(from: &mut Connection, to: &mut Connection, read: usize) {
        while from.buffered_amount() > 0 {
            let chunk = from.transmit_chunk();
            let n = chunk.len().min(read);
            to.receive_with(|buf| buf.extend_from_slice(&chunk[..n]));
            from.advance_transmit(n);
        }
    }

    #[test]
    fn after_a_64_kib_message_one_read_has_room_for_the_next_whole_frame() {
        let mut client = Connection::with_entropy(
            Role::Client,
            Config::default(),
            Duration::ZERO,
            Box::new(SeededEntropy::new(3)),
        );
        let mut server = Connection::server(Config::default(), Duration::ZERO);
        let message = Bytes::from(vec![7; 64 << 10]);
        client.send_binary(message.clone()).unwrap();
        let frame_len = client.buffered_amount();
        assert_eq!(frame_len, (64 << 10) + MAX_HEADER_LEN);
        shuttle(&mut client, &mut server, frame_len);
        assert_eq!(server.poll_event(), Some(Event::Binary(message)));
        // Room for the header too: one read per message, not a full read
        // and a second one for the last 14 bytes.
        assert!(server.read_size_hint() >= frame_len);
        server.receive_with(|buf| assert!(buf.capacity() >= frame_len));
    }

    #[test]
    fn buffers_shrink_back_after_a_large_message() {
        let mut client = Connection::with_entropy(
            Role::Client,
            Config::default(),
            Duration::ZERO,
            Box::new(SeededEntropy::new(7)),
        );
        let mut server = Connection::server(Config::default(), Duration::ZERO);
        let large = Bytes::from(vec![0x42; 1 << 20]);
        client.send_binary(large.clone()).unwrap();
        assert!(client.outgoing.capacity() >= 1 << 20);
        shuttle(&mut client, &mut server, 16 << 10);
        // The send side let go of its masked copy as soon as it was written.
        assert!(client.outgoing.capacity() <= outgoing::RETAIN_MAX);

        assert_eq!(server.poll_event(), Some(Event::Binary(large)));
        assert_eq!(server.poll_event(), None);
        // The receive side kept no more than the retention bound...
        assert!(server.received.capacity() <= RECEIVE_RETAIN_MAX);
        // ...and an idle connection keeps nothing.
        server.release_idle_buffers();
        client.release_idle_buffers();
        assert_eq!(server.received.capacity(), 0);
        assert_eq!(client.outgoing.capacity(), 0);
        assert!(!server.has_partial_frame());

        // Still usable afterwards.
        client.send_text("after").unwrap();
        shuttle(&mut client, &mut server, 16 << 10);
        assert_eq!(server.poll_event(), Some(Event::Text("after".into())));
    }

    #[test]
    fn the_output_queue_is_allocated_while_bytes_wait_and_freed_when_idle() {
        let mut server = Connection::server(Config::default(), Duration::ZERO);
        assert!(!server.outgoing.is_allocated());
        server.send_text("one").unwrap();
        server.send_binary(Bytes::from(vec![7; 2000])).unwrap();
        assert!(server.outgoing.is_allocated());
        // Bytes still wait: a release keeps them.
        server.release_idle_buffers();
        assert_eq!(server.buffered_amount(), 5 + 4 + 2000);
        let mut wire = alloc::vec::Vec::new();
        while let Some(run) = server.poll_transmit() {
            wire.extend_from_slice(&run);
        }
        assert_eq!(
            &wire[..9],
            &[0x81, 3, b'o', b'n', b'e', 0x82, 126, 0x07, 0xd0]
        );
        assert_eq!(&wire[9..], &[7; 2000][..]);
        // Drained, the box outlives the write until the connection is idle.
        assert!(server.outgoing.is_allocated());
        server.release_idle_buffers();
        assert!(!server.outgoing.is_allocated());
        assert_eq!(server.poll_transmit(), None);
        server.send_text("two").unwrap();
        assert_eq!(
            server.poll_transmit().as_deref(),
            Some(&[0x81, 3, b't', b'w', b'o'][..])
        );
    }

    #[test]
    fn idle_release_keeps_a_partial_frame() {
        let mut server = Connection::server(Config::default(), Duration::ZERO);
        // The first three bytes of a masked binary frame of 4 bytes.
        server.receive(&[0x82, 0x84, 1]);
        assert_eq!(server.poll_event(), None);
        assert!(server.has_partial_frame());
        server.release_idle_buffers();
        server.receive(&[2, 3, 4]);
        assert_eq!(server.poll_event(), None);
        // The header is in: the frame's state lives in the receive box,
        // which a release must keep while the payload is awaited.
        assert!(server.receiving.frame().is_some());
        server.release_idle_buffers();
        assert!(server.receiving.is_allocated());
        server.receive(&[1 ^ 9, 2 ^ 9, 3 ^ 9, 4 ^ 9]);
        assert_eq!(
            server.poll_event(),
            Some(Event::Binary(Bytes::from_static(&[9, 9, 9, 9])))
        );
        server.release_idle_buffers();
        assert!(!server.receiving.is_allocated());
    }

    #[test]
    fn idle_release_between_fragments_keeps_the_message_and_frees_its_box_after() {
        let mut server = Connection::server(Config::default(), Duration::ZERO);
        // A masked text frame "he" without FIN, with the key 1, 2, 3, 4.
        server.receive(&[0x01, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'e' ^ 2]);
        assert_eq!(server.poll_event(), None);
        assert!(server.receiving.has_message());
        server.release_idle_buffers();
        // The continuation "y" with FIN.
        server.receive(&[0x80, 0x81, 5, 6, 7, 8, b'y' ^ 5]);
        assert_eq!(server.poll_event(), Some(Event::Text("hey".into())));
        // Between messages the box is kept for the next one...
        assert!(server.receiving.is_allocated());
        // ...until the connection is idle.
        server.release_idle_buffers();
        assert!(!server.receiving.is_allocated());
        server.receive(&[0x02, 0x81, 0, 0, 0, 0, 1, 0x80, 0x81, 0, 0, 0, 0, 2]);
        assert_eq!(
            server.poll_event(),
            Some(Event::Binary(Bytes::from_static(&[1, 2])))
        );
    }

    #[test]
    fn a_closed_connection_keeps_no_receive_state_box() {
        let mut server = Connection::server(Config::default(), Duration::ZERO);
        // A masked text frame "he" without FIN, then a masked close frame
        // with no payload.
        server.receive(&[0x01, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'e' ^ 2]);
        server.receive(&[0x88, 0x80, 1, 2, 3, 4]);
        while server.poll_event().is_some() {}
        assert_eq!(server.state(), State::Closed);
        assert!(!server.receiving.is_allocated());
    }
}
