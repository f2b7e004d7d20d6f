//! Events as plain C data: a kind, a payload view, and the details some
//! kinds carry.

use bytes::Bytes;
use sockeye::{CloseStatus, DataKind, Event, ProtocolError};

/// What happened, in `sockeye_event.kind`. New kinds may be added; ignore
/// the ones you do not know.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sockeye_event_kind {
    /// The opening handshake completed; the handle is OPEN. `data`/`len`
    /// hold the negotiated subprotocol (empty when none).
    Open = 1,
    /// A whole text message (valid UTF-8, not NUL-terminated) in `data`/`len`.
    Text = 2,
    /// A whole binary message in `data`/`len`.
    Binary = 3,
    /// A piece of a message in streaming mode (`SOCKEYE_OPTION_STREAMING`):
    /// see `is_text`, `is_first` and `is_last`.
    Fragment = 4,
    /// A ping and its payload. With auto-pong (the default) the pong is
    /// already queued.
    Ping = 5,
    /// A pong and its payload.
    Pong = 6,
    /// The peer's close frame: `close_code` (1005 when it carried none) and
    /// the UTF-8 reason in `data`/`len`. The reply is queued; the handle is
    /// CLOSED: write out what is queued, then close the transport.
    Close = 7,
    /// The connection or the handshake failed: `error` says why,
    /// `close_code` is the code of the close frame sent to the peer, or 1006
    /// when none was (the transport ended, the peer stopped answering, or
    /// the handshake failed), and
    /// `data`/`len` hold a UTF-8 description. Any close frame or HTTP error
    /// response is queued; the handle is CLOSED.
    Error = 8,
}

/// Why a connection failed, in `sockeye_event.error`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sockeye_error {
    /// No error (events other than `SOCKEYE_EVENT_KIND_ERROR`).
    None = 0,
    /// A reserved opcode (RFC 6455 §5.2).
    ReservedOpcode = 1,
    /// RSV bits set without an extension (§5.2).
    ReservedBits = 2,
    /// A client frame without a mask (§5.1).
    UnmaskedFrame = 3,
    /// A masked server frame (§5.1).
    MaskedFrame = 4,
    /// A 64-bit length with its top bit set (§5.2).
    PayloadLengthOverflow = 5,
    /// A length not minimally encoded (§5.2).
    NonMinimalLength = 6,
    /// A control frame over 125 bytes (§5.5).
    ControlFrameTooLong = 7,
    /// A fragmented control frame (§5.5).
    FragmentedControlFrame = 8,
    /// A continuation frame with no message in progress (§5.4).
    UnexpectedContinuation = 9,
    /// A new message while a fragmented one was in progress (§5.4).
    ExpectedContinuation = 10,
    /// Invalid UTF-8 in text or a close reason (§8.1).
    InvalidUtf8 = 11,
    /// A close frame with a one-byte payload (§5.5.1).
    CloseFrameTooShort = 12,
    /// A close code that may not be sent (§7.4).
    InvalidCloseCode = 13,
    /// A frame over `SOCKEYE_OPTION_MAX_FRAME_SIZE`.
    FrameTooLarge = 14,
    /// A message over `SOCKEYE_OPTION_MAX_MESSAGE_SIZE`.
    MessageTooLarge = 15,
    /// A message over `SOCKEYE_OPTION_MAX_FRAGMENTS` frames.
    TooManyFragments = 16,
    /// The transport ended before the closing handshake.
    UnexpectedEof = 17,
    /// The peer did not answer a keepalive ping in time.
    KeepaliveTimeout = 18,
    /// The peer did not answer our close frame in time.
    CloseTimeout = 19,
    /// The opening handshake failed (a bad request or response, a limit, or
    /// its deadline).
    Handshake = 20,
    /// A failure this version of the header has no name for.
    Other = 255,
}

impl From<ProtocolError> for sockeye_error {
    fn from(error: ProtocolError) -> Self {
        match error {
            ProtocolError::ReservedOpcode(_) => sockeye_error::ReservedOpcode,
            ProtocolError::ReservedBitsSet(_) => sockeye_error::ReservedBits,
            ProtocolError::UnmaskedFrame => sockeye_error::UnmaskedFrame,
            ProtocolError::MaskedFrame => sockeye_error::MaskedFrame,
            ProtocolError::PayloadLengthOverflow => sockeye_error::PayloadLengthOverflow,
            ProtocolError::NonMinimalLength => sockeye_error::NonMinimalLength,
            ProtocolError::ControlFrameTooLong => sockeye_error::ControlFrameTooLong,
            ProtocolError::FragmentedControlFrame => sockeye_error::FragmentedControlFrame,
            ProtocolError::UnexpectedContinuation => sockeye_error::UnexpectedContinuation,
            ProtocolError::ExpectedContinuation => sockeye_error::ExpectedContinuation,
            ProtocolError::InvalidUtf8 => sockeye_error::InvalidUtf8,
            ProtocolError::CloseFrameTooShort => sockeye_error::CloseFrameTooShort,
            ProtocolError::InvalidCloseCode(_) => sockeye_error::InvalidCloseCode,
            ProtocolError::FrameTooLarge => sockeye_error::FrameTooLarge,
            ProtocolError::MessageTooLarge => sockeye_error::MessageTooLarge,
            ProtocolError::TooManyFragments => sockeye_error::TooManyFragments,
            ProtocolError::UnexpectedEof => sockeye_error::UnexpectedEof,
            ProtocolError::KeepaliveTimeout => sockeye_error::KeepaliveTimeout,
            ProtocolError::CloseTimeout => sockeye_error::CloseTimeout,
            _ => sockeye_error::Other,
        }
    }
}

/// One event, filled in by `sockeye_conn_poll_event`.
///
/// `data` points into the handle and stays valid until the next call on the
/// handle other than a getter (or until it is freed); copy what you keep.
/// `data` is never null, even when `len` is 0. Fields that do not apply to
/// the kind are zero.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sockeye_event {
    /// What happened: a `sockeye_event_kind`.
    pub kind: sockeye_event_kind,
    /// The payload, reason, subprotocol or description (see the kind).
    pub data: *const u8,
    /// Bytes at `data`.
    pub len: usize,
    /// For `CLOSE` and `ERROR`: the close code.
    pub close_code: u16,
    /// For `FRAGMENT`: the message is text (else binary).
    pub is_text: bool,
    /// For `FRAGMENT`: the first piece of a message.
    pub is_first: bool,
    /// For `FRAGMENT`: the last piece of a message.
    pub is_last: bool,
    /// For `ERROR`: why the connection failed.
    pub error: sockeye_error,
}

/// Where an empty payload points: a real byte, so C callers may pass the
/// pointer anywhere a valid pointer is required.
static EMPTY: u8 = 0;

/// An event with its payload, owned by the handle until the next poll.
pub(crate) struct Ready {
    pub(crate) kind: sockeye_event_kind,
    pub(crate) payload: Bytes,
    pub(crate) close_code: u16,
    pub(crate) fragment: Option<(DataKind, bool, bool)>,
    pub(crate) error: sockeye_error,
}

impl Ready {
    pub(crate) fn new(kind: sockeye_event_kind, payload: Bytes) -> Self {
        Self {
            kind,
            payload,
            close_code: 0,
            fragment: None,
            error: sockeye_error::None,
        }
    }

    /// A failure with `code` sent (or reported) and a description.
    pub(crate) fn failure(error: sockeye_error, code: u16, description: String) -> Self {
        Self {
            close_code: code,
            error,
            ..Self::new(sockeye_event_kind::Error, Bytes::from(description))
        }
    }

    /// Convert an engine event.
    pub(crate) fn from_engine(event: Event) -> Option<Self> {
        Some(match event {
            Event::Text(text) => Self::new(sockeye_event_kind::Text, text.into_bytes()),
            Event::Binary(data) => Self::new(sockeye_event_kind::Binary, data),
            Event::Fragment(fragment) => Self {
                fragment: Some((fragment.kind, fragment.is_first, fragment.is_last)),
                ..Self::new(sockeye_event_kind::Fragment, fragment.payload)
            },
            Event::Ping(data) => Self::new(sockeye_event_kind::Ping, data),
            Event::Pong(data) => Self::new(sockeye_event_kind::Pong, data),
            Event::Close(frame) => match frame {
                Some(frame) => Self {
                    close_code: frame.code.get(),
                    ..Self::new(sockeye_event_kind::Close, Bytes::from(frame.reason))
                },
                None => Self {
                    close_code: CloseStatus::NO_STATUS_RECEIVED,
                    ..Self::new(sockeye_event_kind::Close, Bytes::new())
                },
            },
            Event::Failed(error) => {
                Self::failure(error.into(), error.reported_code(), error.to_string())
            }
            // An event kind this version does not know: skip it rather
            // than report something wrong.
            _ => return None,
        })
    }

    /// The C view of this event, borrowing its payload.
    pub(crate) fn view(&self) -> sockeye_event {
        let (is_text, is_first, is_last) = match self.fragment {
            Some((kind, first, last)) => (kind == DataKind::Text, first, last),
            None => (false, false, false),
        };
        sockeye_event {
            kind: self.kind,
            // A non-null pointer even for empty payloads, so C callers can
            // pass it to memcpy and friends.
            data: if self.payload.is_empty() {
                &EMPTY
            } else {
                self.payload.as_ptr()
            },
            len: self.payload.len(),
            close_code: self.close_code,
            is_text,
            is_first,
            is_last,
            error: self.error,
        }
    }
}
