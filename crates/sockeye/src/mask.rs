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
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset + i) % 4];
    }
}

/// Append `src` masked with `key` to `dst` in one pass (the client send path).
pub fn extend_masked(dst: &mut bytes::BytesMut, src: &[u8], key: [u8; 4]) {
    let start = dst.len();
    dst.extend_from_slice(src);
    apply(&mut dst[start..], key);
}
