//! AArch64 NEON: 16-byte vectors, four per loop iteration.

use core::arch::aarch64::{vdupq_n_u32, veorq_u8, vld1q_u8, vreinterpretq_u8_u32, vst1q_u8};

const LANES: usize = 16;

/// Write `src[i] ^ key[i % 4]` to `dst[i]` for `i < len`.
///
/// # Safety
/// The CPU must support NEON; `src` must be valid for reads and `dst` for
/// writes of `len` bytes, and the two ranges must be identical or disjoint.
#[target_feature(enable = "neon")]
pub(super) unsafe fn xor(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    let k = vreinterpretq_u8_u32(vdupq_n_u32(u32::from_ne_bytes(key)));
    let mut i = 0;
    while i + 4 * LANES <= len {
        // SAFETY: the 64 bytes at `i` are in bounds of both ranges; all
        // four loads happen before any store, so identical ranges are fine.
        // `vld1q_u8`/`vst1q_u8` have no alignment requirement.
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
    // SAFETY: `i <= len`, so the rest is in bounds; `i` is a multiple of 4,
    // so the key stream restarts at offset 0 there.
    unsafe { super::xor_tail(src.add(i), dst.add(i), len - i, key) };
}
