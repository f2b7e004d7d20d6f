//! One connection's life under the policy, and graceful shutdown, over the
//! driver's transport and clock: the part of a server every runtime shares.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Duration;

use sockeye::CloseCode;
use sockeye::handshake::Request;

use super::{ClientId, ClientSlot, Clients, Outgoing, RateLimiter, RequestInfo, ServerPolicy};
use crate::driver::{Clock, Close, Sending, Transport, WebSocket, handshake};
use crate::{Error, Message};

/// A server's shared state: its policy and its clients. The runtime
/// adapters own the listener and spawn one task per connection running
/// [`serve`](Self::serve).
#[derive(Debug)]
pub struct ServerCore {
    policy: ServerPolicy,
    clients: Clients,
}

/// What [`ServerCore::shutdown`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Clients sent a close frame with 1001.
    pub told: usize,
    /// Clients still connected at the deadline, dropped without waiting.
    pub dropped: usize,
}

impl ServerCore {
    /// A server applying `policy`.
    pub fn new(policy: ServerPolicy) -> Self {
        Self {
            clients: Clients::new(&policy),
            policy,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &ServerPolicy {
        &self.policy
    }

    /// The connected clients (for broadcasting, counting, closing).
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// Serve one accepted connection from `peer`: run the handshake under
    /// the policy (a plain HTTP request gets its answer, a refused upgrade
    /// its status), register the client, and run `handler` on it until it
    /// returns, or until [`shutdown`](Self::shutdown)'s deadline drops it.
    ///
    /// # Errors
    /// The handshake's error ([`Error::Rejected`] for a request the policy
    /// refused, [`Error::Handshake`] for an invalid or plain request).
    pub async fn serve<T, C, F, Fut>(
        &self,
        io: T,
        clock: C,
        peer: SocketAddr,
        handler: F,
    ) -> Result<(), Error>
    where
        T: Transport,
        C: Clock,
        F: FnOnce(ServerClient<T, C>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut slot = None;
        let mut protocol = None;
        let decide = |request: &Request| {
            let decision = self.policy.decide(&RequestInfo::new(request, peer));
            if decision.rejected_status().is_some() {
                return decision;
            }
            match self.clients.admit(peer.ip()) {
                Ok(admitted) => {
                    slot = Some(admitted);
                    protocol = decision.selected_protocol().map(str::to_owned);
                    decision
                }
                Err(refusal) => refusal.decision(),
            }
        };
        let http = |request: &Request| self.policy.answer_http(&RequestInfo::new(request, peer));
        let config = self.policy.shared_config().clone();
        let (ws, request) = handshake::server_or_http(io, clock, config, decide, http).await?;
        let Some(slot) = slot else {
            return Err(Error::Closed);
        };
        let id = slot.id();
        let client = ServerClient {
            ws,
            slot,
            request,
            peer,
            protocol,
            rate: self.policy.message_rate_limit().map(|limit| limit.start()),
            closing: false,
            rate_limited: false,
        };
        let mut running = pin!(handler(client));
        poll_fn(|cx| {
            if self.clients.poll_aborted(id, cx).is_ready() {
                return Poll::Ready(());
            }
            running.as_mut().poll(cx)
        })
        .await;
        Ok(())
    }

    /// `future`'s output, or `None` once the server is shutting down (the
    /// accept loop runs its `accept` in here).
    pub async fn until_shutdown<F: Future>(&self, future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        poll_fn(|cx| {
            if self.clients.poll_shutdown(cx).is_ready() {
                return Poll::Ready(None);
            }
            future.as_mut().poll(cx).map(Some)
        })
        .await
    }

    /// Shut down gracefully: refuse new clients (and stop the accept loop),
    /// send every client a close frame with 1001 (going away), wait up to
    /// `deadline` (timed by `clock`) for them to finish their closing
    /// handshakes, then drop the rest. A dropped connection's task is woken
    /// and drops it at its next poll, without waiting for the peer.
    pub async fn shutdown<C: Clock>(&self, mut clock: C, deadline: Duration) -> ShutdownReport {
        let told = self.clients.start_shutdown();
        let end = clock.now() + deadline;
        poll_fn(|cx| {
            if self.clients.poll_empty(cx).is_ready() {
                return Poll::Ready(());
            }
            clock.poll_deadline(cx, end)
        })
        .await;
        let dropped = self.clients.abort_all();
        ShutdownReport { told, dropped }
    }
}

/// A client accepted by a [`ServerCore`]: its WebSocket plus its id, the
/// request it came with, and its outgoing queue.
///
/// [`recv`](Self::recv) does the policy's work while it waits: it sends
/// what was broadcast to this client, carries out close orders (1008 for a
/// client that fell behind, 1001 at shutdown), and closes with 1008 when the
/// client exceeds the rate limit. Keep calling it until it returns `None`.
pub struct ServerClient<T, C> {
    ws: WebSocket<T, C>,
    slot: ClientSlot,
    request: Request,
    peer: SocketAddr,
    protocol: Option<String>,
    rate: Option<RateLimiter>,
    /// Our close frame is queued; nothing more goes out.
    closing: bool,
    /// Closed for sending too fast; its further data is dropped.
    rate_limited: bool,
}

impl<T: Transport, C: Clock> ServerClient<T, C> {
    /// The client's id among the server's [`Clients`].
    pub fn id(&self) -> ClientId {
        self.slot.id()
    }

    /// The server's clients, for broadcasting.
    pub fn clients(&self) -> &Clients {
        self.slot.clients()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The upgrade request.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The selected subprotocol.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The WebSocket itself (its messages bypass the outgoing queue).
    pub fn websocket(&mut self) -> &mut WebSocket<T, C> {
        &mut self.ws
    }

    /// The next message from the client; `None` once the connection has
    /// ended. Cancel-safe, like [`WebSocket::recv`].
    ///
    /// # Errors
    /// As [`WebSocket::recv`].
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Send `message` now, ahead of the outgoing queue.
    ///
    /// # Errors
    /// As [`WebSocket::send`].
    pub fn send(&mut self, message: impl Into<Message>) -> Sending<'_, T, C> {
        self.ws.send(message)
    }

    /// Close with `code` and `reason`; as [`WebSocket::close`].
    pub fn close<'a>(&'a mut self, code: CloseCode, reason: &'a str) -> Close<'a, T, C> {
        self.ws.close(code, reason)
    }

    /// Poll for the next message (see [`recv`](Self::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        let Self {
            ws,
            slot,
            rate,
            closing,
            rate_limited,
            ..
        } = self;
        ws.poll_driver(cx, |driver, cx| {
            loop {
                if !*closing && let Poll::Ready((code, reason)) = slot.poll_close_order(cx) {
                    // A failed close means closing already started.
                    let _ = driver.start_close(code, reason);
                    *closing = true;
                }
                // Move queued messages into the engine while it has room;
                // past its high-water mark they wait in the bounded queue.
                while !*closing && matches!(driver.poll_ready(cx), Poll::Ready(Ok(()))) {
                    match slot.poll_outgoing(cx) {
                        Poll::Ready(Outgoing::Message(message)) => {
                            // Fails only once the connection is closing.
                            let _ = driver.start_send(message);
                        }
                        Poll::Ready(Outgoing::Close(code, reason)) => {
                            let _ = driver.start_close(code, reason);
                            *closing = true;
                        }
                        Poll::Pending => break,
                    }
                }
                match driver.poll_recv(cx) {
                    Poll::Ready(Some(Ok(message))) if message.is_data() => {
                        if *rate_limited {
                            continue;
                        }
                        if let Some(limiter) = rate.as_mut()
                            && !limiter.allow(driver.now())
                        {
                            let _ = driver.start_close(CloseCode::POLICY_VIOLATION, "rate limit");
                            *closing = true;
                            *rate_limited = true;
                            continue;
                        }
                        return Poll::Ready(Some(Ok(message)));
                    }
                    other => return other,
                }
            }
        })
    }
}
