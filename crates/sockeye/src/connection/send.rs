//! Sending: the checks before a message or control frame is queued, and
//! the frames as they go on the wire (RFC 6455 §5.1–§5.5).

use bytes::Bytes;

use super::Connection;
use crate::close::CloseFrame;
use crate::config::Role;
use crate::error::SendError;
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, OpCode};

impl Connection {
    pub(super) fn check_can_send(&self) -> Result<(), SendError> {
        if self.flags.close_sent() || self.flags.closed() {
            Err(SendError::Closed)
        } else {
            Ok(())
        }
    }

    pub(super) fn send_message(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending_fragmented.is_some() {
            return Err(SendError::FragmentOutOfOrder);
        }
        #[cfg(feature = "deflate")]
        let (payload, rsv) = self.compress_message(payload);
        #[cfg(not(feature = "deflate"))]
        let rsv = 0;
        match self.config.max_send_frame_size {
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

    pub(super) fn send_control(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong { len: payload.len() });
        }
        self.check_can_send()?;
        self.queue_frame(true, opcode, &payload, None);
        Ok(())
    }

    pub(super) fn queue_close(&mut self, frame: Option<&CloseFrame>) {
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

    pub(super) fn queue_frame(
        &mut self,
        fin: bool,
        opcode: OpCode,
        payload: &[u8],
        owned: Option<&Bytes>,
    ) {
        self.queue_frame_with_rsv(fin, 0, opcode, payload, owned);
    }

    pub(super) fn queue_frame_with_rsv(
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
}
