//! The frame header codec (RFC 6455 §5.2).
//!
//! Decoding reads a header from the front of a byte slice without allocating
//! or copying; a slice too short for the whole header is not an error but
//! [`Decoded::Partial`] with the number of bytes still missing. Encoding
//! writes into a fixed [`MAX_HEADER_LEN`]-byte buffer.
//!
//! ```
//! use sockeye::frame::{Decoded, FrameHeader, OpCode};
//!
//! // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
//! let bytes = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
//! let Ok(Decoded::Complete { header, header_len }) = FrameHeader::decode(&bytes) else {
//!     panic!("complete header expected");
//! };
//! assert_eq!(header.opcode, OpCode::Text);
//! assert!(header.fin);
//! assert_eq!(header.payload_len, 5);
//! assert_eq!(&bytes[header_len..], b"Hello");
//! ```

use crate::error::ProtocolError;

/// Longest possible frame header: 2 bytes, 8 bytes of extended length, 4 bytes of mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// Largest payload of a control frame (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode (RFC 6455 §5.2, §11.8). Reserved values do not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation = 0x0,
    /// 0x1: a text frame.
    Text = 0x1,
    /// 0x2: a binary frame.
    Binary = 0x2,
    /// 0x8: a close frame.
    Close = 0x8,
    /// 0x9: a ping.
    Ping = 0x9,
    /// 0xA: a pong.
    Pong = 0xA,
}

impl OpCode {
    /// The opcode for the low four bits of `value`.
    ///
    /// # Errors
    /// [`ProtocolError::ReservedOpcode`] for 0x3–0x7 and 0xB–0xF.
    pub const fn from_u4(value: u8) -> Result<OpCode, ProtocolError> {
        match value & 0x0f {
            0x0 => Ok(OpCode::Continuation),
            0x1 => Ok(OpCode::Text),
            0x2 => Ok(OpCode::Binary),
            0x8 => Ok(OpCode::Close),
            0x9 => Ok(OpCode::Ping),
            0xA => Ok(OpCode::Pong),
            other => Err(ProtocolError::ReservedOpcode(other)),
        }
    }

    /// Whether this is a control opcode (close, ping, pong): the high bit of the nibble.
    pub const fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

/// A decoded or to-be-encoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The final fragment of a message.
    pub fin: bool,
    /// RSV1, RSV2 and RSV3 as the low three bits (RSV1 = 0b100).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present on every client-to-server frame.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes (at most 2^63 - 1).
    pub payload_len: u64,
}

/// The result of [`FrameHeader::decode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole header was decoded from the first `header_len` bytes.
    Complete {
        /// The header.
        header: FrameHeader,
        /// How many bytes the header took; the payload starts there.
        header_len: usize,
    },
    /// More bytes are needed; at least `needed` more.
    Partial {
        /// The minimum number of further bytes before decoding can finish.
        needed: usize,
    },
}

impl FrameHeader {
    /// Decode a header from the front of `bytes`.
    ///
    /// Checks everything a header alone can break: reserved opcodes, the
    /// 64-bit length's top bit, minimal length encoding, and the control
    /// frame rules (at most 125 bytes, never fragmented). Rules that depend on
    /// the connection (masking by role, RSV bits, continuation order, limits)
    /// are the connection's.
    ///
    /// # Errors
    /// A [`ProtocolError`] for a header that breaks RFC 6455 §5.2 or §5.5.
    #[inline]
    pub fn decode(bytes: &[u8]) -> Result<Decoded, ProtocolError> {
        let (first, second) = match bytes {
            [first, second, ..] => (*first, *second),
            _ => {
                return Ok(Decoded::Partial {
                    needed: 2 - bytes.len(),
                });
            }
        };
        let opcode = OpCode::from_u4(first)?;
        let fin = first & 0x80 != 0;
        let rsv = (first >> 4) & 0x07;
        let masked = second & 0x80 != 0;
        let short_len = second & 0x7f;
        let length_bytes = match short_len {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + length_bytes + if masked { 4 } else { 0 };
        if opcode.is_control() {
            // RFC 6455 §5.5: control frames are never fragmented and carry at
            // most 125 bytes, so they never use an extended length.
            if !fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if short_len > MAX_CONTROL_PAYLOAD as u8 {
                return Err(ProtocolError::ControlFrameTooLong);
            }
        }
        if bytes.len() < header_len {
            return Ok(Decoded::Partial {
                needed: header_len - bytes.len(),
            });
        }
        let payload_len = match length_bytes {
            0 => u64::from(short_len),
            2 => {
                let len = u16::from_be_bytes([bytes[2], bytes[3]]);
                if len < 126 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                u64::from(len)
            }
            _ => {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(&bytes[2..10]);
                let len = u64::from_be_bytes(raw);
                // RFC 6455 §5.2: "the most significant bit MUST be 0".
                if len >> 63 != 0 {
                    return Err(ProtocolError::PayloadLengthOverflow);
                }
                if len <= u64::from(u16::MAX) {
                    return Err(ProtocolError::NonMinimalLength);
                }
                len
            }
        };
        let mask = if masked {
            let at = 2 + length_bytes;
            Some([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        } else {
            None
        };
        Ok(Decoded::Complete {
            header: FrameHeader {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
            header_len,
        })
    }

    /// The encoded length of this header.
    pub const fn encoded_len(&self) -> usize {
        let length_bytes = if self.payload_len < 126 {
            0
        } else if self.payload_len <= u16::MAX as u64 {
            2
        } else {
            8
        };
        2 + length_bytes + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encode this header into `out`, returning how many bytes it took.
    ///
    /// The length always takes its shortest form (RFC 6455 §5.2). A
    /// `payload_len` with the top bit set is not representable; it is
    /// clamped away by masking the bit off, which no caller inside the
    /// engine can produce since payload lengths come from `usize` slices.
    #[inline]
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0x07) << 4) | self.opcode as u8;
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut at = if self.payload_len < 126 {
            out[1] = mask_bit | self.payload_len as u8;
            2
        } else if self.payload_len <= u64::from(u16::MAX) {
            out[1] = mask_bit | 126;
            out[2..4].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
            4
        } else {
            out[1] = mask_bit | 127;
            out[2..10].copy_from_slice(&(self.payload_len & (u64::MAX >> 1)).to_be_bytes());
            10
        };
        if let Some(key) = self.mask {
            out[at..at + 4].copy_from_slice(&key);
            at += 4;
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_complete(bytes: &[u8]) -> (FrameHeader, usize) {
        match FrameHeader::decode(bytes) {
            Ok(Decoded::Complete { header, header_len }) => (header, header_len),
            other => panic!("expected a complete header, got {other:?}"),
        }
    }

    #[test]
    fn rfc_5_7_masked_hello() {
        let bytes = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (header, len) = decode_complete(&bytes);
        assert_eq!(len, 6);
        assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        let mut payload = bytes[len..].to_vec();
        crate::mask::apply(&mut payload, header.mask.unwrap());
        assert_eq!(payload, b"Hello");
    }

    #[test]
    fn rfc_5_7_fragmented_hello() {
        let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
        let second = [0x80, 0x02, 0x6c, 0x6f];
        let (a, _) = decode_complete(&first);
        let (b, _) = decode_complete(&second);
        assert_eq!((a.fin, a.opcode, a.payload_len), (false, OpCode::Text, 3));
        assert_eq!(
            (b.fin, b.opcode, b.payload_len),
            (true, OpCode::Continuation, 2)
        );
    }

    #[test]
    fn rfc_5_7_ping_and_masked_pong() {
        let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let pong = [
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(decode_complete(&ping).0.opcode, OpCode::Ping);
        let (header, len) = decode_complete(&pong);
        assert_eq!(header.opcode, OpCode::Pong);
        let mut payload = pong[len..].to_vec();
        crate::mask::apply(&mut payload, header.mask.unwrap());
        assert_eq!(payload, b"Hello");
    }

    #[test]
    fn rfc_5_7_256_byte_and_64k_binary_headers() {
        let (h256, l256) = decode_complete(&[0x82, 0x7e, 0x01, 0x00]);
        assert_eq!(
            (h256.opcode, h256.payload_len, l256),
            (OpCode::Binary, 256, 4)
        );
        let (h64k, l64k) =
            decode_complete(&[0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]);
        assert_eq!((h64k.payload_len, l64k), (65536, 10));
    }

    #[test]
    fn partial_input_reports_missing_bytes() {
        assert_eq!(FrameHeader::decode(&[]), Ok(Decoded::Partial { needed: 2 }));
        assert_eq!(
            FrameHeader::decode(&[0x82]),
            Ok(Decoded::Partial { needed: 1 })
        );
        assert_eq!(
            FrameHeader::decode(&[0x82, 0xfe, 0x01]),
            Ok(Decoded::Partial { needed: 5 })
        );
        assert_eq!(
            FrameHeader::decode(&[0x82, 0x7f]),
            Ok(Decoded::Partial { needed: 8 })
        );
    }

    #[test]
    fn rejects_reserved_opcodes() {
        for op in [0x3u8, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            assert_eq!(
                FrameHeader::decode(&[0x80 | op, 0x00]),
                Err(ProtocolError::ReservedOpcode(op))
            );
        }
    }

    #[test]
    fn rejects_control_frame_rules() {
        assert_eq!(
            FrameHeader::decode(&[0x09, 0x00]),
            Err(ProtocolError::FragmentedControlFrame)
        );
        assert_eq!(
            FrameHeader::decode(&[0x89, 0x7e]),
            Err(ProtocolError::ControlFrameTooLong)
        );
        assert!(FrameHeader::decode(&[0x88, 125]).is_ok());
    }

    #[test]
    fn rejects_top_bit_of_64_bit_length() {
        let bytes = [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            FrameHeader::decode(&bytes),
            Err(ProtocolError::PayloadLengthOverflow)
        );
    }

    #[test]
    fn rejects_non_minimal_lengths() {
        assert_eq!(
            FrameHeader::decode(&[0x82, 0x7e, 0x00, 0x7d]),
            Err(ProtocolError::NonMinimalLength)
        );
        let bytes = [0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
        assert_eq!(
            FrameHeader::decode(&bytes),
            Err(ProtocolError::NonMinimalLength)
        );
    }

    fn any_header() -> impl Strategy<Value = FrameHeader> {
        let opcode = prop_oneof![
            Just(OpCode::Continuation),
            Just(OpCode::Text),
            Just(OpCode::Binary),
            Just(OpCode::Close),
            Just(OpCode::Ping),
            Just(OpCode::Pong),
        ];
        (
            opcode,
            any::<bool>(),
            0u8..8,
            any::<Option<[u8; 4]>>(),
            prop_oneof![0u64..126, 126u64..=65535, 65536u64..(1 << 63)],
        )
            .prop_map(|(opcode, fin, rsv, mask, len)| {
                let control = opcode.is_control();
                FrameHeader {
                    fin: fin || control,
                    rsv,
                    opcode,
                    mask,
                    payload_len: if control { len % 126 } else { len },
                }
            })
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(header in any_header()) {
            let mut buf = [0u8; MAX_HEADER_LEN];
            let len = header.encode(&mut buf);
            prop_assert_eq!(len, header.encoded_len());
            prop_assert_eq!(FrameHeader::decode(&buf[..len]), Ok(Decoded::Complete { header, header_len: len }));
            for cut in 0..len {
                let partial = FrameHeader::decode(&buf[..cut]);
                prop_assert!(matches!(partial, Ok(Decoded::Partial { needed }) if needed >= 1 && needed <= len - cut), "{:?}", partial);
            }
        }

        #[test]
        fn decoded_headers_re_encode_to_the_same_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            if let Ok(Decoded::Complete { header, header_len }) = FrameHeader::decode(&bytes) {
                let mut buf = [0u8; MAX_HEADER_LEN];
                let len = header.encode(&mut buf);
                prop_assert_eq!(&buf[..len], &bytes[..header_len]);
            }
        }
    }
}
