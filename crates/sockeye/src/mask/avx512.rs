//! x86 AVX-512 (F and BW): 64-byte vectors, four per loop iteration, stores
//! aligned to a cache line, and overlapping vectors at both ends instead of
//! byte-wise heads and tails (the scheme of the SSE2 kernel).

#[cfg(target_arch = "x86")]
use core::arch::x86::{
    __m512i, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_storeu_si512, _mm512_xor_si512,
};
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{
    __m512i, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_storeu_si512, _mm512_xor_si512,
};

const LANES: usize = 64;

/// Write `src[i] ^ key[i % 4]` to `dst[i]` for `i < len`.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512BW; `src` must be valid for
/// reads and `dst` for writes of `len` bytes, and the two ranges must be
/// identical or disjoint.
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn xor(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    if len < LANES {
        // SAFETY: the caller's contract, passed on; AVX-512F implies AVX2.
        return unsafe { super::avx2::xor(src, dst, len, key) };
    }
    let vector = |key: [u8; 4]| _mm512_set1_epi32(i32::from_ne_bytes(key));
    // SAFETY: `len >= 64`, so the first and last 64 bytes are in bounds.
    let (first, last) = unsafe {
        (
            _mm512_loadu_si512(src.cast()),
            _mm512_loadu_si512(src.add(len - LANES).cast()),
        )
    };
    let mut i = dst.addr().wrapping_neg() % LANES;
    let k = vector(super::rotate(key, i));
    while i + 4 * LANES <= len {
        // SAFETY: the 256 bytes at `i` are in bounds of both ranges; all
        // four loads happen before any store, and no byte loaded here has
        // been stored to yet (the ends are stored last).
        unsafe {
            let s = src.add(i).cast::<__m512i>();
            let d = dst.add(i).cast::<__m512i>();
            let a = _mm512_loadu_si512(s);
            let b = _mm512_loadu_si512(s.add(1));
            let c = _mm512_loadu_si512(s.add(2));
            let e = _mm512_loadu_si512(s.add(3));
            _mm512_storeu_si512(d, _mm512_xor_si512(a, k));
            _mm512_storeu_si512(d.add(1), _mm512_xor_si512(b, k));
            _mm512_storeu_si512(d.add(2), _mm512_xor_si512(c, k));
            _mm512_storeu_si512(d.add(3), _mm512_xor_si512(e, k));
        }
        i += 4 * LANES;
    }
    while i + LANES <= len {
        // SAFETY: the 64 bytes at `i` are in bounds of both ranges.
        unsafe {
            let v = _mm512_loadu_si512(src.add(i).cast());
            _mm512_storeu_si512(dst.add(i).cast(), _mm512_xor_si512(v, k));
        }
        i += LANES;
    }
    // SAFETY: both ends are in bounds (`len >= 64`); they were loaded before
    // any store. `len - 64` is `len` modulo 4 into the key stream.
    unsafe {
        _mm512_storeu_si512(dst.cast(), _mm512_xor_si512(first, vector(key)));
        let last = _mm512_xor_si512(last, vector(super::rotate(key, len)));
        _mm512_storeu_si512(dst.add(len - LANES).cast(), last);
    }
}
