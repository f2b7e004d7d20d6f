//! What the browser's `WebSocket` object tells its user, for every adapter:
//! the ready state, how the connection ended, and what the handshake agreed.

use sockeye::handshake::Extension;
use sockeye::{CloseStatus, State};

/// Where a connection is in its life, as the browser API's `readyState`
/// counts it.
///
/// It differs from the engine's [`State`] at the end: the engine is
/// [`State::Closed`] as soon as the closing handshake is over, while the
/// browser says `CLOSED` only once the transport is closed too (RFC 6455
/// §7.1.4, _The WebSocket Connection is Closed_). Until then the connection
/// is [`Closing`](ReadyState::Closing).
///
/// ```
/// use sockeye_io::{ReadyState, State};
///
/// assert_eq!(ReadyState::of(State::Open, false), ReadyState::Open);
/// // Close frames exchanged, TCP connection not closed yet.
/// assert_eq!(ReadyState::of(State::Closed, false), ReadyState::Closing);
/// assert_eq!(ReadyState::of(State::Closed, true), ReadyState::Closed);
/// assert_eq!(ReadyState::Closed as u16, 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum ReadyState {
    /// `CONNECTING` (0): the opening handshake has not completed.
    Connecting = 0,
    /// `OPEN` (1): data flows both ways.
    Open = 1,
    /// `CLOSING` (2): the closing handshake has started, or it is over and
    /// the transport is not closed yet.
    Closing = 2,
    /// `CLOSED` (3): the transport is closed (or the connection failed and
    /// its transport was abandoned).
    Closed = 3,
}

impl ReadyState {
    /// The ready state of a connection whose engine is in `state` and whose
    /// transport is closed (`transport_closed`) or not.
    ///
    /// A closed transport makes the connection `CLOSED` whatever the engine
    /// says: no more bytes can move.
    pub fn of(state: State, transport_closed: bool) -> Self {
        if transport_closed {
            return ReadyState::Closed;
        }
        match state {
            State::Connecting => ReadyState::Connecting,
            State::Open => ReadyState::Open,
            State::Closing | State::Closed => ReadyState::Closing,
        }
    }
}

/// How a connection ended, as every adapter's `close_status` reports it:
/// the engine's [`CloseStatus`] once it has one (the closing handshake
/// ended or the connection failed); once the transport is closed without
/// one (`finished`), an abnormal closure (1006) for the reason `failure`
/// gives; `None` while the connection lives.
pub fn close_status(
    engine: Option<&CloseStatus>,
    finished: bool,
    failure: Option<&str>,
) -> Option<CloseStatus> {
    match engine {
        Some(status) => Some(status.clone()),
        None => finished.then(|| CloseStatus::abnormal(failure.unwrap_or("the transport failed"))),
    }
}

/// What a client's opening handshake settled: the URL it connected to, the
/// subprotocol and the extensions the server selected. Empty on a server
/// or on a WebSocket made from a raw stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandshakeInfo {
    /// The URL the client connected to.
    pub url: Option<String>,
    /// The subprotocol the server selected (the browser's `protocol`).
    pub protocol: Option<String>,
    /// The extensions the server selected (the browser's `extensions`).
    pub extensions: Vec<Extension>,
}

impl HandshakeInfo {
    /// The extensions as the browser's `extensions` attribute shows them:
    /// the selected list, comma-separated, as on the wire.
    pub fn extensions_header(&self) -> String {
        let list: Vec<String> = self.extensions.iter().map(ToString::to_string).collect();
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_state_follows_the_engine_until_the_transport_closes() {
        assert_eq!(
            ReadyState::of(State::Connecting, false),
            ReadyState::Connecting
        );
        assert_eq!(ReadyState::of(State::Open, false), ReadyState::Open);
        assert_eq!(ReadyState::of(State::Closing, false), ReadyState::Closing);
        assert_eq!(ReadyState::of(State::Closed, false), ReadyState::Closing);
        for state in [State::Open, State::Closing, State::Closed] {
            assert_eq!(ReadyState::of(state, true), ReadyState::Closed);
        }
    }

    #[test]
    fn a_connection_without_an_engine_status_ends_abnormally() {
        assert_eq!(close_status(None, false, None), None);
        let dropped = close_status(None, true, Some("reset")).unwrap();
        assert_eq!(dropped, CloseStatus::abnormal("reset"));
        assert_eq!(dropped.code, 1006);
        let status = CloseStatus {
            code: 1000,
            reason: "bye".into(),
            was_clean: true,
        };
        for finished in [false, true] {
            assert_eq!(
                close_status(Some(&status), finished, None),
                Some(status.clone())
            );
        }
    }

    #[test]
    fn extensions_header_lists_the_selected_extensions() {
        let info = HandshakeInfo {
            extensions: Extension::parse_list("permessage-deflate; server_no_context_takeover")
                .unwrap(),
            ..HandshakeInfo::default()
        };
        assert_eq!(
            info.extensions_header(),
            "permessage-deflate; server_no_context_takeover"
        );
        assert_eq!(HandshakeInfo::default().extensions_header(), "");
    }
}
