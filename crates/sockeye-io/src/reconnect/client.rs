//! The reconnecting client, written once against a [`Connector`].

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use super::{Event, Outbox, ReconnectPolicy, Schedule, SendError, should_reconnect};
use crate::driver::{Clock, Transport, WebSocket};
use crate::runtime::Runtime;
use crate::{
    ClientOptions, CloseCode, CloseStatus, Error, Message, ReadyState, Response, SharedConfig,
};

/// What a connection attempt of a [`Connector`] gives.
pub type Connected<K> = Result<
    (
        WebSocket<<K as Connector>::Transport, <K as Connector>::Clock>,
        Response,
    ),
    Error,
>;

/// A connection attempt in flight, owned by the client so that it survives
/// a cancelled [`recv`](ReconnectingClient::recv).
pub type Attempt<K> = Pin<Box<dyn Future<Output = Connected<K>> + Send>>;

/// What a runtime adapter gives a [`ReconnectingClient`]: a way to connect
/// and a way to wait.
pub trait Connector {
    /// The transport of the connections it makes.
    type Transport: Transport;
    /// The clock of the connections it makes.
    type Clock: Clock;

    /// Start connecting to `url` (the adapter's `connect_with`). The
    /// attempt owns its arguments: the client keeps it across cancelled
    /// `recv`s.
    fn connect(&self, url: String, options: ClientOptions, config: SharedConfig) -> Attempt<Self>;

    /// Wait for `duration` (the runtime's sleep).
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;
}

/// Every runtime connects with the shared
/// [`connect_with`](crate::connect::connect_with) and waits with its own sleep.
impl<R: Runtime> Connector for R {
    type Transport = R::ClientIo;
    type Clock = R::Clock;

    fn connect(&self, url: String, options: ClientOptions, config: SharedConfig) -> Attempt<Self> {
        Box::pin(async move { crate::connect::connect_with::<R>(&url, options, config).await })
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        <R as Runtime>::sleep(duration)
    }
}

/// Where the client is.
enum Phase<T, C> {
    /// Connect once `not_before` has passed.
    Connecting { not_before: Option<Instant> },
    /// Connected; the outbox is being written before `Connected` is reported.
    Flushing {
        ws: WebSocket<T, C>,
        response: Box<Response>,
    },
    /// Connected and reported.
    Open { ws: WebSocket<T, C> },
    /// Closed by the application or the server, or gave up.
    Done,
}

/// A WebSocket client that connects again when its connection is lost,
/// under a [`ReconnectPolicy`]: backoff with jitter between attempts, at
/// most [`max_attempts`](ReconnectPolicy::max_attempts) failures in a row,
/// messages sent while disconnected kept in a bounded outbox and written
/// (in order) as soon as the next connection opens, and no reconnect after
/// a normal closure (1000) or after [`close`](Self::close).
///
/// [`recv`](Self::recv) drives everything (connecting, waiting, flushing,
/// receiving) and returns the [`Event`]s; call it in a loop.
/// [`send`](Self::send) sends on the open connection or queues.
///
/// The runtime adapters provide it ready to use (`sockeye_tokio::ReconnectingClient`,
/// `sockeye_smol::ReconnectingClient`); their [`Runtime`], a [`Connector`]
/// through [`connect_with`](crate::connect::connect_with), is the only
/// runtime-specific part.
///
/// # Delivery
/// A message handed to a connection that is then lost may or may not have
/// reached the server: WebSocket has no acknowledgements. Messages still in
/// the outbox are never lost; [`take_unsent`](Self::take_unsent) returns
/// them after the client stops.
///
/// # Cancel safety
/// [`recv`](Self::recv) is cancel-safe, so it can be raced against other
/// work (`select!`): no message or event is lost; a wait resumes with the
/// same deadline; an interrupted connection attempt goes on where it was
/// (the client owns it); an interrupted flush resumes with the first
/// message not yet queued on the connection.
pub struct ReconnectingClient<K: Connector> {
    connector: K,
    url: String,
    options: ClientOptions,
    config: SharedConfig,
    schedule: Schedule,
    outbox: Outbox,
    phase: Phase<K::Transport, K::Clock>,
    /// The connection attempt in flight, while connecting.
    attempt: Option<Attempt<K>>,
    /// Connections opened so far.
    connections: u32,
    closed_by_application: bool,
    /// The error that is ending the open connection, reported with it.
    ending: Option<Error>,
    /// An event to report before anything else.
    pending: Option<Event>,
}

impl<K: Connector> ReconnectingClient<K> {
    /// A client for `url` with `options` and `config`, connecting through
    /// `connector` under `policy`. Nothing happens until the first
    /// [`recv`](Self::recv).
    pub fn new(
        connector: K,
        url: &str,
        options: ClientOptions,
        config: impl Into<SharedConfig>,
        policy: ReconnectPolicy,
    ) -> Self {
        ReconnectingClient {
            connector,
            url: url.to_owned(),
            options,
            config: config.into(),
            schedule: Schedule::new(&policy),
            outbox: Outbox::new(policy.outbox_capacity),
            phase: Phase::Connecting { not_before: None },
            attempt: None,
            connections: 0,
            closed_by_application: false,
            ending: None,
            pending: None,
        }
    }

    /// The next event; `None` once the client has stopped (after a
    /// [`Disconnected`](Event::Disconnected) without reconnect, or
    /// [`GaveUp`](Event::GaveUp)).
    ///
    /// # Cancel safety
    /// Cancel-safe (see the type's documentation).
    pub async fn recv(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.take() {
                return Some(event);
            }
            match &mut self.phase {
                Phase::Done => return None,
                Phase::Connecting { not_before } => {
                    if self.attempt.is_none() {
                        if let Some(at) = *not_before {
                            let left = at.saturating_duration_since(Instant::now());
                            if !left.is_zero() {
                                self.connector.sleep(left).await;
                                continue;
                            }
                        }
                        debug_event!(
                            url = %self.url,
                            failures = self.schedule.failures(),
                            "reconnect: connecting"
                        );
                        self.attempt = Some(self.connector.connect(
                            self.url.clone(),
                            self.options.clone(),
                            self.config.clone(),
                        ));
                    }
                    let Some(attempt) = self.attempt.as_mut() else {
                        unreachable!("started above")
                    };
                    let result = attempt.await;
                    self.attempt = None;
                    match result {
                        Ok((ws, response)) => {
                            self.schedule.connected();
                            self.phase = Phase::Flushing {
                                ws,
                                response: Box::new(response),
                            };
                        }
                        Err(error) => return Some(self.attempt_failed(error)),
                    }
                }
                Phase::Flushing { ws, .. } => {
                    while let Some(message) = self.outbox.front() {
                        if ws.ready_state() != ReadyState::Open {
                            break;
                        }
                        // Sent from a copy and taken out only once queued,
                        // so that a cancelled send loses nothing.
                        match ws.send(message.clone()).await {
                            Ok(()) => {
                                self.outbox.pop();
                            }
                            Err(error) => {
                                self.ending = Some(error);
                                break;
                            }
                        }
                    }
                    let Phase::Flushing { ws, response } =
                        std::mem::replace(&mut self.phase, Phase::Done)
                    else {
                        unreachable!("matched above")
                    };
                    self.connections += 1;
                    self.phase = Phase::Open { ws };
                    return Some(Event::Connected {
                        response: *response,
                        connection: self.connections,
                    });
                }
                Phase::Open { ws } => match ws.recv().await {
                    Some(Ok(message)) => return Some(Event::Message(message)),
                    Some(Err(error)) => {
                        // The next `recv` returns `None`; report the error then.
                        self.ending.get_or_insert(error);
                    }
                    None => {
                        let close = ws
                            .close_status()
                            .unwrap_or_else(|| CloseStatus::abnormal("the connection ended"));
                        return Some(self.disconnected(close));
                    }
                },
            }
        }
    }

    /// Send `message` on the open connection, or queue it in the outbox
    /// while disconnected (it is written when the next connection opens).
    ///
    /// # Errors
    /// [`SendError::Full`] when disconnected with a full outbox and
    /// [`SendError::Closed`] once the client has stopped, both handing the
    /// message back; [`SendError::Failed`] when writing it on the open
    /// connection failed (the client reconnects, as [`recv`](Self::recv)
    /// will report).
    ///
    /// # Cancel safety
    /// As the connection's `send`: cancelled while waiting for room, the
    /// message is not sent.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), SendError> {
        let message = message.into();
        match &mut self.phase {
            Phase::Done => Err(SendError::Closed(message)),
            _ if self.closed_by_application => Err(SendError::Closed(message)),
            Phase::Open { ws } if ws.ready_state() == ReadyState::Open => {
                ws.send(message).await.map_err(SendError::Failed)
            }
            _ => self.outbox.push(message),
        }
    }

    /// Close: no reconnect from now on. An open connection goes through
    /// its closing handshake with `code` and `reason`; the next
    /// [`recv`](Self::recv) reports [`Disconnected`](Event::Disconnected)
    /// and then `None`. Messages still queued stay in the outbox
    /// ([`take_unsent`](Self::take_unsent)).
    ///
    /// # Errors
    /// As the connection's `close` ([`Error::Send`] for a reason over 123
    /// bytes; a peer that does not answer in time).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.closed_by_application = true;
        let result = match &mut self.phase {
            Phase::Open { ws } | Phase::Flushing { ws, .. } => {
                let result = ws.close(code, reason).await;
                let close = ws
                    .close_status()
                    .unwrap_or_else(|| CloseStatus::abnormal("closed by the application"));
                self.pending = Some(Event::Disconnected {
                    close,
                    error: None,
                    reconnect_in: None,
                });
                result
            }
            Phase::Connecting { .. } | Phase::Done => Ok(()),
        };
        self.attempt = None;
        self.phase = Phase::Done;
        result
    }

    /// The messages queued while disconnected and not yet sent, oldest
    /// first (for example after [`GaveUp`](Event::GaveUp)).
    pub fn take_unsent(&mut self) -> Vec<Message> {
        self.outbox.drain()
    }

    /// Messages waiting in the outbox.
    pub fn queued(&self) -> usize {
        self.outbox.len()
    }

    /// The URL the client connects to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The open connection, if there is one (for its `protocol`,
    /// `extensions`, `buffered_amount`...).
    pub fn connection(&self) -> Option<&WebSocket<K::Transport, K::Clock>> {
        match &self.phase {
            Phase::Open { ws } | Phase::Flushing { ws, .. } => Some(ws),
            _ => None,
        }
    }

    /// The browser's `readyState` for this client: `CONNECTING` while it
    /// waits or connects, the connection's state while one exists, `CLOSED`
    /// once it has stopped.
    pub fn ready_state(&self) -> ReadyState {
        match &self.phase {
            Phase::Connecting { .. } => ReadyState::Connecting,
            Phase::Flushing { ws, .. } | Phase::Open { ws } => ws.ready_state(),
            Phase::Done => ReadyState::Closed,
        }
    }

    /// A failed attempt: wait and retry, or give up.
    fn attempt_failed(&mut self, error: Error) -> Event {
        let retry_in = self.schedule.failed();
        let attempt = self.schedule.failures();
        info_event!(
            attempt,
            error = %error,
            retry_in_ms = retry_in.map(|delay| delay.as_millis() as u64),
            "reconnect: attempt failed"
        );
        match retry_in {
            Some(delay) => {
                self.phase = Phase::Connecting {
                    not_before: Some(Instant::now() + delay),
                };
            }
            None => {
                self.phase = Phase::Done;
                self.pending = Some(Event::GaveUp { attempts: attempt });
            }
        }
        Event::AttemptFailed {
            attempt,
            error,
            retry_in,
        }
    }

    /// The open connection ended with `close`: reconnect or stop.
    fn disconnected(&mut self, close: CloseStatus) -> Event {
        let reconnect_in = if should_reconnect(&close, self.closed_by_application) {
            let delay = self.schedule.lost();
            self.phase = Phase::Connecting {
                not_before: Some(Instant::now() + delay),
            };
            Some(delay)
        } else {
            self.phase = Phase::Done;
            None
        };
        info_event!(
            code = close.code,
            reconnect_in_ms = reconnect_in.map(|delay| delay.as_millis() as u64),
            "reconnect: connection lost"
        );
        Event::Disconnected {
            close,
            error: self.ending.take(),
            reconnect_in,
        }
    }
}
