//! What the server's `101` said, as the client sees it.

use sockeye::endpoint::Opened;
use sockeye::handshake::{Established, Headers};

/// What the server's `101` said, for the client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// The subprotocol the server selected.
    pub protocol: Option<String>,
    /// The extensions the server selected, in its order.
    pub extensions: Vec<sockeye::handshake::Extension>,
    /// The response's header fields.
    pub headers: Headers,
}

impl Response {
    /// What `established` says.
    pub fn of(established: &Established) -> Self {
        Response {
            protocol: established.protocol().map(str::to_owned),
            extensions: established.extensions().to_vec(),
            headers: established.headers().clone(),
        }
    }

    /// What the client endpoint's [`Opened`] event said.
    pub fn opened(opened: Opened) -> Self {
        Response {
            protocol: opened.protocol,
            extensions: opened.extensions,
            headers: opened.headers,
        }
    }

    /// The browser-like view of this response for a client that connected
    /// to `url`.
    pub fn handshake_info(&self, url: &str) -> crate::HandshakeInfo {
        crate::HandshakeInfo {
            url: Some(url.to_owned()),
            protocol: self.protocol.clone(),
            extensions: self.extensions.clone(),
        }
    }
}
