//! One thread's event loop: a mio poller, the thread's listening socket,
//! and its connections in a slab, each one an engine `Endpoint` and a
//! socket. No task, future or waker per connection.
//!
//! A turn of the loop: wait for readiness (or the next engine deadline);
//! read what every ready connection has, feeding the engine and handing its
//! events to the handler; carry out the orders other threads sent; fire the
//! deadlines that came due; then write out every connection the turn
//! touched, each in one vectored write of everything its engine holds
//! (corking: the replies to a batch of messages leave together). Nothing
//! produced in a turn waits for a later one, so a lone message is written
//! in the turn that produced it.

use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use sockeye_io::server::{RateLimiter, RequestInfo};
use sockeye_io::sockeye::endpoint::{Endpoint, EndpointEvent};
use sockeye_io::sockeye::handshake::Request;
use sockeye_io::{CloseCode, CloseStatus, Message};

use crate::shared::{ClientId, Command, Shared};
use crate::timers::Timers;
use crate::{Client, Handle, Handler};

pub(crate) const LISTENER: Token = Token(usize::MAX - 1);
pub(crate) const WAKER: Token = Token(usize::MAX - 2);

/// Bytes read from a socket at a time, into the thread's one buffer.
const READ_SIZE: usize = 64 << 10;
/// Most pieces of output handed to one vectored write.
const WRITE_SLICES: usize = 64;
/// Readiness events taken per turn.
const EVENTS: usize = 1024;

/// One connection: its socket and its engine, and what the loop keeps
/// about it. Everything else a connection needs lives in the engine.
struct Conn {
    stream: TcpStream,
    endpoint: Endpoint,
    serial: u64,
    peer: SocketAddr,
    /// The deadline of its live entry in the thread's timers.
    armed: Option<Duration>,
    /// Its rate limit, once open under a policy that has one.
    rate: Option<RateLimiter>,
    /// Admitted under the connection limits (a place to give back).
    admitted: bool,
    /// Opened: the handler has seen it.
    opened: bool,
    /// In this turn's list of connections to write out.
    touched: bool,
    /// Reading stopped while the engine's output was over its high-water
    /// mark; read again once it drains.
    read_pending: bool,
    /// Closed for sending too fast: further data is dropped.
    rate_limited: bool,
}

pub(crate) struct EventLoop<H> {
    thread: usize,
    poll: Poll,
    listener: Option<TcpListener>,
    conns: Slab<Conn>,
    timers: Timers,
    touched: Vec<usize>,
    commands: Vec<Command>,
    buffer: Box<[u8]>,
    next_serial: u64,
    /// Set by a shutdown order: the time after which the rest is dropped.
    shutdown: Option<Instant>,
    handle: Handle,
    handler: Arc<H>,
}

impl<H: Handler> EventLoop<H> {
    pub(crate) fn new(
        thread: usize,
        poll: Poll,
        listener: TcpListener,
        shared: Arc<Shared>,
        handler: Arc<H>,
    ) -> Self {
        Self {
            thread,
            poll,
            listener: Some(listener),
            conns: Slab::new(),
            timers: Timers::default(),
            touched: Vec::new(),
            commands: Vec::new(),
            buffer: vec![0; READ_SIZE].into_boxed_slice(),
            next_serial: 0,
            shutdown: None,
            handle: Handle { shared },
            handler,
        }
    }

    fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// Runs until a shutdown order has been carried out.
    pub(crate) fn run(mut self) -> io::Result<()> {
        if let Some(listener) = &mut self.listener {
            self.poll
                .registry()
                .register(listener, LISTENER, Interest::READABLE)?;
        }
        let mut events = Events::with_capacity(EVENTS);
        loop {
            let timeout = self.poll_timeout();
            if let Err(error) = self.poll.poll(&mut events, timeout) {
                if error.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(error);
            }
            let now = self.shared().now();
            let mut woken = false;
            for event in &events {
                match event.token() {
                    LISTENER => self.accept(now),
                    WAKER => woken = true,
                    Token(key) => {
                        let ended = event.is_read_closed() || event.is_error();
                        if event.is_readable() || ended {
                            self.read(key, now, ended);
                        }
                        if event.is_writable() {
                            self.touch(key);
                        }
                    }
                }
            }
            if woken {
                self.carry_out_commands(now);
            }
            self.fire_timers(now);
            self.write_touched(now);
            if self.shutdown_is_over() {
                return Ok(());
            }
        }
    }

    /// How long the poller may wait: until the next engine deadline or the
    /// shutdown deadline, forever if there is neither.
    fn poll_timeout(&self) -> Option<Duration> {
        let now = self.shared().now();
        let engine = self.timers.next().map(|at| at.saturating_sub(now));
        let shutdown = self
            .shutdown
            .map(|at| at.saturating_duration_since(Instant::now()));
        match (engine, shutdown) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn accept(&mut self, now: Duration) {
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            let (stream, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(error) if error.kind() == ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                // Out of descriptors, or a connection reset before it was
                // accepted: the next readiness event retries.
                Err(_) => return,
            };
            // The engine already writes each turn's output in one call.
            let _ = stream.set_nodelay(true);
            let config = self.shared().policy.shared_config().clone();
            self.next_serial += 1;
            let entry = self.conns.vacant_entry();
            let key = entry.key();
            let mut conn = Conn {
                stream,
                endpoint: Endpoint::server(config, now),
                serial: self.next_serial,
                peer,
                armed: None,
                rate: None,
                admitted: false,
                opened: false,
                touched: false,
                read_pending: false,
                rate_limited: false,
            };
            if self
                .poll
                .registry()
                .register(
                    &mut conn.stream,
                    Token(key),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .is_err()
            {
                continue;
            }
            conn.armed = self
                .timers
                .arm(None, conn.endpoint.poll_timeout(), conn.serial, key);
            entry.insert(conn);
        }
    }

    /// Reads what the socket has, feeding the engine and handling its
    /// events after each read. With `to_the_end` it reads until the socket
    /// says "would block" or ends; otherwise a short read stops it (see
    /// below).
    fn read(&mut self, key: usize, now: Duration, to_the_end: bool) {
        loop {
            let Some(conn) = self.conns.get_mut(key) else {
                return;
            };
            if conn.endpoint.is_write_blocked() {
                conn.read_pending = true;
                break;
            }
            conn.read_pending = false;
            match conn.stream.read(&mut self.buffer) {
                Ok(0) => {
                    conn.endpoint.receive_eof(now);
                    self.handle_events(key, now);
                    break;
                }
                Ok(read) => {
                    conn.endpoint.receive(now, &self.buffer[..read]);
                    self.handle_events(key, now);
                    // Edge-triggered readiness: a short read drained the
                    // socket, and new data will raise a new edge. Not so
                    // the end of the stream when it came in the same
                    // event: then the read that returns 0 must happen now.
                    if read < self.buffer.len() && !to_the_end {
                        break;
                    }
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    // Reset by the peer: the engine reports the abrupt end.
                    conn.endpoint.receive_eof(now);
                    self.handle_events(key, now);
                    break;
                }
            }
        }
        self.touch(key);
    }

    /// Hands the engine's events to the policy and the handler.
    fn handle_events(&mut self, key: usize, now: Duration) {
        let mut request = None;
        loop {
            let Some(conn) = self.conns.get_mut(key) else {
                return;
            };
            let Some(event) = conn.endpoint.poll_event() else {
                break;
            };
            match event {
                EndpointEvent::Request => request = self.answer(key, now),
                EndpointEvent::Opened(_) => {
                    conn.opened = true;
                    conn.rate = self
                        .handle
                        .shared
                        .policy
                        .message_rate_limit()
                        .map(|limit| limit.start());
                    if let Some(request) = &request {
                        let id = ClientId::new(self.thread, key, conn.serial);
                        let mut client = Client::new(id, conn_parts(conn), &self.handle, now);
                        self.handler.on_open(&mut client, request);
                    }
                }
                EndpointEvent::Connection(event) => {
                    let Ok(message) = Message::from_event(event) else {
                        // A failure: the engine queued its close frame.
                        continue;
                    };
                    if conn.rate_limited {
                        continue;
                    }
                    if message.is_data()
                        && let Some(rate) = &mut conn.rate
                        && !rate.allow(now)
                    {
                        conn.rate_limited = true;
                        if let Some(connection) = conn.endpoint.connection_mut() {
                            let _ =
                                connection.close(now, CloseCode::POLICY_VIOLATION, "rate limit");
                        }
                        continue;
                    }
                    let id = ClientId::new(self.thread, key, conn.serial);
                    let mut client = Client::new(id, conn_parts(conn), &self.handle, now);
                    self.handler.on_message(&mut client, message);
                }
                // The answer (an HTTP error) is queued; the socket closes
                // once it is written.
                EndpointEvent::Rejected(_) => {}
            }
        }
        self.rearm(key);
    }

    /// Answers the request the engine read: a plain HTTP request with the
    /// policy's page or the default 426, an upgrade as the policy decides
    /// and the connection limits allow. Returns the request when accepted.
    fn answer(&mut self, key: usize, now: Duration) -> Option<Request> {
        let shared = &self.handle.shared;
        let conn = self.conns.get_mut(key)?;
        let request = conn.endpoint.request()?;
        let info = RequestInfo::new(request, conn.peer);
        if !request.is_websocket() {
            let _ = match shared.policy.answer_http(&info) {
                Some(page) => conn.endpoint.respond(page),
                None => conn.endpoint.decline(),
            };
            return None;
        }
        let mut decision = shared.policy.decide(&info);
        if decision.rejected_status().is_none() {
            match shared.admit(conn.peer.ip()) {
                Ok(()) => conn.admitted = true,
                Err(refusal) => decision = refusal.decision(),
            }
        }
        let accepting = decision.rejected_status().is_none();
        match decision.answer(&mut conn.endpoint, now) {
            Ok(request) if accepting => Some(request),
            _ => None,
        }
    }

    fn touch(&mut self, key: usize) {
        if let Some(conn) = self.conns.get_mut(key)
            && !conn.touched
        {
            conn.touched = true;
            self.touched.push(key);
        }
    }

    fn rearm(&mut self, key: usize) {
        if let Some(conn) = self.conns.get_mut(key) {
            conn.armed =
                self.timers
                    .arm(conn.armed, conn.endpoint.poll_timeout(), conn.serial, key);
        }
    }

    fn fire_timers(&mut self, now: Duration) {
        while let Some(entry) = self.timers.pop_due(now) {
            let Some(conn) = self.conns.get_mut(entry.key) else {
                continue;
            };
            if conn.serial != entry.serial || conn.armed != Some(entry.at) {
                continue;
            }
            conn.armed = None;
            conn.endpoint.handle_timeout(now);
            self.handle_events(entry.key, now);
            self.touch(entry.key);
        }
        if let Some(deadline) = self.shutdown
            && Instant::now() >= deadline
        {
            // What is left is dropped without waiting for the peers.
            let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
            for key in keys {
                self.remove(key);
            }
        }
    }

    fn carry_out_commands(&mut self, now: Duration) {
        let mut commands = std::mem::take(&mut self.commands);
        self.handle.shared.take_commands(self.thread, &mut commands);
        for command in commands.drain(..) {
            match command {
                Command::Broadcast { message, except } => {
                    let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
                    for key in keys {
                        let serial = self.conns[key].serial;
                        if except != Some(ClientId::new(self.thread, key, serial)) {
                            self.deliver(key, message.clone(), now);
                        }
                    }
                }
                Command::SendTo(id, message) => {
                    if let Some(key) = self.key_of(id) {
                        self.deliver(key, message, now);
                    }
                }
                Command::Close(id, code, reason) => {
                    if let Some(key) = self.key_of(id)
                        && let Some(connection) = self.conns[key].endpoint.connection_mut()
                    {
                        let _ = connection.close(now, code, reason);
                        self.rearm(key);
                        self.touch(key);
                    }
                }
                Command::Shutdown { deadline } => self.start_shutdown(deadline, now),
            }
        }
        self.commands = commands;
    }

    /// The slab key of client `id`, if it is on this thread and open.
    fn key_of(&self, id: ClientId) -> Option<usize> {
        let conn = self.conns.get(id.key())?;
        (id.thread() == self.thread && id.matches(conn.serial) && conn.opened).then_some(id.key())
    }

    /// Moves `message` into an open client's engine, or closes a client
    /// that falls behind by the policy's slow-client rule with 1008.
    ///
    /// The engine is the client's outgoing queue here, and the client's
    /// own traffic fills it too: its replies up to the write high-water
    /// mark, where the loop stops reading from it. Only what waits beyond
    /// the mark counts against the queue budget, as only what waits in the
    /// `Clients` queue beside a full engine does in the other servers; a
    /// client with large echoes of its own in flight is not too slow.
    fn deliver(&mut self, key: usize, message: Message, now: Duration) {
        let policy = &self.handle.shared.policy;
        let mark = policy.shared_config().write_high_water_mark;
        let conn = &mut self.conns[key];
        if !conn.opened {
            return;
        }
        let Some(connection) = conn.endpoint.connection_mut() else {
            return;
        };
        let queued = connection.buffered_amount().saturating_sub(mark);
        if policy.falls_behind(queued, message.payload_len()) {
            let _ = connection.close(now, CloseCode::POLICY_VIOLATION, "too slow");
        } else {
            // Fails only once the connection is closing.
            let _ = message.queue_on(connection, || now);
        }
        self.rearm(key);
        self.touch(key);
    }

    fn start_shutdown(&mut self, deadline: Instant, now: Duration) {
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.shutdown = Some(deadline);
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            match self.conns[key].endpoint.connection_mut() {
                Some(connection) => {
                    let _ = connection.close(now, CloseCode::GOING_AWAY, "");
                    self.rearm(key);
                    self.touch(key);
                }
                // Still in its handshake: nothing to say goodbye to.
                None => self.remove(key),
            }
        }
    }

    fn shutdown_is_over(&self) -> bool {
        self.shutdown.is_some() && self.conns.is_empty()
    }

    /// Writes out every connection this turn touched, and ends those whose
    /// engine says the transport is done.
    fn write_touched(&mut self, now: Duration) {
        let mut index = 0;
        while index < self.touched.len() {
            let key = self.touched[index];
            index += 1;
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            conn.touched = false;
            if write_out(conn).is_err() {
                // The transport is dead: nothing queued can leave. The
                // engine records the abrupt end; the socket goes now.
                conn.endpoint.receive_eof(now);
                self.handle_events(key, now);
                self.remove(key);
                continue;
            }
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            if conn.endpoint.should_close_transport() {
                self.remove(key);
            } else if conn.read_pending && !conn.endpoint.is_write_blocked() {
                // The output drained below the mark: read what waited,
                // including an end of stream that came meanwhile.
                self.read(key, now, true);
            }
        }
        self.touched.clear();
    }

    fn remove(&mut self, key: usize) {
        let Some(mut conn) = self.conns.try_remove(key) else {
            return;
        };
        // What could still be written goes out before the socket closes.
        let _ = write_out(&mut conn);
        let _ = self.poll.registry().deregister(&mut conn.stream);
        if conn.admitted {
            self.handle.shared.release(conn.peer.ip());
        }
        if conn.opened {
            let id = ClientId::new(self.thread, key, conn.serial);
            let status = conn
                .endpoint
                .close_status()
                .cloned()
                .unwrap_or_else(|| CloseStatus {
                    code: CloseStatus::ABNORMAL_CLOSURE,
                    reason: String::new(),
                    was_clean: false,
                });
            self.handler.on_close(id, &status);
        }
    }
}

/// What a [`Client`] borrows of a connection.
fn conn_parts(conn: &mut Conn) -> (&mut Endpoint, SocketAddr) {
    (&mut conn.endpoint, conn.peer)
}

/// Writes what the engine holds, in vectored writes, until it is all out
/// or the socket is full.
///
/// # Errors
/// The socket's error other than "would block".
fn write_out(conn: &mut Conn) -> io::Result<()> {
    loop {
        let transmit = conn.endpoint.transmit();
        let written = {
            let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
            let count = transmit.io_slices(&mut slices);
            if count == 0 {
                return Ok(());
            }
            match conn.stream.write_vectored(&slices[..count]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(written) => written,
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        };
        transmit.written(written);
    }
}
