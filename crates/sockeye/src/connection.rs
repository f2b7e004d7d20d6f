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
pub struct Connection {
    role: crate::Role,
    received: bytes::BytesMut,
    _entropy: Option<crate::entropy::BoxedEntropy>,
}

impl Connection {
    /// A connection in `role`, open from `now` (time since an epoch of the
    /// caller's choosing), with the default random source for mask keys.
    #[cfg(feature = "std")]
    pub fn new(role: crate::Role, config: crate::Config, now: core::time::Duration) -> Self {
        Self::with_entropy(role, config, now, crate::entropy::os_seeded())
    }

    /// Like [`Connection::new`], with the caller's random source.
    pub fn with_entropy(
        role: crate::Role,
        config: crate::Config,
        now: core::time::Duration,
        entropy: crate::entropy::BoxedEntropy,
    ) -> Self {
        let _ = (config, now);
        Self {
            role,
            received: bytes::BytesMut::new(),
            _entropy: Some(entropy),
        }
    }

    /// Feed bytes received from the transport.
    pub fn receive(&mut self, data: &[u8]) {
        self.received.extend_from_slice(data);
    }

    /// This connection's role.
    pub fn role(&self) -> crate::Role {
        self.role
    }
}
