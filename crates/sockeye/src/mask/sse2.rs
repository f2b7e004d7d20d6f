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

/// [`xor`] for 16 to 128 bytes without a call or a loop: the buffer is
/// covered by one run of two, four or eight vectors from the front (offsets
/// 0, 16, ...) and the same number ending at `len` (offsets `len - 16`,
/// `len - 32`, ...), overlapping in the middle. All are loaded before any is
/// stored, and overlapping stores write identical values. Inlined into the
/// dispatcher where SSE2 is enabled at compile time (the x86_64 baseline), so
/// small frames skip the dispatch.
///
/// # Safety
/// `16 <= len <= 128`; `src` must be valid for reads and `dst` for writes
/// of `len` bytes, and the two ranges must be identical or disjoint.
#[cfg(target_feature = "sse2")]
#[inline(always)]
pub(super) unsafe fn xor_small(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    debug_assert!((LANES..=SMALL_MAX).contains(&len));
    // SAFETY: the caller's contract, passed on; in each arm
    // `16 * N <= len`, as `ends` requires.
    unsafe {
        if len < 2 * LANES {
            ends::<1>(src, dst, len, key)
        } else if len < 4 * LANES {
            ends::<2>(src, dst, len, key)
        } else {
            ends::<4>(src, dst, len, key)
        }
    }
}

/// `N` vectors from the front and `N` ending at `len`, covering any
/// `16 * N <= len <= 32 * N`.
///
/// # Safety
/// `16 * N <= len <= 32 * N`; pointers as for [`xor_small`].
#[cfg(target_feature = "sse2")]
#[inline(always)]
unsafe fn ends<const N: usize>(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    // Front offsets are multiples of 16, so they use the key as given; the
    // back run starts at `len - 16 * N`, which is `len` modulo 4.
    let back = len - N * LANES;
    // SAFETY: SSE2 is enabled at compile time (this function's `cfg`); the
    // offsets `16 * j` and `back + 16 * j` for `j < N` leave 16 bytes in
    // bounds because `16 * N <= len`; every load happens before any store;
    // `len <= 32 * N` means the two runs leave no gap between them.
    unsafe {
        let k = _mm_set1_epi32(i32::from_ne_bytes(key));
        let k_back = _mm_set1_epi32(i32::from_ne_bytes(super::rotate(key, len)));
        let front: [__m128i; N] =
            core::array::from_fn(|j| _mm_loadu_si128(src.add(j * LANES).cast()));
        let tail: [__m128i; N] =
            core::array::from_fn(|j| _mm_loadu_si128(src.add(back + j * LANES).cast()));
        for (j, v) in front.into_iter().enumerate() {
            _mm_storeu_si128(dst.add(j * LANES).cast(), _mm_xor_si128(v, k));
        }
        for (j, v) in tail.into_iter().enumerate() {
            _mm_storeu_si128(dst.add(back + j * LANES).cast(), _mm_xor_si128(v, k_back));
        }
    }
}
