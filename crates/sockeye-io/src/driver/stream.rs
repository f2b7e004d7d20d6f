//! The application-facing WebSocket: async methods, `Stream` + `Sink`, halves.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use sockeye::handshake::Extension;
use sockeye::{CloseCode, Connection, State};

use super::{Clock, Driver, Transport};
use crate::{CloseStatus, Error, HandshakeInfo, Message, ReadyState};

/// Which task a poll comes from: the receiving side, the sending side, or
/// a server's pump (which writes broadcasts while the handler is busy).
#[derive(Clone, Copy)]
enum Side {
    Receiving = 0,
    Sending = 1,
    Pump = 2,
}

/// The wakers of both sides. The transport and the timer are polled with a
/// waker that wakes both, because either side may be the one waiting on them
/// (the receiving side writes queued pongs; the sending side waits for
/// writability), and a transport keeps only one waker per direction.
#[derive(Default)]
struct Wakers([AtomicWaker; 3]);

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        for slot in &self.0 {
            slot.wake();
        }
    }
}

/// The driver behind `mutex`, poisoned or not (as `Whole::driver_mut`).
fn lock<T, C>(mutex: &Mutex<Driver<T, C>>) -> MutexGuard<'_, Driver<T, C>> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A split WebSocket's state, shared by its two halves.
struct Shared<T, C> {
    driver: Mutex<Driver<T, C>>,
    wakers: Arc<Wakers>,
    waker: Waker,
    info: Info,
}

impl<T: Transport, C: Clock> Shared<T, C> {
    fn lock(&self) -> MutexGuard<'_, Driver<T, C>> {
        lock(&self.driver)
    }

    /// Run `f` on the driver with a context that wakes `side`'s task. The lock
    /// is held only for the synchronous poll, never across an await.
    fn poll<R>(
        &self,
        side: Side,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Driver<T, C>, &mut Context<'_>) -> R,
    ) -> R {
        self.wakers.0[side as usize].register(cx.waker());
        let mut both = Context::from_waker(&self.waker);
        f(&mut self.lock(), &mut both)
    }
}

/// An unsplit WebSocket's state. One task at a time drives it, through
/// `&mut`, so its polls reach the driver with the caller's own context: no
/// lock is taken and no waker is stored on the way. The mutex serves only
/// the `&self` getters.
struct Whole<T, C> {
    driver: Mutex<Driver<T, C>>,
    info: Info,
}

/// What the opening handshake settled, boxed and only when there is
/// something to say: a client's URL, protocol and extensions. A server
/// connection (which has none) pays a pointer instead of 72 bytes.
type Info = Option<Box<HandshakeInfo>>;

/// What an empty [`Info`] reads as.
static NO_INFO: HandshakeInfo = HandshakeInfo {
    url: None,
    protocol: None,
    extensions: Vec::new(),
};

fn info_of(info: &Info) -> &HandshakeInfo {
    info.as_deref().unwrap_or(&NO_INFO)
}

impl<T, C> Whole<T, C> {
    fn lock(&self) -> MutexGuard<'_, Driver<T, C>> {
        lock(&self.driver)
    }

    fn driver_mut(&mut self) -> &mut Driver<T, C> {
        self.driver
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The memory of a [`WebSocket`], reserved before its opening handshake
/// starts. The handshake's own allocations (its boxed state, the header
/// bytes it keeps) are all freed when it ends; had the long-lived block
/// been allocated among them, it would pin the hole they leave, and a
/// server holding many idle connections would keep a few hundred bytes of
/// such holes resident for each.
pub(super) struct Slot<T, C>(Box<core::mem::MaybeUninit<Whole<T, C>>>);

impl<T, C> Slot<T, C> {
    pub(super) fn new() -> Self {
        Self(Box::new_uninit())
    }
}

/// What a future polls: a whole WebSocket's driver, or one half's share.
enum DriverRef<'a, T, C> {
    Whole(&'a mut Driver<T, C>),
    Half(&'a Shared<T, C>),
}

impl<T: Transport, C: Clock> DriverRef<'_, T, C> {
    fn poll<R>(
        &mut self,
        side: Side,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Driver<T, C>, &mut Context<'_>) -> R,
    ) -> R {
        match self {
            DriverRef::Whole(driver) => f(driver, cx),
            DriverRef::Half(shared) => shared.poll(side, cx, f),
        }
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        self.poll(Side::Receiving, cx, Driver::poll_recv)
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll(Side::Sending, cx, Driver::poll_ready)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll(Side::Sending, cx, Driver::poll_flush)
    }

    fn start_send(&mut self, message: Message) -> Result<(), Error> {
        match self {
            DriverRef::Whole(driver) => driver.start_send(message),
            DriverRef::Half(shared) => shared.lock().start_send(message),
        }
    }

    /// Queue `message` now if there is room for it; otherwise (or when
    /// queueing fails) what the first poll of its [`Sending`] must deal with.
    fn queue_now(&mut self, message: Message) -> Option<Box<Unsent>> {
        let queue = |driver: &mut Driver<T, C>| {
            if driver.is_write_blocked() {
                return Some(Box::new(Unsent::Waiting(message)));
            }
            driver
                .start_send(message)
                .err()
                .map(|error| Box::new(Unsent::Failed(error)))
        };
        match self {
            DriverRef::Whole(driver) => queue(driver),
            DriverRef::Half(shared) => queue(&mut shared.lock()),
        }
    }

    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        unsent: &mut Option<Box<Unsent>>,
    ) -> Poll<Result<(), Error>> {
        self.poll(Side::Sending, cx, |driver, cx| {
            if matches!(unsent.as_deref(), Some(Unsent::Waiting(_))) {
                std::task::ready!(driver.poll_ready(cx))?;
            }
            match unsent.take().map(|unsent| *unsent) {
                Some(Unsent::Waiting(message)) => driver.start_send(message)?,
                Some(Unsent::Failed(error)) => return Poll::Ready(Err(error)),
                None => {}
            }
            driver.poll_send_done(cx)
        })
    }

    /// Start closing (once), then write the close frame out.
    fn poll_close_frame(
        &mut self,
        cx: &mut Context<'_>,
        close: &mut Option<(CloseCode, &str)>,
    ) -> Poll<Result<(), Error>> {
        self.poll(Side::Sending, cx, |driver, cx| {
            if let Some((code, reason)) = close.take() {
                driver.start_close(code, reason)?;
            }
            driver.poll_flush(cx)
        })
    }

    /// Receive and drop messages until the connection has ended.
    fn poll_until_closed(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            match std::task::ready!(self.poll_recv(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Ok(_)) => {}
                Some(Err(error)) if error.ends_a_close() => {}
                Some(Err(error)) => return Poll::Ready(Err(error)),
            }
        }
    }
}

macro_rules! common_getters {
    () => {
        /// Where the connection is in its life.
        pub fn state(&self) -> State {
            self.lock().connection().state()
        }

        /// Bytes queued for the transport and not yet written (the
        /// browser's `bufferedAmount`, counting frame headers too).
        pub fn buffered_amount(&self) -> usize {
            self.lock().connection().buffered_amount()
        }

        /// The browser's `readyState`: [`ReadyState::Open`] until the
        /// closing handshake starts, [`ReadyState::Closing`] until the
        /// transport is closed, then [`ReadyState::Closed`] (a `WebSocket`
        /// exists only once its opening handshake is over, so it is never
        /// [`ReadyState::Connecting`]).
        pub fn ready_state(&self) -> ReadyState {
            self.lock().ready_state()
        }

        /// How the connection ended (the browser's `CloseEvent`: code,
        /// reason, `wasClean`): the closing handshake's outcome or the
        /// failure as soon as the engine knows it, and at the latest once
        /// `recv` has returned `None` ([`ReadyState::Closed`]); `None`
        /// while the connection lives.
        pub fn close_status(&self) -> Option<CloseStatus> {
            self.lock().close_status()
        }

        /// The URL a client connected to (the browser's `url`); `None` on a
        /// server or a WebSocket made from a raw stream.
        pub fn url(&self) -> Option<&str> {
            self.info().url.as_deref()
        }

        /// The subprotocol the server selected (the browser's `protocol`).
        pub fn protocol(&self) -> Option<&str> {
            self.info().protocol.as_deref()
        }

        /// The extensions the server selected (the browser's
        /// `extensions`; [`HandshakeInfo::extensions_header`] gives the
        /// string).
        pub fn extensions(&self) -> &[Extension] {
            &self.info().extensions
        }

        /// Everything the opening handshake settled.
        pub fn handshake_info(&self) -> &HandshakeInfo {
            self.info()
        }

        /// Run `f` on the engine (for its getters and settings).
        pub fn with_connection<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
            f(self.lock().connection_mut())
        }
    };
}

/// A WebSocket connection over a [`Transport`] driven on a [`Clock`]: the
/// runtime adapters' `WebSocketStream`.
///
/// Receive with [`recv`](Self::recv) or as a `futures::Stream`; send with
/// [`send`](Self::send) or as a `futures::Sink<Message>`; end with
/// [`close`](Self::close); [`split`](Self::split) it to receive and send from
/// two tasks.
///
/// # Cancel safety
/// Every partial state lives in the engine, so dropping any of the futures
/// loses nothing that was not explicitly said below: [`recv`](Self::recv)
/// never drops a message, [`send`](Self::send) queues its message entirely
/// or not at all, [`close`](Self::close) can be called again to continue.
pub struct WebSocket<T, C> {
    whole: Box<Whole<T, C>>,
}

impl<T: Transport, C: Clock> WebSocket<T, C> {
    /// A WebSocket driving `conn` over `io`, timed by `clock` (whose `now`
    /// must be on the scale `conn` was created on).
    pub fn new(conn: Connection, io: T, clock: C) -> Self {
        Self::in_slot(Slot::new(), conn, io, clock)
    }

    /// As [`new`](Self::new), in memory reserved before the handshake.
    pub(super) fn in_slot(slot: Slot<T, C>, conn: Connection, io: T, clock: C) -> Self {
        Self {
            whole: Box::write(
                slot.0,
                Whole {
                    driver: Mutex::new(Driver::new(conn, io, clock)),
                    info: None,
                },
            ),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Driver<T, C>> {
        self.whole.lock()
    }

    fn info(&self) -> &HandshakeInfo {
        info_of(&self.whole.info)
    }

    fn polled(&mut self) -> DriverRef<'_, T, C> {
        DriverRef::Whole(self.whole.driver_mut())
    }

    /// Record what the opening handshake settled, for [`url`](Self::url),
    /// [`protocol`](Self::protocol) and [`extensions`](Self::extensions).
    /// Client adapters call it right after the handshake.
    pub fn with_handshake_info(mut self, info: HandshakeInfo) -> Self {
        self.whole.info = (info != NO_INFO).then(|| Box::new(info));
        self
    }

    /// The next message, or `None` once the connection has ended and the
    /// transport is closed.
    ///
    /// # Errors
    /// [`Error::Protocol`] when the peer broke the protocol or vanished
    /// (the close frame is already sent); [`Error::Io`] when the transport
    /// failed. After an error the next call returns `None`.
    ///
    /// # Cancel safety
    /// Cancel-safe: a message is taken out of the engine only when this
    /// future completes.
    pub fn recv(&mut self) -> Recv<'_, T, C> {
        Recv {
            polled: self.polled(),
        }
    }

    /// Send `message`. It is queued in the engine by this call already,
    /// unless the queued output is above the high-water mark: then the future
    /// waits for room first (backpressure). See [`Driver`] for when the bytes
    /// are written: when the future is polled, unless received messages are
    /// waiting to be read, in which case the next [`recv`](Self::recv)
    /// writes them before it waits.
    ///
    /// Queueing at the call keeps the future at three words (nothing but the
    /// rare message that must wait for room is kept in it, and that one
    /// boxed), so a task that awaits it stays small.
    ///
    /// # Errors
    /// [`Error::Closed`] after a close frame was sent; [`Error::Send`] for
    /// misuse; [`Error::Io`] when writing fails. They are returned by the
    /// future.
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped while waiting for room, the
    /// message is not sent; once queued, it is written by the next operation.
    pub fn send(&mut self, message: impl Into<Message>) -> Sending<'_, T, C> {
        let mut polled = self.polled();
        let unsent = polled.queue_now(message.into());
        Sending { polled, unsent }
    }

    /// Write out everything queued.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    ///
    /// # Cancel safety
    /// Cancel-safe: what was not written stays queued.
    pub async fn flush(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.polled().poll_flush(cx)).await
    }

    /// Close the connection: send a close frame with `code` and `reason`,
    /// receive (and drop) messages until the peer's close frame, then close
    /// the transport.
    ///
    /// # Errors
    /// [`Error::Send`] for a reason over 123 bytes; [`Error::Protocol`] with
    /// [`sockeye::ProtocolError::CloseTimeout`] when the peer did not answer
    /// within [`sockeye::Config::close_timeout`]; [`Error::Io`].
    ///
    /// # Cancel safety
    /// Cancel-safe: the closing handshake continues from where it was on the
    /// next `close` or `recv`.
    pub fn close<'a>(&'a mut self, code: CloseCode, reason: &'a str) -> Close<'a, T, C> {
        Close {
            polled: self.polled(),
            start: Some((code, reason)),
            wait_for_peer: true,
        }
    }

    /// Split into a receiving half and a sending half, usable from two tasks.
    /// The receiving half also drives timers and writes automatic pongs, so
    /// keep receiving on it.
    pub fn split(self) -> (ReadHalf<T, C>, WriteHalf<T, C>) {
        let Whole { driver, info } = *self.whole;
        let wakers = Arc::new(Wakers::default());
        let shared = Arc::new(Shared {
            driver,
            waker: Waker::from(wakers.clone()),
            wakers,
            info,
        });
        (
            ReadHalf {
                shared: shared.clone(),
            },
            WriteHalf { shared },
        )
    }

    common_getters!();
}

/// How a half reaches the shared driver: the plumbing `common_getters!` and
/// the futures use.
macro_rules! half_access {
    () => {
        fn lock(&self) -> MutexGuard<'_, Driver<T, C>> {
            self.shared.lock()
        }

        fn info(&self) -> &HandshakeInfo {
            info_of(&self.shared.info)
        }

        fn polled(&mut self) -> DriverRef<'_, T, C> {
            DriverRef::Half(&self.shared)
        }
    };
}

/// The receiving half of a [`WebSocket`] (see [`WebSocket::split`]).
pub struct ReadHalf<T, C> {
    shared: Arc<Shared<T, C>>,
}

/// A third handle on a split WebSocket's driver, for a server to write
/// queued broadcasts out while the connection's handler is busy elsewhere.
/// Weak, so that the connection ends when the halves are dropped, as it
/// would without a pump.
pub(crate) struct Pump<T, C> {
    shared: Weak<Shared<T, C>>,
}

impl<T: Transport, C: Clock> Pump<T, C> {
    /// Run `f` on the driver, registering `cx` to be woken by the
    /// transport and the timer; `None` once the halves are gone.
    pub(crate) fn poll<R>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Driver<T, C>, &mut Context<'_>) -> R,
    ) -> Option<R> {
        Some(self.shared.upgrade()?.poll(Side::Pump, cx, f))
    }
}

impl<T: Transport, C: Clock> ReadHalf<T, C> {
    half_access!();

    /// Run `f` on the driver from the receiving side's task (for the
    /// server's policy loop, which receives and sends in one task).
    pub(crate) fn poll_driver<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Driver<T, C>, &mut Context<'_>) -> R,
    ) -> R {
        self.shared.poll(Side::Receiving, cx, f)
    }

    /// Another handle on the driver, for a server's pump.
    pub(crate) fn pump(&self) -> Pump<T, C> {
        Pump {
            shared: Arc::downgrade(&self.shared),
        }
    }

    /// The next message; as [`WebSocket::recv`], also cancel-safe.
    pub fn recv(&mut self) -> Recv<'_, T, C> {
        Recv {
            polled: self.polled(),
        }
    }

    /// Put the halves back together.
    ///
    /// # Errors
    /// Gives both back when they come from different connections.
    #[allow(clippy::result_large_err)]
    pub fn reunite(
        self,
        other: WriteHalf<T, C>,
    ) -> Result<WebSocket<T, C>, (Self, WriteHalf<T, C>)> {
        if !Arc::ptr_eq(&self.shared, &other.shared) {
            return Err((self, other));
        }
        drop(other);
        // The two halves held the only references (the wakers hold their
        // own `Arc`), so this always succeeds.
        match Arc::try_unwrap(self.shared) {
            Ok(Shared { driver, info, .. }) => Ok(WebSocket {
                whole: Box::new(Whole { driver, info }),
            }),
            Err(shared) => Err((
                ReadHalf {
                    shared: shared.clone(),
                },
                WriteHalf { shared },
            )),
        }
    }

    common_getters!();
}

/// The sending half of a [`WebSocket`] (see [`WebSocket::split`]).
pub struct WriteHalf<T, C> {
    shared: Arc<Shared<T, C>>,
}

impl<T: Transport, C: Clock> WriteHalf<T, C> {
    half_access!();

    /// Send a message; as [`WebSocket::send`], also cancel-safe.
    pub fn send(&mut self, message: impl Into<Message>) -> Sending<'_, T, C> {
        let mut polled = self.polled();
        let unsent = polled.queue_now(message.into());
        Sending { polled, unsent }
    }

    /// Write out everything queued; cancel-safe.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub async fn flush(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.polled().poll_flush(cx)).await
    }

    /// Send a close frame, then receive (and drop) messages until the
    /// peer's close frame and close the transport, as [`WebSocket::close`]
    /// (for a server client, whose one task does both).
    pub(crate) fn close_and_wait<'a>(
        &'a mut self,
        code: CloseCode,
        reason: &'a str,
    ) -> Close<'a, T, C> {
        Close {
            polled: self.polled(),
            start: Some((code, reason)),
            wait_for_peer: true,
        }
    }

    /// Send a close frame and write it out. The receiving half sees the
    /// peer's answer and then the end of the stream.
    ///
    /// # Errors
    /// [`Error::Send`] for a reason over 123 bytes; [`Error::Io`].
    ///
    /// # Cancel safety
    /// Cancel-safe: the close frame is queued on the first poll and stays queued.
    pub fn close<'a>(&'a mut self, code: CloseCode, reason: &'a str) -> Close<'a, T, C> {
        Close {
            polled: self.polled(),
            start: Some((code, reason)),
            wait_for_peer: false,
        }
    }

    common_getters!();
}

/// The future of `recv`.
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T, C> {
    polled: DriverRef<'a, T, C>,
}

impl<T: Transport, C: Clock> Future for Recv<'_, T, C> {
    type Output = Option<Result<Message, Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().polled.poll_recv(cx)
    }
}

/// The future of `send`.
#[must_use = "a queued message is written only when this future or a later operation is polled"]
pub struct Sending<'a, T, C> {
    polled: DriverRef<'a, T, C>,
    unsent: Option<Box<Unsent>>,
}

/// A message `send` could not queue at once, or why queueing it failed.
enum Unsent {
    /// The queued output was above the high-water mark.
    Waiting(Message),
    /// The error the future returns.
    Failed(Error),
}

impl<T: Transport, C: Clock> Future for Sending<'_, T, C> {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.polled.poll_send(cx, &mut this.unsent)
    }
}

/// The future of `close`.
#[must_use = "futures do nothing unless polled"]
pub struct Close<'a, T, C> {
    polled: DriverRef<'a, T, C>,
    start: Option<(CloseCode, &'a str)>,
    wait_for_peer: bool,
}

impl<T: Transport, C: Clock> Future for Close<'_, T, C> {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.start.is_some() || !this.wait_for_peer {
            std::task::ready!(this.polled.poll_close_frame(cx, &mut this.start))?;
        }
        if this.wait_for_peer {
            this.polled.poll_until_closed(cx)
        } else {
            Poll::Ready(Ok(()))
        }
    }
}

macro_rules! stream_impl {
    ($ty:ident) => {
        impl<T: Transport, C: Clock> futures_core::Stream for $ty<T, C> {
            type Item = Result<Message, Error>;

            fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
                self.get_mut().polled().poll_recv(cx)
            }
        }
    };
}

macro_rules! sink_impl {
    ($ty:ident) => {
        impl<T: Transport, C: Clock> futures_sink::Sink<Message> for $ty<T, C> {
            type Error = Error;

            fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
                self.get_mut().polled().poll_ready(cx)
            }

            fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
                self.get_mut().polled().start_send(item)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
                self.get_mut().polled().poll_flush(cx)
            }

            /// Sends a normal close (1000) unless closing already started,
            /// and writes it out.
            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
                let mut start = Some((CloseCode::NORMAL, ""));
                self.get_mut().polled().poll_close_frame(cx, &mut start)
            }
        }
    };
}

stream_impl!(WebSocket);
stream_impl!(ReadHalf);
sink_impl!(WebSocket);
sink_impl!(WriteHalf);
