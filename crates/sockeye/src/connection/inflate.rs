//! permessage-deflate inside the connection (RFC 7692 §6): a message's
//! payload compressed on the way out, and inflated on the way in, in whole
//! messages or in bounded steps when streaming.

use bytes::{Buf, Bytes};

use super::receive::Step;
use super::{Connection, RSV1};
use crate::error::ProtocolError;
use crate::message::DataKind;

impl Connection {
    /// A whole message's payload as it goes on the wire, and its RSV bits:
    /// deflated with RSV1 when permessage-deflate is on and the message is
    /// not below the threshold.
    pub(super) fn compress_message(&mut self, payload: Bytes) -> (Bytes, u8) {
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
    pub(super) fn compress_piece(
        &mut self,
        payload: Bytes,
        is_first: bool,
        is_last: bool,
    ) -> (Bytes, u8) {
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

    /// The next bounded step of inflating a compressed piece (streaming
    /// mode): at most [`STREAMED_INFLATE_STEP`] bytes, or the frame-size
    /// limit if smaller, so that memory per step does not grow with the
    /// message-size limit. After the message's last piece comes the
    /// sync-flush tail the sender left off (RFC 7692 §7.2.2).
    pub(super) fn inflate_streamed(&mut self) -> Result<Step, ProtocolError> {
        let (Some(message), Some(deflate)) = (self.receiving.message_mut(), self.deflate.as_mut())
        else {
            return Err(ProtocolError::ReservedBitsSet(RSV1));
        };
        let Some(inflating) = message.inflating.as_mut() else {
            return Ok(Step::Continue);
        };
        let limit = self
            .config
            .max_message_size
            .saturating_sub(message.inflated_len);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let cap = usize::try_from(self.config.max_frame_size)
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

    /// A whole frame of a compressed message (whole-message mode): inflate
    /// it within the message-size limit, validate text as it comes, and
    /// after the last frame report the message.
    pub(super) fn complete_compressed_frame(
        &mut self,
        fin: bool,
        payload: &[u8],
    ) -> Result<Step, ProtocolError> {
        let (Some(message), Some(deflate)) = (self.receiving.message_mut(), self.deflate.as_mut())
        else {
            return Err(ProtocolError::ReservedBitsSet(RSV1));
        };
        let limit = usize::try_from(self.config.max_message_size).unwrap_or(usize::MAX);
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
        self.finish_message(kind, data)
    }
}

/// The most inflated bytes one step of streaming mode hands out.
pub(super) const STREAMED_INFLATE_STEP: usize = 64 << 10;

/// A received compressed piece still being inflated (streaming mode).
#[derive(Debug)]
pub(super) struct StreamedInflate {
    /// Compressed bytes not yet taken by the decompressor.
    pub(super) input: Bytes,
    /// The piece is the message's last: once `input` is taken, the message
    /// is ended ([`Decompressor::finish_some`](crate::deflate::Decompressor::finish_some)).
    pub(super) ends_message: bool,
}

/// The protocol error an inflate failure is reported as.
pub(super) fn inflate_error(failure: crate::deflate::InflateFailure) -> ProtocolError {
    match failure {
        crate::deflate::InflateFailure::TooLarge => ProtocolError::MessageTooLarge,
        crate::deflate::InflateFailure::Corrupt => ProtocolError::InvalidCompressedData,
    }
}
