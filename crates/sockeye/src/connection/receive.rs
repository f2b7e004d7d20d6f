//! Receiving: the state of a frame and a message in progress, the frame
//! rules judged once per header, and each parsing step from received bytes
//! to an event (RFC 6455 §5, §6.2).

use alloc::string::{String, ToString};
use bytes::{Buf, Bytes, BytesMut};

#[cfg(feature = "deflate")]
use super::inflate::StreamedInflate;
use super::timers::Timer;
use super::{Connection, Event, Fragment};
use crate::close::{CloseFrame, CloseStatus, MAX_REASON_LEN};
use crate::config::Role;
use crate::error::ProtocolError;
use crate::frame::{Decoded, FrameHeader, OpCode};
use crate::message::{DataKind, Utf8Bytes};

/// The frame whose header has been decoded and whose payload is arriving.
#[derive(Debug)]
pub(super) struct CurrentFrame {
    pub(super) fin: bool,
    pub(super) opcode: OpCode,
    pub(super) mask: Option<[u8; 4]>,
    /// Payload bytes not yet split off `received`.
    pub(super) remaining: u64,
    /// Payload bytes already split off (streaming), for the key-stream offset.
    pub(super) taken: u64,
    /// Bytes at the front of `received` that are already unmasked (and validated, for text).
    pub(super) unmasked: usize,
    /// Whether the payload is text that needs validating.
    pub(super) is_text: bool,
}

/// The data message being received.
#[derive(Debug)]
pub(super) struct IncomingMessage {
    pub(super) kind: DataKind,
    pub(super) fragments: usize,
    pub(super) size: u64,
    /// Earlier fragments' payloads (whole-message mode, fragmented messages only).
    pub(super) assembled: BytesMut,
    /// No piece handed out yet (streaming mode).
    pub(super) first_piece_pending: bool,
    /// The first frame had RSV1 set: the payload is deflated (RFC 7692 §6).
    pub(super) compressed: bool,
    /// The inflated payload so far (whole-message mode).
    #[cfg(feature = "deflate")]
    pub(super) inflated: alloc::vec::Vec<u8>,
    /// Bytes inflated so far (streaming mode), for the size limit.
    #[cfg(feature = "deflate")]
    pub(super) inflated_len: u64,
    /// A received compressed piece still being inflated (streaming mode).
    #[cfg(feature = "deflate")]
    pub(super) inflating: Option<StreamedInflate>,
}

/// The state of what is being received beyond the fast path: the frame
/// whose payload has not all arrived, and the data message being
/// assembled.
#[derive(Debug, Default)]
pub(super) struct Receiving {
    pub(super) frame: Option<CurrentFrame>,
    pub(super) message: Option<IncomingMessage>,
}

/// Where [`Receiving`] lives: in a box that outlasts each frame and
/// message, so that an idle connection pays a pointer for it instead of the
/// whole state (up to 160 bytes with permessage-deflate), and a busy one
/// allocates it once rather than per frame. The box goes with the other
/// buffers in [`Connection::release_idle_buffers`]. A whole message in one
/// frame that has arrived in full never touches it.
#[derive(Debug, Default)]
pub(super) struct ReceiveSlot(Option<alloc::boxed::Box<Receiving>>);

impl ReceiveSlot {
    pub(super) fn state(&mut self) -> &mut Receiving {
        self.0.get_or_insert_with(alloc::boxed::Box::default)
    }

    pub(super) fn frame(&self) -> Option<&CurrentFrame> {
        self.0.as_deref().and_then(|state| state.frame.as_ref())
    }

    pub(super) fn frame_mut(&mut self) -> Option<&mut CurrentFrame> {
        self.0.as_deref_mut().and_then(|state| state.frame.as_mut())
    }

    pub(super) fn has_frame(&self) -> bool {
        self.frame().is_some()
    }

    /// A frame's header was read; its payload follows.
    pub(super) fn start_frame(&mut self, frame: CurrentFrame) {
        self.state().frame = Some(frame);
    }

    /// The frame's payload is all in (the box is kept).
    pub(super) fn end_frame(&mut self) {
        if let Some(state) = &mut self.0 {
            state.frame = None;
        }
    }

    pub(super) fn has_message(&self) -> bool {
        self.message().is_some()
    }

    pub(super) fn message(&self) -> Option<&IncomingMessage> {
        self.0.as_deref().and_then(|state| state.message.as_ref())
    }

    pub(super) fn message_mut(&mut self) -> Option<&mut IncomingMessage> {
        self.0
            .as_deref_mut()
            .and_then(|state| state.message.as_mut())
    }

    /// A new message begins.
    pub(super) fn start_message(&mut self, message: IncomingMessage) {
        self.state().message = Some(message);
    }

    /// The message is over (its buffers are dropped; the box is kept).
    pub(super) fn end_message(&mut self) {
        if let Some(state) = &mut self.0 {
            state.message = None;
        }
    }

    /// Free the box if neither a frame nor a message is under way.
    pub(super) fn release_idle(&mut self) {
        if !self.has_frame() && !self.has_message() {
            self.0 = None;
        }
    }

    #[cfg(test)]
    pub(super) fn is_allocated(&self) -> bool {
        self.0.is_some()
    }
}

/// What [`Connection::judge`] found a frame header to be, once it broke
/// no rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
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
pub(super) enum Step {
    Event(Event),
    Continue,
    NeedData,
}

impl Connection {
    /// Fail the connection (RFC 6455 §7.1.7): send a close frame if the
    /// transport can still carry one, stop reading, report the error.
    pub(super) fn fail(&mut self, error: ProtocolError) {
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
        self.arm_last_wait();
        debug_assert!(self.pending_failure.is_none(), "a connection fails once");
        self.pending_failure = Some(error);
    }

    /// Once closed, wait at most [`Config::close_timeout`] more: for a
    /// client, for the server to close the transport; for either, for the
    /// last bytes (our close frame, say) to leave. A peer that takes none
    /// would otherwise hold the transport open forever, since
    /// `should_close_transport` waits for the output to be written; at the
    /// deadline the output is dropped (see `handle_timeout`).
    pub(super) fn arm_last_wait(&mut self) {
        let waits = self.outgoing.len() > 0 || !self.flags.linger_over();
        if let Some(timeout) = self.config.close_timeout.filter(|_| waits) {
            let deadline = self.timers.now().saturating_add(timeout);
            self.timers.set(Timer::Close, deadline);
        }
    }

    pub(super) fn enter_closed(&mut self) {
        self.flags.set_closed(true);
        self.flags.set_close_sent(true);
        self.timers.stop_all();
        self.received = BytesMut::new();
        self.receiving = ReceiveSlot::default();
    }

    /// One parsing step: decode a header, or take in as much of the current
    /// frame's payload as has arrived.
    pub(super) fn step(&mut self) -> Result<Step, ProtocolError> {
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
                && !self.config.streaming
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
        if is_data && self.config.streaming {
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
    #[inline]
    pub(super) fn whole_message_at_once(
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
    pub(super) fn judge(&self, header: &FrameHeader) -> Result<Verdict, ProtocolError> {
        let settings = self.config.get();
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
    pub(super) fn begin_frame(&mut self, header: &FrameHeader, verdict: Verdict) -> bool {
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

    pub(super) fn streamed_piece(
        &mut self,
        payload: Bytes,
        is_last: bool,
    ) -> Result<Step, ProtocolError> {
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

    /// Hands out one piece of the message being received (streaming mode).
    pub(super) fn hand_out_piece(
        &mut self,
        payload: Bytes,
        is_last: bool,
    ) -> Result<Step, ProtocolError> {
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

    pub(super) fn complete_frame(
        &mut self,
        fin: bool,
        opcode: OpCode,
        payload: Bytes,
    ) -> Result<Step, ProtocolError> {
        match opcode {
            OpCode::Ping => {
                if self.config.auto_pong && !self.flags.close_sent() {
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
                if self.role == Role::Server || self.config.close_timeout.is_none() {
                    self.flags.set_linger_over(true);
                }
                self.arm_last_wait();
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
                self.finish_message(kind, data)
            }
        }
    }

    /// The last frame of a whole message arrived: hand out the message,
    /// text only once its last code point is known to be complete (RFC 6455
    /// §8.1).
    #[inline]
    pub(super) fn finish_message(
        &mut self,
        kind: DataKind,
        data: Bytes,
    ) -> Result<Step, ProtocolError> {
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
