//! x86 AVX2: 32-byte vectors, four per loop iteration, stores aligned to
//! 32 bytes, and overlapping vectors at both ends instead of byte-wise
//! heads and tails (the scheme of the SSE2 kernel).

#[cfg(target_arch = "x86")]
use core::arch::x86::{
    __m256i, _mm_loadu_si128, _mm_set1_epi32, _mm_storeu_si128, _mm_xor_si128, _mm256_loadu_si256,
    _mm256_set1_epi32, _mm256_storeu_si256, _mm256_xor_si256,
};
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{
    __m256i, _mm_loadu_si128, _mm_set1_epi32, _mm_storeu_si128, _mm_xor_si128, _mm256_loadu_si256,
    _mm256_set1_epi32, _mm256_storeu_si256, _mm256_xor_si256,
};

const LANES: usize = 32;

/// Write `src[i] ^ key[i % 4]` to `dst[i]` for `i < len`.
///
/// # Safety
/// The CPU must support AVX2; `src` must be valid for reads and `dst` for
/// writes of `len` bytes, and the two ranges must be identical or disjoint.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn xor(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    if len < 16 {
        // SAFETY: the caller's contract, passed on.
        return unsafe { super::xor_tail(src, dst, len, key) };
    }
    if len < LANES {
        // Two 16-byte vectors, overlapping unless `len` is 32.
        // SAFETY: `16 <= len`, so both are in bounds; both are loaded
        // before either is stored.
        unsafe {
            let first = _mm_loadu_si128(src.cast());
            let last = _mm_loadu_si128(src.add(len - 16).cast());
            let k_first = _mm_set1_epi32(i32::from_ne_bytes(key));
            let k_last = _mm_set1_epi32(i32::from_ne_bytes(super::rotate(key, len)));
            _mm_storeu_si128(dst.cast(), _mm_xor_si128(first, k_first));
            _mm_storeu_si128(dst.add(len - 16).cast(), _mm_xor_si128(last, k_last));
        }
        return;
    }
    let vector = |key: [u8; 4]| _mm256_set1_epi32(i32::from_ne_bytes(key));
    // SAFETY: `len >= 32`, so the first and last 32 bytes are in bounds.
    let (first, last) = unsafe {
        (
            _mm256_loadu_si256(src.cast()),
            _mm256_loadu_si256(src.add(len - LANES).cast()),
        )
    };
    let mut i = dst.addr().wrapping_neg() % LANES;
    let k = vector(super::rotate(key, i));
    while i + 4 * LANES <= len {
        // SAFETY: the 128 bytes at `i` are in bounds of both ranges; all
        // four loads happen before any store, and no byte loaded here has
        // been stored to yet (the ends are stored last).
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
    // SAFETY: both ends are in bounds (`len >= 32`); they were loaded before
    // any store. `len - 32` is `len` modulo 4 into the key stream.
    unsafe {
        _mm256_storeu_si256(dst.cast(), _mm256_xor_si256(first, vector(key)));
        let last = _mm256_xor_si256(last, vector(super::rotate(key, len)));
        _mm256_storeu_si256(dst.add(len - LANES).cast(), last);
    }
}
