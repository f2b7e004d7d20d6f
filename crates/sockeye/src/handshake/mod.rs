//! The opening handshake (RFC 6455 §4).
//!
//! (Placeholder: the client and server halves land separately.)

use core::fmt;

/// The opening handshake failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The handshake did not complete before its deadline.
    Timeout,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Timeout => f.write_str("opening handshake timed out"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HandshakeError {}
