//! Errors, split by whose fault they are.
//!
//! * [`ProtocolError`]: the peer broke RFC 6455 or exceeded a limit. It never
//!   comes back as an `Err` from an input method: the connection reports it as
//!   [`crate::Event::Failed`], sends a close frame with
//!   [`ProtocolError::wire_code`] (or none, when the peer is gone) and moves
//!   to closed.
//! * [`SendError`]: the application asked for something the connection cannot
//!   do (send after close, an invalid close code, an over-long reason). It is
//!   returned at once and changes nothing.
//! * [`HandshakeError`]: the opening handshake failed; it carries the HTTP
//!   response to send back where there is one.

use core::fmt;

pub use crate::handshake::HandshakeError;

/// A violation of RFC 6455 by the peer, or a limit it exceeded.
///
/// [`ProtocolError::wire_code`] says which close frame the engine sends
/// because of it, and [`ProtocolError::reported_code`] which code the
/// connection's [`crate::CloseStatus`] then reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode reserved for future use (RFC 6455 §5.2: 0x3–0x7, 0xB–0xF).
    ReservedOpcode(u8),
    /// RSV1, RSV2 or RSV3 set without an extension that defines them (§5.2).
    ReservedBitsSet(u8),
    /// A client sent a frame without a mask (§5.1).
    UnmaskedFrame,
    /// A server sent a masked frame (§5.1).
    MaskedFrame,
    /// The 64-bit payload length had its most significant bit set (§5.2).
    PayloadLengthOverflow,
    /// The payload length did not use the shortest encoding (§5.2).
    NonMinimalLength,
    /// A control frame with more than 125 payload bytes (§5.5).
    ControlFrameTooLong,
    /// A control frame without FIN (§5.5).
    FragmentedControlFrame,
    /// A continuation frame with no message in progress (§5.4).
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message was in progress (§5.4).
    ExpectedContinuation,
    /// Text (or a close reason) that is not valid UTF-8 (§8.1).
    InvalidUtf8,
    /// A close frame with a one-byte payload (§5.5.1).
    CloseFrameTooShort,
    /// A close frame carrying a code that may not be sent (§7.4).
    InvalidCloseCode(u16),
    /// A frame whose payload exceeds [`crate::Config::max_frame_size`].
    FrameTooLarge,
    /// A message whose payload exceeds [`crate::Config::max_message_size`].
    MessageTooLarge,
    /// A message split into more than [`crate::Config::max_fragments`] frames.
    TooManyFragments,
    /// The transport ended in the middle of a frame or before the closing handshake.
    UnexpectedEof,
    /// The peer did not answer a keepalive ping in time.
    KeepaliveTimeout,
    /// The peer did not answer our close frame in time.
    CloseTimeout,
    /// A compressed message that is not a valid deflate stream (RFC 7692 §6.2).
    InvalidCompressedData,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            ProtocolError::ReservedBitsSet(bits) => {
                write!(
                    f,
                    "reserved bits {bits:#05b} set without a negotiated extension"
                )
            }
            ProtocolError::UnmaskedFrame => f.write_str("client frame was not masked"),
            ProtocolError::MaskedFrame => f.write_str("server frame was masked"),
            ProtocolError::PayloadLengthOverflow => {
                f.write_str("64-bit payload length has its most significant bit set")
            }
            ProtocolError::NonMinimalLength => f.write_str("payload length not minimally encoded"),
            ProtocolError::ControlFrameTooLong => {
                f.write_str("control frame payload longer than 125 bytes")
            }
            ProtocolError::FragmentedControlFrame => f.write_str("fragmented control frame"),
            ProtocolError::UnexpectedContinuation => {
                f.write_str("continuation frame without a message in progress")
            }
            ProtocolError::ExpectedContinuation => {
                f.write_str("new data frame while a fragmented message is in progress")
            }
            ProtocolError::InvalidUtf8 => f.write_str("invalid UTF-8 in text"),
            ProtocolError::CloseFrameTooShort => f.write_str("close frame payload of one byte"),
            ProtocolError::InvalidCloseCode(code) => write!(f, "invalid close code {code}"),
            ProtocolError::FrameTooLarge => f.write_str("frame exceeds the size limit"),
            ProtocolError::MessageTooLarge => f.write_str("message exceeds the size limit"),
            ProtocolError::TooManyFragments => f.write_str("message has too many fragments"),
            ProtocolError::UnexpectedEof => {
                f.write_str("transport closed without a closing handshake")
            }
            ProtocolError::KeepaliveTimeout => f.write_str("peer did not answer a keepalive ping"),
            ProtocolError::CloseTimeout => {
                f.write_str("peer did not answer the close frame in time")
            }
            ProtocolError::InvalidCompressedData => {
                f.write_str("compressed message is not a valid deflate stream")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProtocolError {}

/// A request the connection cannot carry out; nothing was queued.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// A close frame was already sent or the connection has closed: no more
    /// data may be sent (RFC 6455 §5.5.1).
    Closed,
    /// A close reason longer than 123 bytes.
    ReasonTooLong {
        /// The reason's length in bytes.
        len: usize,
    },
    /// A ping or pong payload longer than 125 bytes.
    ControlPayloadTooLong {
        /// The payload's length in bytes.
        len: usize,
    },
    /// A fragment sent with no fragmented message in progress, or a new
    /// message started while one is in progress.
    FragmentOutOfOrder,
    /// A text piece that would make the message invalid UTF-8.
    InvalidUtf8,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => f.write_str("the connection is closing or closed"),
            SendError::ReasonTooLong { len } => {
                write!(f, "close reason of {len} bytes exceeds 123")
            }
            SendError::ControlPayloadTooLong { len } => {
                write!(f, "control payload of {len} bytes exceeds 125")
            }
            SendError::FragmentOutOfOrder => f.write_str("fragment sent out of order"),
            SendError::InvalidUtf8 => f.write_str("text piece is not valid UTF-8"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SendError {}
