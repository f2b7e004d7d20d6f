//! The driver proper: one connection, its transport and its clock.

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use sockeye::{CloseCode, Connection, State};

use super::{Clock, Transport};
use crate::info::close_status;
use crate::{CloseStatus, Error, Message, ReadyState};

/// Most runs of queued output handed to one vectored write.
pub(super) const WRITE_BATCH: usize = 16;

/// Pumps bytes between a [`Connection`] and a [`Transport`], on a [`Clock`].
///
/// Runtime adapters wrap it in [`WebSocket`](super::WebSocket); it is public
/// for adapters that need the poll-level API.
///
/// # Batching and latency
/// Output is coalesced by the engine and written:
/// * by [`poll_recv`](Self::poll_recv) when the input batch is drained:
///   before it waits for the transport, and when the last buffered event it
///   returns is not a text or binary message (without waiting for the write
///   to finish). After the batch's last data message the caller most likely
///   replies, and that send writes the whole batch's output in one go
///   instead of two;
/// * by [`poll_send_done`](Self::poll_send_done) at once, unless the last
///   `poll_recv` returned a message without waiting and more received bytes
///   are already buffered, in which case the next `poll_recv` writes it
///   before it waits;
/// * by [`poll_ready`](Self::poll_ready) once the queue reaches
///   [`sockeye::Config::write_high_water_mark`];
/// * by [`poll_flush`](Self::poll_flush) always.
///
/// So a message sent while no received input is waiting is written before
/// its send completes (a send waits until the transport took its bytes);
/// none is ever held longer than the next send or receive, whichever comes
/// first. Replies the engine makes itself (pongs, the close reply) leave
/// with the batch that caused them.
#[derive(Debug)]
pub struct Driver<T, C> {
    conn: Connection,
    io: T,
    clock: C,
    /// The transport reported end of stream (or failed).
    eof: bool,
    /// The connection is over and its last item has been returned.
    finished: bool,
    /// The last `poll_recv` returned an event without waiting for input.
    mid_batch: bool,
    /// Why the transport failed, when it did. A box holding the `String`
    /// (not a `Box<str>`, which is two words): it is set at most once, at
    /// the end, and every connection carries the field.
    #[allow(clippy::box_collection)] // One word instead of three; see above.
    failure: Option<Box<String>>,
    /// When the closing handshake began (our close, the peer's close frame
    /// or a failure), in milliseconds on the clock's scale, for the close
    /// event's duration; `u32::MAX` before. Four bytes that fit beside the
    /// flags, so the connection is no larger for it.
    #[cfg(feature = "tracing")]
    close_started_ms: u32,
}

impl<T: Transport, C: Clock> Driver<T, C> {
    /// Drive `conn` over `io`, with `clock` on the scale `conn` was created on.
    pub fn new(conn: Connection, io: T, clock: C) -> Self {
        Self {
            conn,
            io,
            clock,
            eof: false,
            finished: false,
            mid_batch: false,
            failure: None,
            #[cfg(feature = "tracing")]
            close_started_ms: u32::MAX,
        }
    }

    /// The engine.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The engine, for commands the driver does not wrap.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.io
    }

    /// Whether the connection is over and its transport closed (or failed):
    /// `poll_recv` has nothing more to return.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The browser's `readyState`: the engine's state until the transport
    /// is closed (see [`ReadyState::of`]).
    pub fn ready_state(&self) -> ReadyState {
        ReadyState::of(self.conn.state(), self.finished)
    }

    /// How the connection ended (see [`crate::info::close_status`]).
    pub fn close_status(&self) -> Option<CloseStatus> {
        close_status(
            self.conn.close_status(),
            self.finished,
            self.failure.as_deref().map(String::as_str),
        )
    }

    /// The clock's current time, on the engine's scale.
    pub fn now(&self) -> Duration {
        self.clock.now()
    }

    /// The next message; `None` once the connection has ended and the
    /// transport is closed (flushed and shut down; a client first waits for
    /// the server to close, up to [`sockeye::Config::close_timeout`]).
    ///
    /// Nothing is lost when the caller stops polling: a message leaves the
    /// engine only in a `Ready` result.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        loop {
            if self.finished {
                return Poll::Ready(None);
            }
            if let Some(event) = self.conn.poll_event() {
                if self.conn.should_flush_after(&event) {
                    // Without waiting for the write to finish.
                    let _ = self.poll_write_out(cx);
                }
                let item = Message::from_event(event);
                #[cfg(feature = "tracing")]
                self.trace_item(&item);
                self.mid_batch = true;
                return Poll::Ready(Some(item));
            }
            if self.conn.state() == State::Closed {
                ready!(self.poll_teardown(cx));
                return Poll::Ready(None);
            }
            // The input batch is drained: write out what it produced before
            // waiting for more.
            self.mid_batch = false;
            if self.conn.buffered_amount() > 0
                && let Poll::Ready(Err(error)) = self.poll_write_out(cx)
            {
                self.finished = true;
                self.failure = Some(Box::new(error.to_string()));
                crate::events::transport_failed(&error);
                return Poll::Ready(Some(Err(error)));
            }
            match self.poll_read(cx) {
                Poll::Ready(Ok(())) => {
                    self.fire_due_timers();
                    continue;
                }
                Poll::Ready(Err(error)) => {
                    self.finished = true;
                    self.failure = Some(Box::new(error.to_string()));
                    crate::events::transport_failed(&error);
                    return Poll::Ready(Some(Err(Error::Io(error))));
                }
                Poll::Pending => {}
            }
            match self.conn.poll_timeout() {
                Some(deadline) if self.clock.poll_deadline(cx, deadline).is_ready() => {
                    self.conn.handle_timeout(self.clock.now());
                }
                _ => return Poll::Pending,
            }
        }
    }

    /// Ready when another message may be queued: the queued output is below
    /// [`sockeye::Config::write_high_water_mark`] (writing some out if not).
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.finished {
            return Poll::Ready(Err(Error::Closed));
        }
        if self.conn.is_write_blocked() {
            if let Poll::Ready(Err(error)) = self.poll_write_out(cx) {
                return Poll::Ready(Err(error));
            }
            if self.conn.is_write_blocked() {
                return Poll::Pending;
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Whether the queued output is above
    /// [`sockeye::Config::write_high_water_mark`], so that a new message
    /// must wait for [`poll_ready`](Self::poll_ready).
    pub fn is_write_blocked(&self) -> bool {
        self.conn.is_write_blocked()
    }

    /// Queue `message` in the engine; writes nothing.
    ///
    /// # Errors
    /// As [`Message::queue_on`]; [`Error::Closed`] once the connection ended.
    pub fn start_send(&mut self, message: Message) -> Result<(), Error> {
        if self.finished {
            return Err(Error::Closed);
        }
        let clock = &self.clock;
        message.queue_on(&mut self.conn, || clock.now())
    }

    /// Finish a send under the batching rule: write the queued output now,
    /// unless a receive batch is in progress (its end writes it).
    pub fn poll_send_done(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.mid_batch && self.conn.can_defer_write() {
            return Poll::Ready(Ok(()));
        }
        self.poll_flush(cx)
    }

    /// Write out everything queued and flush the transport.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.finished && self.conn.buffered_amount() == 0 {
            return Poll::Ready(Ok(()));
        }
        self.poll_write_out(cx)
    }

    /// Start the closing handshake with `code` and `reason` unless it has
    /// started already (so calling it again is harmless).
    ///
    /// # Errors
    /// [`Error::Send`] for a reason over 123 bytes.
    pub fn start_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if self.finished || self.conn.state() != State::Open {
            return Ok(());
        }
        let now = self.clock.now();
        self.conn.close(now, code, reason).map_err(Error::from)?;
        #[cfg(feature = "tracing")]
        self.mark_closing();
        Ok(())
    }

    /// Write every queued byte, then flush the transport.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while self.conn.buffered_amount() > 0 {
            let transmit = self.conn.transmit();
            let mut slices = [IoSlice::new(&[]); WRITE_BATCH];
            let filled = transmit.io_slices(&mut slices);
            let written = match Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..filled]) {
                Poll::Ready(Ok(0)) => Err(io::Error::from(io::ErrorKind::WriteZero)),
                Poll::Ready(result) => result,
                Poll::Pending => return Poll::Pending,
            };
            match written {
                Ok(n) => transmit.written(n),
                Err(error) => {
                    self.eof = true;
                    self.conn.receive_eof(self.clock.now());
                    return Poll::Ready(Err(Error::Io(error)));
                }
            }
        }
        Pin::new(&mut self.io).poll_flush(cx).map_err(Error::Io)
    }

    /// One read into the engine; end of stream is handed to the engine too.
    ///
    /// A read that starts a new frame goes through the thread's scratch
    /// buffer, and a read that would block with nothing partial buffered and
    /// nothing queued releases the engine's buffers: a connection waiting
    /// for input holds no buffer at all. A busy connection pays for it with
    /// one allocation the size of what each batch read (the engine's copy,
    /// which its messages then share) instead of a buffer kept for good.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.eof {
            return Poll::Pending;
        }
        let io = &mut self.io;
        let clock = &self.clock;
        // A frame under way, or a large one expected (the peer's last one
        // was), goes straight into the engine's buffer: one read sized for
        // it, and no copy.
        let polled = if self.conn.reads_in_place() {
            self.conn
                .receive_with(clock.now(), |buf| Pin::new(io).poll_read_buf(cx, buf))
        } else {
            read_via_scratch(io, clock, cx, &mut self.conn)
        };
        let read = match polled {
            Poll::Ready(result) => result?,
            Poll::Pending => {
                self.conn.read_blocked();
                return Poll::Pending;
            }
        };
        if read == 0 {
            self.eof = true;
            self.conn.receive_eof(self.clock.now());
        }
        Poll::Ready(Ok(()))
    }

    /// Fire the engine's timers if one is due; a busy transport must not
    /// starve them.
    fn fire_due_timers(&mut self) {
        if let Some(deadline) = self.conn.poll_timeout() {
            let now = self.clock.now();
            if deadline <= now {
                self.conn.handle_timeout(now);
            }
        }
    }

    /// After `State::Closed`: flush, then close the transport (RFC 6455
    /// §7.1.1): a server at once, a client once the server has closed it or
    /// after the close timeout.
    fn poll_teardown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Poll::Ready(Err(_)) | Poll::Pending = self.poll_write_out(cx)
            && !self.eof
        {
            return Poll::Pending;
        }
        // The engine says when (a server at once, a client once the server
        // has closed or after its close-timeout timer).
        while !self.eof && !self.conn.should_close_transport() {
            match self.poll_read(cx) {
                Poll::Ready(Ok(())) => self.fire_due_timers(),
                Poll::Ready(Err(_)) => break,
                Poll::Pending => {
                    self.fire_due_timers();
                    if self.conn.should_close_transport() {
                        break;
                    }
                    match self.conn.poll_timeout() {
                        Some(deadline) if self.clock.poll_deadline(cx, deadline).is_ready() => {}
                        _ => return Poll::Pending,
                    }
                }
            }
        }
        // A failed shutdown changes nothing: the connection is over either way.
        let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
        self.finished = true;
        #[cfg(feature = "tracing")]
        self.trace_closed();
        Poll::Ready(())
    }

    /// The clock's time in milliseconds, as [`Self::close_started_ms`] keeps it.
    #[cfg(feature = "tracing")]
    fn now_ms(&self) -> u32 {
        u32::try_from(self.clock.now().as_millis()).unwrap_or(u32::MAX - 1)
    }

    #[cfg(feature = "tracing")]
    fn mark_closing(&mut self) {
        if self.close_started_ms == u32::MAX {
            self.close_started_ms = self.now_ms();
        }
    }

    /// The events of what `poll_recv` is about to return; a failure or the
    /// peer's close frame starts the close's clock.
    #[cfg(feature = "tracing")]
    fn trace_item(&mut self, item: &Result<Message, Error>) {
        if crate::events::received(item) {
            self.mark_closing();
        }
    }

    /// The close event: how the connection ended and how long its closing
    /// handshake took.
    #[cfg(feature = "tracing")]
    fn trace_closed(&self) {
        let took = (self.close_started_ms != u32::MAX).then(|| {
            Duration::from_millis(u64::from(
                self.now_ms().saturating_sub(self.close_started_ms),
            ))
        });
        crate::events::closed(|| self.close_status(), took);
    }
}

/// Bytes read at once into the scratch buffer: a whole batch of small
/// messages from a busy peer in one read (the buffer is per thread, so its
/// size costs nothing per connection).
const SCRATCH_LEN: usize = 64 << 10;

std::thread_local! {
    /// One read buffer per thread, shared by the connections it drives;
    /// zeroed once, when first used.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with the thread's scratch buffer, or with `None` when it is
/// taken (a transport that drives another connection from inside its read).
pub(super) fn with_scratch<R>(f: impl FnOnce(Option<&mut [u8]>) -> R) -> R {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => {
            if scratch.is_empty() {
                scratch.resize(SCRATCH_LEN, 0);
            }
            f(Some(&mut scratch))
        }
        Err(_) => f(None),
    })
}

/// Read into the thread's scratch buffer and hand what arrived to the
/// engine, which copies it into a buffer of just that size.
fn read_via_scratch<T: Transport, C: Clock>(
    io: &mut T,
    clock: &C,
    cx: &mut Context<'_>,
    conn: &mut Connection,
) -> Poll<io::Result<usize>> {
    with_scratch(|scratch| {
        let Some(scratch) = scratch else {
            return conn.receive_with(clock.now(), |buf| Pin::new(io).poll_read_buf(cx, buf));
        };
        let read = ready!(Pin::new(io).poll_read_slice(cx, scratch))?;
        // The time is read only once bytes have arrived: a read that would
        // block costs no clock call.
        conn.receive(clock.now(), &scratch[..read]);
        Poll::Ready(Ok(read))
    })
}
