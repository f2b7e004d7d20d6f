//! UTF-8 validation of text messages and close reasons (RFC 6455 §8.1).
//!
//! (Placeholder: correct but not incremental-fast; the simdutf8 streaming
//! validator lands separately.)

use alloc::vec::Vec;
use core::fmt;

/// The bytes are not, and can no longer become, valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

impl fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

/// Validate a complete text at once.
pub fn validate(bytes: &[u8]) -> Result<(), InvalidUtf8> {
    simdutf8::basic::from_utf8(bytes)
        .map(|_| ())
        .map_err(|_| InvalidUtf8)
}

/// Validates text that arrives in pieces, failing as soon as the bytes seen
/// so far cannot be the start of valid UTF-8.
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    pending: Vec<u8>,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub const fn new() -> Self {
        Self {
            pending: Vec::new(),
        }
    }

    /// Validate the next piece.
    ///
    /// # Errors
    /// [`InvalidUtf8`] once the text seen so far cannot be a prefix of valid UTF-8.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), InvalidUtf8> {
        self.pending.extend_from_slice(chunk);
        match core::str::from_utf8(&self.pending) {
            Ok(_) => {
                self.pending.clear();
                Ok(())
            }
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                self.pending.drain(..valid);
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// End of the text: fails if it stopped inside a code point. Resets the
    /// validator for the next text either way.
    ///
    /// # Errors
    /// [`InvalidUtf8`] if an incomplete code point is left over.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.pending.is_empty();
        self.pending.clear();
        if complete { Ok(()) } else { Err(InvalidUtf8) }
    }

    /// Forget everything, ready for a new text.
    pub fn reset(&mut self) {
        self.pending.clear();
    }
}
