//! One WebSocket endpoint from the opening handshake to the close.
//!
//! [`Endpoint`] joins the handshake halves of [`crate::handshake`] and the
//! [`Connection`] they turn into behind one set of calls, so that a driver
//! (async, blocking, or a C event loop) is one pump loop whatever phase the
//! WebSocket is in:
//!
//! 1. **inputs**: [`receive`](Endpoint::receive) what the transport read,
//!    [`receive_eof`](Endpoint::receive_eof) when it ended,
//!    [`handle_timeout`](Endpoint::handle_timeout) when the deadline of
//!    [`poll_timeout`](Endpoint::poll_timeout) has come;
//! 2. **events**: [`poll_event`](Endpoint::poll_event) until `None`: the
//!    request (a server answers it with [`accept`](Endpoint::accept) or
//!    [`reject`](Endpoint::reject)), the opening, the refusal, then the
//!    connection's own events;
//! 3. **output**: write what [`transmit`](Endpoint::transmit) lends and
//!    report it with [`Transmit::written`](crate::Transmit::written) (or
//!    take it run by run with [`poll_transmit`](Endpoint::poll_transmit)),
//!    the handshake's request or response first, then the frames;
//! 4. **teardown**: close the transport once
//!    [`should_close_transport`](Endpoint::should_close_transport) says so.
//!
//! Commands (sending messages, pings, the close) go to the connection through
//! [`connection_mut`](Endpoint::connection_mut) once the endpoint is open.
//!
//! # Example
//!
//! A client and a server endpoint talking in memory:
//!
//! ```
//! use core::time::Duration;
//! use sockeye::endpoint::{Endpoint, EndpointEvent};
//! use sockeye::handshake::{Accept, ClientRequest};
//! use sockeye::{Config, Event};
//!
//! # fn main() -> Result<(), sockeye::handshake::HandshakeError> {
//! let now = Duration::ZERO;
//! let request = ClientRequest::new("example.com", "/chat")?.protocol("chat.v1")?;
//! let mut client = Endpoint::client(request, Config::default(), now);
//! let mut server = Endpoint::server(Config::default(), now);
//!
//! // The request travels to the server, which accepts it.
//! while let Some(bytes) = client.poll_transmit() {
//!     server.receive(now, &bytes);
//! }
//! assert_eq!(server.poll_event(), Some(EndpointEvent::Request));
//! let protocol = server.request().unwrap().select_protocol(&["chat.v1"]).map(String::from);
//! server.accept(Accept::new(now).protocol(&protocol.unwrap()))?;
//! assert!(matches!(server.poll_event(), Some(EndpointEvent::Opened(_))));
//! server.connection_mut().unwrap().send_text("hello").unwrap();
//!
//! // The 101 and the message travel back in one stream.
//! while let Some(bytes) = server.poll_transmit() {
//!     client.receive(now, &bytes);
//! }
//! let Some(EndpointEvent::Opened(opened)) = client.poll_event() else { panic!() };
//! assert_eq!(opened.protocol.as_deref(), Some("chat.v1"));
//! assert_eq!(client.poll_event(), Some(EndpointEvent::Connection(Event::Text("hello".into()))));
//! # Ok(())
//! # }
//! ```

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use crate::close::CloseStatus;
use crate::config::SharedConfig;
use crate::connection::{Connection, Event, State};
use crate::entropy::BoxedEntropy;
use crate::handshake::{
    Accept, ClientHandshake, ClientRequest, Extension, HandshakeError, Headers, Request,
    ResponseHead, ServerHandshake,
};
use crate::transmit::Transmit;

/// What an [`Endpoint`] reports, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointEvent {
    /// A server received a request: inspect it with
    /// [`Endpoint::request`], then answer with [`Endpoint::accept`],
    /// [`Endpoint::reject`], [`Endpoint::respond`] or [`Endpoint::decline`].
    /// A plain HTTP request (not an upgrade,
    /// [`Request::is_websocket`] false) is reported the same way, so that a
    /// server can answer it with a page.
    Request,
    /// The opening handshake completed: data may flow.
    Opened(Opened),
    /// The opening handshake failed: the peer's request or response broke
    /// RFC 6455 §4, the server refused (on a client), the transport ended
    /// or the deadline passed. A server endpoint has queued the HTTP answer
    /// ([`HandshakeError::response`]); write it, then close the transport
    /// ([`Endpoint::should_close_transport`] says when).
    Rejected(HandshakeError),
    /// An event of the open connection.
    Connection(Event),
}

/// What the opening handshake settled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Opened {
    /// The subprotocol in use (RFC 6455 §4.1, the _Subprotocol In Use_).
    pub protocol: Option<String>,
    /// The extensions in use, in the order they apply.
    pub extensions: Vec<Extension>,
    /// On a client, the fields of the server's `101` response (for
    /// `Set-Cookie` and the like); empty on a server.
    pub headers: Headers,
    /// On a server made with [`Endpoint::server_for`], the accepting
    /// response for the other HTTP layer to send (its `101` or, for an
    /// HTTP/2 extended CONNECT, its `200`); the endpoint writes no
    /// handshake bytes then. `None` otherwise.
    pub response: Option<ResponseHead>,
}

/// A WebSocket endpoint, client or server, from the opening handshake to
/// the end of the connection. See the [module documentation](self) for the
/// polling order.
#[derive(Debug)]
pub struct Endpoint {
    phase: Phase,
}

/// The handshake state lives in a box that is freed when the endpoint
/// opens, so that an open endpoint costs what its connection costs.
#[derive(Debug)]
enum Phase {
    Handshake(Box<Handshake>),
    Open(Connection),
}

#[derive(Debug)]
struct Handshake {
    step: Step,
    /// Handshake bytes (the request, the response) not yet written; they go
    /// out before anything the connection queues.
    preface: Bytes,
    /// Events not yet polled: they come before the connection's.
    events: VecDeque<EndpointEvent>,
    /// The connection, once the handshake succeeded; it moves out of the
    /// box when the preface is written and the events are polled.
    connection: Option<Connection>,
    /// The latest time an input carried: a client's connection starts from it.
    now: Duration,
    /// The request came from another HTTP layer, which writes the answer.
    external: bool,
}

#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "the step lives in the handshake's box, freed when the endpoint opens"
)]
enum Step {
    /// A client waiting for the server's response.
    Client(ClientHandshake),
    /// A server waiting for the client's request.
    Server(ServerHandshake),
    /// A server holding a request until the application answers it.
    Deciding(Request),
    /// The handshake is over: it opened (`connection` is set) or failed.
    Done,
}

impl Endpoint {
    /// A client endpoint starting at `now`, whose first output is the
    /// request; the connection's mask keys come from the operating system's
    /// random source.
    #[cfg(feature = "os-rng")]
    pub fn client(request: ClientRequest, config: impl Into<SharedConfig>, now: Duration) -> Self {
        Self::client_handshake(ClientHandshake::new(request, config, now), now)
    }

    /// A client endpoint with the caller's random source (see
    /// [`ClientHandshake::with_entropy`]).
    pub fn client_with_entropy(
        request: ClientRequest,
        config: impl Into<SharedConfig>,
        now: Duration,
        entropy: BoxedEntropy,
    ) -> Self {
        Self::client_handshake(
            ClientHandshake::with_entropy(request, config, now, entropy),
            now,
        )
    }

    fn client_handshake(handshake: ClientHandshake, now: Duration) -> Self {
        let preface = Bytes::copy_from_slice(handshake.request_bytes());
        Self::handshake(Step::Client(handshake), preface, now)
    }

    /// A server endpoint starting at `now`, waiting for a request within
    /// `config`'s header limits and handshake deadline.
    pub fn server(config: impl Into<SharedConfig>, now: Duration) -> Self {
        Self::handshake(
            Step::Server(ServerHandshake::new(config, now)),
            Bytes::new(),
            now,
        )
    }

    /// A server endpoint for a request that another HTTP layer read
    /// ([`Request::from_http1`], [`Request::from_extended_connect`]),
    /// waiting for its answer: the first event is
    /// [`EndpointEvent::Request`]. That layer writes the answer: an
    /// acceptance comes as [`Opened::response`], a refusal as the bytes of
    /// [`reject`](Self::reject) for it to send or translate.
    pub fn server_for(request: Request, now: Duration) -> Self {
        let mut endpoint = Self::handshake(Step::Deciding(request), Bytes::new(), now);
        let handshake = endpoint.handshake_mut();
        handshake.external = true;
        handshake.events.push_back(EndpointEvent::Request);
        endpoint
    }

    /// An endpoint whose opening handshake was done elsewhere: open at once,
    /// with no [`EndpointEvent::Opened`].
    pub fn open(connection: Connection) -> Self {
        Self {
            phase: Phase::Open(connection),
        }
    }

    fn handshake(step: Step, preface: Bytes, now: Duration) -> Self {
        Self {
            phase: Phase::Handshake(Box::new(Handshake {
                step,
                preface,
                events: VecDeque::new(),
                connection: None,
                now,
                external: false,
            })),
        }
    }

    fn handshake_mut(&mut self) -> &mut Handshake {
        match &mut self.phase {
            Phase::Handshake(handshake) => handshake,
            Phase::Open(_) => unreachable!("only called on a new endpoint"),
        }
    }

    // --- Getters ---

    /// Where the endpoint is: [`State::Connecting`] during the opening
    /// handshake (and while a request waits for its answer), then the
    /// connection's state; [`State::Closed`] after a failed handshake.
    pub fn state(&self) -> State {
        match &self.phase {
            Phase::Open(connection) => connection.state(),
            Phase::Handshake(handshake) => match (&handshake.step, &handshake.connection) {
                (_, Some(connection)) => connection.state(),
                (Step::Done, None) => State::Closed,
                _ => State::Connecting,
            },
        }
    }

    /// The request waiting for an answer, between
    /// [`EndpointEvent::Request`] and the answer.
    pub fn request(&self) -> Option<&Request> {
        match &self.phase {
            Phase::Handshake(handshake) => match &handshake.step {
                Step::Deciding(request) => Some(request),
                _ => None,
            },
            Phase::Open(_) => None,
        }
    }

    /// The connection, once the handshake succeeded.
    pub fn connection(&self) -> Option<&Connection> {
        match &self.phase {
            Phase::Open(connection) => Some(connection),
            Phase::Handshake(handshake) => handshake.connection.as_ref(),
        }
    }

    /// The connection, for commands (send, ping, close), once the
    /// handshake succeeded.
    pub fn connection_mut(&mut self) -> Option<&mut Connection> {
        match &mut self.phase {
            Phase::Open(connection) => Some(connection),
            Phase::Handshake(handshake) => handshake.connection.as_mut(),
        }
    }

    /// The connection alone, once the endpoint is open with its handshake
    /// bytes written and its handshake events polled; otherwise the
    /// endpoint back.
    ///
    /// # Errors
    ///
    /// The endpoint itself while the handshake still has something to say.
    #[allow(
        clippy::result_large_err,
        reason = "the endpoint handed back is the connection itself, by value as it came in"
    )]
    pub fn into_connection(mut self) -> Result<Connection, Self> {
        self.settle();
        match self.phase {
            Phase::Open(connection) => Ok(connection),
            phase @ Phase::Handshake(_) => Err(Self { phase }),
        }
    }

    /// How the connection ended, once it did; `None` during the handshake
    /// and after a failed one (the failure was reported as
    /// [`EndpointEvent::Rejected`]).
    pub fn close_status(&self) -> Option<&CloseStatus> {
        self.connection().and_then(Connection::close_status)
    }

    /// Bytes waiting to be written: handshake bytes and queued frames.
    pub fn buffered_amount(&self) -> usize {
        match &self.phase {
            Phase::Open(connection) => connection.buffered_amount(),
            Phase::Handshake(handshake) => {
                handshake.preface.len()
                    + handshake
                        .connection
                        .as_ref()
                        .map_or(0, Connection::buffered_amount)
            }
        }
    }

    /// Whether enough output is queued that the application should stop
    /// sending until the transport takes it (see
    /// [`Connection::is_write_blocked`]).
    pub fn is_write_blocked(&self) -> bool {
        self.connection().is_some_and(Connection::is_write_blocked)
    }

    /// Whether the transport should be closed now: after a failed or
    /// refused handshake once its answer is written, and after the
    /// connection's end as [`Connection::should_close_transport`] says
    /// (RFC 6455 §7.1.1: a server closes first).
    pub fn should_close_transport(&self) -> bool {
        match &self.phase {
            Phase::Open(connection) => connection.should_close_transport(),
            Phase::Handshake(handshake) => match &handshake.connection {
                Some(connection) => {
                    handshake.preface.is_empty() && connection.should_close_transport()
                }
                None => matches!(handshake.step, Step::Done) && handshake.preface.is_empty(),
            },
        }
    }

    // --- Inputs ---

    /// Feeds bytes the transport received at `now`.
    pub fn receive(&mut self, now: Duration, data: &[u8]) {
        match &mut self.phase {
            Phase::Open(connection) => {
                connection.receive(now, data);
            }
            Phase::Handshake(handshake) => handshake.receive(now, data),
        }
    }

    /// Reports that the transport's read side ended at `now`.
    pub fn receive_eof(&mut self, now: Duration) {
        match &mut self.phase {
            Phase::Open(connection) => connection.receive_eof(now),
            Phase::Handshake(handshake) => handshake.receive_eof(now),
        }
    }

    /// Tells the endpoint the time is `now`: fires whatever deadline has
    /// come (the handshake's, the connection's timers).
    pub fn handle_timeout(&mut self, now: Duration) {
        match &mut self.phase {
            Phase::Open(connection) => connection.handle_timeout(now),
            Phase::Handshake(handshake) => handshake.handle_timeout(now),
        }
    }

    // --- Commands of a server's answer ---

    /// Accepts the waiting request with `accept`: the `101` response is
    /// queued for the transport, [`EndpointEvent::Opened`] follows, and the
    /// request is handed back for the caller to keep what it needs.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::NoPendingRequest`] when no request waits;
    /// otherwise those of [`Request::accept`], after which the request still
    /// waits (to be answered another way).
    pub fn accept(&mut self, accept: Accept) -> Result<Request, HandshakeError> {
        let handshake = self.deciding()?;
        let Step::Deciding(request) = &handshake.step else {
            unreachable!("checked by deciding()");
        };
        let (answer, response) = if handshake.external {
            let (head, answer) = request.answer_head(accept)?;
            (answer, Some(head))
        } else {
            let (bytes, answer) = request.answer_bytes(accept)?;
            handshake.preface = Bytes::from(bytes);
            (answer, None)
        };
        let extensions = answer
            .extensions
            .iter()
            .filter_map(|list| Extension::parse_list(list).ok())
            .flatten()
            .collect();
        handshake.connection = Some(answer.connection);
        handshake.events.push_back(EndpointEvent::Opened(Opened {
            protocol: answer.protocol,
            extensions,
            headers: Headers::new(),
            response,
        }));
        Ok(handshake.finish_request())
    }

    /// Refuses the waiting request with a plain HTTP response (see
    /// [`Request::reject`]); the transport closes once it is written.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::NoPendingRequest`] when no request waits;
    /// otherwise those of [`Request::reject`], after which the request
    /// still waits.
    pub fn reject(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Request, HandshakeError> {
        let handshake = self.deciding()?;
        let Step::Deciding(request) = &handshake.step else {
            unreachable!("checked by deciding()");
        };
        handshake.preface = Bytes::from(request.reject(status, headers, body)?);
        Ok(handshake.finish_request())
    }

    /// Answers the waiting request with `response`, a whole HTTP response
    /// written as given (a page served beside the WebSocket, say); the
    /// transport closes once it is written.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::NoPendingRequest`] when no request waits.
    pub fn respond(&mut self, response: Vec<u8>) -> Result<Request, HandshakeError> {
        let handshake = self.deciding()?;
        handshake.preface = Bytes::from(response);
        Ok(handshake.finish_request())
    }

    /// Answers the waiting request with the engine's default refusal: `426
    /// Upgrade Required` for a plain HTTP request (the answer of
    /// [`HandshakeError::NotWebSocket`]), `403 Forbidden` for an upgrade.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::NoPendingRequest`] when no request waits.
    pub fn decline(&mut self) -> Result<Request, HandshakeError> {
        let handshake = self.deciding()?;
        let Step::Deciding(request) = core::mem::replace(&mut handshake.step, Step::Done) else {
            unreachable!("checked by deciding()");
        };
        let (response, request) = if request.is_websocket() {
            let response = request.reject(403, &[], b"forbidden\n");
            (response.unwrap_or_default(), request)
        } else {
            let error = HandshakeError::NotWebSocket(Box::new(request));
            let response = error.response().unwrap_or_default();
            match error {
                HandshakeError::NotWebSocket(request) => (response, *request),
                _ => unreachable!("built above"),
            }
        };
        handshake.preface = Bytes::from(response);
        Ok(request)
    }

    fn deciding(&mut self) -> Result<&mut Handshake, HandshakeError> {
        match &mut self.phase {
            Phase::Handshake(handshake) if matches!(handshake.step, Step::Deciding(_)) => {
                Ok(handshake)
            }
            _ => Err(HandshakeError::NoPendingRequest),
        }
    }

    // --- Outputs ---

    /// The next event, or `None` when there is none until more input.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        let event = match &mut self.phase {
            Phase::Open(connection) => {
                return connection.poll_event().map(EndpointEvent::Connection);
            }
            Phase::Handshake(handshake) => handshake.events.pop_front().or_else(|| {
                let connection = handshake.connection.as_mut()?;
                connection.poll_event().map(EndpointEvent::Connection)
            }),
        };
        self.settle();
        event
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called,
    /// if a deadline is armed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        match &self.phase {
            Phase::Open(connection) => connection.poll_timeout(),
            Phase::Handshake(handshake) => match (&handshake.step, &handshake.connection) {
                (_, Some(connection)) => connection.poll_timeout(),
                (Step::Client(client), None) => client.poll_timeout(),
                (Step::Server(server), None) => server.poll_timeout(),
                (Step::Deciding(_) | Step::Done, None) => None,
            },
        }
    }

    /// Lends the bytes to write for a vectored write, the handshake's
    /// request or response first, then the frames: write what
    /// [`Transmit::chunks`] or [`Transmit::io_slices`] shows and report what
    /// the transport took with [`Transmit::written`].
    pub fn transmit(&mut self) -> Transmit<'_> {
        self.settle();
        match &mut self.phase {
            Phase::Open(connection) => connection.transmit(),
            Phase::Handshake(handshake) => Transmit::new(
                Some(&mut handshake.preface),
                handshake
                    .connection
                    .as_mut()
                    .map(Connection::transmit_queue),
            ),
        }
    }

    /// The next run of bytes to write, taken out of the endpoint; `None`
    /// when nothing is queued. A socket writer borrows them all at once
    /// with [`transmit`](Self::transmit).
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let bytes = match &mut self.phase {
            Phase::Open(connection) => return connection.poll_transmit(),
            Phase::Handshake(handshake) => {
                if handshake.preface.is_empty() {
                    handshake.connection.as_mut()?.poll_transmit()
                } else {
                    Some(core::mem::take(&mut handshake.preface))
                }
            }
        };
        self.settle();
        bytes
    }

    /// Frees the handshake's box once nothing of the handshake is left to
    /// write or report.
    fn settle(&mut self) {
        let Phase::Handshake(handshake) = &mut self.phase else {
            return;
        };
        if !handshake.preface.is_empty() || !handshake.events.is_empty() {
            return;
        }
        if let Some(connection) = handshake.connection.take() {
            self.phase = Phase::Open(connection);
        }
    }
}

impl Handshake {
    fn receive(&mut self, now: Duration, data: &[u8]) {
        self.now = self.now.max(now);
        if let Some(connection) = &mut self.connection {
            connection.receive(now, data);
            return;
        }
        match &mut self.step {
            Step::Client(client) => match client.receive(data) {
                Ok(None) => {}
                Ok(Some(established)) => {
                    let (connection, headers, protocol, extensions) =
                        established.into_parts(self.now);
                    self.step = Step::Done;
                    self.connection = Some(connection);
                    self.events.push_back(EndpointEvent::Opened(Opened {
                        protocol,
                        extensions,
                        headers,
                        response: None,
                    }));
                }
                Err(error) => self.fail(error),
            },
            Step::Server(server) => match server.receive(data) {
                Ok(None) => {}
                Ok(Some(request)) => self.wait_for_answer(request),
                Err(HandshakeError::NotWebSocket(request)) => self.wait_for_answer(*request),
                Err(error) => self.fail(error),
            },
            // A client that sends frames right behind its request before
            // the answer: they belong to the connection, which is fed with
            // the request's trailing bytes when it opens.
            Step::Deciding(request) => request.extend_trailing(data),
            Step::Done => {}
        }
    }

    fn receive_eof(&mut self, now: Duration) {
        self.now = self.now.max(now);
        if let Some(connection) = &mut self.connection {
            connection.receive_eof(now);
            return;
        }
        match &mut self.step {
            Step::Client(client) => {
                let error = client.receive_eof();
                self.fail(error);
            }
            Step::Server(_) | Step::Deciding(_) => self.fail(HandshakeError::Incomplete),
            Step::Done => {}
        }
    }

    fn handle_timeout(&mut self, now: Duration) {
        self.now = self.now.max(now);
        if let Some(connection) = &mut self.connection {
            connection.handle_timeout(now);
            return;
        }
        let result = match &mut self.step {
            Step::Client(client) => client.handle_timeout(now),
            Step::Server(server) => server.handle_timeout(now),
            Step::Deciding(_) | Step::Done => Ok(()),
        };
        if let Err(error) = result {
            self.fail(error);
        }
    }

    fn wait_for_answer(&mut self, request: Request) {
        self.step = Step::Deciding(request);
        self.events.push_back(EndpointEvent::Request);
    }

    /// Ends the handshake with `error`: a server answers it over HTTP where
    /// RFC 6455 §4.2.1 gives an answer; a client has nothing more to send.
    fn fail(&mut self, error: HandshakeError) {
        let server = matches!(self.step, Step::Server(_) | Step::Deciding(_));
        self.preface = match error.response() {
            Some(response) if server => Bytes::from(response),
            _ => Bytes::new(),
        };
        self.step = Step::Done;
        self.events.push_back(EndpointEvent::Rejected(error));
    }

    /// Takes the request out once it has been answered.
    fn finish_request(&mut self) -> Request {
        match core::mem::replace(&mut self.step, Step::Done) {
            Step::Deciding(request) => request,
            _ => unreachable!("only called while deciding"),
        }
    }
}

#[cfg(test)]
mod tests;
