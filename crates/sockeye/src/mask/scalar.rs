//! The definition of the mask (RFC 6455 §5.3): one byte at a time.
//!
//! Kept simple on purpose: every other path is tested against it.

use core::mem::MaybeUninit;

/// Mask `buf` in place, byte `i` with `key[i % 4]`.
pub fn apply(buf: &mut [u8], key: [u8; 4]) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
}

/// Write `src` masked with `key` into `dst`, which must be as long as `src`.
///
/// # Panics
/// If the lengths differ.
pub fn copy(src: &[u8], dst: &mut [MaybeUninit<u8>], key: [u8; 4]) {
    assert_eq!(src.len(), dst.len());
    for (i, (out, byte)) in dst.iter_mut().zip(src).enumerate() {
        out.write(byte ^ key[i % 4]);
    }
}
