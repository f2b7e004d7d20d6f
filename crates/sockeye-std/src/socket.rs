//! The blocking WebSocket and its constructors.

use std::any::Any;
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;

use crate::MaybeTlsStream;
use std::time::{Duration, Instant};

use sockeye_io::sockeye::endpoint::Opened;
use sockeye_io::sockeye::{Connection, Endpoint, EndpointEvent, State, Transmit};
use sockeye_io::{
    ClientOptions, CloseStatus, Config, Decision, Error, Extension, HandshakeInfo, Message, Proxy,
    ReadyState, Request, Response, Role, SharedConfig, Target,
};

/// Bytes read at a time during the opening handshake.
const HANDSHAKE_READ: usize = 4 << 10;
/// Most runs of queued output per vectored write.
const WRITE_BATCH: usize = 16;

/// A blocking WebSocket over a stream `S`.
#[derive(Debug)]
pub struct WebSocket<S> {
    conn: Connection,
    stream: S,
    start: Instant,
    eof: bool,
    finished: bool,
    /// Why the transport failed, when it did.
    failure: Option<String>,
    info: HandshakeInfo,
    /// The TCP socket under `stream`, when it is one this crate knows: the
    /// end of the connection shuts it down, and the client's wait for the
    /// server's close is bounded through its read timeout.
    tcp_of: fn(&S) -> Option<&TcpStream>,
    /// Ends the TLS session under `stream` with a `close_notify` alert, when
    /// it is a rustls stream this crate knows (a no-op otherwise).
    close_notify_of: fn(&mut S),
    /// When the closing handshake began (our close, the peer's close frame
    /// or a failure), for the close event's duration.
    #[cfg(feature = "tracing")]
    close_started: Option<Duration>,
}

/// What [`WebSocket::recv`] does next, decided without reading.
pub(crate) enum Next {
    /// Return this.
    Item(Option<Result<Message, Error>>),
    /// Read from the transport, then decide again.
    Read,
}

impl<S: Read + Write + 'static> WebSocket<S> {
    /// A WebSocket over `stream`, whose opening handshake was done elsewhere.
    pub fn from_raw(stream: S, role: Role, config: impl Into<SharedConfig>) -> Self {
        Self::with_connection(
            stream,
            Connection::new(role, config, Duration::ZERO),
            Instant::now(),
        )
    }

    fn with_connection(stream: S, conn: Connection, start: Instant) -> Self {
        Self {
            conn,
            stream,
            start,
            eof: false,
            finished: false,
            failure: None,
            info: HandshakeInfo::default(),
            tcp_of: tcp_of::<S>,
            close_notify_of: close_notify_of::<S>,
            #[cfg(feature = "tracing")]
            close_started: None,
        }
    }
}

impl<S: Read + Write> WebSocket<S> {
    /// The next message (in streaming mode, the next piece), or `None` once
    /// the connection has ended and the transport is closed (a client first
    /// waits for the server to close it, up to the close timeout).
    ///
    /// Output produced while receiving (pongs, the close reply, messages
    /// queued by [`send`](Self::send) during the batch) is written before
    /// this blocks on a read.
    ///
    /// # Errors
    /// [`Error::Protocol`] when the peer broke the protocol or vanished;
    /// [`Error::Timeout`] when the stream's read timeout expired (call again);
    /// [`Error::Io`].
    pub fn recv(&mut self) -> Option<Result<Message, Error>> {
        loop {
            if let Next::Item(item) = self.next_without_reading() {
                return item;
            }
            let stream = &mut self.stream;
            // The time after the read is recorded by `absorb_read`.
            let result = self.conn.receive_with(self.start.elapsed(), |buf| {
                let start = buf.len();
                buf.resize(buf.capacity(), 0);
                let result = stream.read(&mut buf[start..]);
                buf.truncate(start + *result.as_ref().unwrap_or(&0));
                result
            });
            if let Err(error) = self.absorb_read(result) {
                return Some(Err(error));
            }
        }
    }

    /// The part of [`recv`](Self::recv) that needs no read: the next
    /// buffered message, the end of the connection, or "read more" (after
    /// writing out what the input so far produced).
    pub(crate) fn next_without_reading(&mut self) -> Next {
        if self.finished {
            return Next::Item(None);
        }
        if let Some(event) = self.conn.poll_event() {
            if self.conn.should_flush_after(&event)
                && let Err(error) = self.flush()
            {
                return Next::Item(Some(Err(error)));
            }
            let item = Message::from_event(event);
            if sockeye_io::events::received(&item) {
                self.mark_closing();
            }
            return Next::Item(Some(item));
        }
        if self.conn.state() == State::Closed {
            self.teardown();
            return Next::Item(None);
        }
        if let Err(error) = self.flush() {
            self.finished = true;
            self.failure = Some(error.to_string());
            sockeye_io::events::transport_failed(&error);
            return Next::Item(Some(Err(error)));
        }
        Next::Read
    }

    /// Take in the result of a read whose bytes (if any) the engine already
    /// holds: end of stream, due timers, and the error to return, if any
    /// (after which, a timeout aside, the connection is finished).
    pub(crate) fn absorb_read(&mut self, result: io::Result<usize>) -> Result<(), Error> {
        // Also tells the engine the time the read ended (a no-op otherwise
        // unless a timer is due).
        self.conn.handle_timeout(self.start.elapsed());
        let outcome = match result {
            Ok(0) => {
                self.eof = true;
                self.conn.receive_eof(self.start.elapsed());
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(error) => Err(Error::from(error)),
        };
        if let Err(error) = &outcome
            && !matches!(error, Error::Timeout)
        {
            self.finished = true;
            self.failure = Some(error.to_string());
            sockeye_io::events::transport_failed(error);
        }
        outcome
    }

    /// Send `message`. It is written at once, unless received input is
    /// already buffered, in which case the next [`recv`](Self::recv) writes
    /// it together with its replies (so an echo loop costs one write per
    /// batch, not per message); [`flush`](Self::flush) writes at once.
    ///
    /// # Errors
    /// [`Error::Closed`] after a close frame was sent, [`Error::Send`] for
    /// misuse, [`Error::Timeout`] when the write timeout expired (the message
    /// is queued and goes out with the next write), [`Error::Io`].
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        if self.finished {
            return Err(Error::Closed);
        }
        message
            .into()
            .queue_on(&mut self.conn, || self.start.elapsed())?;
        if self.conn.can_defer_write() {
            return Ok(());
        }
        self.flush()
    }

    /// Write out everything queued.
    ///
    /// # Errors
    /// [`Error::Timeout`] when the write timeout expired (what is left stays
    /// queued), [`Error::Io`].
    pub fn flush(&mut self) -> Result<(), Error> {
        while self.conn.buffered_amount() > 0 {
            match write_some(&mut self.stream, self.conn.transmit()) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error.into()),
            }
        }
        self.stream.flush().map_err(Error::from)
    }

    /// Queue a close frame with `code` and `reason` unless closing started.
    pub(crate) fn start_close(
        &mut self,
        code: sockeye_io::CloseCode,
        reason: &str,
    ) -> Result<(), Error> {
        if !self.finished && self.conn.state() == State::Open {
            self.conn.close(self.start.elapsed(), code, reason)?;
            self.mark_closing();
        }
        Ok(())
    }

    /// The connection's end began now: the close event's duration counts
    /// from here.
    fn mark_closing(&mut self) {
        #[cfg(feature = "tracing")]
        if self.close_started.is_none() {
            self.close_started = Some(self.start.elapsed());
        }
    }

    /// Close: send a close frame with `code` and `reason`, receive (and
    /// drop) messages until the peer's close frame, then close the transport.
    /// Calling it again after a timeout continues the handshake.
    ///
    /// # Errors
    /// [`Error::Send`] for a reason over 123 bytes; [`Error::Protocol`] with
    /// `CloseTimeout` when the peer did not answer in time; [`Error::Io`].
    pub fn close(&mut self, code: sockeye_io::CloseCode, reason: &str) -> Result<(), Error> {
        self.start_close(code, reason)?;
        while let Some(item) = self.recv() {
            match item {
                Ok(_) => {}
                Err(error) if error.ends_a_close() => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// The browser's `readyState`: [`ReadyState::Open`] until the closing
    /// handshake starts, [`ReadyState::Closing`] until the transport is
    /// closed, then [`ReadyState::Closed`].
    pub fn ready_state(&self) -> ReadyState {
        ReadyState::of(self.conn.state(), self.finished)
    }

    /// How the connection ended (code, reason, `wasClean`): the closing
    /// handshake's outcome or the failure as soon as the engine knows it,
    /// and at the latest once [`recv`](Self::recv) returned `None`
    /// ([`ReadyState::Closed`]); `None` while the connection lives.
    pub fn close_status(&self) -> Option<CloseStatus> {
        sockeye_io::info::close_status(
            self.conn.close_status(),
            self.finished,
            self.failure.as_deref(),
        )
    }

    /// Bytes queued for the transport and not yet written (the browser's
    /// `bufferedAmount`, counting frame headers too).
    pub fn buffered_amount(&self) -> usize {
        self.conn.buffered_amount()
    }

    /// The URL a client connected to; `None` on a server.
    pub fn url(&self) -> Option<&str> {
        self.info.url.as_deref()
    }

    /// The subprotocol the server selected.
    pub fn protocol(&self) -> Option<&str> {
        self.info.protocol.as_deref()
    }

    /// The extensions the server selected.
    pub fn extensions(&self) -> &[Extension] {
        &self.info.extensions
    }

    /// Everything the opening handshake settled.
    pub fn handshake_info(&self) -> &HandshakeInfo {
        &self.info
    }

    /// The time on the engine's scale: since the connection's clock started.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// The engine, for its getters and settings.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The stream (to set timeouts, for example).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// After `State::Closed` (RFC 6455 §7.1.1): flush, then close the TCP
    /// connection when the engine says so: a server at once, a client once
    /// the server has closed it or after the close timeout (its wait bounded
    /// through the socket's read timeout).
    pub(crate) fn teardown(&mut self) {
        // Output that cannot be written (the peer stopped reading, a write
        // timeout) would keep a server waiting forever: close at once.
        let flushed = self.flush().is_ok();
        if flushed {
            // Nothing more will be written: say so at the TLS level before
            // the transport closes, so the peer sees a clean end of the
            // session and not a truncation (RFC 8446 §6.1).
            (self.close_notify_of)(&mut self.stream);
        }
        let mut buf = [0u8; 512];
        while flushed && !self.eof && !self.conn.should_close_transport() {
            // The first call arms the client's close-timeout timer.
            self.conn.handle_timeout(self.start.elapsed());
            if self.conn.should_close_transport() {
                break;
            }
            let left = self
                .conn
                .poll_timeout()
                .map(|deadline| deadline.saturating_sub(self.start.elapsed()));
            if let Some(tcp) = (self.tcp_of)(&self.stream) {
                // A zero timeout means "none": wait at least a millisecond.
                let wait = left.map(|left| left.max(Duration::from_millis(1)));
                let _ = tcp.set_read_timeout(wait);
            }
            match self.stream.read(&mut buf) {
                // What a client reads after the closing handshake is dropped.
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => break,
            }
        }
        if let Some(tcp) = (self.tcp_of)(&self.stream) {
            // The peer may have closed first; either way the socket is done.
            let _ = tcp.shutdown(std::net::Shutdown::Both);
        }
        self.finished = true;
        #[cfg(feature = "tracing")]
        sockeye_io::events::closed(
            || self.close_status(),
            self.close_started
                .map(|started| self.start.elapsed().saturating_sub(started)),
        );
    }
}

/// [`send_close_notify`] for a concrete stream type.
fn close_notify_of<S: Any>(stream: &mut S) {
    send_close_notify(stream);
}

/// Queue and write a TLS `close_notify` alert on `stream` when it is a
/// rustls stream this crate knows (a [`MaybeTlsStream`] over TLS, a rustls
/// server stream over TCP). Best effort: the connection is ending, and a
/// peer that stopped reading only loses the alert.
fn send_close_notify(stream: &mut dyn Any) {
    #[cfg(feature = "rustls")]
    {
        if let Some(MaybeTlsStream::Rustls(tls)) = stream.downcast_mut::<MaybeTlsStream>() {
            write_close_notify(&mut tls.conn, &mut tls.sock);
        } else if let Some(tls) =
            stream.downcast_mut::<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>()
        {
            write_close_notify(&mut tls.conn, &mut tls.sock);
        }
    }
    #[cfg(not(feature = "rustls"))]
    let _ = stream;
}

/// Queue `close_notify` on `conn` and write out what rustls holds.
#[cfg(feature = "rustls")]
fn write_close_notify<C, D>(conn: &mut C, sock: &mut TcpStream)
where
    C: std::ops::DerefMut<Target = rustls::ConnectionCommon<D>>,
{
    conn.send_close_notify();
    while conn.wants_write() {
        match conn.write_tls(sock) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// [`tcp_under`] for a concrete stream type.
fn tcp_of<S: Any>(stream: &S) -> Option<&TcpStream> {
    tcp_under(stream)
}

/// Connect to a `ws://` (or, with feature `rustls`, `wss://`) URL with
/// default options and config.
///
/// # Errors
/// See [`connect_with`].
pub fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
    connect_with(url, ClientOptions::new(), Config::default())
}

/// Connect to a `ws://` URL with `options` and `config`. The TCP connection
/// is bounded by the [connect timeout](ClientOptions::connect_timeout) (name
/// resolution is the system's blocking one, and not bounded by it); the TLS
/// and WebSocket handshakes by [`Config::handshake_timeout`] (applied as the
/// socket's read timeout while they run).
///
/// # Errors
/// [`Error::Url`], [`Error::Resolve`] (DNS), [`Error::Connect`] (refused,
/// or timed out), [`Error::Rejected`] (non-101, with its status),
/// [`Error::HandshakeTimeout`], [`Error::Handshake`]; [`Error::Tls`] when
/// the TLS handshake fails (an
/// untrusted certificate, a wrong name) or `wss://` is asked for without the
/// `rustls` feature.
pub fn connect_with(
    url: &str,
    options: ClientOptions,
    config: Config,
) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
    let target = Target::parse(url)?;
    let request = options.request(&target)?;
    let connect_deadline = options
        .connect_time_limit()
        .map(|limit| Instant::now() + limit);
    let tcp = match options.proxy_for(&target)? {
        None => tcp_to(&target.host, target.port, connect_deadline)?,
        Some(proxy) => {
            let tcp = tcp_to(proxy.host(), proxy.port(), connect_deadline)
                .map_err(|error| proxy.unreachable(error))?;
            tunnel(tcp, &proxy, &target, connect_deadline)?
        }
    };
    let start = Instant::now();
    let mut tcp = if target.secure {
        #[cfg(feature = "rustls")]
        {
            tcp.set_read_timeout(config.handshake_timeout)
                .map_err(Error::Io)?;
            MaybeTlsStream::tls(tcp, &target, &options)?
        }
        #[cfg(not(feature = "rustls"))]
        return Err(Error::Tls(
            "wss:// needs the `rustls` feature of sockeye-std".into(),
        ));
    } else {
        MaybeTlsStream::Plain(tcp)
    };
    let endpoint = Endpoint::client(request, config, Duration::ZERO);
    let (opened, conn) = run_handshake(&mut tcp, endpoint, start, |_| Ok(()))
        .inspect_err(|error| sockeye_io::events::handshake_rejected(Role::Client, error))?;
    sockeye_io::events::handshake_accepted(Role::Client, None, opened.protocol.as_deref());
    tcp.set_read_timeout(None).map_err(Error::Io)?;
    let response = Response::opened(opened);
    let mut ws = WebSocket::with_connection(tcp, conn, start);
    ws.info = response.handshake_info(url);
    Ok((ws, response))
}

/// Resolve `host` and connect to the first of its addresses that answers
/// before `deadline`, with Nagle's algorithm off.
fn tcp_to(host: &str, port: u16, deadline: Option<Instant>) -> Result<TcpStream, Error> {
    let addrs = Target::resolve_host(host, port)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for addr in addrs {
        let attempt = match deadline {
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => TcpStream::connect_timeout(&addr, left),
                _ => return Err(ClientOptions::connect_timed_out()),
            },
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(tcp) => {
                tcp.set_nodelay(true).map_err(Error::Connect)?;
                return Ok(tcp);
            }
            Err(error) if error.kind() == io::ErrorKind::TimedOut => {
                last = error;
                if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                    return Err(ClientOptions::connect_timed_out());
                }
            }
            Err(error) => last = error,
        }
    }
    Err(Error::Connect(last))
}

/// Ask `proxy`, reached over `tcp`, for a tunnel to `target`, waiting for
/// its answer until `deadline`; the stream is the tunnel once it said yes.
fn tunnel(
    mut tcp: TcpStream,
    proxy: &Proxy,
    target: &Target,
    deadline: Option<Instant>,
) -> Result<TcpStream, Error> {
    let failure = |error: io::Error| proxy.failure(error);
    tcp.write_all(&proxy.connect_request(target))
        .map_err(failure)?;
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ClientOptions::connect_timed_out());
            }
            tcp.set_read_timeout(Some(left)).map_err(failure)?;
        }
        let n = match tcp.read(&mut buf) {
            Ok(0) => return Err(proxy.closed_before_answering()),
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(ClientOptions::connect_timed_out());
            }
            Err(error) => return Err(failure(error)),
        };
        received.extend_from_slice(&buf[..n]);
        if proxy.read_response(&received)? {
            tcp.set_read_timeout(None).map_err(failure)?;
            return Ok(tcp);
        }
    }
}

/// Accept a WebSocket client on `stream` with the default config.
///
/// # Errors
/// See [`accept_with`].
pub fn accept<S: Read + Write + 'static>(stream: S) -> Result<WebSocket<S>, Error> {
    accept_with(stream, Config::default(), |_| Decision::accept()).map(|(ws, _)| ws)
}

/// Accept a WebSocket client on `stream` (any `Read + Write`: a
/// `TcpStream`, a rustls `StreamOwned`...) with `config`; `decide` sees the
/// request and accepts (with a subprotocol, extra fields) or rejects. The
/// handshake is bounded by [`Config::handshake_timeout`]: over a
/// `TcpStream` (also under rustls) through the socket's read timeout; over
/// another stream the deadline is checked whenever a read returns, so give
/// that stream a read timeout of its own.
///
/// # Errors
/// [`Error::Handshake`] for an invalid request (already answered with the
/// HTTP error) or a client that left mid-handshake, [`Error::Rejected`] when
/// `decide` rejected, [`Error::HandshakeTimeout`], [`Error::Io`].
pub fn accept_with<S: Read + Write + 'static>(
    mut stream: S,
    config: impl Into<SharedConfig>,
    decide: impl FnOnce(&Request) -> Decision,
) -> Result<(WebSocket<S>, Request), Error> {
    let start = Instant::now();
    let endpoint = Endpoint::server(config, Duration::ZERO);
    let mut decide = Some(decide);
    let mut answered = None;
    let handshake = run_handshake(&mut stream, endpoint, start, |endpoint| {
        let (Some(decide), Some(request)) = (decide.take(), endpoint.request()) else {
            return Ok(());
        };
        let decision = decide(request);
        let rejected = decision.rejected_status();
        answered = Some(decision.answer(endpoint, start.elapsed())?);
        match rejected {
            Some(status) => Err(Error::Rejected {
                status,
                body: Vec::new(),
            }),
            None => Ok(()),
        }
    });
    if let Some(socket) = tcp_under(&stream) {
        socket.set_read_timeout(None).map_err(Error::Io)?;
    }
    let (_, conn) = handshake
        .inspect_err(|error| sockeye_io::events::handshake_rejected(Role::Server, error))?;
    let request = answered.ok_or(Error::Closed)?;
    sockeye_io::events::handshake_accepted(Role::Server, Some(request.path()), None);
    Ok((WebSocket::with_connection(stream, conn, start), request))
}

/// Drive `endpoint` through the opening handshake over `stream`: write what
/// it queues, read (each read bounded by the handshake's deadline through
/// [`read_before`]) and hand a server's request to `answer`, until it opens.
/// A failure's HTTP answer, or the rejection `answer` queued before
/// returning its error, is written before the error is returned.
fn run_handshake<S: Read + Write + 'static>(
    stream: &mut S,
    mut endpoint: Endpoint,
    start: Instant,
    mut answer: impl FnMut(&mut Endpoint) -> Result<(), Error>,
) -> Result<(Opened, Connection), Error> {
    let mut buf = [0u8; HANDSHAKE_READ];
    loop {
        // Events stop at the opening: what follows belongs to the connection.
        while let Some(event) = endpoint.poll_event() {
            let failure = match event {
                EndpointEvent::Request => answer(&mut endpoint).err(),
                EndpointEvent::Rejected(error) => Some(Error::from(error)),
                EndpointEvent::Opened(opened) => {
                    write_out(stream, &mut endpoint)?;
                    return match endpoint.into_connection() {
                        Ok(conn) => Ok((opened, conn)),
                        Err(_) => Err(Error::Io(io::Error::other(
                            "the opening handshake left bytes unwritten",
                        ))),
                    };
                }
                EndpointEvent::Connection(_) => None,
            };
            if let Some(error) = failure {
                // Best effort: the peer may already be gone.
                let _ = write_out(stream, &mut endpoint);
                return Err(error);
            }
        }
        write_out(stream, &mut endpoint)?;
        match read_before(stream, &mut buf, start, endpoint.poll_timeout())? {
            None => endpoint.handle_timeout(start.elapsed()),
            Some(0) => endpoint.receive_eof(start.elapsed()),
            Some(n) => endpoint.receive(start.elapsed(), &buf[..n]),
        }
    }
}

/// Write everything `endpoint` has queued.
fn write_out<S: Write>(stream: &mut S, endpoint: &mut Endpoint) -> Result<(), Error> {
    while endpoint.buffered_amount() > 0 {
        match write_some(stream, endpoint.transmit()) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(handshake_io_error(error)),
        }
    }
    stream.flush().map_err(Error::Io)
}

/// One vectored write of what `transmit` lends; what the stream took leaves
/// the queue. A write that takes nothing is `WriteZero`.
fn write_some<S: Write>(stream: &mut S, transmit: Transmit<'_>) -> io::Result<()> {
    let mut slices = [IoSlice::new(&[]); WRITE_BATCH];
    let filled = transmit.io_slices(&mut slices);
    match stream.write_vectored(&slices[..filled])? {
        0 => Err(io::ErrorKind::WriteZero.into()),
        n => {
            transmit.written(n);
            Ok(())
        }
    }
}

/// Read with the socket's read timeout set to what is left before
/// `deadline`; `None` when the deadline passed.
fn read_before<S: Read + 'static>(
    tcp: &mut S,
    buf: &mut [u8],
    start: Instant,
    deadline: Option<Duration>,
) -> Result<Option<usize>, Error> {
    if let Some(deadline) = deadline {
        let left = deadline.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Ok(None);
        }
        if let Some(socket) = tcp_under(tcp) {
            socket.set_read_timeout(Some(left)).map_err(Error::Io)?;
        }
    }
    match tcp.read(buf) {
        Ok(n) => Ok(Some(n)),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Ok(None)
        }
        Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(None),
        Err(error) => Err(handshake_io_error(error)),
    }
}

/// An I/O error during the opening handshake; one that carries a TLS
/// failure (a TLS 1.3 server refusing the client's certificate says so only
/// after the client's side of the TLS handshake is done) is [`Error::Tls`].
fn handshake_io_error(error: io::Error) -> Error {
    #[cfg(feature = "rustls")]
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
    {
        return sockeye_io::tls::handshake_error(error);
    }
    Error::Io(error)
}

/// The TCP socket under `stream`, when it is one of the streams this crate
/// knows (a `TcpStream`, a [`MaybeTlsStream`], a rustls server stream over
/// TCP), so that handshake reads can be bounded by a socket read timeout.
fn tcp_under(stream: &dyn Any) -> Option<&TcpStream> {
    if let Some(tcp) = stream.downcast_ref::<TcpStream>() {
        return Some(tcp);
    }
    if let Some(stream) = stream.downcast_ref::<MaybeTlsStream>() {
        return Some(stream.tcp());
    }
    #[cfg(feature = "rustls")]
    if let Some(tls) =
        stream.downcast_ref::<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>()
    {
        return Some(tls.get_ref());
    }
    None
}
