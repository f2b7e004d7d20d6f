//! x86 AVX-512 (F and BW): 64-byte vectors, four per loop iteration, stores
//! aligned to 64 bytes for long buffers.

#[cfg(target_arch = "x86")]
use core::arch::x86::{
    __m512i, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_storeu_si512, _mm512_xor_si512,
};
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{
    __m512i, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_storeu_si512, _mm512_xor_si512,
};

const LANES: usize = 64;

/// From this length on, a few bytes are masked first so that the vector
/// stores are aligned to a cache line.
const ALIGN_FROM: usize = 512;

/// Write `src[i] ^ key[i % 4]` to `dst[i]` for `i < len`.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512BW; `src` must be valid for
/// reads and `dst` for writes of `len` bytes, and the two ranges must be
/// identical or disjoint.
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn xor(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    let mut key = key;
    let mut i = 0;
    if len >= ALIGN_FROM {
        i = dst.addr().wrapping_neg() % LANES;
        // SAFETY: `i < LANES < len`, in bounds of both ranges; AVX-512F
        // implies AVX2.
        unsafe { super::avx2::xor(src, dst, i, key) };
        key = super::rotate(key, i);
    }
    let k = _mm512_set1_epi32(i32::from_ne_bytes(key));
    while i + 4 * LANES <= len {
        // SAFETY: the 256 bytes at `i` are in bounds of both ranges; all
        // four loads happen before any store, so identical ranges are fine.
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
    // SAFETY: `i <= len`, so the rest (< 64 bytes) is in bounds; AVX-512F
    // implies AVX2. Everything since the head is a multiple of 4 long, so
    // `key` is still the key for offset `i`.
    unsafe { super::avx2::xor(src.add(i), dst.add(i), len - i, key) };
}
