//! The status every function returns.

/// What a call did. Zero and positive values are successes; negative values
/// are errors, after which nothing changed.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sockeye_status {
    /// The call succeeded.
    Ok = 0,
    /// `sockeye_conn_poll_event` has no event: feed more input first.
    NoEvent = 1,
    /// A required pointer argument was null.
    ErrNull = -1,
    /// An argument was out of range: an unknown option or kind, a length
    /// beyond `PTRDIFF_MAX`, a value that does not fit the platform.
    ErrInvalidArgument = -2,
    /// Text (a message, a close reason, a host, a path, a subprotocol, a
    /// header) was not valid UTF-8, or a C string was not valid.
    ErrInvalidUtf8 = -3,
    /// A close code that may not be sent (RFC 6455 §7.4: only 1000–1003,
    /// 1007–1014 and 3000–4999 may).
    ErrInvalidCloseCode = -4,
    /// A close reason over 123 bytes or a ping/pong payload over 125 bytes.
    ErrTooLong = -5,
    /// The opening handshake has not completed yet: nothing can be sent.
    ErrNotOpen = -6,
    /// A close frame was already sent or the connection has closed.
    ErrClosed = -7,
    /// A fragment sent out of order: a piece with no fragmented message in
    /// progress of that kind, or a whole message while one is in progress.
    ErrFragmentOrder = -8,
    /// `sockeye_conn_consume` was asked to consume more bytes than are queued.
    ErrOutOfRange = -9,
    /// The call is not valid in this role or phase (for example, accepting a
    /// handshake on a client handle).
    ErrInvalidState = -10,
    /// A Rust panic was caught inside the call. The handle involved is now
    /// poisoned; free it.
    ErrPanic = -11,
    /// The handle panicked in an earlier call and can only be freed.
    ErrPoisoned = -12,
}

impl sockeye_status {
    /// A short, static, NUL-terminated description.
    pub(crate) fn description(self) -> &'static core::ffi::CStr {
        match self {
            sockeye_status::Ok => c"ok",
            sockeye_status::NoEvent => c"no event: more input needed",
            sockeye_status::ErrNull => c"a required pointer was null",
            sockeye_status::ErrInvalidArgument => c"invalid argument",
            sockeye_status::ErrInvalidUtf8 => c"text is not valid UTF-8",
            sockeye_status::ErrInvalidCloseCode => c"close code may not be sent",
            sockeye_status::ErrTooLong => c"close reason or control payload too long",
            sockeye_status::ErrNotOpen => c"the opening handshake has not completed",
            sockeye_status::ErrClosed => c"the connection is closing or closed",
            sockeye_status::ErrFragmentOrder => c"fragment sent out of order",
            sockeye_status::ErrOutOfRange => c"more bytes consumed than are queued",
            sockeye_status::ErrInvalidState => c"call not valid in this role or phase",
            sockeye_status::ErrPanic => c"internal error (panic caught)",
            sockeye_status::ErrPoisoned => c"handle poisoned by an earlier internal error",
        }
    }

    pub(crate) fn from_raw(raw: i32) -> Option<Self> {
        const ALL: [sockeye_status; 14] = [
            sockeye_status::Ok,
            sockeye_status::NoEvent,
            sockeye_status::ErrNull,
            sockeye_status::ErrInvalidArgument,
            sockeye_status::ErrInvalidUtf8,
            sockeye_status::ErrInvalidCloseCode,
            sockeye_status::ErrTooLong,
            sockeye_status::ErrNotOpen,
            sockeye_status::ErrClosed,
            sockeye_status::ErrFragmentOrder,
            sockeye_status::ErrOutOfRange,
            sockeye_status::ErrInvalidState,
            sockeye_status::ErrPanic,
            sockeye_status::ErrPoisoned,
        ];
        ALL.into_iter().find(|status| *status as i32 == raw)
    }
}
