//! One connection's life under the policy, and graceful shutdown, over the
//! driver's transport and clock: the part of a server every runtime shares.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Duration;

use sockeye::handshake::Request;
use sockeye::{CloseCode, Connection, State};

use super::clients::ClientLink;
use super::{ClientId, ClientSlot, Clients, Outgoing, RateLimiter, RequestInfo, ServerPolicy};
use crate::driver::{
    Clock, Close, Driver, ReadHalf, Sending, Transport, WebSocket, WriteHalf, handshake,
};
use crate::{CloseStatus, Decision, Error, Message, ReadyState};

/// A server's shared state: its policy and its clients. The runtime
/// adapters own the listener and spawn one task per connection running
/// [`serve`](Self::serve).
#[derive(Debug)]
pub struct ServerCore {
    policy: ServerPolicy,
    clients: Clients,
}

/// What [`ServerCore::admit`] decided for a request: the answer to give,
/// and for an accepted one its place among the clients, which
/// [`ServerCore::run`] takes. Dropping it gives the place back.
#[derive(Debug)]
pub struct Admission {
    decision: Decision,
    slot: Option<ClientSlot>,
    protocol: Option<String>,
}

impl Admission {
    /// The answer: the policy's (an acceptance with its subprotocol and
    /// fields, or its refusal), or 503 when the connection limits or a
    /// shutdown leave no place.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// Whether the client got a place (the decision accepts).
    pub fn is_admitted(&self) -> bool {
        self.slot.is_some()
    }
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
    /// While the handler runs, whenever this task is woken (a broadcast
    /// arrived, the socket became writable) and the handler is busy with
    /// something else, what was queued for the client is moved into its
    /// engine and written out: a handler need not be in
    /// [`ServerClient::recv`] for its client to keep up. Keep the
    /// [`ServerClient`] in this task (the handler's), where that happens.
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
        let mut admitted = None;
        let decide = |request: &Request| {
            let admission = self.admit(request, peer);
            let decision = admission.decision.clone();
            admitted = Some(admission);
            decision
        };
        let http = |request: &Request| self.policy.answer_http(&RequestInfo::new(request, peer));
        let config = self.policy.shared_config().clone();
        let (ws, request) = handshake::server_or_http(io, clock, config, decide, http).await?;
        let Some(admission) = admitted else {
            return Err(Error::Closed);
        };
        self.run(ws, request, peer, admission, handler).await
    }

    /// Decide on `request` from `peer` as [`serve`](Self::serve) does: the
    /// policy's decision (path, verify hook, subprotocol), then a place
    /// among the clients (the connection limits, a shutdown under way).
    /// For an HTTP layer that answers the handshake itself (hyper): carry
    /// out [`Admission::decision`], then hand the WebSocket to
    /// [`run`](Self::run) with the admission.
    pub fn admit(&self, request: &Request, peer: SocketAddr) -> Admission {
        let decision = self.policy.decide(&RequestInfo::new(request, peer));
        if decision.rejected_status().is_some() {
            return Admission {
                decision,
                slot: None,
                protocol: None,
            };
        }
        match self.clients.admit(peer.ip()) {
            Ok(slot) => Admission {
                protocol: decision.selected_protocol().map(str::to_owned),
                decision,
                slot: Some(slot),
            },
            Err(refusal) => Admission {
                decision: refusal.decision(),
                slot: None,
                protocol: None,
            },
        }
    }

    /// Run `handler` on the WebSocket `ws`, opened for `request` from
    /// `peer` as `admission` accepted it, until the handler returns or
    /// [`shutdown`](Self::shutdown)'s deadline drops it: the second half
    /// of [`serve`](Self::serve), with the same writing of broadcasts and
    /// close orders while the handler is busy.
    ///
    /// # Errors
    /// [`Error::Closed`] when `admission` refused the client (there is no
    /// place for it among the clients).
    pub async fn run<T, C, F, Fut>(
        &self,
        ws: WebSocket<T, C>,
        request: Request,
        peer: SocketAddr,
        admission: Admission,
        handler: F,
    ) -> Result<(), Error>
    where
        T: Transport,
        C: Clock,
        F: FnOnce(ServerClient<T, C>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let Admission {
            slot: Some(slot),
            protocol,
            ..
        } = admission
        else {
            return Err(Error::Closed);
        };
        let link = slot.link().clone();
        let (read, write) = ws.split();
        let pump = read.pump();
        let client = ServerClient {
            read,
            write,
            slot,
            request,
            peer,
            protocol,
            rate: self.policy.message_rate_limit().map(|limit| limit.start()),
            rate_limited: false,
        };
        let mut running = pin!(handler(client));
        poll_fn(|cx| {
            if link.poll_aborted(cx).is_ready() {
                return Poll::Ready(());
            }
            if running.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            pump.poll(cx, |driver, cx| write_queued(driver, &link, cx));
            Poll::Pending
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

/// Move what is queued for client `id` into the engine while the engine is
/// below its high-water mark, carry out a close order, and write out what
/// the engine holds. Nothing moves once our close frame is queued.
fn feed<T: Transport, C: Clock>(
    driver: &mut Driver<T, C>,
    link: &ClientLink,
    cx: &mut Context<'_>,
) {
    let open = |driver: &Driver<T, C>| driver.connection().state() == State::Open;
    if !open(driver) {
        return;
    }
    if let Poll::Ready((code, reason)) = link.poll_close_order(cx) {
        // A failed close means closing already started.
        let _ = driver.start_close(code, reason);
        return;
    }
    // Past the engine's high-water mark the rest waits in the budgeted queue.
    while open(driver) && matches!(driver.poll_ready(cx), Poll::Ready(Ok(()))) {
        match link.poll_outgoing(cx) {
            Poll::Ready(Outgoing::Message(message)) => {
                // Fails only once the connection is closing.
                let _ = driver.start_send(message);
            }
            Poll::Ready(Outgoing::Close(code, reason)) => {
                let _ = driver.start_close(code, reason);
            }
            Poll::Pending => break,
        }
    }
}

/// [`feed`], then write out what the engine holds (the pump's half of the
/// work; `recv` leaves writing to the driver's batching).
fn write_queued<T: Transport, C: Clock>(
    driver: &mut Driver<T, C>,
    link: &ClientLink,
    cx: &mut Context<'_>,
) {
    feed(driver, link, cx);
    if driver.connection().buffered_amount() > 0 {
        // A failed write ends the connection, which `recv` then reports.
        let _ = driver.poll_flush(cx);
    }
}

/// A client accepted by a [`ServerCore`]: its WebSocket plus its id, the
/// request it came with, and its outgoing queue.
///
/// What is broadcast to this client is written out by its connection as
/// the socket takes it, whether or not the handler is in
/// [`recv`](Self::recv) (see [`ServerCore::serve`]); close orders (1008 for
/// a client whose socket does not take its bytes, 1001 at shutdown) are
/// carried out the same way. [`recv`](Self::recv) also closes with 1008
/// when the client exceeds the rate limit. Keep calling it until it returns
/// `None`.
pub struct ServerClient<T, C> {
    read: ReadHalf<T, C>,
    write: WriteHalf<T, C>,
    slot: ClientSlot,
    request: Request,
    peer: SocketAddr,
    protocol: Option<String>,
    rate: Option<RateLimiter>,
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

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.write.state()
    }

    /// The browser's `readyState` (see [`crate::driver::WebSocket::ready_state`]).
    pub fn ready_state(&self) -> ReadyState {
        self.write.ready_state()
    }

    /// How the connection ended; `None` while it lives.
    pub fn close_status(&self) -> Option<CloseStatus> {
        self.write.close_status()
    }

    /// Bytes queued in the engine and not yet written (the broadcast queue
    /// in [`Clients`] is counted by [`Clients::queued_bytes_of`]).
    pub fn buffered_amount(&self) -> usize {
        self.write.buffered_amount()
    }

    /// Run `f` on the engine (for its getters and settings).
    pub fn with_connection<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        self.write.with_connection(f)
    }

    /// The next message from the client; `None` once the connection has
    /// ended. Cancel-safe, like
    /// [`WebSocket::recv`](crate::driver::WebSocket::recv).
    ///
    /// # Errors
    /// As [`WebSocket::recv`](crate::driver::WebSocket::recv).
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Send `message` now, ahead of the outgoing queue.
    ///
    /// # Errors
    /// As [`WebSocket::send`](crate::driver::WebSocket::send).
    pub fn send(&mut self, message: impl Into<Message>) -> Sending<'_, T, C> {
        self.write.send(message)
    }

    /// Write out everything queued in the engine.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.write.flush().await
    }

    /// Close with `code` and `reason`; as
    /// [`WebSocket::close`](crate::driver::WebSocket::close).
    pub fn close<'a>(&'a mut self, code: CloseCode, reason: &'a str) -> Close<'a, T, C> {
        self.write.close_and_wait(code, reason)
    }

    /// Poll for the next message (see [`recv`](Self::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        let Self {
            read,
            slot,
            rate,
            rate_limited,
            ..
        } = self;
        read.poll_driver(cx, |driver, cx| {
            loop {
                feed(driver, slot.link(), cx);
                match driver.poll_recv(cx) {
                    Poll::Ready(Some(Ok(message))) if message.is_data() => {
                        if *rate_limited {
                            continue;
                        }
                        if let Some(limiter) = rate.as_mut()
                            && !limiter.allow(driver.now())
                        {
                            info_event!(
                                client = %slot.id(),
                                code = CloseCode::POLICY_VIOLATION.get(),
                                "rate limit exceeded, closing"
                            );
                            let _ = driver.start_close(CloseCode::POLICY_VIOLATION, "rate limit");
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
