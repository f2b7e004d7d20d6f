//! A stable C ABI over the sockeye sans-IO WebSocket (RFC 6455) engine.
//!
//! The ABI keeps the opening handshake and the connection behind one opaque
//! handle, [`sockeye_conn`], whose state goes CONNECTING → OPEN → CLOSING →
//! CLOSED. The caller owns the socket, the clock and the event loop; the
//! handle owns the protocol. After every input (`receive`, `receive_eof`,
//! `handle_timeout`) or command (`send_*`, `ping`, `pong`, `close`), drain the
//! outputs: events with `sockeye_conn_poll_event`, bytes to write with
//! `sockeye_conn_transmit` / `sockeye_conn_consume`, and the next deadline
//! with `sockeye_conn_next_timeout_ms`.
//!
//! Rules every function follows:
//!
//! * it returns a [`sockeye_status`]; negative values are errors, and an
//!   error changes nothing;
//! * it never unwinds into the caller: a panic inside is caught and reported
//!   as [`sockeye_status::ErrPanic`], after which the handle only answers
//!   [`sockeye_status::ErrPoisoned`] and must be freed;
//! * null pointers, over-long lengths, invalid UTF-8 and out-of-range values
//!   are rejected with a status, never dereferenced.
//!
//! Pointers handed out (event payloads, bytes to transmit) point into the
//! handle and stay valid until the next call on that handle that takes it
//! mutably (any `sockeye_conn_*` function except the getters), or until it is
//! freed. A handle is not thread-safe: use it from one thread at a time. It
//! may move between threads.
//!
//! The library must be built with `panic = "unwind"` (the default) for
//! panics to be reported as statuses; allocation failure aborts the process.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![allow(non_camel_case_types)]

mod boundary;
pub mod config;
pub mod conn;
pub mod event;
pub mod status;

pub use boundary::sockeye_status_describe;
pub use config::{sockeye_config, sockeye_option};
pub use conn::{
    SOCKEYE_NO_TIMEOUT, sockeye_conn, sockeye_header, sockeye_role, sockeye_slice, sockeye_state,
};
pub use event::{sockeye_error, sockeye_event, sockeye_event_kind};
pub use status::sockeye_status;

#[cfg(test)]
mod tests;
