//! What the event-loop threads share: their inboxes and wakers, the
//! connection counts the limits read, and the shutdown flag. Nothing here
//! is touched per message on the connection's own thread; a broadcast
//! costs one inbox push and one wake per thread.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sockeye_io::server::{ConnectionCounts, Refusal, ServerPolicy};
use sockeye_io::{CloseCode, Message};

/// A client of a [`Server`](crate::Server): the thread that serves it, its
/// slot there and the low bits of its serial number on that thread, so an
/// order for a client that left never reaches the next one in its slot
/// (short of four billion connections through one slot in between).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(u64);

impl ClientId {
    pub(crate) fn new(thread: usize, key: usize, serial: u64) -> Self {
        Self(
            ((thread as u64 & 0xff) << 56)
                | ((key as u64 & 0xff_ffff) << 32)
                | (serial & 0xffff_ffff),
        )
    }

    /// The id as a number (unique within the server).
    pub fn get(self) -> u64 {
        self.0
    }

    /// The index of the thread that serves the client.
    pub fn thread(self) -> usize {
        (self.0 >> 56) as usize
    }

    /// The client's slot on its thread.
    pub(crate) fn key(self) -> usize {
        ((self.0 >> 32) & 0xff_ffff) as usize
    }

    /// Whether this is the id of the connection with `serial` in its slot.
    pub(crate) fn matches(self, serial: u64) -> bool {
        self.0 & 0xffff_ffff == serial & 0xffff_ffff
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An order for a thread's clients, from any thread.
#[derive(Debug)]
pub(crate) enum Command {
    /// To every open client but `except`.
    Broadcast {
        message: Message,
        except: Option<ClientId>,
    },
    /// To one client.
    SendTo(ClientId, Message),
    /// Start closing one client.
    Close(ClientId, CloseCode, &'static str),
    /// Stop accepting, send 1001 to everyone, end once they are gone or at
    /// the deadline.
    Shutdown { deadline: Instant },
}

/// One event-loop thread as the others reach it.
#[derive(Debug)]
pub(crate) struct Mailbox {
    pub(crate) inbox: Mutex<Vec<Command>>,
    pub(crate) waker: mio::Waker,
}

/// The state all threads of a server share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) policy: ServerPolicy,
    pub(crate) mailboxes: Vec<Mailbox>,
    /// Where every connection's clock starts, so that all threads' `now`
    /// are on one scale.
    pub(crate) epoch: Instant,
    /// Open connections (admitted WebSockets) of all threads, under the
    /// policy's limits.
    counts: Mutex<ConnectionCounts>,
    shutting_down: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking handler must not take every other thread down with it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(policy: ServerPolicy, mailboxes: Vec<Mailbox>) -> Self {
        let counts = Mutex::new(ConnectionCounts::new(&policy));
        Self {
            policy,
            mailboxes,
            epoch: Instant::now(),
            counts,
            shutting_down: AtomicBool::new(false),
        }
    }

    /// The engine's `now`: time since the server started.
    pub(crate) fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Takes a place for a client at `ip` under the connection limits.
    ///
    /// # Errors
    /// The [`Refusal`] whose 503 answers the client.
    pub(crate) fn admit(&self, ip: IpAddr) -> Result<(), Refusal> {
        let shutting_down = self.shutting_down.load(Ordering::Acquire);
        lock(&self.counts).admit(ip, shutting_down)
    }

    /// Gives back the place [`admit`](Self::admit) took.
    pub(crate) fn release(&self, ip: IpAddr) {
        lock(&self.counts).release(ip);
    }

    pub(crate) fn send(&self, thread: usize, command: Command) {
        let Some(mailbox) = self.mailboxes.get(thread) else {
            return;
        };
        lock(&mailbox.inbox).push(command);
        // A failed wake means the thread's poller is gone: it has ended.
        let _ = mailbox.waker.wake();
    }

    pub(crate) fn take_commands(&self, thread: usize, into: &mut Vec<Command>) {
        into.append(&mut lock(&self.mailboxes[thread].inbox));
    }
}

/// A handle on a running [`Server`](crate::Server), usable from any
/// thread (a handler's, or another part of the program): broadcast, send
/// to one client, close one, count them, shut down. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// Queues `message` for every open client on every thread. Each
    /// thread moves it into its clients' engines on its next turn and
    /// writes it out with the rest of that turn's output; a client whose
    /// unsent output is over the policy's queue budget is closed with 1008
    /// (`"too slow"`) instead.
    pub fn broadcast(&self, message: impl Into<Message>) {
        self.broadcast_where(message.into(), None);
    }

    /// As [`broadcast`](Self::broadcast), to every client but `except`
    /// (the sender, typically).
    pub fn broadcast_except(&self, except: ClientId, message: impl Into<Message>) {
        self.broadcast_where(message.into(), Some(except));
    }

    fn broadcast_where(&self, message: Message, except: Option<ClientId>) {
        for thread in 0..self.shared.mailboxes.len() {
            let message = message.clone();
            self.shared
                .send(thread, Command::Broadcast { message, except });
        }
    }

    /// Queues `message` for client `id` (nothing happens if it is gone).
    pub fn send_to(&self, id: ClientId, message: impl Into<Message>) {
        self.shared
            .send(id.thread(), Command::SendTo(id, message.into()));
    }

    /// Starts closing client `id` with `code` and `reason`.
    pub fn close(&self, id: ClientId, code: CloseCode, reason: &'static str) {
        self.shared
            .send(id.thread(), Command::Close(id, code, reason));
    }

    /// Open WebSockets on all threads.
    pub fn clients(&self) -> usize {
        lock(&self.shared.counts).open()
    }

    /// The number of event-loop threads.
    pub fn threads(&self) -> usize {
        self.shared.mailboxes.len()
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.shutting_down.load(Ordering::Acquire)
    }

    /// Shuts down gracefully: every thread stops accepting, sends its
    /// clients a close frame with 1001 (going away) and ends once they are
    /// gone, or after `deadline` drops the rest. Returns at once; join the
    /// server's threads ([`Running::join`](crate::Running::join)) to wait.
    pub fn shutdown(&self, deadline: Duration) {
        self.shared.shutting_down.store(true, Ordering::Release);
        let deadline = Instant::now() + deadline;
        for thread in 0..self.shared.mailboxes.len() {
            self.shared.send(thread, Command::Shutdown { deadline });
        }
    }
}
