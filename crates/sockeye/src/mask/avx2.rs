//! x86 AVX2: 32-byte vectors, four per loop iteration, stores aligned to
//! 32 bytes for long buffers.

#[cfg(target_arch = "x86")]
use core::arch::x86::{
    __m256i, _mm256_loadu_si256, _mm256_set1_epi32, _mm256_storeu_si256, _mm256_xor_si256,
};
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{
    __m256i, _mm256_loadu_si256, _mm256_set1_epi32, _mm256_storeu_si256, _mm256_xor_si256,
};

const LANES: usize = 32;

/// From this length on, a few bytes are masked first so that the vector
/// stores are aligned: a store that straddles two cache lines costs two.
const ALIGN_FROM: usize = 256;

/// Write `src[i] ^ key[i % 4]` to `dst[i]` for `i < len`.
///
/// # Safety
/// The CPU must support AVX2; `src` must be valid for reads and `dst` for
/// writes of `len` bytes, and the two ranges must be identical or disjoint.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn xor(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    let mut key = key;
    let mut i = 0;
    if len >= ALIGN_FROM {
        i = dst.addr().wrapping_neg() % LANES;
        // SAFETY: `i < LANES < len`, in bounds of both ranges.
        unsafe { super::xor_tail(src, dst, i, key) };
        key = super::rotate(key, i);
    }
    let k = _mm256_set1_epi32(i32::from_ne_bytes(key));
    while i + 4 * LANES <= len {
        // SAFETY: the 128 bytes at `i` are in bounds of both ranges; all
        // four loads happen before any store, so identical ranges are fine.
        unsafe {
            let s = src.add(i).cast::<__m256i>();
            let d = dst.add(i).cast::<__m256i>();
            let a = _mm256_loadu_si256(s);
            let b = _mm256_loadu_si256(s.add(1));
            let c = _mm256_loadu_si256(s.add(2));
            let e = _mm256_loadu_si256(s.add(3));
            _mm256_storeu_si256(d, _mm256_xor_si256(a, k));
            _mm256_storeu_si256(d.add(1), _mm256_xor_si256(b, k));
            _mm256_storeu_si256(d.add(2), _mm256_xor_si256(c, k));
            _mm256_storeu_si256(d.add(3), _mm256_xor_si256(e, k));
        }
        i += 4 * LANES;
    }
    while i + LANES <= len {
        // SAFETY: the 32 bytes at `i` are in bounds of both ranges.
        unsafe {
            let v = _mm256_loadu_si256(src.add(i).cast());
            _mm256_storeu_si256(dst.add(i).cast(), _mm256_xor_si256(v, k));
        }
        i += LANES;
    }
    // SAFETY: `i <= len`, so the rest (< 32 bytes) is in bounds; AVX2
    // implies SSE2. Everything since the head is a multiple of 4 long, so
    // `key` is still the key for offset `i`.
    unsafe { super::sse2::xor(src.add(i), dst.add(i), len - i, key) };
}
