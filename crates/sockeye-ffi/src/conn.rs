//! The handle: the opening handshake and the connection behind one pointer.

use core::ffi::c_char;
use core::time::Duration;
use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::Bytes;
use sockeye::handshake::{Accept, ClientRequest, HandshakeError};
use sockeye::{
    CloseCode, CloseStatus, Connection, DataKind, Endpoint, EndpointEvent, Role, SendError,
    SharedConfig, State,
};

use crate::boundary::{self, Outcome};
use crate::config::sockeye_config;
use crate::event::{Ready, sockeye_error, sockeye_event, sockeye_event_kind};
use crate::status::sockeye_status;

/// An opaque WebSocket endpoint: one handshake and the connection it turns
/// into. Create it with `sockeye_conn_new_client`, `sockeye_conn_new_server`
/// or `sockeye_conn_new_upgraded`; free it with `sockeye_conn_free`.
///
/// Not thread-safe: use it from one thread at a time. It may move between
/// threads.
pub struct sockeye_conn {
    /// The engine's endpoint: the handshake and the connection it opens.
    endpoint: Endpoint,
    /// An event produced by the handle itself (a plain HTTP request it
    /// refused), reported before the endpoint's next one.
    pending: Option<Ready>,
    /// The event last handed out; its payload backs `sockeye_event.data`.
    current: Option<Ready>,
    /// A panic was caught in a call on this handle; only freeing is allowed.
    poisoned: bool,
    /// The latest time the caller told the handle: `sockeye_conn_receive`
    /// carries no time, so input is stamped with it.
    now: Duration,
    /// The subprotocols a server handle accepts, in order of preference.
    server_protocols: Vec<String>,
}

/// Where a handle is in its life (the browser API's `readyState`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sockeye_state {
    /// The opening handshake is in progress.
    Connecting = 0,
    /// Data flows both ways.
    Open = 1,
    /// This end sent a close frame and waits for the peer's.
    Closing = 2,
    /// Closed: write out what is still queued, then close the transport (a
    /// server at once; a client after the server closed it, or on timeout).
    Closed = 3,
}

/// Which end a handle plays, for `sockeye_conn_new_upgraded`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sockeye_role {
    /// The end that sent the opening handshake request (masks its frames).
    Client = 1,
    /// The end that answered it.
    Server = 2,
}

/// A view of bytes: `len` bytes at `data`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sockeye_slice {
    /// The first byte.
    pub data: *const u8,
    /// How many bytes.
    pub len: usize,
}

/// An extra header for a client's handshake request: NUL-terminated UTF-8
/// name and value.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sockeye_header {
    /// The field name, for example `"Origin"`.
    pub name: *const c_char,
    /// The field value.
    pub value: *const c_char,
}

/// The value `sockeye_conn_next_timeout_ms` reports when no timer is armed.
pub const SOCKEYE_NO_TIMEOUT: u64 = u64::MAX;

/// Milliseconds since the caller's epoch as the engine's time.
fn time(now_ms: u64) -> Duration {
    Duration::from_millis(now_ms)
}

/// The status for a handshake request the caller built wrongly (a bad
/// host, path, subprotocol or header).
fn request_status(_: HandshakeError) -> sockeye_status {
    sockeye_status::ErrInvalidArgument
}

/// The `count` NUL-terminated UTF-8 strings at `strings`.
///
/// # Safety
/// `strings` must be null (with `count` 0) or valid for reading `count`
/// pointers, each to a NUL-terminated string, unchanged during the call.
unsafe fn strings<'a>(
    strings: *const *const c_char,
    count: usize,
) -> Result<Vec<&'a str>, sockeye_status> {
    // SAFETY: forwarded from this function's contract.
    let pointers = unsafe { boundary::array(strings, count) }?;
    // SAFETY: each pointer is a NUL-terminated string by the contract.
    pointers
        .iter()
        .map(|&pointer| unsafe { boundary::c_str(pointer) })
        .collect()
}

/// A deadline in whole milliseconds, rounded up so that calling
/// `handle_timeout` with it fires the timer.
fn deadline_ms(deadline: Duration) -> u64 {
    let ms = deadline.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX - 1).min(u64::MAX - 1)
}

/// The status for a refused command.
fn send_status(error: SendError) -> sockeye_status {
    match error {
        SendError::Closed => sockeye_status::ErrClosed,
        SendError::ReasonTooLong { .. } | SendError::ControlPayloadTooLong { .. } => {
            sockeye_status::ErrTooLong
        }
        SendError::FragmentOutOfOrder => sockeye_status::ErrFragmentOrder,
        SendError::InvalidUtf8 => sockeye_status::ErrInvalidUtf8,
        _ => sockeye_status::ErrInvalidState,
    }
}

fn config_of(config: *const sockeye_config) -> Result<SharedConfig, sockeye_status> {
    // SAFETY: every caller passes the pointer it received from C, whose
    // contract says it is null or a live configuration not being written.
    let config = unsafe { config.as_ref() };
    Ok(config.map_or_else(SharedConfig::default, |config| config.inner.clone()))
}

impl sockeye_conn {
    fn new(endpoint: Endpoint, now: Duration) -> Self {
        Self {
            endpoint,
            pending: None,
            current: None,
            poisoned: false,
            now,
            server_protocols: Vec::new(),
        }
    }

    /// Remember `now` if it is the latest time seen.
    fn advance_clock(&mut self, now: Duration) {
        self.now = self.now.max(now);
    }

    /// A server handle answers a request as soon as it is complete, so that
    /// the answer is queued when `sockeye_conn_receive` returns: accept with
    /// the subprotocol the engine's rule selects among ours, or refuse a
    /// plain HTTP request with the engine's 426.
    fn answer_request(&mut self) {
        let Some(request) = self.endpoint.request() else {
            return;
        };
        let mut accept = Accept::new(self.now);
        if let Some(protocol) = request.select_protocol(&self.server_protocols) {
            accept = accept.protocol(protocol);
        }
        // The request event is the only one queued: nothing comes before it.
        let _ = self.endpoint.poll_event();
        if let Err(error) = self.endpoint.accept(accept) {
            let _ = self.endpoint.decline();
            self.pending = Some(Ready::failure(
                sockeye_error::Handshake,
                CloseStatus::ABNORMAL_CLOSURE,
                error.to_string(),
            ));
        }
    }

    fn state(&self) -> sockeye_state {
        match self.endpoint.state() {
            State::Connecting => sockeye_state::Connecting,
            State::Open => sockeye_state::Open,
            State::Closing => sockeye_state::Closing,
            State::Closed => sockeye_state::Closed,
        }
    }

    fn receive(&mut self, data: &[u8]) {
        self.endpoint.receive(self.now, data);
        self.answer_request();
    }

    fn receive_eof(&mut self) {
        self.endpoint.receive_eof(self.now);
    }

    fn handle_timeout(&mut self, now: Duration) {
        self.advance_clock(now);
        self.endpoint.handle_timeout(now);
    }

    fn poll_timeout(&self) -> Option<Duration> {
        self.endpoint.poll_timeout()
    }

    fn next_event(&mut self) -> Option<Ready> {
        if let Some(ready) = self.pending.take() {
            return Some(ready);
        }
        loop {
            let ready = match self.endpoint.poll_event()? {
                EndpointEvent::Request => {
                    self.answer_request();
                    continue;
                }
                EndpointEvent::Opened(opened) => Some(Ready::new(
                    sockeye_event_kind::Open,
                    Bytes::from(opened.protocol.unwrap_or_default()),
                )),
                // No close frame exists yet, so the code is 1006.
                EndpointEvent::Rejected(error) => Some(Ready::failure(
                    sockeye_error::Handshake,
                    CloseStatus::ABNORMAL_CLOSURE,
                    error.to_string(),
                )),
                EndpointEvent::Connection(event) => Ready::from_engine(event),
            };
            if ready.is_some() {
                return ready;
            }
        }
    }

    /// The queued runs, in order, as views into the engine's buffers: they
    /// stay put until the next call that changes the handle.
    fn transmit_chunks<'a>(&'a mut self, out: &mut [&'a [u8]]) -> usize {
        self.endpoint.transmit().into_chunks(out)
    }

    fn transmit_chunk(&mut self) -> &[u8] {
        let mut first: [&[u8]; 1] = [&[]];
        self.transmit_chunks(&mut first);
        first[0]
    }

    fn buffered_amount(&self) -> usize {
        self.endpoint.buffered_amount()
    }

    fn is_write_blocked(&self) -> bool {
        self.endpoint.is_write_blocked()
    }

    fn consume(&mut self, n: usize) -> Outcome {
        if n > self.buffered_amount() {
            return Err(sockeye_status::ErrOutOfRange);
        }
        self.endpoint.transmit().written(n);
        Ok(())
    }

    /// The connection, for a command: `ErrNotOpen` during the handshake,
    /// `ErrClosed` after it failed.
    fn open_connection(&mut self) -> Result<&mut Connection, sockeye_status> {
        if self.endpoint.connection().is_none() {
            return Err(match self.endpoint.state() {
                State::Closed => sockeye_status::ErrClosed,
                _ => sockeye_status::ErrNotOpen,
            });
        }
        self.endpoint
            .connection_mut()
            .ok_or(sockeye_status::ErrNotOpen)
    }
}

/// Run `body` on the handle behind `conn`, catching panics and poisoning the
/// handle when one happens.
///
/// # Safety
/// `conn` must be null or a live handle not used elsewhere during the call.
unsafe fn with_conn(
    conn: *mut sockeye_conn,
    body: impl FnOnce(&mut sockeye_conn) -> Outcome,
) -> sockeye_status {
    // SAFETY: forwarded from this function's contract.
    unsafe { with_conn_status(conn, |conn| body(conn).map(|()| sockeye_status::Ok)) }
}

/// Like [`with_conn`], for bodies that may succeed with a status other than `Ok`.
///
/// # Safety
/// As [`with_conn`].
unsafe fn with_conn_status(
    conn: *mut sockeye_conn,
    body: impl FnOnce(&mut sockeye_conn) -> Result<sockeye_status, sockeye_status>,
) -> sockeye_status {
    boundary::guard_status(|| {
        // SAFETY: the caller guarantees `conn` is null or a live handle that
        // nothing else uses during this call.
        let conn = unsafe { conn.as_mut() }.ok_or(sockeye_status::ErrNull)?;
        if conn.poisoned {
            return Err(sockeye_status::ErrPoisoned);
        }
        match catch_unwind(AssertUnwindSafe(|| body(&mut *conn))) {
            Ok(result) => result,
            Err(_) => {
                conn.poisoned = true;
                Err(sockeye_status::ErrPanic)
            }
        }
    })
}

/// Run a getter `body` on the handle behind `conn`.
///
/// # Safety
/// `conn` must be null or a live handle not written during the call.
unsafe fn with_conn_ref(
    conn: *const sockeye_conn,
    body: impl FnOnce(&sockeye_conn) -> Outcome,
) -> sockeye_status {
    boundary::guard(|| {
        // SAFETY: the caller guarantees `conn` is null or a live handle that
        // nothing writes during this call.
        let conn = unsafe { conn.as_ref() }.ok_or(sockeye_status::ErrNull)?;
        if conn.poisoned {
            return Err(sockeye_status::ErrPoisoned);
        }
        body(conn)
    })
}

/// The shape of every command with a byte payload: copy `len` bytes from
/// `data` and hand them to `send` on the open connection.
///
/// # Safety
/// `conn` must be null or a live handle that nothing else uses during the
/// call; `data` must be null or readable for `len` bytes.
unsafe fn send_payload(
    conn: *mut sockeye_conn,
    data: *const u8,
    len: usize,
    send: impl FnOnce(&mut Connection, Bytes) -> Result<(), SendError>,
) -> sockeye_status {
    // SAFETY: `conn` is forwarded under this function's contract.
    unsafe {
        with_conn(conn, |conn| {
            // SAFETY: the caller guarantees `data` is readable for `len` bytes.
            let data = boundary::bytes(data, len)?;
            send(conn.open_connection()?, Bytes::copy_from_slice(data)).map_err(send_status)
        })
    }
}

/// The shape of every getter: write `read(conn)` to `*out`.
///
/// # Safety
/// `conn` must be null or a live handle that nothing writes during the call;
/// `out` must be null or valid for a write of `T`.
unsafe fn get<T>(
    conn: *const sockeye_conn,
    out: *mut T,
    read: impl FnOnce(&sockeye_conn) -> T,
) -> sockeye_status {
    // SAFETY: `conn` is forwarded under this function's contract.
    unsafe {
        with_conn_ref(conn, |conn| {
            let out = boundary::out_ptr(out)?;
            // SAFETY: `out` is non-null and writable by this function's contract.
            write(out, read(conn));
            Ok(())
        })
    }
}

/// Write `value` through the output pointer `out`.
///
/// # Safety
/// `out` must be non-null (see [`boundary::out_ptr`]) and valid for writing a `T`.
unsafe fn write<T>(out: *mut T, value: T) {
    // SAFETY: forwarded from this function's contract.
    unsafe { out.write(value) }
}

/// Create a handle for a connection whose opening handshake was done
/// elsewhere (by an HTTP server or client that handled the upgrade): it
/// starts OPEN. `role` is a `sockeye_role`; `config` may be null for the
/// defaults; `now_ms` is the current time in milliseconds since an epoch of
/// the caller's choosing, the same for every call on the handle. `*out`
/// receives the handle; free it with `sockeye_conn_free`.
///
/// # Safety
/// `config` must be null or a live configuration; `out` must be null or
/// valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_new_upgraded(
    role: u32,
    config: *const sockeye_config,
    now_ms: u64,
    out: *mut *mut sockeye_conn,
) -> sockeye_status {
    boundary::guard(|| {
        let out = boundary::out_ptr(out)?;
        let role = match role {
            r if r == sockeye_role::Client as u32 => Role::Client,
            r if r == sockeye_role::Server as u32 => Role::Server,
            _ => return Err(sockeye_status::ErrInvalidArgument),
        };
        let (config, now) = (config_of(config)?, time(now_ms));
        // A server never masks, so it needs no OS-seeded random source.
        let connection = match role {
            Role::Client => Connection::new(role, config, now),
            Role::Server => Connection::server(config, now),
        };
        let handle = Box::new(sockeye_conn::new(Endpoint::open(connection), now));
        // SAFETY: `out` is non-null and writable by the caller's contract.
        unsafe { write(out, Box::into_raw(handle)) };
        Ok(())
    })
}

/// Create a client handle: it starts CONNECTING with the opening handshake
/// request queued (`sockeye_conn_transmit`). When the server's 101 arrives,
/// `sockeye_conn_poll_event` reports `SOCKEYE_EVENT_KIND_OPEN` with the
/// subprotocol it chose; a rejection or a bad answer reports
/// `SOCKEYE_EVENT_KIND_ERROR` with `SOCKEYE_ERROR_HANDSHAKE`.
///
/// * `host`: the `Host` value, `"name"` or `"name:port"`;
/// * `path`: the request target, starting with `/` (query included);
/// * `protocols`: `protocol_count` subprotocols to offer, in order of
///   preference (may be null when the count is 0);
/// * `headers`: `header_count` extra header fields, such as `Origin` or
///   `Authorization` (may be null when the count is 0). Fields the
///   handshake writes itself (`Sec-WebSocket-*`, `Upgrade`, `Connection`,
///   `Host`) are refused;
/// * `config`: null for the defaults; `now_ms`: the current time.
///
/// All strings are NUL-terminated UTF-8 and copied. Returns
/// `SOCKEYE_STATUS_ERR_INVALID_ARGUMENT` for an empty or malformed host,
/// path, subprotocol or header.
///
/// # Safety
/// Every pointer must be null or valid as described; `out` must be null or
/// valid for writing one pointer.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "a flat C signature")]
pub unsafe extern "C" fn sockeye_conn_new_client(
    config: *const sockeye_config,
    host: *const c_char,
    path: *const c_char,
    protocols: *const *const c_char,
    protocol_count: usize,
    headers: *const sockeye_header,
    header_count: usize,
    now_ms: u64,
    out: *mut *mut sockeye_conn,
) -> sockeye_status {
    boundary::guard(|| {
        let out = boundary::out_ptr(out)?;
        // SAFETY: the caller guarantees NUL-terminated strings or null.
        let (host, path) = unsafe { (boundary::c_str(host)?, boundary::c_str(path)?) };
        // SAFETY: the caller guarantees `protocol_count` string pointers.
        let protocols = unsafe { strings(protocols, protocol_count) }?;
        // SAFETY: the caller guarantees `header_count` headers.
        let headers = unsafe { boundary::array(headers, header_count) }?;
        let mut request = ClientRequest::new(host, path).map_err(request_status)?;
        for protocol in protocols {
            request = request.protocol(protocol).map_err(request_status)?;
        }
        for header in headers {
            // SAFETY: each header holds NUL-terminated strings or nulls.
            let (name, value) = unsafe {
                (
                    boundary::c_str(header.name)?,
                    boundary::c_str(header.value)?,
                )
            };
            request = if name.eq_ignore_ascii_case("Origin") {
                request.origin(value)
            } else {
                request.header(name, value)
            }
            .map_err(request_status)?;
        }
        let now = time(now_ms);
        let endpoint = Endpoint::client(request, config_of(config)?, now);
        let handle = Box::new(sockeye_conn::new(endpoint, now));
        // SAFETY: `out` is non-null and writable by the caller's contract.
        unsafe { write(out, Box::into_raw(handle)) };
        Ok(())
    })
}

/// Create a server handle: it starts CONNECTING and waits for the client's
/// request. A valid request is accepted at once, choosing among
/// `protocols` (`protocol_count` NUL-terminated UTF-8 strings, the
/// subprotocols the server speaks; null when the count is 0) the first one
/// in the client's order of preference, the rule of every sockeye server:
/// the 101 response is queued and `SOCKEYE_EVENT_KIND_OPEN` reports the
/// choice. A plain HTTP request (not an upgrade) is answered 426. An
/// invalid request gets its HTTP error response queued (write it, then close
/// the transport) and reports `SOCKEYE_EVENT_KIND_ERROR` with
/// `SOCKEYE_ERROR_HANDSHAKE`. `config` may be null for the defaults.
///
/// # Safety
/// Every pointer must be null or valid as described; `out` must be null or
/// valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_new_server(
    config: *const sockeye_config,
    protocols: *const *const c_char,
    protocol_count: usize,
    now_ms: u64,
    out: *mut *mut sockeye_conn,
) -> sockeye_status {
    boundary::guard(|| {
        let out = boundary::out_ptr(out)?;
        // SAFETY: the caller guarantees `protocol_count` string pointers.
        let protocols = unsafe { strings(protocols, protocol_count) }?;
        let now = time(now_ms);
        let endpoint = Endpoint::server(config_of(config)?, now);
        let mut handle = Box::new(sockeye_conn::new(endpoint, now));
        handle.server_protocols = protocols.into_iter().map(String::from).collect();
        // SAFETY: `out` is non-null and writable by the caller's contract.
        unsafe { write(out, Box::into_raw(handle)) };
        Ok(())
    })
}

/// Free a handle and everything it owns; pointers it handed out become
/// invalid. Freeing null does nothing and returns `SOCKEYE_STATUS_OK`.
/// A poisoned handle may (and should) be freed.
///
/// # Safety
/// `conn` must be null or a handle not yet freed; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_free(conn: *mut sockeye_conn) -> sockeye_status {
    boundary::guard(|| {
        if !conn.is_null() {
            // SAFETY: the caller guarantees `conn` came from `Box::into_raw`
            // in a constructor and is freed only once.
            drop(unsafe { Box::from_raw(conn) });
        }
        Ok(())
    })
}

/// Feed `len` bytes received from the transport. `data` may be null when
/// `len` is 0. Parsing happens in `sockeye_conn_poll_event`: drain events
/// after every call.
///
/// # Safety
/// `conn` must be null or a live handle; `data` must be null or valid for
/// reading `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_receive(
    conn: *mut sockeye_conn,
    data: *const u8,
    len: usize,
) -> sockeye_status {
    // SAFETY: `conn` is forwarded under this function's contract.
    unsafe {
        with_conn(conn, |conn| {
            // SAFETY: the caller guarantees `data` is readable for `len` bytes.
            let data = boundary::bytes(data, len)?;
            conn.receive(data);
            Ok(())
        })
    }
}

/// The transport reached end of stream. Received bytes are still parsed; if
/// the connection had not closed by then, a `SOCKEYE_EVENT_KIND_ERROR` with
/// `SOCKEYE_ERROR_UNEXPECTED_EOF` and code 1006 follows.
///
/// # Safety
/// `conn` must be null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_receive_eof(conn: *mut sockeye_conn) -> sockeye_status {
    // SAFETY: `conn` is forwarded under this function's contract.
    unsafe {
        with_conn(conn, |conn| {
            conn.receive_eof();
            Ok(())
        })
    }
}

/// Tell the handle the time is `now_ms` (same epoch as at creation): every
/// timer due by then fires. Calling it early or often is harmless.
///
/// # Safety
/// `conn` must be null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_handle_timeout(
    conn: *mut sockeye_conn,
    now_ms: u64,
) -> sockeye_status {
    // SAFETY: `conn` is forwarded under this function's contract.
    unsafe {
        with_conn(conn, |conn| {
            conn.handle_timeout(time(now_ms));
            Ok(())
        })
    }
}

/// `*out` receives the time (ms, same epoch) at which to call
/// `sockeye_conn_handle_timeout` next, or `SOCKEYE_NO_TIMEOUT` when no timer
/// is armed. Ask again after every call that may change it.
///
/// # Safety
/// `conn` must be null or a live handle; `out` null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_next_timeout_ms(
    conn: *const sockeye_conn,
    out: *mut u64,
) -> sockeye_status {
    // SAFETY: both pointers are forwarded under this function's contract.
    unsafe {
        get(conn, out, |conn| {
            conn.poll_timeout().map_or(SOCKEYE_NO_TIMEOUT, deadline_ms)
        })
    }
}

/// Take the next event into `*out`. Returns `SOCKEYE_STATUS_OK` with an
/// event, or `SOCKEYE_STATUS_NO_EVENT` (and leaves `*out` alone) when more
/// input is needed. The event's `data` stays valid until the next call on
/// the handle other than a getter.
///
/// # Safety
/// `conn` must be null or a live handle; `out` null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_poll_event(
    conn: *mut sockeye_conn,
    out: *mut sockeye_event,
) -> sockeye_status {
    // SAFETY: `conn` is forwarded under this function's contract.
    unsafe {
        with_conn_status(conn, |conn| {
            let out = boundary::out_ptr(out)?;
            conn.current = None;
            let Some(ready) = conn.next_event() else {
                return Ok(sockeye_status::NoEvent);
            };
            let current = conn.current.insert(ready);
            // SAFETY: `out` is non-null and writable by the caller's contract.
            write(out, current.view());
            Ok(sockeye_status::Ok)
        })
    }
}

/// `*data` and `*len` receive the next run of bytes to write to the
/// transport (`*len` is 0 when nothing is queued). Write as much as the
/// transport takes, then call `sockeye_conn_consume` with that count. The
/// view stays valid until the next call on the handle other than a getter.
///
/// # Safety
/// `conn` must be null or a live handle not used elsewhere during the call;
/// `data` and `len` null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_transmit(
    conn: *mut sockeye_conn,
    data: *mut *const u8,
    len: *mut usize,
) -> sockeye_status {
    // SAFETY: `conn` is forwarded under this function's contract.
    unsafe {
        with_conn(conn, |conn| {
            let (data, len) = (boundary::out_ptr(data)?, boundary::out_ptr(len)?);
            let chunk = conn.transmit_chunk();
            // SAFETY: both pointers are non-null and writable by the caller's contract.
            write(data, chunk.as_ptr());
            // SAFETY: as above.
            write(len, chunk.len());
            Ok(())
        })
    }
}

/// Fill `out[0..capacity]` with the queued runs of bytes, in order, for a
/// vectored write (`writev`); `*filled` receives how many were filled. Then
/// call `sockeye_conn_consume` with the bytes written. The views stay valid
/// until the next call on the handle other than a getter.
///
/// # Safety
/// `conn` must be null or a live handle not used elsewhere during the call;
/// `out` null or writable for `capacity` slices; `filled` null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_transmit_chunks(
    conn: *mut sockeye_conn,
    out: *mut sockeye_slice,
    capacity: usize,
    filled: *mut usize,
) -> sockeye_status {
    // SAFETY: `conn` is forwarded under this function's contract.
    unsafe {
        with_conn(conn, |conn| {
            let filled = boundary::out_ptr(filled)?;
            if capacity > 0 {
                boundary::out_ptr(out)?;
            }
            const BATCH: usize = 64;
            let mut runs: [&[u8]; BATCH] = [&[]; BATCH];
            let count = conn.transmit_chunks(&mut runs[..capacity.min(BATCH)]);
            for (index, run) in runs[..count].iter().enumerate() {
                let slice = sockeye_slice {
                    data: run.as_ptr(),
                    len: run.len(),
                };
                // SAFETY: `out` is non-null (checked since `count > 0`
                // implies `capacity > 0`) and writable for `capacity`
                // slices, and `index < count <= capacity`.
                write(out.add(index), slice);
            }
            // SAFETY: `filled` is non-null and writable by the caller's contract.
            write(filled, count);
            Ok(())
        })
    }
}

/// Mark the first `n` queued bytes as written. Returns
/// `SOCKEYE_STATUS_ERR_OUT_OF_RANGE` (consuming nothing) if fewer are queued.
///
/// # Safety
/// `conn` must be null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_consume(conn: *mut sockeye_conn, n: usize) -> sockeye_status {
    // SAFETY: `conn` is forwarded under this function's contract.
    unsafe { with_conn(conn, |conn| conn.consume(n)) }
}

/// Queue a text message of `len` bytes of UTF-8 (no NUL needed).
///
/// Returns `SOCKEYE_STATUS_ERR_INVALID_UTF8`, `_ERR_NOT_OPEN` during the
/// handshake, `_ERR_CLOSED` after a close frame was sent, `_ERR_FRAGMENT_ORDER`
/// while a fragmented message is being sent.
///
/// # Safety
/// `conn` must be null or a live handle; `data` null or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_send_text(
    conn: *mut sockeye_conn,
    data: *const c_char,
    len: usize,
) -> sockeye_status {
    // SAFETY: `conn` is forwarded under this function's contract.
    unsafe {
        with_conn(conn, |conn| {
            // SAFETY: the caller guarantees `data` is readable for `len` bytes.
            let text = boundary::text(data, len)?;
            conn.open_connection()?.send_text(text).map_err(send_status)
        })
    }
}

/// Queue a binary message of `len` bytes. Errors as `sockeye_conn_send_text`.
///
/// # Safety
/// `conn` must be null or a live handle; `data` null or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_send_binary(
    conn: *mut sockeye_conn,
    data: *const u8,
    len: usize,
) -> sockeye_status {
    // SAFETY: both pointers are forwarded under this function's contract.
    unsafe { send_payload(conn, data, len, |conn, data| conn.send_binary(data)) }
}

/// Queue one piece of a message sent in pieces: the first call starts a text
/// (`is_text`) or binary message, later calls with the same `is_text`
/// continue it, and the call with `is_last` ends it. Control frames may be
/// sent between pieces. Text pieces may end inside a character; they are
/// validated as they come, and a piece that makes the message invalid UTF-8
/// (or a last piece ending inside a character) is refused with
/// `SOCKEYE_ERR_INVALID_UTF8` without being queued.
///
/// # Safety
/// `conn` must be null or a live handle; `data` null or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_send_fragment(
    conn: *mut sockeye_conn,
    is_text: bool,
    data: *const u8,
    len: usize,
    is_last: bool,
) -> sockeye_status {
    // SAFETY: both pointers are forwarded under this function's contract.
    unsafe {
        send_payload(conn, data, len, |conn, data| {
            let kind = if is_text {
                DataKind::Text
            } else {
                DataKind::Binary
            };
            conn.send_fragment(kind, data, is_last)
        })
    }
}

/// Queue a ping with up to 125 bytes of payload (`_ERR_TOO_LONG` beyond).
///
/// # Safety
/// `conn` must be null or a live handle; `data` null or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_ping(
    conn: *mut sockeye_conn,
    data: *const u8,
    len: usize,
) -> sockeye_status {
    // SAFETY: both pointers are forwarded under this function's contract.
    unsafe { send_payload(conn, data, len, |conn, data| conn.ping(data)) }
}

/// Queue an unsolicited pong with up to 125 bytes of payload.
///
/// # Safety
/// `conn` must be null or a live handle; `data` null or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_pong(
    conn: *mut sockeye_conn,
    data: *const u8,
    len: usize,
) -> sockeye_status {
    // SAFETY: both pointers are forwarded under this function's contract.
    unsafe { send_payload(conn, data, len, |conn, data| conn.pong(data)) }
}

/// Start the closing handshake at `now_ms`: queue a close frame with `code`
/// and a UTF-8 `reason` of at most 123 bytes, then wait for the peer's
/// (up to `SOCKEYE_OPTION_CLOSE_TIMEOUT_MS`). The handle becomes CLOSING.
///
/// Returns `_ERR_INVALID_CLOSE_CODE` for a code that may not be sent,
/// `_ERR_TOO_LONG`, `_ERR_INVALID_UTF8`, `_ERR_NOT_OPEN` during the
/// handshake, `_ERR_CLOSED` if a close frame was already sent.
///
/// # Safety
/// `conn` must be null or a live handle; `reason` null or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_close(
    conn: *mut sockeye_conn,
    now_ms: u64,
    code: u16,
    reason: *const c_char,
    len: usize,
) -> sockeye_status {
    // SAFETY: `conn` is forwarded under this function's contract.
    unsafe {
        with_conn(conn, |conn| {
            // SAFETY: the caller guarantees `reason` is readable for `len` bytes.
            let reason = boundary::text(reason, len)?;
            let code = CloseCode::new(code).ok_or(sockeye_status::ErrInvalidCloseCode)?;
            conn.advance_clock(time(now_ms));
            conn.open_connection()?
                .close(time(now_ms), code, reason)
                .map_err(send_status)
        })
    }
}

/// `*out` receives the handle's state, a `sockeye_state`.
///
/// # Safety
/// `conn` must be null or a live handle; `out` null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_state(
    conn: *const sockeye_conn,
    out: *mut sockeye_state,
) -> sockeye_status {
    // SAFETY: both pointers are forwarded under this function's contract.
    unsafe { get(conn, out, |conn| conn.state()) }
}

/// `*out` receives how many bytes are queued for the transport and not yet
/// consumed (the browser API's `bufferedAmount`).
///
/// # Safety
/// `conn` must be null or a live handle; `out` null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_buffered_amount(
    conn: *const sockeye_conn,
    out: *mut usize,
) -> sockeye_status {
    // SAFETY: both pointers are forwarded under this function's contract.
    unsafe { get(conn, out, |conn| conn.buffered_amount()) }
}

/// `*out` receives whether the queued output has reached
/// `SOCKEYE_OPTION_WRITE_HIGH_WATER_MARK`: stop queueing messages until the
/// transport has taken some.
///
/// # Safety
/// `conn` must be null or a live handle; `out` null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_conn_is_write_blocked(
    conn: *const sockeye_conn,
    out: *mut bool,
) -> sockeye_status {
    // SAFETY: both pointers are forwarded under this function's contract.
    unsafe { get(conn, out, |conn| conn.is_write_blocked()) }
}

// Handles move between threads (one at a time); the engine state is `Send`.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<sockeye_conn>();
    assert_send::<sockeye_config>();
};
