//! The portable path: eight bytes at a time in a `u64`, no `unsafe`.
//!
//! Used on targets without a SIMD path, for short buffers (in place only
//! where SSE2 is not enabled at compile time; appended on every target),
//! and under Miri.

use core::mem::MaybeUninit;

/// Mask `buf` in place, byte `i` with `key[i % 4]`.
#[inline]
pub fn apply(buf: &mut [u8], key: [u8; 4]) {
    let wide = wide_key(key);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ wide).to_ne_bytes());
    }
    // Chunks are a multiple of 4 long, so the key restarts at the tail.
    let rest = chunks.into_remainder();
    let (four, rest) = rest.split_at_mut(if rest.len() >= 4 { 4 } else { 0 });
    if let Ok(four) = <&mut [u8; 4]>::try_from(four) {
        *four = (u32::from_ne_bytes(*four) ^ u32::from_ne_bytes(key)).to_ne_bytes();
    }
    for (i, byte) in rest.iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
}

/// Write `src` masked with `key` into `dst`, which must be as long as `src`.
///
/// # Panics
/// If the lengths differ.
#[inline]
pub fn copy(src: &[u8], dst: &mut [MaybeUninit<u8>], key: [u8; 4]) {
    assert_eq!(src.len(), dst.len());
    let wide = wide_key(key);
    let mut outs = dst.chunks_exact_mut(8);
    let mut ins = src.chunks_exact(8);
    for (out, chunk) in (&mut outs).zip(&mut ins) {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        let masked = (u64::from_ne_bytes(bytes) ^ wide).to_ne_bytes();
        for (slot, byte) in out.iter_mut().zip(masked) {
            slot.write(byte);
        }
    }
    let tail = outs.into_remainder().iter_mut().zip(ins.remainder());
    for (i, (slot, byte)) in tail.enumerate() {
        slot.write(byte ^ key[i % 4]);
    }
}

/// The key repeated to fill a `u64`, in memory order.
#[inline]
fn wide_key(key: [u8; 4]) -> u64 {
    let [a, b, c, d] = key;
    u64::from_ne_bytes([a, b, c, d, a, b, c, d])
}
