//! Close codes, close reasons and the close frame payload (RFC 6455 §5.5.1, §7.4).

use alloc::string::String;
use core::fmt;
use core::num::NonZeroU16;

use crate::error::ProtocolError;

/// Longest close reason in bytes: a control frame carries at most 125 payload
/// bytes (RFC 6455 §5.5), two of which are the code.
pub const MAX_REASON_LEN: usize = 123;

/// A close status code that may appear in a close frame on the wire.
///
/// The type can only hold codes that RFC 6455 §7.4 (and the IANA registry it
/// created) allows an endpoint to send: 1000–1003, 1007–1014 and 3000–4999.
/// The codes that describe a closure but must never be sent (1005, 1006,
/// 1015) appear only in a [`CloseStatus`], as plain numbers
/// ([`CloseStatus::NO_STATUS_RECEIVED`] and friends).
///
/// ```
/// use sockeye::CloseCode;
///
/// assert_eq!(CloseCode::new(1000), Some(CloseCode::NORMAL));
/// assert_eq!(CloseCode::new(4321).map(CloseCode::get), Some(4321));
/// assert_eq!(CloseCode::new(1005), None); // never on the wire
/// assert_eq!(CloseCode::new(2999), None); // reserved for future RFCs
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(NonZeroU16);

macro_rules! close_codes {
    ($($(#[$doc:meta])* $name:ident = $value:literal;)*) => {
        impl CloseCode {
            $(
                $(#[$doc])*
                pub const $name: CloseCode = match NonZeroU16::new($value) {
                    Some(code) => CloseCode(code),
                    None => unreachable!(),
                };
            )*
        }
    };
}

close_codes! {
    /// 1000: the purpose of the connection has been fulfilled.
    NORMAL = 1000;
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    GOING_AWAY = 1001;
    /// 1002: the peer broke the protocol.
    PROTOCOL_ERROR = 1002;
    /// 1003: the endpoint cannot accept this kind of data (text or binary).
    UNSUPPORTED_DATA = 1003;
    /// 1007: a message's data was not consistent with its type (invalid UTF-8 in text).
    INVALID_PAYLOAD = 1007;
    /// 1008: a message violated the endpoint's policy.
    POLICY_VIOLATION = 1008;
    /// 1009: a message or frame was too big to process.
    MESSAGE_TOO_BIG = 1009;
    /// 1010: the client expected the server to negotiate an extension it did not.
    MANDATORY_EXTENSION = 1010;
    /// 1011: the server met an unexpected condition.
    INTERNAL_ERROR = 1011;
    /// 1012: the service is restarting.
    SERVICE_RESTART = 1012;
    /// 1013: try again later (overload).
    TRY_AGAIN_LATER = 1013;
    /// 1014: a gateway or proxy got an invalid answer from upstream.
    BAD_GATEWAY = 1014;
}

impl CloseCode {
    /// The code `value` if it may be sent in a close frame, `None` otherwise.
    pub const fn new(value: u16) -> Option<CloseCode> {
        if !Self::is_allowed_on_wire(value) {
            return None;
        }
        match NonZeroU16::new(value) {
            Some(code) => Some(CloseCode(code)),
            None => None,
        }
    }

    /// Whether `value` may appear in a close frame (RFC 6455 §7.4.1, §7.4.2).
    pub const fn is_allowed_on_wire(value: u16) -> bool {
        matches!(value, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// The numeric value of the code.
    pub const fn get(self) -> u16 {
        self.0.get()
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.get()
    }
}

impl TryFrom<u16> for CloseCode {
    type Error = InvalidCloseCode;

    fn try_from(value: u16) -> Result<Self, Self::Error> {
        CloseCode::new(value).ok_or(InvalidCloseCode(value))
    }
}

/// A number that is not a close code allowed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidCloseCode(pub u16);

impl fmt::Display for InvalidCloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a close code that may be sent", self.0)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for InvalidCloseCode {}

/// How a connection ended, as the browser API's `CloseEvent` reports it.
///
/// * `code`: the status code of the first close frame received (RFC 6455
///   §7.1.5; [`CloseStatus::NO_STATUS_RECEIVED`] when it had none), the
///   code this end sent when it failed the connection
///   ([`ProtocolError::reported_code`]), or
///   [`CloseStatus::ABNORMAL_CLOSURE`] when the connection ended without a
///   closing handshake (the transport dropped, the peer stopped answering);
/// * `reason`: the close frame's reason, or a description of the failure;
/// * `was_clean`: the closing handshake completed, close frames having gone
///   both ways (RFC 6455 §7.1.4).
///
/// ```
/// use sockeye::CloseStatus;
///
/// let dropped = CloseStatus::abnormal("connection reset");
/// assert_eq!(dropped.code, CloseStatus::ABNORMAL_CLOSURE);
/// assert!(!dropped.was_clean && !dropped.is_normal());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseStatus {
    /// The close code (see the type's documentation).
    pub code: u16,
    /// The peer's reason, or a description of the failure.
    pub reason: String,
    /// Whether the closing handshake completed.
    pub was_clean: bool,
}

impl CloseStatus {
    /// 1005: the close frame carried no status code. Reported, never sent.
    pub const NO_STATUS_RECEIVED: u16 = 1005;
    /// 1006: the connection ended without a closing handshake. Reported, never sent.
    pub const ABNORMAL_CLOSURE: u16 = 1006;
    /// 1015: the TLS handshake failed. Reported, never sent.
    pub const TLS_HANDSHAKE: u16 = 1015;

    /// A connection that ended without a closing handshake, for `reason`:
    /// code 1006, not clean.
    pub fn abnormal(reason: impl Into<String>) -> Self {
        CloseStatus {
            code: Self::ABNORMAL_CLOSURE,
            reason: reason.into(),
            was_clean: false,
        }
    }

    /// Whether this was a normal closure (1000): one side meant to end the
    /// conversation.
    pub fn is_normal(&self) -> bool {
        self.code == CloseCode::NORMAL.get()
    }
}

/// The one rule for the close code of a failure (RFC 6455 §7.1.7, §7.4.1).
impl ProtocolError {
    /// The code of the close frame sent to the peer because of this error,
    /// or `None` when none is sent: the transport ended
    /// ([`ProtocolError::UnexpectedEof`]) or the peer stopped answering
    /// (a keepalive or close timeout), so nothing would read it.
    ///
    /// ```
    /// use sockeye::{CloseCode, ProtocolError};
    ///
    /// assert_eq!(ProtocolError::InvalidUtf8.wire_code(), Some(CloseCode::INVALID_PAYLOAD));
    /// assert_eq!(ProtocolError::KeepaliveTimeout.wire_code(), None);
    /// ```
    pub const fn wire_code(self) -> Option<CloseCode> {
        Some(match self {
            ProtocolError::UnexpectedEof
            | ProtocolError::KeepaliveTimeout
            | ProtocolError::CloseTimeout => return None,
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCompressedData => {
                CloseCode::INVALID_PAYLOAD
            }
            ProtocolError::FrameTooLarge
            | ProtocolError::MessageTooLarge
            | ProtocolError::TooManyFragments => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        })
    }

    /// The code the connection's [`CloseStatus`] reports after this error:
    /// the [`wire_code`](Self::wire_code) when a close frame was sent,
    /// [`CloseStatus::ABNORMAL_CLOSURE`] (1006) when none was.
    pub const fn reported_code(self) -> u16 {
        match self.wire_code() {
            Some(code) => code.get(),
            None => CloseStatus::ABNORMAL_CLOSURE,
        }
    }
}

/// The payload of a close frame that carried a status code: the code and a
/// UTF-8 reason of at most [`MAX_REASON_LEN`] bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, possibly empty.
    pub reason: String,
}

impl CloseFrame {
    /// A close frame with `code` and `reason`, checking the reason's length.
    ///
    /// # Errors
    /// [`crate::SendError::ReasonTooLong`] when the reason exceeds
    /// [`MAX_REASON_LEN`] bytes.
    pub fn new(code: CloseCode, reason: &str) -> Result<Self, crate::SendError> {
        if reason.len() > MAX_REASON_LEN {
            return Err(crate::SendError::ReasonTooLong { len: reason.len() });
        }
        Ok(Self {
            code,
            reason: String::from(reason),
        })
    }

    /// Parse a received close frame's payload (RFC 6455 §5.5.1).
    ///
    /// An empty payload means "no status code" and yields `Ok(None)`.
    ///
    /// # Errors
    /// A one-byte payload or a code not allowed on the wire is a
    /// [`ProtocolError`] that closes with 1002; a reason that is not UTF-8
    /// closes with 1007.
    pub fn decode(payload: &[u8]) -> Result<Option<Self>, ProtocolError> {
        match payload {
            [] => Ok(None),
            [_] => Err(ProtocolError::CloseFrameTooShort),
            [high, low, reason @ ..] => {
                let raw = u16::from_be_bytes([*high, *low]);
                let code = CloseCode::new(raw).ok_or(ProtocolError::InvalidCloseCode(raw))?;
                let reason =
                    simdutf8::basic::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
                Ok(Some(Self {
                    code,
                    reason: String::from(reason),
                }))
            }
        }
    }

    /// Length of the encoded payload: two bytes of code plus the reason.
    pub fn encoded_len(&self) -> usize {
        2 + self.reason.len()
    }

    /// Write the payload (code in network byte order, then the reason) to `out`.
    pub fn encode_into(&self, out: &mut alloc::vec::Vec<u8>) {
        out.extend_from_slice(&self.code.get().to_be_bytes());
        out.extend_from_slice(self.reason.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_validity_matches_rfc_7_4() {
        for value in 0..=u16::MAX {
            let expected = (1000..=1003).contains(&value)
                || (1007..=1014).contains(&value)
                || (3000..=4999).contains(&value);
            assert_eq!(CloseCode::is_allowed_on_wire(value), expected, "{value}");
            assert_eq!(CloseCode::new(value).is_some(), expected, "{value}");
        }
    }

    #[test]
    fn decodes_empty_payload_as_no_status() {
        assert_eq!(CloseFrame::decode(&[]), Ok(None));
    }

    #[test]
    fn rejects_one_byte_close_payload_with_1002() {
        let err = CloseFrame::decode(&[3]).unwrap_err();
        assert_eq!(err.wire_code(), Some(CloseCode::PROTOCOL_ERROR));
    }

    #[test]
    fn rejects_reserved_codes_with_1002() {
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            let err = CloseFrame::decode(&code.to_be_bytes()).unwrap_err();
            assert_eq!(err, ProtocolError::InvalidCloseCode(code));
            assert_eq!(err.wire_code(), Some(CloseCode::PROTOCOL_ERROR));
        }
    }

    #[test]
    fn rejects_invalid_utf8_reason_with_1007() {
        let err = CloseFrame::decode(&[0x03, 0xe8, 0xff]).unwrap_err();
        assert_eq!(err.wire_code(), Some(CloseCode::INVALID_PAYLOAD));
    }

    #[test]
    fn a_failure_is_reported_with_the_code_it_sent_or_1006() {
        assert_eq!(ProtocolError::MessageTooLarge.reported_code(), 1009);
        for gone in [
            ProtocolError::UnexpectedEof,
            ProtocolError::KeepaliveTimeout,
            ProtocolError::CloseTimeout,
        ] {
            assert_eq!(gone.wire_code(), None);
            assert_eq!(gone.reported_code(), CloseStatus::ABNORMAL_CLOSURE);
        }
    }

    #[test]
    fn round_trips_code_and_reason() {
        let frame = CloseFrame::new(CloseCode::GOING_AWAY, "bye ✓").unwrap();
        let mut payload = alloc::vec::Vec::new();
        frame.encode_into(&mut payload);
        assert_eq!(payload.len(), frame.encoded_len());
        assert_eq!(CloseFrame::decode(&payload), Ok(Some(frame)));
    }

    #[test]
    fn rejects_reason_over_123_bytes() {
        let reason = "x".repeat(124);
        assert_eq!(
            CloseFrame::new(CloseCode::NORMAL, &reason),
            Err(crate::SendError::ReasonTooLong { len: 124 })
        );
        assert!(CloseFrame::new(CloseCode::NORMAL, &reason[..123]).is_ok());
    }
}
