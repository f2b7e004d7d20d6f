//! x86 SSE2: 16-byte vectors, four per loop iteration.

#[cfg(target_arch = "x86")]
use core::arch::x86::{__m128i, _mm_loadu_si128, _mm_set1_epi32, _mm_storeu_si128, _mm_xor_si128};
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{
    __m128i, _mm_loadu_si128, _mm_set1_epi32, _mm_storeu_si128, _mm_xor_si128,
};

const LANES: usize = 16;

/// Write `src[i] ^ key[i % 4]` to `dst[i]` for `i < len`.
///
/// # Safety
/// The CPU must support SSE2; `src` must be valid for reads and `dst` for
/// writes of `len` bytes, and the two ranges must be identical or disjoint.
#[target_feature(enable = "sse2")]
pub(super) unsafe fn xor(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    let k = _mm_set1_epi32(i32::from_ne_bytes(key));
    let mut i = 0;
    while i + 4 * LANES <= len {
        // SAFETY: the 64 bytes at `i` are in bounds of both ranges; all
        // four loads happen before any store, so identical ranges are fine.
        unsafe {
            let s = src.add(i).cast::<__m128i>();
            let d = dst.add(i).cast::<__m128i>();
            let a = _mm_loadu_si128(s);
            let b = _mm_loadu_si128(s.add(1));
            let c = _mm_loadu_si128(s.add(2));
            let e = _mm_loadu_si128(s.add(3));
            _mm_storeu_si128(d, _mm_xor_si128(a, k));
            _mm_storeu_si128(d.add(1), _mm_xor_si128(b, k));
            _mm_storeu_si128(d.add(2), _mm_xor_si128(c, k));
            _mm_storeu_si128(d.add(3), _mm_xor_si128(e, k));
        }
        i += 4 * LANES;
    }
    while i + LANES <= len {
        // SAFETY: the 16 bytes at `i` are in bounds of both ranges.
        unsafe {
            let v = _mm_loadu_si128(src.add(i).cast());
            _mm_storeu_si128(dst.add(i).cast(), _mm_xor_si128(v, k));
        }
        i += LANES;
    }
    // SAFETY: `i <= len`, so the rest is in bounds; `i` is a multiple of 4,
    // so the key stream restarts at offset 0 there.
    unsafe { super::xor_tail(src.add(i), dst.add(i), len - i, key) };
}
