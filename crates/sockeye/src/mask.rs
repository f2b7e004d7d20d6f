//! The XOR mask of RFC 6455 §5.3.
//!
//! (Placeholder: the portable path only; the SIMD paths land separately.)

/// Mask (or unmask: the operation is its own inverse) `buf` in place with
/// `key`, starting at the beginning of the key stream.
pub fn apply(buf: &mut [u8], key: [u8; 4]) {
    apply_at(buf, key, 0);
}

/// Mask `buf` in place, starting `offset` bytes into the key stream (only
/// `offset % 4` matters), for payloads that arrive in pieces.
pub fn apply_at(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // Reduce first: `offset + i` overflows for offsets near `usize::MAX`.
    let start = offset % 4;
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(start + i) % 4];
    }
}

/// Append `src` masked with `key` to `dst` in one pass (the client send path).
pub fn extend_masked(dst: &mut bytes::BytesMut, src: &[u8], key: [u8; 4]) {
    let start = dst.len();
    dst.extend_from_slice(src);
    apply(&mut dst[start..], key);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `mask` fuzz target: an offset near `usize::MAX`
    /// overflowed `offset + i` (a panic with debug assertions).
    #[test]
    fn apply_at_with_offset_near_usize_max_follows_the_key_stream() {
        let key = [0x01, 0x02, 0x04, 0x08];
        let mut buf = [0u8; 6];
        apply_at(&mut buf, key, usize::MAX);
        // usize::MAX % 4 == 3: the stream starts at key[3].
        assert_eq!(buf, [0x08, 0x01, 0x02, 0x04, 0x08, 0x01]);
    }
}
