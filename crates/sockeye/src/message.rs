//! Message payload types: text that is known to be UTF-8, and the kind of a data message.

use bytes::Bytes;
use core::fmt;
use core::ops::Deref;

/// Whether a data message is text or binary (RFC 6455 §5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Arbitrary bytes (opcode 0x2).
    Binary,
}

/// Immutable, cheaply clonable bytes that are valid UTF-8.
///
/// Received text messages are split from the receive buffer without a copy
/// and validated once; this type records that validation so that reading the
/// text as `&str` costs nothing.
///
/// ```
/// use sockeye::Utf8Bytes;
///
/// let text = Utf8Bytes::from("héllo");
/// assert_eq!(text.as_str(), "héllo");
/// assert!(Utf8Bytes::try_from(bytes::Bytes::from_static(b"\xff")).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Wrap bytes already known to be valid UTF-8. Crate-internal: every
    /// caller has validated them.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(core::str::from_utf8(&bytes).is_ok());
        Self(bytes)
    }

    /// Text from a `'static` string without copying.
    pub const fn from_static(text: &'static str) -> Self {
        Self(Bytes::from_static(text.as_bytes()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor of `Utf8Bytes` either takes a `str`/`String`
        // or validated the bytes as UTF-8 (`try_from`, `from_validated`, whose
        // callers validate with `crate::utf8`), and the bytes are immutable.
        unsafe { core::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Give up the UTF-8 guarantee and return the bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Utf8Bytes {
    fn from(text: &str) -> Self {
        Self(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<alloc::string::String> for Utf8Bytes {
    fn from(text: alloc::string::String) -> Self {
        Self(Bytes::from(text.into_bytes()))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(text: Utf8Bytes) -> Bytes {
        text.0
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = crate::utf8::InvalidUtf8;

    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        crate::utf8::validate(&bytes)?;
        Ok(Self(bytes))
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_reads_validated_bytes() {
        let text = Utf8Bytes::try_from(Bytes::from_static("ünïcödé ✓".as_bytes())).unwrap();
        assert_eq!(text.as_str(), "ünïcödé ✓");
        assert_eq!(&*text, "ünïcödé ✓");
    }

    #[test]
    fn rejects_invalid_bytes() {
        assert!(Utf8Bytes::try_from(Bytes::from_static(b"ok\xc3")).is_err());
    }
}
