//! Helpers shared by the integration tests: an encoder and a decoder written
//! independently of the engine's frame codec, so that tests check the engine
//! against the RFC rather than against itself.
#![allow(dead_code)]

/// Build one frame byte by byte (RFC 6455 §5.2). `first` is the first byte
/// (FIN, RSV, opcode); `mask` masks the payload when present.
pub fn raw_frame(first: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= 0xffff {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A masked frame as a client sends it.
pub fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(first, Some([0x11, 0x22, 0x33, 0x44]), payload)
}

/// A frame decoded by [`decode_frames`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireFrame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    /// The masking key as sent, when the frame is masked.
    pub key: Option<[u8; 4]>,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

/// Decode a byte stream into frames, unmasking payloads. Panics on anything
/// malformed or truncated: the engine must only ever emit whole, valid frames.
pub fn decode_frames(mut bytes: &[u8]) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 2, "truncated header");
        let (b0, b1) = (bytes[0], bytes[1]);
        let mut at = 2;
        let mut len = u64::from(b1 & 0x7f);
        if len == 126 {
            len = u64::from(u16::from_be_bytes([bytes[2], bytes[3]]));
            assert!(len >= 126, "non-minimal 16-bit length");
            at = 4;
        } else if len == 127 {
            len = u64::from_be_bytes(bytes[2..10].try_into().unwrap());
            assert!(len > 0xffff && len >> 63 == 0, "bad 64-bit length");
            at = 10;
        }
        let masked = b1 & 0x80 != 0;
        let key = if masked {
            let key: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
            at += 4;
            Some(key)
        } else {
            None
        };
        let len = len as usize;
        assert!(bytes.len() >= at + len, "truncated payload");
        let mut payload = bytes[at..at + len].to_vec();
        if let Some(key) = key {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        frames.push(WireFrame {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 7,
            opcode: b0 & 0x0f,
            masked,
            key,
            payload,
        });
        bytes = &bytes[at + len..];
    }
    frames
}

/// The close code of the last frame in `bytes`, if it is a close frame with a code.
pub fn close_code_on_wire(bytes: &[u8]) -> Option<u16> {
    let frames = decode_frames(bytes);
    let last = frames.last()?;
    if last.opcode != 0x8 {
        return None;
    }
    match last.payload.as_slice() {
        [hi, lo, ..] => Some(u16::from_be_bytes([*hi, *lo])),
        _ => Some(1005),
    }
}
