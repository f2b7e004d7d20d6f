//! The connection state machine (placeholder while the engine lands).

use bytes::Bytes;

use crate::close::CloseFrame;
use crate::error::ProtocolError;
use crate::message::Utf8Bytes;

/// Where a connection is in its life (the browser API's `readyState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// The opening handshake is in progress.
    Connecting,
    /// Data flows both ways.
    Open,
    /// A close frame was sent or received; the closing handshake is in progress.
    Closing,
    /// The closing handshake finished or the connection failed.
    Closed,
}

/// Something that happened on the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A whole text message.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// A ping.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame.
    Close(Option<CloseFrame>),
    /// The peer broke the protocol.
    ProtocolViolation(ProtocolError),
}

/// A WebSocket connection after the opening handshake.
#[derive(Debug)]
pub struct Connection {
    _private: (),
}
