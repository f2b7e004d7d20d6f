//! x86 SSE2: 16-byte vectors, four per loop iteration.
//!
//! Buffers of 16 bytes and more need no byte-wise tail: the first and last
//! vectors are loaded before anything is stored and written back last, so
//! they cover the unaligned head and the ragged end by overlapping the
//! middle with identical values (see [`xor`]).

#[cfg(target_arch = "x86")]
use core::arch::x86::{__m128i, _mm_loadu_si128, _mm_set1_epi32, _mm_storeu_si128, _mm_xor_si128};
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{
    __m128i, _mm_loadu_si128, _mm_set1_epi32, _mm_storeu_si128, _mm_xor_si128,
};

const LANES: usize = 16;

/// Write `src[i] ^ key[i % 4]` to `dst[i]` for `i < len`.
///
/// The middle is processed in vectors whose stores are aligned to 16 bytes;
/// the bytes before the first aligned store and after the last one are
/// covered by an unaligned vector at each end, computed from bytes loaded
/// before any store and so correct even where they overlap the middle.
///
/// # Safety
/// The CPU must support SSE2; `src` must be valid for reads and `dst` for
/// writes of `len` bytes, and the two ranges must be identical or disjoint.
#[target_feature(enable = "sse2")]
pub(super) unsafe fn xor(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    if len < LANES {
        // SAFETY: the caller's contract, passed on.
        return unsafe { super::xor_tail(src, dst, len, key) };
    }
    let vector = |key: [u8; 4]| _mm_set1_epi32(i32::from_ne_bytes(key));
    // SAFETY: `len >= 16`, so the first and last 16 bytes are in bounds.
    let (first, last) = unsafe {
        (
            _mm_loadu_si128(src.cast()),
            _mm_loadu_si128(src.add(len - LANES).cast()),
        )
    };
    let mut i = dst.addr().wrapping_neg() % LANES;
    let k = vector(super::rotate(key, i));
    while i + 4 * LANES <= len {
        // SAFETY: the 64 bytes at `i` are in bounds of both ranges; all
        // four loads happen before any store, and no byte loaded here has
        // been stored to yet (the ends are stored last).
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
    // SAFETY: both ends are in bounds (`len >= 16`); they were loaded before
    // any store. `len - 16` is `len` modulo 4 into the key stream.
    unsafe {
        _mm_storeu_si128(dst.cast(), _mm_xor_si128(first, vector(key)));
        let last = _mm_xor_si128(last, vector(super::rotate(key, len)));
        _mm_storeu_si128(dst.add(len - LANES).cast(), last);
    }
}

/// The longest buffer [`xor_small`] accepts.
#[cfg(target_feature = "sse2")]
pub(super) const SMALL_MAX: usize = 8 * LANES;

/// [`xor`] for up to 128 bytes, inlined into the dispatcher where SSE2 is
/// enabled at compile time (the x86_64 baseline), so small frames skip the
/// dispatch and an out-of-line call.
///
/// Whole 16-byte vectors from the front, then the last `len % 16` bytes as
/// at most one `u64`, `u32`, `u16` and byte. No two stores overlap: a
/// buffer masked twice in a row (a benchmark, or masking and unmasking)
/// then reads back every byte from a single earlier store, which the CPU
/// forwards, where overlapping vectors at the ends would make a load
/// straddle two stores and wait for both to reach the cache.
///
/// # Safety
/// `len <= 128`; `src` must be valid for reads and `dst` for writes of
/// `len` bytes, and the two ranges must be identical or disjoint.
#[cfg(target_feature = "sse2")]
#[inline(always)]
pub(super) unsafe fn xor_small(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    debug_assert!(len <= SMALL_MAX);
    let whole = len & !(LANES - 1);
    let mut i = 0;
    // SAFETY: SSE2 is enabled at compile time (this function's `cfg`); each
    // vector at `i` ends at or before `whole <= len`, in bounds of both
    // ranges; identical or disjoint ranges make load-then-store per vector
    // correct.
    unsafe {
        let k = _mm_set1_epi32(i32::from_ne_bytes(key));
        while i < whole {
            let v = _mm_loadu_si128(src.add(i).cast());
            _mm_storeu_si128(dst.add(i).cast(), _mm_xor_si128(v, k));
            i += LANES;
        }
    }
    // `whole` is a multiple of 16, so the tail starts at key byte 0.
    // SAFETY: `whole + (len - whole) == len`: the tail is in bounds of both
    // ranges; the caller's contract on them passes on.
    unsafe { xor_words(src.add(whole), dst.add(whole), len - whole, key) };
}

/// Fewer than 16 bytes from the start of the key stream, without a loop:
/// one `u64`, `u32`, `u16` and byte each, for the bits set in `len`.
///
/// # Safety
/// `len < 16`; pointers as for [`xor_small`].
#[cfg(target_feature = "sse2")]
#[inline(always)]
unsafe fn xor_words(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    debug_assert!(len < LANES);
    let word = u32::from_ne_bytes(key);
    let mut i = 0;
    // SAFETY: the accesses at `i` have sizes 8, 4, 2 and 1 for the bits of
    // `len` that are set, in that order, so each ends at or before `len`,
    // in bounds of both ranges; unaligned access is explicit. Until the
    // `u16`, `i` is a multiple of 4, so `key` stays in step with the key
    // stream; after it the next byte is key byte 2.
    unsafe {
        if len & 8 != 0 {
            let wide = u64::from(word) | (u64::from(word) << 32);
            let v = src.cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(v ^ wide);
            i = 8;
        }
        if len & 4 != 0 {
            let v = src.add(i).cast::<u32>().read_unaligned();
            dst.add(i).cast::<u32>().write_unaligned(v ^ word);
            i += 4;
        }
        let mut next = key[0];
        if len & 2 != 0 {
            let half = u16::from_ne_bytes([key[0], key[1]]);
            let v = src.add(i).cast::<u16>().read_unaligned();
            dst.add(i).cast::<u16>().write_unaligned(v ^ half);
            i += 2;
            next = key[2];
        }
        if len & 1 != 0 {
            *dst.add(i) = *src.add(i) ^ next;
        }
    }
}
