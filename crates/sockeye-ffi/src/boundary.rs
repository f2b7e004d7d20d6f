//! Helpers for crossing the C boundary: catching panics, checking pointers,
//! turning (pointer, length) pairs into slices; and the one function that
//! describes a status.

use core::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::status::sockeye_status;

/// Result of a boundary body: `Err` carries the status to return.
pub(crate) type Outcome = Result<(), sockeye_status>;

/// Run `body`, turning its outcome into a status and any panic into
/// [`sockeye_status::ErrPanic`].
pub(crate) fn guard(body: impl FnOnce() -> Outcome) -> sockeye_status {
    status_of(catch_unwind(AssertUnwindSafe(body)).unwrap_or(Err(sockeye_status::ErrPanic)))
}

/// Like [`guard`], for bodies that may succeed with a status other than `Ok`.
pub(crate) fn guard_status(
    body: impl FnOnce() -> Result<sockeye_status, sockeye_status>,
) -> sockeye_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status) | Err(status)) => status,
        Err(_) => sockeye_status::ErrPanic,
    }
}

fn status_of(outcome: Outcome) -> sockeye_status {
    match outcome {
        Ok(()) => sockeye_status::Ok,
        Err(status) => status,
    }
}

/// A non-null output pointer, or [`sockeye_status::ErrNull`].
pub(crate) fn out_ptr<T>(ptr: *mut T) -> Result<*mut T, sockeye_status> {
    if ptr.is_null() {
        Err(sockeye_status::ErrNull)
    } else {
        Ok(ptr)
    }
}

/// The `len` bytes at `ptr`. A null `ptr` is accepted only when `len` is 0.
///
/// # Safety
/// If `ptr` is non-null and `len` non-zero, `ptr` must be valid for reading
/// `len` bytes, which must not be written during the returned lifetime.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], sockeye_status> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(sockeye_status::ErrNull);
    }
    if len > isize::MAX as usize {
        return Err(sockeye_status::ErrInvalidArgument);
    }
    // SAFETY: `ptr` is non-null, `len` is within `isize::MAX`, and the caller
    // guarantees the memory is readable and unchanged for `'a`.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// The `len` bytes at `ptr` as UTF-8 text.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn text<'a>(ptr: *const c_char, len: usize) -> Result<&'a str, sockeye_status> {
    // SAFETY: forwarded from this function's contract.
    let raw = unsafe { bytes(ptr.cast(), len) }?;
    core::str::from_utf8(raw).map_err(|_| sockeye_status::ErrInvalidUtf8)
}

/// The NUL-terminated UTF-8 string at `ptr`, which must not be null.
///
/// # Safety
/// If non-null, `ptr` must point to a NUL-terminated string that stays
/// unchanged during the returned lifetime.
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char) -> Result<&'a str, sockeye_status> {
    if ptr.is_null() {
        return Err(sockeye_status::ErrNull);
    }
    // SAFETY: `ptr` is non-null and the caller guarantees a NUL-terminated,
    // unchanging string.
    let raw = unsafe { CStr::from_ptr(ptr) };
    raw.to_str().map_err(|_| sockeye_status::ErrInvalidUtf8)
}

/// The `len` elements at `ptr`. A null `ptr` is accepted only when `len` is 0.
///
/// # Safety
/// If `ptr` is non-null and `len` non-zero, `ptr` must be valid for reading
/// `len` properly aligned and initialised elements, unchanged during `'a`.
pub(crate) unsafe fn array<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], sockeye_status> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(sockeye_status::ErrNull);
    }
    if len
        .checked_mul(size_of::<T>())
        .is_none_or(|size| size > isize::MAX as usize)
    {
        return Err(sockeye_status::ErrInvalidArgument);
    }
    // SAFETY: `ptr` is non-null, the total size is within `isize::MAX`, and
    // the caller guarantees `len` readable, initialised, aligned elements.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// Describe `status` in a few words: `*out` receives a static NUL-terminated
/// string, valid for the life of the program; never free it.
///
/// Returns `SOCKEYE_STATUS_ERR_NULL` if `out` is null and
/// `SOCKEYE_STATUS_ERR_INVALID_ARGUMENT` for a value that is not a status.
///
/// # Safety
/// `out` must be null or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_status_describe(
    status: i32,
    out: *mut *const c_char,
) -> sockeye_status {
    guard(|| {
        let out = out_ptr(out)?;
        let status = sockeye_status::from_raw(status).ok_or(sockeye_status::ErrInvalidArgument)?;
        // SAFETY: `out` is non-null and the caller guarantees it is valid for
        // writing one pointer.
        unsafe { out.write(status.description().as_ptr()) };
        Ok(())
    })
}
