//! The unit the adapters hand to and take from the application.

use bytes::Bytes;
use sockeye::connection::Fragment;
use sockeye::{CloseFrame, Event, Utf8Bytes};

use crate::Error;

/// A WebSocket message as the adapters' `recv` returns it and `send` takes it.
///
/// ```
/// use sockeye_io::Message;
///
/// let hello = Message::text("hello");
/// assert_eq!(hello.as_text(), Some("hello"));
/// assert!(Message::binary(vec![1, 2, 3]).is_data());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A whole text message.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// A ping. Received pings are already answered when
    /// [`sockeye::Config::auto_pong`] is on (the default).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close frame: received, the peer's code and reason (`None` when it
    /// sent no status); sent, ours (`None` sends a close frame without a status code, which the peer reports as 1005).
    Close(Option<CloseFrame>),
    /// A piece of a data message: received in streaming mode
    /// ([`sockeye::Config::streaming`]); sent, one frame of a message sent in
    /// pieces (`is_first` is ignored, the connection tracks it).
    Fragment(Fragment),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Message::Binary(data.into())
    }

    /// The text of a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text.as_str()),
            _ => None,
        }
    }

    /// Whether this is a text, binary or fragment message (not a control frame).
    pub fn is_data(&self) -> bool {
        matches!(
            self,
            Message::Text(_) | Message::Binary(_) | Message::Fragment(_)
        )
    }

    /// The bytes of its payload (a close frame's code and reason): what
    /// it costs in a queue, before framing.
    pub fn payload_len(&self) -> usize {
        match self {
            Message::Text(text) => text.len(),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data.len(),
            Message::Close(frame) => frame.as_ref().map_or(0, |frame| 2 + frame.reason.len()),
            Message::Fragment(fragment) => fragment.payload.len(),
        }
    }

    /// The message an engine event becomes; a failure becomes an error.
    pub fn from_event(event: Event) -> Result<Self, Error> {
        Ok(match event {
            Event::Text(text) => Message::Text(text),
            Event::Binary(data) => Message::Binary(data),
            Event::Fragment(fragment) => Message::Fragment(fragment),
            Event::Ping(data) => Message::Ping(data),
            Event::Pong(data) => Message::Pong(data),
            Event::Close(frame) => Message::Close(frame),
            Event::Failed(error) => return Err(Error::Protocol(error)),
            // `Event` is non-exhaustive; a new kind of event would be a new
            // engine feature the adapters have not learnt yet.
            _ => return Err(Error::Closed),
        })
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text.into())
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.into())
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Message::Binary(data.into())
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Message::Binary(data)
    }
}

impl Message {
    /// Queue this message on `conn` (the command that matches its kind);
    /// `now` reads the connection's clock, which only a close needs (a
    /// clock read per message is a measurable cost on busy connections).
    ///
    /// # Errors
    /// [`Error::Closed`] after a close frame was sent; [`Error::Send`] for
    /// other misuse (an over-long ping payload or close reason, a fragment out
    /// of order).
    pub fn queue_on(
        self,
        conn: &mut sockeye::Connection,
        now: impl FnOnce() -> core::time::Duration,
    ) -> Result<(), Error> {
        let result = match self {
            Message::Text(text) => conn.send_text(text),
            Message::Binary(data) => conn.send_binary(data),
            Message::Ping(data) => conn.ping(data),
            Message::Pong(data) => conn.pong(data),
            Message::Close(Some(frame)) => conn.close(now(), frame.code, &frame.reason),
            Message::Close(None) => conn.close_without_status(now()),
            Message::Fragment(piece) => {
                conn.send_fragment(piece.kind, piece.payload, piece.is_last)
            }
        };
        result.map_err(Error::from)
    }
}
