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
//!   [`poll_event`](Connection::poll_event), the bytes to write (lent for a
//!   vectored write by [`transmit`](Connection::transmit), whose
//!   [`written`](crate::Transmit::written) drops what the transport took, or
//!   taken run by run with [`poll_transmit`](Connection::poll_transmit)) and
//!   [`poll_timeout`](Connection::poll_timeout);
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
//! server.receive(now, &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
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

mod driving;
mod flags;
#[cfg(feature = "deflate")]
mod inflate;
mod receive;
mod send;
#[cfg(test)]
mod tests;
mod timers;
mod transmit_queue;

pub(crate) use transmit_queue::TransmitQueue;

use alloc::string::String;
use bytes::{Bytes, BytesMut};
use core::fmt;
use core::time::Duration;

use crate::close::{CloseCode, CloseFrame, CloseStatus};
#[cfg(doc)]
use crate::config::Config;
use crate::config::{Role, SharedConfig};
use crate::entropy::BoxedEntropy;
use crate::error::{ProtocolError, SendError};
use crate::frame::{Decoded, FrameHeader, MAX_HEADER_LEN, OpCode};
use crate::message::{DataKind, Utf8Bytes};
use crate::transmit::Transmit;
use crate::utf8::Utf8Validator;
use flags::Flags;
use receive::{ReceiveSlot, Step};
use timers::{Timer, Timers};

/// Where a connection is in its life (the browser API's `readyState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// The opening handshake is in progress: what an
    /// [`Endpoint`](crate::Endpoint) reports until it opens. A
    /// [`Connection`] starts where the handshake ended, so it never does.
    Connecting,
    /// Data flows both ways.
    Open,
    /// This end sent a close frame and waits for the peer's.
    Closing,
    /// The closing handshake finished, or the connection failed. Write out
    /// whatever [`Connection::transmit`] still lends, then close the
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
    /// [`ProtocolError::wire_code`] is queued. The connection is now
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

    outgoing: TransmitQueue,
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
        let mut timers = Timers::new(now);
        let settings = config.get();
        if let Some(interval) = settings.keepalive_interval.filter(|i| !i.is_zero()) {
            timers.set(Timer::Keepalive, now.saturating_add(interval));
        }
        if let Some(idle) = settings.idle_timeout {
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
            outgoing: TransmitQueue::default(),
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
        let config = self.config.deflate.clone().unwrap_or_default();
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
        self.outgoing.len() >= self.config.write_high_water_mark
    }

    /// How the connection ended, once it is [`State::Closed`].
    pub fn close_status(&self) -> Option<&CloseStatus> {
        self.close_status.as_deref()
    }

    /// Received bytes not yet turned into events: the input counterpart of
    /// [`buffered_amount`](Self::buffered_amount).
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
            let streams = self.config.streaming && !frame.opcode.is_control();
            return if streams {
                available > 0
            } else {
                available >= frame.remaining
            };
        }
        match FrameHeader::decode(&self.received) {
            Ok(Decoded::Partial { .. }) => self.flags.eof(),
            Ok(Decoded::Complete { header, header_len }) => {
                let streams = self.config.streaming && !header.opcode.is_control();
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

    /// Feed bytes received from the transport at `now`. Parsing happens in
    /// [`poll_event`](Self::poll_event).
    pub fn receive(&mut self, now: Duration, data: &[u8]) {
        self.timers.advance_to(now);
        if data.is_empty() || self.flags.closed() {
            return;
        }
        self.flags.set_received_since_ping(true);
        self.flags.set_active_since_idle_check(true);
        self.received.extend_from_slice(data);
    }

    /// Read from the transport straight into the receive buffer, at `now`.
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
    /// let n = server.receive_with(Duration::ZERO, |buf| {
    ///     buf.extend_from_slice(wire);
    ///     wire.len()
    /// });
    /// assert_eq!(n, 6);
    /// assert_eq!(server.poll_event(), Some(Event::Binary(Default::default())));
    /// ```
    pub fn receive_with<R>(&mut self, now: Duration, read: impl FnOnce(&mut BytesMut) -> R) -> R {
        self.timers.advance_to(now);
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
    pub fn receive_eof(&mut self, now: Duration) {
        self.timers.advance_to(now);
        self.flags.set_eof(true);
    }

    /// Fire every timer whose deadline is at or before `now`. Calling it
    /// early, or more often than needed, does nothing.
    pub fn handle_timeout(&mut self, now: Duration) {
        for timer in self.timers.expire(now) {
            if self.flags.closed() {
                // Only the last wait runs once closed (the Close slot, see
                // `arm_last_wait`): a client's for the server to close the
                // transport, and either side's for its last bytes to leave.
                // Past it the transport closes, whatever is still queued.
                if timer == Timer::Close {
                    self.flags.set_linger_over(true);
                    self.outgoing.discard();
                }
                return;
            }
            match timer {
                Timer::Close => self.give_up(ProtocolError::CloseTimeout),
                Timer::Keepalive => self.keepalive(now),
                Timer::PongDeadline => {
                    if !self.flags.received_since_ping() {
                        self.give_up(ProtocolError::KeepaliveTimeout);
                    }
                }
                Timer::Idle => self.check_idle(now),
            }
        }
    }

    /// Fail for a peer that did not answer in time, and drop what is
    /// queued for it: a peer that takes no bytes would otherwise keep the
    /// output, and with it the transport, forever (RFC 6455 §7.1.7 closes
    /// the transport after a failure without waiting).
    fn give_up(&mut self, error: ProtocolError) {
        self.fail(error);
        self.outgoing.discard();
        // Nothing is left to wait for.
        self.timers.stop_all();
    }

    // ----- outputs -------------------------------------------------------

    /// The next event, or `None` when more input is needed.
    ///
    /// Parses received bytes as far as needed for one event, so a caller that
    /// stops polling also stops the engine from buffering events.
    #[must_use]
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
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        // Once closed only the last wait runs, and only while there is
        // something to wait for: output still queued, or (a client) the
        // server's closing of the transport.
        if self.flags.closed() && self.flags.linger_over() && self.outgoing.len() == 0 {
            return None;
        }
        self.timers.earliest()
    }

    /// Take the next run of bytes to write, as owned bytes: the way for a
    /// transport that takes whole buffers (a channel, a test). A socket
    /// writer borrows them all at once with [`transmit`](Self::transmit).
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.outgoing.pop()
    }

    /// Lend the queued bytes for a vectored write: write what
    /// [`Transmit::chunks`] (or [`Transmit::io_slices`]) shows, then report
    /// what the transport took with [`Transmit::written`].
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use sockeye::{Config, Connection, Role};
    /// # let mut server = Connection::new(Role::Server, Config::default(), Duration::ZERO);
    /// # server.send_text("hi").unwrap();
    /// # let mut socket = Vec::new();
    /// use std::io::{IoSlice, Write};
    /// while server.buffered_amount() > 0 {
    ///     let transmit = server.transmit();
    ///     let mut slices = [IoSlice::new(&[]); 16];
    ///     let filled = transmit.io_slices(&mut slices);
    ///     let n = socket.write_vectored(&slices[..filled])?;
    ///     transmit.written(n);
    /// }
    /// assert_eq!(socket, b"\x81\x02hi");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn transmit(&mut self) -> Transmit<'_> {
        Transmit::new(None, Some(&mut self.outgoing))
    }

    /// The output queue, for an endpoint's [`Transmit`] that also holds
    /// the handshake's bytes.
    pub(crate) fn transmit_queue(&mut self) -> &mut TransmitQueue {
        &mut self.outgoing
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
        self.timers.advance_to(now);
        self.queue_close(frame);
        self.timers.stop_all();
        if let Some(timeout) = self.config.close_timeout {
            self.timers.set(Timer::Close, now.saturating_add(timeout));
        }
    }

    // ----- timers --------------------------------------------------------

    fn keepalive(&mut self, now: Duration) {
        let Some(interval) = self.config.keepalive_interval else {
            return;
        };
        if self.flags.close_sent() {
            return;
        }
        if !self.timers.is_set(Timer::PongDeadline) {
            self.flags.set_received_since_ping(false);
            self.timers.set(
                Timer::PongDeadline,
                now.saturating_add(self.config.pong_timeout),
            );
        }
        self.queue_frame(true, OpCode::Ping, &[], None);
        self.timers
            .set(Timer::Keepalive, now.saturating_add(interval));
    }

    fn check_idle(&mut self, now: Duration) {
        let Some(idle) = self.config.idle_timeout else {
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
}
