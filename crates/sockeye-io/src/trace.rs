//! Events for `tracing` (feature `tracing`), all under the target
//! `sockeye`, so that `RUST_LOG=sockeye=debug` shows them whatever module
//! emits them. Without the feature the macros expand to nothing: their
//! arguments are not even evaluated, so an event may compute its fields
//! inline at no cost to a build without it. With the feature and no
//! subscriber, each is one check of `tracing`'s global interest cache.

/// An event at `debug`: a connection's own life (handshake, close).
macro_rules! debug_event {
    ($($arg:tt)+) => {
        #[cfg(feature = "tracing")]
        {
            ::tracing::debug!(target: "sockeye", $($arg)+);
        }
    };
}

/// An event at `info`: a policy acted on a client (limits, slow client,
/// heartbeat, reconnect).
macro_rules! info_event {
    ($($arg:tt)+) => {
        #[cfg(feature = "tracing")]
        {
            ::tracing::info!(target: "sockeye", $($arg)+);
        }
    };
}

/// The connection events every driver emits, written once: the async
/// driver and `sockeye-std`'s blocking loop call these at the same points.
/// Each does nothing without the feature `tracing`.
pub mod events {
    use std::time::Duration;

    use crate::{CloseStatus, Error, Message, Role};

    fn role_name(role: Role) -> &'static str {
        match role {
            Role::Client => "client",
            Role::Server => "server",
        }
    }

    /// The opening handshake succeeded: a server's request `path`, or the
    /// `protocol` a client's server selected.
    pub fn handshake_accepted(role: Role, path: Option<&str>, protocol: Option<&str>) {
        debug_event!(role = role_name(role), path, protocol, "handshake accepted");
        let _ = (role, path, protocol, role_name);
    }

    /// The opening handshake failed with `error`, with the HTTP status
    /// answered (server) or received (client) when there is one.
    pub fn handshake_rejected(role: Role, error: &Error) {
        debug_event!(
            role = role_name(role),
            status = status_of(role, error),
            reason = %error,
            "handshake rejected"
        );
        let _ = (role, error, status_of);
    }

    /// The status of a failed handshake: the rejection's; on a server, the
    /// engine's answer to an invalid request too (none for a plain HTTP
    /// request, which the application answered).
    fn status_of(role: Role, error: &Error) -> Option<u16> {
        match error {
            Error::Rejected { status, .. } => Some(*status),
            Error::Handshake(error)
                if role == Role::Server
                    && !matches!(**error, sockeye::handshake::HandshakeError::NotWebSocket(_)) =>
            {
                let response = error.response()?;
                std::str::from_utf8(response.get(9..12)?).ok()?.parse().ok()
            }
            _ => None,
        }
    }

    /// What a driver's `recv` is about to return: a protocol failure (with
    /// the close code it sends) or the heartbeat's verdict is an event.
    /// Returns whether the item begins the end of the connection (a
    /// failure or the peer's close frame), for the close event's duration.
    pub fn received(item: &Result<Message, Error>) -> bool {
        match item {
            Err(Error::Protocol(sockeye::ProtocolError::KeepaliveTimeout)) => {
                info_event!("keepalive timeout: the peer answered no ping in time, dropped");
                true
            }
            Err(error) => {
                debug_event!(
                    code = error.close_code().map(sockeye::CloseCode::get),
                    reason = %error,
                    "protocol failure"
                );
                let _ = error;
                true
            }
            Ok(Message::Close(_)) => true,
            Ok(_) => false,
        }
    }

    /// The transport failed with `error`; the connection is over.
    pub fn transport_failed(error: &dyn std::fmt::Display) {
        debug_event!(error = %error, "transport failed");
        let _ = error;
    }

    /// The connection is over and its transport closed: how it ended
    /// (`status` is asked only when a subscriber wants the event), and how
    /// long since its closing began (`took`, when it was seen).
    pub fn closed(status: impl FnOnce() -> Option<CloseStatus>, took: Option<Duration>) {
        #[cfg(feature = "tracing")]
        if tracing::enabled!(target: "sockeye", tracing::Level::DEBUG)
            && let Some(status) = status()
        {
            debug_event!(
                code = status.code,
                reason = %status.reason,
                clean = status.was_clean,
                took_ms = took.map(|took| took.as_millis() as u64),
                "closed"
            );
        }
        #[cfg(not(feature = "tracing"))]
        let _ = (status, took);
    }
}
