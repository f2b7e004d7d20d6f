//! The XOR mask of RFC 6455 §5.3.
//!
//! Octet `i` of the payload is XORed with octet `i % 4` of the masking key;
//! the operation is its own inverse, so the same functions mask and unmask.
//!
//! [`scalar`] is the definition. Every other path computes the same bytes
//! faster: [`word`] is portable (a `u64` at a time, no `unsafe`, the path
//! used under Miri and on targets without SIMD), and one file per
//! instruction set holds the SIMD kernels (SSE2, AVX2, AVX-512BW, NEON).
//! With the `std` feature the fastest path the CPU supports is picked once,
//! on first use, and cached in a static; without `std` it is picked at
//! compile time from the enabled target features. [`MaskPath`] lists the
//! paths and can run any of them, for tests and benchmarks.

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, Ordering};

/// Whether an x86 feature is usable: detected at run time with `std`
/// (cached by `std`), enabled at compile time otherwise and under Miri,
/// which cannot execute CPUID.
macro_rules! x86_feature {
    ($($feature:tt),+) => {{
        #[cfg(all(
            feature = "std",
            not(miri),
            any(target_arch = "x86", target_arch = "x86_64")
        ))]
        {
            $(std::is_x86_feature_detected!($feature))&&+
        }
        #[cfg(not(all(
            feature = "std",
            not(miri),
            any(target_arch = "x86", target_arch = "x86_64")
        )))]
        {
            cfg!(all(
                any(target_arch = "x86", target_arch = "x86_64"),
                $(target_feature = $feature),+
            ))
        }
    }};
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod avx2;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
pub mod scalar;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod sse2;
pub mod word;

/// Below this many bytes the dispatched functions take the word path
/// directly: setting up vector registers costs more than it saves.
const SHORT: usize = 16;

/// Mask (or unmask) `buf` in place with `key`, from the start of the key
/// stream.
#[inline]
pub fn apply(buf: &mut [u8], key: [u8; 4]) {
    apply_at(buf, key, 0);
}

/// Mask (or unmask) `buf` in place, starting `offset` bytes into the key
/// stream, for payloads that arrive in pieces. Only `offset % 4` matters.
#[inline]
pub fn apply_at(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate(key, offset);
    if SMALL_SSE2 && buf.len() <= SMALL_MAX {
        let ptr = buf.as_mut_ptr();
        #[cfg(all(
            any(target_arch = "x86", target_arch = "x86_64"),
            target_feature = "sse2"
        ))]
        // SAFETY: `len <= 128`; `ptr` is valid for reads and writes of
        // `len` bytes (from `buf`), the same range on both sides; SSE2 is
        // enabled at compile time.
        unsafe {
            sse2::xor_small(ptr, ptr, buf.len(), key)
        };
        let _ = ptr;
    } else if buf.len() < SHORT {
        word::apply(buf, key);
    } else {
        apply_selected(buf, key);
    }
}

/// The run-time dispatch of [`apply_at`], kept out of line so that the
/// inlined small-buffer path stays a few instructions with no registers to
/// save.
#[inline(never)]
fn apply_selected(buf: &mut [u8], key: [u8; 4]) {
    MaskPath::selected().run_in_place(buf, key);
}

/// Append `src` masked with `key` to `dst` in one pass: the bytes are read
/// once from `src` and written once, masked, into `dst`'s spare capacity
/// (the client send path).
pub fn extend_masked(dst: &mut bytes::BytesMut, src: &[u8], key: [u8; 4]) {
    dst.reserve(src.len());
    let spare = &mut dst.spare_capacity_mut()[..src.len()];
    if src.len() < SHORT {
        word::copy(src, spare, key);
    } else {
        MaskPath::selected().run_copy(src, spare, key);
    }
    // SAFETY: `reserve` made room for `src.len()` more bytes, and the copy
    // above initialised exactly the first `src.len()` spare bytes.
    unsafe { dst.set_len(dst.len() + src.len()) };
}

/// Up to how many bytes [`apply_at`] uses the inlined SSE2 kernel: a
/// 125-byte payload (the largest with a one-byte length) then never pays
/// for the dispatch and an out-of-line call.
#[cfg(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
))]
const SMALL_MAX: usize = sse2::SMALL_MAX;
#[cfg(not(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
)))]
const SMALL_MAX: usize = 0;

/// Whether [`apply_at`] masks up to [`SMALL_MAX`] bytes with the inlined SSE2 kernel.
const SMALL_SSE2: bool = cfg!(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
));

/// The key as seen from `offset` bytes into the key stream.
#[inline]
const fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    // Moving the key stream forward by one byte moves every key byte one
    // place towards the front of the word: one rotate instruction.
    let bits = 8 * (offset % 4) as u32;
    let word = u32::from_ne_bytes(key);
    if cfg!(target_endian = "little") {
        word.rotate_right(bits).to_ne_bytes()
    } else {
        word.rotate_left(bits).to_ne_bytes()
    }
}

/// One implementation of the mask.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MaskPath {
    /// Byte by byte: the definition.
    Scalar,
    /// Portable, eight bytes at a time.
    Word,
    /// x86 SSE2, 16 bytes per vector.
    Sse2,
    /// x86 AVX2, 32 bytes per vector.
    Avx2,
    /// x86 AVX-512 (F and BW), 64 bytes per vector.
    Avx512,
    /// AArch64 NEON (Advanced SIMD), 16 bytes per vector.
    Neon,
}

/// The cached choice of [`MaskPath::selected`]; `UNSET` until first use.
static SELECTED: AtomicU8 = AtomicU8::new(UNSET);
const UNSET: u8 = u8::MAX;

impl MaskPath {
    /// Every path, slowest first, whether or not this CPU supports it.
    pub const ALL: [MaskPath; 6] = [
        MaskPath::Scalar,
        MaskPath::Word,
        MaskPath::Sse2,
        MaskPath::Neon,
        MaskPath::Avx2,
        MaskPath::Avx512,
    ];

    /// A short lowercase name (`"avx2"`), for test output and benchmark ids.
    pub const fn name(self) -> &'static str {
        match self {
            MaskPath::Scalar => "scalar",
            MaskPath::Word => "word",
            MaskPath::Sse2 => "sse2",
            MaskPath::Avx2 => "avx2",
            MaskPath::Avx512 => "avx512",
            MaskPath::Neon => "neon",
        }
    }

    /// Whether this path can run here: compiled for this architecture and,
    /// with `std`, supported by the CPU; without `std` (and under Miri),
    /// enabled at compile time with `target_feature`.
    pub fn is_supported(self) -> bool {
        match self {
            MaskPath::Scalar | MaskPath::Word => true,
            MaskPath::Sse2 => x86_feature!("sse2"),
            MaskPath::Avx2 => x86_feature!("avx2"),
            MaskPath::Avx512 => x86_feature!("avx512f", "avx512bw"),
            MaskPath::Neon => cfg!(all(target_arch = "aarch64", target_feature = "neon")),
        }
    }

    /// The paths this CPU supports, slowest first.
    pub fn available() -> impl Iterator<Item = MaskPath> {
        MaskPath::ALL.into_iter().filter(|path| path.is_supported())
    }

    /// The path [`apply`], [`apply_at`] and [`extend_masked`] use for
    /// buffers of 16 bytes and more: the fastest supported one, decided on
    /// first call and cached.
    #[inline]
    pub fn selected() -> MaskPath {
        match SELECTED.load(Ordering::Relaxed) {
            UNSET => {
                let best = MaskPath::available().last().unwrap_or(MaskPath::Word);
                // Racing first calls all compute and store the same value.
                SELECTED.store(best as u8, Ordering::Relaxed);
                best
            }
            n => MaskPath::from_u8(n),
        }
    }

    #[inline]
    fn from_u8(n: u8) -> MaskPath {
        const SSE2: u8 = MaskPath::Sse2 as u8;
        const AVX2: u8 = MaskPath::Avx2 as u8;
        const AVX512: u8 = MaskPath::Avx512 as u8;
        const NEON: u8 = MaskPath::Neon as u8;
        match n {
            SSE2 => MaskPath::Sse2,
            AVX2 => MaskPath::Avx2,
            AVX512 => MaskPath::Avx512,
            NEON => MaskPath::Neon,
            _ => MaskPath::Word,
        }
    }

    /// Mask `buf` in place with this path, starting `offset` bytes into the
    /// key stream. Does nothing if the path is not supported here (see
    /// [`MaskPath::is_supported`]).
    pub fn apply_at(self, buf: &mut [u8], key: [u8; 4], offset: usize) {
        if self.is_supported() {
            self.run_in_place(buf, rotate(key, offset));
        }
    }

    /// Append `src` masked with `key` (from offset 0) to `dst` with this
    /// path. Appends nothing if the path is not supported here.
    pub fn extend_masked(self, dst: &mut bytes::BytesMut, src: &[u8], key: [u8; 4]) {
        if !self.is_supported() {
            return;
        }
        dst.reserve(src.len());
        let spare = &mut dst.spare_capacity_mut()[..src.len()];
        self.run_copy(src, spare, key);
        // SAFETY: `reserve` made room for `src.len()` more bytes, and
        // `run_copy` initialised exactly the first `src.len()` spare bytes.
        unsafe { dst.set_len(dst.len() + src.len()) };
    }

    /// In-place mask with a key already rotated to the start of `buf`.
    /// Callers have checked [`MaskPath::is_supported`].
    // Without a SIMD kernel for the target, only the portable arms remain
    // and the raw pointers go unused.
    #[cfg_attr(
        not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")),
        allow(unused_variables)
    )]
    #[inline]
    fn run_in_place(self, buf: &mut [u8], key: [u8; 4]) {
        let len = buf.len();
        let ptr = buf.as_mut_ptr();
        match self {
            MaskPath::Scalar => scalar::apply(buf, key),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            // SAFETY: `ptr` is valid for reads and writes of `len` bytes
            // (it comes from `buf`), source and destination are the same
            // pointer, and the caller checked that the CPU supports SSE2.
            MaskPath::Sse2 => unsafe { sse2::xor(ptr, ptr, len, key) },
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            // SAFETY: as for SSE2, with AVX2 support checked.
            MaskPath::Avx2 => unsafe { avx2::xor(ptr, ptr, len, key) },
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            // SAFETY: as for SSE2, with AVX-512F and AVX-512BW checked.
            MaskPath::Avx512 => unsafe { avx512::xor(ptr, ptr, len, key) },
            #[cfg(target_arch = "aarch64")]
            // SAFETY: as for SSE2, with NEON enabled at compile time.
            MaskPath::Neon => unsafe { neon::xor(ptr, ptr, len, key) },
            _ => word::apply(buf, key),
        }
    }

    /// Copy-and-mask into `dst` (as long as `src`), key from offset 0.
    /// Callers have checked [`MaskPath::is_supported`]; on return every
    /// byte of `dst` is initialised.
    // Without a SIMD kernel for the target, only the portable arms remain
    // and the raw pointers go unused.
    #[cfg_attr(
        not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")),
        allow(unused_variables)
    )]
    #[inline]
    fn run_copy(self, src: &[u8], dst: &mut [MaybeUninit<u8>], key: [u8; 4]) {
        assert_eq!(src.len(), dst.len());
        let len = src.len();
        let from = src.as_ptr();
        let to = dst.as_mut_ptr().cast::<u8>();
        match self {
            MaskPath::Scalar => scalar::copy(src, dst, key),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            // SAFETY: `from` is readable and `to` writable for `len` bytes
            // (checked equal lengths above); a shared and an exclusive
            // borrow cannot overlap; the caller checked SSE2 support.
            MaskPath::Sse2 => unsafe { sse2::xor(from, to, len, key) },
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            // SAFETY: as for SSE2, with AVX2 support checked.
            MaskPath::Avx2 => unsafe { avx2::xor(from, to, len, key) },
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            // SAFETY: as for SSE2, with AVX-512F and AVX-512BW checked.
            MaskPath::Avx512 => unsafe { avx512::xor(from, to, len, key) },
            #[cfg(target_arch = "aarch64")]
            // SAFETY: as for SSE2, with NEON enabled at compile time.
            MaskPath::Neon => unsafe { neon::xor(from, to, len, key) },
            _ => word::copy(src, dst, key),
        }
    }
}

/// Mask the last few bytes through raw pointers, shared by the SIMD kernels
/// for what is left after their vector loops: a `u32` at a time, then bytes.
///
/// # Safety
/// `src` must be valid for reads and `dst` for writes of `len` bytes, and the
/// two ranges must either be identical or not overlap.
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
unsafe fn xor_tail(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    let word = u32::from_ne_bytes(key);
    let mut i = 0;
    while i + 4 <= len {
        // SAFETY: `i + 4 <= len`, so the four bytes at `i` are in bounds of
        // both ranges (caller's contract); unaligned access is explicit.
        unsafe {
            let v = src.add(i).cast::<u32>().read_unaligned();
            dst.add(i).cast::<u32>().write_unaligned(v ^ word);
        }
        i += 4;
    }
    while i < len {
        // SAFETY: `i < len`, in bounds of both ranges.
        unsafe { *dst.add(i) = *src.add(i) ^ key[i % 4] };
        i += 1;
    }
}

#[cfg(all(test, feature = "std"))]
mod tests;
