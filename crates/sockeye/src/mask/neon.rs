//! AArch64 NEON: 16-byte vectors, four per loop iteration, and overlapping
//! vectors at both ends instead of byte-wise heads and tails (the scheme of
//! the SSE2 kernel).

use core::arch::aarch64::{vdupq_n_u32, veorq_u8, vld1q_u8, vreinterpretq_u8_u32, vst1q_u8};

const LANES: usize = 16;

/// Write `src[i] ^ key[i % 4]` to `dst[i]` for `i < len`.
///
/// # Safety
/// The CPU must support NEON; `src` must be valid for reads and `dst` for
/// writes of `len` bytes, and the two ranges must be identical or disjoint.
#[target_feature(enable = "neon")]
pub(super) unsafe fn xor(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    if len < LANES {
        // SAFETY: the caller's contract, passed on.
        return unsafe { super::xor_tail(src, dst, len, key) };
    }
    let vector = |key: [u8; 4]| vreinterpretq_u8_u32(vdupq_n_u32(u32::from_ne_bytes(key)));
    // SAFETY: `len >= 16`, so the first and last 16 bytes are in bounds.
    let (first, last) = unsafe { (vld1q_u8(src), vld1q_u8(src.add(len - LANES))) };
    let mut i = dst.addr().wrapping_neg() % LANES;
    let k = vector(super::rotate(key, i));
    while i + 4 * LANES <= len {
        // SAFETY: the 64 bytes at `i` are in bounds of both ranges; all
        // four loads happen before any store, and no byte loaded here has
        // been stored to yet (the ends are stored last). `vld1q_u8`/`vst1q_u8` have no alignment requirement.
        unsafe {
            let s = src.add(i);
            let d = dst.add(i);
            let a = vld1q_u8(s);
            let b = vld1q_u8(s.add(LANES));
            let c = vld1q_u8(s.add(2 * LANES));
            let e = vld1q_u8(s.add(3 * LANES));
            vst1q_u8(d, veorq_u8(a, k));
            vst1q_u8(d.add(LANES), veorq_u8(b, k));
            vst1q_u8(d.add(2 * LANES), veorq_u8(c, k));
            vst1q_u8(d.add(3 * LANES), veorq_u8(e, k));
        }
        i += 4 * LANES;
    }
    while i + LANES <= len {
        // SAFETY: the 16 bytes at `i` are in bounds of both ranges.
        unsafe { vst1q_u8(dst.add(i), veorq_u8(vld1q_u8(src.add(i)), k)) };
        i += LANES;
    }
    // SAFETY: both ends are in bounds (`len >= 16`); they were loaded before
    // any store. `len - 16` is `len` modulo 4 into the key stream.
    unsafe {
        vst1q_u8(dst, veorq_u8(first, vector(key)));
        vst1q_u8(
            dst.add(len - LANES),
            veorq_u8(last, vector(super::rotate(key, len))),
        );
    }
}
