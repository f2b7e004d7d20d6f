//! A client as a [`Handler`](crate::Handler) sees it during a callback.

use std::net::SocketAddr;
use std::time::Duration;

use sockeye_io::sockeye::endpoint::Endpoint;
use sockeye_io::{CloseCode, Error, Message};

use crate::{ClientId, Handle};

/// A client of the server, lent to a [`Handler`](crate::Handler) callback.
///
/// What it sends goes into the connection's engine and leaves at the end
/// of the event loop's turn, in one write with everything else the turn
/// produced for this client.
#[derive(Debug)]
pub struct Client<'a> {
    id: ClientId,
    endpoint: &'a mut Endpoint,
    peer: SocketAddr,
    handle: &'a Handle,
    now: Duration,
}

impl<'a> Client<'a> {
    pub(crate) fn new(
        id: ClientId,
        (endpoint, peer): (&'a mut Endpoint, SocketAddr),
        handle: &'a Handle,
        now: Duration,
    ) -> Self {
        Self {
            id,
            endpoint,
            peer,
            handle,
            now,
        }
    }

    /// The client's id, for [`Handle::send_to`] and
    /// [`Handle::broadcast_except`].
    pub fn id(&self) -> ClientId {
        self.id
    }

    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The server's handle: broadcast to every thread's clients, send to
    /// one, shut down.
    pub fn handle(&self) -> &Handle {
        self.handle
    }

    /// Queues `message` for this client.
    ///
    /// # Errors
    /// [`Error::Closed`] once the connection is closing; [`Error::Send`] for
    /// an over-long ping payload or close reason.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let now = self.now;
        let connection = self.endpoint.connection_mut().ok_or(Error::Closed)?;
        message.into().queue_on(connection, || now)
    }

    /// Starts the closing handshake with `code` and `reason`.
    ///
    /// # Errors
    /// [`Error::Closed`] when it has started already; [`Error::Send`] for a
    /// reason over 123 bytes.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let connection = self.endpoint.connection_mut().ok_or(Error::Closed)?;
        connection
            .close(self.now, code, reason)
            .map_err(|error| match error {
                sockeye_io::sockeye::SendError::Closed => Error::Closed,
                other => Error::Send(other),
            })
    }

    /// Bytes queued for this client and not yet written.
    pub fn buffered_amount(&self) -> usize {
        self.endpoint.buffered_amount()
    }
}
