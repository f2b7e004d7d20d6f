//! The connected clients: ids, limits, outgoing queues and broadcast.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use sockeye::CloseCode;

use super::{ConnectionCounts, ServerPolicy};
use crate::{Decision, Message};

/// A connected client's id, unique for the life of its [`Clients`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(u64);

impl ClientId {
    /// The number behind the id.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Why [`Clients::admit`] refused a connection. Each is answered with
/// `503 Service Unavailable` and `Retry-After`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// [`ServerPolicy::max_connections`] clients are connected.
    TooManyConnections,
    /// [`ServerPolicy::max_connections_per_ip`] clients are connected from
    /// this address.
    TooManyFromAddress,
    /// The server is shutting down.
    ShuttingDown,
}

impl Refusal {
    /// The HTTP answer.
    pub fn decision(self) -> Decision {
        let body = match self {
            Refusal::TooManyConnections => "too many connections\n",
            Refusal::TooManyFromAddress => "too many connections from your address\n",
            Refusal::ShuttingDown => "shutting down\n",
        };
        Decision::reject(503)
            .header("Retry-After", "1")
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(body)
    }
}

/// What a client's connection should do next, from
/// [`ClientSlot::poll_outgoing`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outgoing {
    /// Send this queued message.
    Message(Message),
    /// Close with this code and reason (fell behind, shutdown, closed by
    /// the server); nothing more will be queued.
    Close(CloseCode, &'static str),
}

/// The close a client gets when its queued bytes exceed the budget.
const TOO_SLOW: (CloseCode, &str) = (CloseCode::POLICY_VIOLATION, "too slow");

/// The close every client gets at shutdown.
const GOING_AWAY: (CloseCode, &str) = (CloseCode::GOING_AWAY, "server shutting down");

/// What a client's connection learns without the registry's lock: whether
/// anything changed for it (a message queued, a close or abort order)
/// since it last found nothing to do, and its task's waker. The lock is
/// shared by every thread's clients; this is the client's own, so a
/// connection with nothing queued polls its outgoing side without
/// touching what other threads touch.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    news: AtomicBool,
    /// One waker serves every poll of the connection: they all run in the
    /// connection's task, so any of them wakes it.
    waker: Mutex<Option<Waker>>,
}

impl Signal {
    fn lock_waker(&self) -> MutexGuard<'_, Option<Waker>> {
        self.waker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remember `cx`'s task (cloning its waker only when it changed).
    fn register(&self, cx: &Context<'_>) {
        let mut waker = self.lock_waker();
        if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *waker = Some(cx.waker().clone());
        }
    }

    /// Register, then tell whether nothing changed: the order (register
    /// first, then read) means news that arrives in between still wakes.
    fn is_quiet(&self, cx: &Context<'_>) -> bool {
        self.register(cx);
        !self.news.load(Ordering::Acquire)
    }

    /// Something changed: flag it and wake the connection's task.
    fn notify(&self) {
        self.news.store(true, Ordering::Release);
        let waker = self.lock_waker().clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

struct Entry {
    ip: IpAddr,
    queue: VecDeque<Message>,
    /// The payload bytes in `queue`.
    queued_bytes: usize,
    /// Shared with the client's [`ClientSlot`].
    signal: Arc<Signal>,
    closing: Option<(CloseCode, &'static str)>,
    /// Told to drop the connection at once (shutdown deadline passed).
    aborted: bool,
}

impl Entry {
    fn wake(&mut self) {
        self.signal.notify();
    }

    fn close(&mut self, order: (CloseCode, &'static str)) -> bool {
        if self.closing.is_some() {
            return false;
        }
        self.closing = Some(order);
        self.queue = VecDeque::new();
        self.queued_bytes = 0;
        self.wake();
        true
    }

    /// Queue `message`, or close the client if that would take its queue
    /// over `budget` bytes. An empty queue takes any message, so that a
    /// message larger than the budget still reaches the clients that keep
    /// up.
    fn push(&mut self, id: u64, message: Message, budget: usize) -> bool {
        if self.closing.is_some() {
            return false;
        }
        let len = message.payload_len();
        if super::policy::falls_behind(self.queued_bytes, len, budget) {
            info_event!(
                client = %ClientId(id),
                peer = %self.ip,
                queued_bytes = self.queued_bytes,
                budget,
                code = TOO_SLOW.0.get(),
                "slow client: its socket does not take what is queued, closing"
            );
            #[cfg(not(feature = "tracing"))]
            let _ = id;
            self.close(TOO_SLOW);
            return false;
        }
        self.queued_bytes += len;
        self.queue.push_back(message);
        self.wake();
        true
    }

    fn pop(&mut self) -> Option<Message> {
        let message = self.queue.pop_front()?;
        self.queued_bytes -= message.payload_len();
        if self.queue.is_empty() {
            // A burst's worth of capacity is not kept by an idle client.
            self.queue = VecDeque::new();
        }
        Some(message)
    }
}

#[derive(Default)]
struct Registry {
    entries: BTreeMap<u64, Entry>,
    counts: ConnectionCounts,
    next_id: u64,
    queue_budget: usize,
    shutting_down: bool,
    /// Tasks waiting for the registry to change (a client left, shutdown).
    watchers: Vec<Waker>,
}

impl Registry {
    fn notify_watchers(&mut self) {
        for waker in self.watchers.drain(..) {
            waker.wake();
        }
    }

    fn watch(&mut self, cx: &mut Context<'_>) {
        if !self.watchers.iter().any(|w| w.will_wake(cx.waker())) {
            self.watchers.push(cx.waker().clone());
        }
    }
}

/// The connected clients of one server: admission under the connection
/// limits, ids, and a bounded outgoing queue per client for broadcasting.
///
/// Broadcasting never waits: a message is put into each client's queue and
/// the client's connection writes it out as its socket takes the bytes,
/// whatever its handler is doing. A client whose queued payload bytes
/// would exceed [`ServerPolicy::queue_budget`] with another message has
/// fallen behind (its socket and its engine's queue are full): its queue is
/// dropped and it is closed with 1008 (policy violation, reason
/// `"too slow"`), so memory stays bounded and the others are unaffected.
/// 1008 rather than 1013 (try again later) because reconnecting at once
/// would not make the client faster.
///
/// Cloning gives another handle on the same clients.
///
/// ```
/// use sockeye_io::Message;
/// use sockeye_io::server::{Clients, ServerPolicy};
///
/// let clients = Clients::new(&ServerPolicy::new().max_connections_per_ip(1));
/// let ip = "127.0.0.1".parse().unwrap();
/// let a = clients.admit(ip).unwrap();
/// assert!(clients.admit(ip).is_err()); // one per address
/// assert_eq!(clients.broadcast(Message::text("hi")), 1);
/// drop(a); // the slot is freed with the connection
/// assert!(clients.is_empty());
/// ```
#[derive(Clone)]
pub struct Clients {
    inner: Arc<Mutex<Registry>>,
}

impl fmt::Debug for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clients")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Clients {
    /// No clients yet, under `policy`'s connection limits and queue budget.
    pub fn new(policy: &ServerPolicy) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Registry {
                counts: ConnectionCounts::new(policy),
                queue_budget: policy.outgoing_queue_budget(),
                ..Registry::default()
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // The registry stays consistent between statements; carry on after a panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Register a client connecting from `ip`, if the limits allow; the
    /// returned slot holds its place until dropped.
    ///
    /// # Errors
    /// The [`Refusal`] when a limit is reached or the server is shutting down.
    pub fn admit(&self, ip: IpAddr) -> Result<ClientSlot, Refusal> {
        let mut registry = self.lock();
        let shutting_down = registry.shutting_down;
        registry.counts.admit(ip, shutting_down)?;
        registry.next_id += 1;
        let id = registry.next_id;
        let signal = Arc::new(Signal::default());
        registry.entries.insert(
            id,
            Entry {
                ip,
                queue: VecDeque::new(),
                queued_bytes: 0,
                signal: signal.clone(),
                closing: None,
                aborted: false,
            },
        );
        Ok(ClientSlot {
            link: ClientLink {
                clients: self.clone(),
                id: ClientId(id),
                signal,
            },
        })
    }

    /// How many clients are connected.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no client is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids of the connected clients, oldest first.
    pub fn ids(&self) -> Vec<ClientId> {
        self.lock().entries.keys().map(|&id| ClientId(id)).collect()
    }

    /// Payload bytes queued for all clients and not yet taken by their
    /// connections; at most [`ServerPolicy::queue_budget`] per client
    /// (or one larger message).
    pub fn queued_bytes(&self) -> usize {
        self.lock()
            .entries
            .values()
            .map(|entry| entry.queued_bytes)
            .sum()
    }

    /// Payload bytes queued for client `id` (0 once it is gone).
    pub fn queued_bytes_of(&self, id: ClientId) -> usize {
        self.lock()
            .entries
            .get(&id.0)
            .map_or(0, |entry| entry.queued_bytes)
    }

    /// How many clients are connected from `ip`.
    pub fn connections_from(&self, ip: IpAddr) -> usize {
        self.lock().counts.from(ip)
    }

    /// Queue `message` for every client; returns how many took it (clients
    /// that are closing or fell behind do not).
    pub fn broadcast(&self, message: Message) -> usize {
        self.broadcast_where(message, |_| true)
    }

    /// Queue `message` for every client but `except` (typically the sender).
    pub fn broadcast_except(&self, except: ClientId, message: Message) -> usize {
        self.broadcast_where(message, |id| id != except)
    }

    fn broadcast_where(&self, message: Message, wanted: impl Fn(ClientId) -> bool) -> usize {
        let mut registry = self.lock();
        let budget = registry.queue_budget;
        registry
            .entries
            .iter_mut()
            .filter(|(id, _)| wanted(ClientId(**id)))
            .map(|(id, entry)| entry.push(*id, message.clone(), budget))
            .filter(|&queued| queued)
            .count()
    }

    /// Queue `message` for client `id`; false if it is gone, closing, or
    /// was just closed for falling behind.
    pub fn send_to(&self, id: ClientId, message: Message) -> bool {
        let mut registry = self.lock();
        let budget = registry.queue_budget;
        registry
            .entries
            .get_mut(&id.0)
            .is_some_and(|entry| entry.push(id.0, message, budget))
    }

    /// Tell client `id` to close with `code` and `reason` (dropping what is
    /// queued for it); false if it is gone or already closing.
    pub fn close(&self, id: ClientId, code: CloseCode, reason: &'static str) -> bool {
        self.lock()
            .entries
            .get_mut(&id.0)
            .is_some_and(|entry| entry.close((code, reason)))
    }

    /// The close order of client `id`, if it was told to close (for
    /// falling behind, at shutdown, by [`close`](Self::close)).
    pub fn close_order(&self, id: ClientId) -> Option<(CloseCode, &'static str)> {
        self.lock()
            .entries
            .get(&id.0)
            .and_then(|entry| entry.closing)
    }

    /// Refuse new clients from now on and tell every client to close with
    /// 1001 (going away). Returns how many were told.
    pub fn start_shutdown(&self) -> usize {
        let mut registry = self.lock();
        registry.shutting_down = true;
        let told = registry
            .entries
            .values_mut()
            .map(|entry| entry.close(GOING_AWAY))
            .filter(|&told| told)
            .count();
        registry.notify_watchers();
        told
    }

    /// Whether [`start_shutdown`](Self::start_shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.lock().shutting_down
    }

    /// Tell every connection to drop at once, without a closing handshake.
    /// Returns how many were told.
    pub fn abort_all(&self) -> usize {
        let mut registry = self.lock();
        let mut told = 0;
        for entry in registry.entries.values_mut() {
            if !entry.aborted {
                entry.aborted = true;
                entry.wake();
                told += 1;
            }
        }
        told
    }

    /// Ready once no client is connected.
    pub fn poll_empty(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut registry = self.lock();
        if registry.entries.is_empty() {
            return Poll::Ready(());
        }
        registry.watch(cx);
        Poll::Pending
    }

    /// Ready once the server is shutting down.
    pub fn poll_shutdown(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut registry = self.lock();
        if registry.shutting_down {
            return Poll::Ready(());
        }
        registry.watch(cx);
        Poll::Pending
    }
}

/// A connected client's place in [`Clients`]; dropping it (when the
/// connection ends) frees the place and its address's count.
pub struct ClientSlot {
    link: ClientLink,
}

/// What a connection polls its client's outgoing side through: the
/// client's id, its [`Clients`] and its [`Signal`]. Each poll first reads
/// the signal and takes the registry's lock only when something changed.
/// Cloned for the parts of one connection's task (its handler's client
/// and the task that writes for it); the place itself is the slot's.
#[derive(Clone, Debug)]
pub(crate) struct ClientLink {
    clients: Clients,
    id: ClientId,
    signal: Arc<Signal>,
}

impl ClientLink {
    pub(crate) fn poll_outgoing(&self, cx: &mut Context<'_>) -> Poll<Outgoing> {
        if self.signal.is_quiet(cx) {
            return Poll::Pending;
        }
        self.clients.poll_outgoing(self.id, cx)
    }

    pub(crate) fn poll_close_order(&self, cx: &mut Context<'_>) -> Poll<(CloseCode, &'static str)> {
        if self.signal.is_quiet(cx) {
            return Poll::Pending;
        }
        self.clients.poll_close_order(self.id, cx)
    }

    pub(crate) fn poll_aborted(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.is_quiet(cx) {
            return Poll::Pending;
        }
        self.clients.poll_aborted(self.id, cx)
    }
}

impl fmt::Debug for ClientSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientSlot").field(&self.link.id).finish()
    }
}

impl ClientSlot {
    /// The client's id.
    pub fn id(&self) -> ClientId {
        self.link.id
    }

    /// The clients this one belongs to.
    pub fn clients(&self) -> &Clients {
        &self.link.clients
    }

    /// The next thing to do: a close order first, then queued messages;
    /// pending (waking `cx` on news) when there is neither. Takes the
    /// registry's lock only when something changed for this client.
    pub fn poll_outgoing(&self, cx: &mut Context<'_>) -> Poll<Outgoing> {
        self.link.poll_outgoing(cx)
    }

    /// Ready with the close order once there is one (without taking
    /// queued messages); otherwise wakes `cx` on news.
    pub fn poll_close_order(&self, cx: &mut Context<'_>) -> Poll<(CloseCode, &'static str)> {
        self.link.poll_close_order(cx)
    }

    /// Ready once the connection must be dropped at once.
    pub fn poll_aborted(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.link.poll_aborted(cx)
    }

    /// The link the connection's other parts poll through.
    pub(crate) fn link(&self) -> &ClientLink {
        &self.link
    }
}

impl Clients {
    /// Client `id`'s next thing to do: a close order first, then queued
    /// messages; pending (waking `cx` on news) when there is neither, and
    /// for a client that is gone.
    pub fn poll_outgoing(&self, id: ClientId, cx: &mut Context<'_>) -> Poll<Outgoing> {
        let mut registry = self.lock();
        let Some(entry) = registry.entries.get_mut(&id.0) else {
            return Poll::Pending;
        };
        if let Some((code, reason)) = entry.closing {
            return Poll::Ready(Outgoing::Close(code, reason));
        }
        if let Some(message) = entry.pop() {
            return Poll::Ready(Outgoing::Message(message));
        }
        // Nothing left to take: quiet again, unless an abort order waits
        // for `poll_aborted` (cleared under the lock that every order is
        // given under, so none is lost).
        if !entry.aborted {
            entry.signal.news.store(false, Ordering::Release);
        }
        entry.signal.register(cx);
        Poll::Pending
    }

    /// Ready with client `id`'s close order once there is one (without
    /// taking queued messages); otherwise wakes `cx` on news.
    pub fn poll_close_order(
        &self,
        id: ClientId,
        cx: &mut Context<'_>,
    ) -> Poll<(CloseCode, &'static str)> {
        let mut registry = self.lock();
        let Some(entry) = registry.entries.get_mut(&id.0) else {
            return Poll::Pending;
        };
        match entry.closing {
            Some(order) => Poll::Ready(order),
            None => {
                entry.signal.register(cx);
                Poll::Pending
            }
        }
    }

    /// Ready once client `id` must be dropped at once; pending (forever) for
    /// a client that is gone.
    pub fn poll_aborted(&self, id: ClientId, cx: &mut Context<'_>) -> Poll<()> {
        let mut registry = self.lock();
        match registry.entries.get_mut(&id.0) {
            Some(entry) if entry.aborted => Poll::Ready(()),
            Some(entry) => {
                entry.signal.register(cx);
                Poll::Pending
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut registry = self.link.clients.lock();
        if let Some(entry) = registry.entries.remove(&self.link.id.0) {
            registry.counts.release(entry.ip);
        }
        registry.notify_watchers();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn next(slot: &ClientSlot) -> Option<Outgoing> {
        let mut cx = Context::from_waker(Waker::noop());
        match slot.poll_outgoing(&mut cx) {
            Poll::Ready(outgoing) => Some(outgoing),
            Poll::Pending => None,
        }
    }

    fn text(outgoing: Option<Outgoing>) -> String {
        match outgoing {
            Some(Outgoing::Message(message)) => message.as_text().unwrap().to_owned(),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn counts_per_address_and_frees_the_place_on_drop() {
        let clients = Clients::new(&ServerPolicy::new().max_connections_per_ip(2));
        let a1 = clients.admit(ip("10.0.0.1")).unwrap();
        let a2 = clients.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(
            clients.admit(ip("10.0.0.1")).unwrap_err(),
            Refusal::TooManyFromAddress
        );
        let b = clients.admit(ip("10.0.0.2")).unwrap();
        assert_eq!(clients.connections_from(ip("10.0.0.1")), 2);
        drop(a1);
        assert_eq!(clients.connections_from(ip("10.0.0.1")), 1);
        let a3 = clients.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(clients.ids(), [a2.id(), b.id(), a3.id()]);
        drop((a2, a3, b));
        assert_eq!(clients.connections_from(ip("10.0.0.1")), 0);
        assert!(clients.is_empty());
    }

    #[test]
    fn limits_the_total() {
        let clients = Clients::new(&ServerPolicy::new().max_connections(1));
        let a = clients.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(
            clients.admit(ip("10.0.0.2")).unwrap_err(),
            Refusal::TooManyConnections
        );
        drop(a);
        assert!(clients.admit(ip("10.0.0.2")).is_ok());
    }

    #[test]
    fn refusals_are_503_with_retry_after() {
        let decision = Refusal::TooManyConnections.decision();
        assert_eq!(decision.rejected_status(), Some(503));
    }

    #[test]
    fn broadcast_reaches_everyone_but_the_excluded_client_in_order() {
        let clients = Clients::new(&ServerPolicy::new());
        let a = clients.admit(ip("10.0.0.1")).unwrap();
        let b = clients.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(clients.broadcast(Message::text("one")), 2);
        assert_eq!(clients.broadcast_except(a.id(), Message::text("two")), 1);
        assert_eq!(text(next(&a)), "one");
        assert_eq!(next(&a), None);
        assert_eq!(text(next(&b)), "one");
        assert_eq!(text(next(&b)), "two");
        assert!(clients.send_to(a.id(), Message::text("direct")));
        assert_eq!(text(next(&a)), "direct");
    }

    #[test]
    fn a_queue_over_its_byte_budget_closes_that_client_with_1008_and_spares_the_others() {
        let clients = Clients::new(&ServerPolicy::new().queue_budget(3));
        let slow = clients.admit(ip("10.0.0.1")).unwrap();
        let fast = clients.admit(ip("10.0.0.2")).unwrap();
        for n in 0..10 {
            clients.broadcast(Message::text(n.to_string()));
            assert_eq!(text(next(&fast)), n.to_string());
        }
        assert_eq!(
            next(&slow),
            Some(Outgoing::Close(CloseCode::POLICY_VIOLATION, "too slow"))
        );
        assert_eq!(
            clients.close_order(slow.id()),
            Some((CloseCode::POLICY_VIOLATION, "too slow"))
        );
        assert_eq!(clients.close_order(fast.id()), None);
        // Nothing more is queued for it; it stays registered until it is gone.
        assert_eq!(clients.broadcast(Message::text("after")), 1);
        assert_eq!(clients.len(), 2);
    }

    #[test]
    fn queued_bytes_are_counted_and_an_empty_queue_takes_a_message_over_the_budget() {
        let clients = Clients::new(&ServerPolicy::new().queue_budget(10));
        let a = clients.admit(ip("10.0.0.1")).unwrap();
        assert!(clients.send_to(a.id(), Message::binary(vec![0u8; 25])));
        assert_eq!(clients.queued_bytes_of(a.id()), 25);
        assert_eq!(
            next(&a),
            Some(Outgoing::Message(Message::binary(vec![0u8; 25])))
        );
        assert_eq!(clients.queued_bytes(), 0);
        assert!(clients.send_to(a.id(), Message::text("12345")));
        assert!(clients.send_to(a.id(), Message::text("12345")));
        assert_eq!(clients.queued_bytes(), 10);
        assert!(!clients.send_to(a.id(), Message::text("1")));
        assert_eq!(
            clients.close_order(a.id()),
            Some((CloseCode::POLICY_VIOLATION, "too slow"))
        );
        assert_eq!(clients.queued_bytes(), 0);
    }

    #[test]
    fn shutdown_tells_everyone_1001_and_refuses_newcomers() {
        let clients = Clients::new(&ServerPolicy::new());
        let a = clients.admit(ip("10.0.0.1")).unwrap();
        clients.broadcast(Message::text("queued"));
        assert_eq!(clients.start_shutdown(), 1);
        assert_eq!(
            next(&a),
            Some(Outgoing::Close(
                CloseCode::GOING_AWAY,
                "server shutting down"
            ))
        );
        assert_eq!(
            clients.admit(ip("10.0.0.2")).unwrap_err(),
            Refusal::ShuttingDown
        );
    }

    #[test]
    fn a_quiet_client_is_woken_by_every_kind_of_news_and_misses_none() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        struct Count(AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let woken = || count.0.load(Ordering::SeqCst);
        let clients = Clients::new(&ServerPolicy::new());
        let slot = clients.admit(ip("10.0.0.1")).unwrap();

        // Nothing yet: every poll is pending (the quiet path).
        assert!(slot.poll_outgoing(&mut cx).is_pending());
        assert!(slot.poll_close_order(&mut cx).is_pending());
        assert!(slot.poll_aborted(&mut cx).is_pending());
        assert_eq!(woken(), 0);

        // A message wakes the task and is found; then quiet again.
        clients.send_to(slot.id(), Message::text("one"));
        assert_eq!(woken(), 1);
        assert_eq!(text(next(&slot)), "one");
        assert!(slot.poll_outgoing(&mut cx).is_pending());
        assert!(slot.poll_aborted(&mut cx).is_pending());

        // An abort order survives a poll_outgoing that finds the queue
        // empty: poll_aborted still sees it.
        clients.abort_all();
        assert_eq!(woken(), 2);
        assert!(slot.poll_outgoing(&mut cx).is_pending());
        assert!(slot.poll_aborted(&mut cx).is_ready());

        // A close order is seen by both polls, again and again.
        let other = clients.admit(ip("10.0.0.2")).unwrap();
        assert!(other.poll_outgoing(&mut cx).is_pending());
        clients.close(other.id(), CloseCode::NORMAL, "bye");
        assert_eq!(woken(), 3);
        for _ in 0..2 {
            assert_eq!(
                other.poll_close_order(&mut cx),
                Poll::Ready((CloseCode::NORMAL, "bye"))
            );
            assert_eq!(
                next(&other),
                Some(Outgoing::Close(CloseCode::NORMAL, "bye"))
            );
        }
    }

    #[test]
    fn poll_empty_is_woken_when_the_last_client_leaves() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        struct Count(AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let clients = Clients::new(&ServerPolicy::new());
        let a = clients.admit(ip("10.0.0.1")).unwrap();
        assert!(clients.poll_empty(&mut cx).is_pending());
        assert!(clients.poll_empty(&mut cx).is_pending()); // registered once
        drop(a);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(clients.poll_empty(&mut cx).is_ready());
    }

    #[test]
    fn abort_reaches_every_connection() {
        let clients = Clients::new(&ServerPolicy::new());
        let a = clients.admit(ip("10.0.0.1")).unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(a.poll_aborted(&mut cx).is_pending());
        assert_eq!(clients.abort_all(), 1);
        assert!(a.poll_aborted(&mut cx).is_ready());
    }
}
