//! The well-behaved clients' messages: each names its connection (or
//! publisher) and sequence number, and its body is a function of the two,
//! so an echo or broadcast that comes back can be checked byte for byte.

use crate::wire::{BINARY, TEXT};

/// Tag of an echoed message.
pub const ECHO: u8 = b'E';
/// Tag of a broadcast message.
pub const BROADCAST: u8 = b'B';

/// Bytes before the body: tag, 16 hex digits of id, 16 of sequence.
const HEAD: usize = 33;

/// The payload of message `seq` of `id` with tag `tag`, `len` body bytes,
/// as text (valid UTF-8, with multi-byte characters) or binary.
pub fn payload(tag: u8, id: u64, seq: u64, opcode: u8, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEAD + len + 4);
    out.push(tag);
    out.extend_from_slice(format!("{id:016x}{seq:016x}").as_bytes());
    let mut state = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seq;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    if opcode == TEXT {
        const PIECES: [&str; 5] = ["a", "Z", "é", "€", "𝄞"];
        while out.len() < HEAD + len {
            out.extend_from_slice(PIECES[(next() % 5) as usize].as_bytes());
        }
    } else {
        while out.len() < HEAD + len {
            out.push(next() as u8);
        }
    }
    out
}

/// The tag, id and sequence number a payload claims.
pub fn parse(payload: &[u8]) -> Option<(u8, u64, u64)> {
    if payload.len() < HEAD {
        return None;
    }
    let hex = std::str::from_utf8(&payload[1..HEAD]).ok()?;
    let id = u64::from_str_radix(&hex[..16], 16).ok()?;
    let seq = u64::from_str_radix(&hex[16..], 16).ok()?;
    Some((payload[0], id, seq))
}

/// The body length of broadcast message `seq` (the receivers check it).
pub fn broadcast_len(seq: u64) -> usize {
    32 + (seq % 200) as usize
}

/// Whether `payload` is exactly broadcast message `seq` of `id`.
pub fn is_broadcast(payload: &[u8], opcode: u8, id: u64, seq: u64) -> bool {
    opcode == BINARY && payload == payload_of_broadcast(id, seq)
}

/// Broadcast message `seq` of publisher `id`.
pub fn payload_of_broadcast(id: u64, seq: u64) -> Vec<u8> {
    payload(BROADCAST, id, seq, BINARY, broadcast_len(seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_their_origin_and_depend_on_it() {
        let text = payload(ECHO, 7, 9, TEXT, 300);
        assert!(std::str::from_utf8(&text).is_ok());
        assert!(text.len() >= 333);
        assert_eq!(parse(&text), Some((ECHO, 7, 9)));
        assert_ne!(
            payload(ECHO, 7, 10, BINARY, 64),
            payload(ECHO, 7, 9, BINARY, 64)
        );
        let b = payload_of_broadcast(3, 4);
        assert!(is_broadcast(&b, BINARY, 3, 4));
        assert!(!is_broadcast(&b, BINARY, 3, 5));
        assert_eq!(parse(b"E12"), None);
    }
}
