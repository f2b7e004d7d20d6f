//! Accept-time policy: what a server answers to each request.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sockeye::handshake::Request;
use sockeye::{Config, SharedConfig};

use super::rate::RateLimit;
use crate::Decision;

/// How often a server pings a client by default.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// How long a server waits by default for any sign of life after a ping
/// before dropping the client.
pub const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(20);

/// Payload bytes a client's outgoing queue holds by default before the
/// client counts as too slow: 1 MiB. With the engine's own queue (its
/// [`write_high_water_mark`](sockeye::Config::write_high_water_mark), also
/// 1 MiB by default) and the kernel's socket buffers in front of it, a client
/// is closed only once it has left megabytes unread, which a reader that
/// keeps up never does, while 1,000 stalled clients cost at most about
/// 2 GiB, not an unbounded amount.
pub const DEFAULT_QUEUE_BUDGET: usize = 1 << 20;

/// A request as the policy sees it: the upgrade (or plain HTTP) request and
/// the peer's address.
#[derive(Clone, Copy, Debug)]
pub struct RequestInfo<'a> {
    request: &'a Request,
    peer: SocketAddr,
}

impl<'a> RequestInfo<'a> {
    /// `request`, received from `peer`.
    pub fn new(request: &'a Request, peer: SocketAddr) -> Self {
        Self { request, peer }
    }

    /// The method, such as `GET`.
    pub fn method(&self) -> &'a str {
        self.request.method()
    }

    /// The path, without the query.
    pub fn path(&self) -> &'a str {
        self.request.path()
    }

    /// The first value of query parameter `name`, percent-decoded.
    pub fn query(&self, name: &str) -> Option<Cow<'a, str>> {
        self.request.query(name)
    }

    /// The first header field `name` (matched without regard to case).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.request.headers().get(name)
    }

    /// The `Origin` field (browsers always send it; RFC 6455 §10.2).
    pub fn origin(&self) -> Option<&'a str> {
        self.request.origin()
    }

    /// The offered subprotocols, in the client's order of preference.
    pub fn protocols(&self) -> impl Iterator<Item = &'a str> {
        self.request.protocols()
    }

    /// The subprotocol to select from `supported`, by the engine's one rule
    /// ([`Request::select_protocol`]: the client's order of preference).
    pub fn select_protocol<S: AsRef<str>>(&self, supported: &[S]) -> Option<&'a str> {
        self.request.select_protocol(supported)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Whether this is a WebSocket upgrade request (false for a plain one).
    pub fn is_upgrade(&self) -> bool {
        self.request.is_websocket()
    }

    /// The whole request.
    pub fn request(&self) -> &'a Request {
        self.request
    }
}

type Hook = Arc<dyn Fn(&RequestInfo<'_>) -> Decision + Send + Sync>;

/// What a server accepts and how it treats its clients.
///
/// Built once, shared by every connection; the decision for a request is
/// made synchronously by [`decide`](Self::decide), in this order:
/// 1. the path ([`path`](Self::path)): another path gets 404;
/// 2. the verify hook ([`verify`](Self::verify)): its refusal goes out as is;
/// 3. the subprotocol: the hook's choice, or the first offered one that
///    [`protocols`](Self::protocols) supports (none if there is no match);
/// 4. the extra response fields ([`header`](Self::header)).
///
/// The connection limits are checked last, by [`Clients::admit`](super::Clients::admit).
///
/// ```
/// use sockeye_io::Decision;
/// use sockeye_io::server::{RateLimit, ServerPolicy};
/// use std::time::Duration;
///
/// let policy = ServerPolicy::new()
///     .path("/ws")
///     .verify(|request| match request.query("token").as_deref() {
///         Some("secret") => Decision::accept(),
///         _ => Decision::reject(401).body("token required\n"),
///     })
///     .protocols(&["chat.v2", "chat.v1"])
///     .max_connections(10_000)
///     .max_connections_per_ip(64)
///     .max_message_size(1 << 20)
///     .rate_limit(RateLimit::new(100, Duration::from_secs(1)));
/// # let _ = policy;
/// ```
#[derive(Clone)]
pub struct ServerPolicy {
    path: Option<String>,
    verify: Option<Hook>,
    http: Option<Hook>,
    protocols: Vec<String>,
    headers: Vec<(String, String)>,
    max_connections: Option<usize>,
    max_connections_per_ip: Option<usize>,
    rate_limit: Option<RateLimit>,
    queue_budget: usize,
    /// Shared by every connection the server accepts.
    config: SharedConfig,
}

impl Default for ServerPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ServerPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerPolicy")
            .field("path", &self.path)
            .field("verify", &self.verify.is_some())
            .field("http", &self.http.is_some())
            .field("protocols", &self.protocols)
            .field("headers", &self.headers)
            .field("max_connections", &self.max_connections)
            .field("max_connections_per_ip", &self.max_connections_per_ip)
            .field("rate_limit", &self.rate_limit)
            .field("queue_budget", &self.queue_budget)
            .field("config", &self.config)
            .finish()
    }
}

impl ServerPolicy {
    /// Every path, every client, no subprotocol, no limit beyond the
    /// engine's defaults, heartbeat on: a ping every
    /// [`DEFAULT_HEARTBEAT_INTERVAL`], dropped after
    /// [`DEFAULT_HEARTBEAT_TIMEOUT`] without an answer.
    pub fn new() -> Self {
        let mut config = Config::default();
        config.keepalive_interval = Some(DEFAULT_HEARTBEAT_INTERVAL);
        config.pong_timeout = DEFAULT_HEARTBEAT_TIMEOUT;
        Self {
            path: None,
            verify: None,
            http: None,
            protocols: Vec::new(),
            headers: Vec::new(),
            max_connections: None,
            max_connections_per_ip: None,
            rate_limit: None,
            queue_budget: DEFAULT_QUEUE_BUDGET,
            config: config.into(),
        }
    }

    /// Serve WebSocket upgrades on `path` only (the query is ignored); other
    /// paths get 404.
    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    /// Let `verify` accept or refuse each upgrade request (after the path
    /// check). It may refuse with any status, fields and body, select a
    /// subprotocol and add response fields.
    pub fn verify(
        mut self,
        verify: impl Fn(&RequestInfo<'_>) -> Decision + Send + Sync + 'static,
    ) -> Self {
        self.verify = Some(Arc::new(verify));
        self
    }

    /// Subprotocols the server speaks; the first one the client offers (in
    /// the client's order, [`Request::select_protocol`]) is selected, none if
    /// there is no match.
    pub fn protocols(mut self, supported: &[&str]) -> Self {
        self.protocols = supported.iter().map(|p| (*p).to_owned()).collect();
        self
    }

    /// Add a field to every `101` response (such as `Set-Cookie`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Answer plain HTTP requests (not upgrades) with what `http` returns
    /// (`Decision::respond(200).header(..).body(..)`), so one port serves a
    /// page and a WebSocket. Without it they get `426 Upgrade Required`.
    pub fn http(
        mut self,
        http: impl Fn(&RequestInfo<'_>) -> Decision + Send + Sync + 'static,
    ) -> Self {
        self.http = Some(Arc::new(http));
        self
    }

    /// Most clients connected at once; more are refused with 503.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = Some(max);
        self
    }

    /// Most clients connected at once from one IP address; more are
    /// refused with 503.
    pub fn max_connections_per_ip(mut self, max: usize) -> Self {
        self.max_connections_per_ip = Some(max);
        self
    }

    /// Largest message (and frame) a client may send; a larger one closes
    /// the connection with 1009.
    pub fn max_message_size(self, bytes: u64) -> Self {
        self.tune(|config| {
            config.max_message_size = bytes;
            config.max_frame_size = config.max_frame_size.min(bytes);
        })
    }

    /// Close a client that sends more data messages than `limit` allows
    /// with 1008.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Ping every `interval`; drop a client that sends nothing within
    /// `timeout` of a ping. These are the engine's keepalive timers
    /// ([`Config::keepalive_interval`], [`Config::pong_timeout`]).
    pub fn heartbeat(self, interval: Duration, timeout: Duration) -> Self {
        self.tune(|config| {
            config.keepalive_interval = Some(interval);
            config.pong_timeout = timeout;
        })
    }

    /// No heartbeat.
    pub fn no_heartbeat(self) -> Self {
        self.tune(|config| config.keepalive_interval = None)
    }

    /// Changes the engine configuration (frozen, so it is thawed, changed
    /// and frozen again: this runs while the server is set up, not per
    /// connection).
    fn tune(mut self, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.config.to_config();
        change(&mut config);
        self.config = config.into();
        self
    }

    /// Payload bytes each client's outgoing queue ([`Clients`](super::Clients))
    /// may hold (default [`DEFAULT_QUEUE_BUDGET`]). The queue drains into
    /// the connection's engine as its socket takes bytes, whatever the
    /// handler is doing; a client whose queue would exceed the budget with
    /// another message is closed with 1008 (`"too slow"`). An empty queue
    /// takes a message larger than the budget.
    pub fn queue_budget(mut self, bytes: usize) -> Self {
        self.queue_budget = bytes;
        self
    }

    /// Replace the engine configuration of every connection (limits,
    /// timers); the heartbeat is then `config`'s keepalive.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config.into();
        self
    }

    /// The engine configuration of every connection.
    pub fn engine_config(&self) -> Config {
        self.config.to_config()
    }

    /// The engine configuration as the connections share it: one copy for
    /// the whole server, which a clone points to.
    pub fn shared_config(&self) -> &SharedConfig {
        &self.config
    }

    /// The per-connection rate limit.
    pub fn message_rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }

    /// The connection limits: in total and per IP address.
    pub fn connection_limits(&self) -> (Option<usize>, Option<usize>) {
        (self.max_connections, self.max_connections_per_ip)
    }

    /// The byte budget of each client's outgoing queue.
    pub fn outgoing_queue_budget(&self) -> usize {
        self.queue_budget
    }

    /// The slow-client rule: whether a client with `queued` bytes waiting
    /// in its outgoing queue falls behind if given another message of
    /// `incoming` bytes, and is then closed with 1008 (`"too slow"`).
    /// An empty queue takes a message of any size, so that one larger than
    /// the budget still reaches the clients that keep up.
    ///
    /// [`Clients`](super::Clients) applies it to its own queues; a server
    /// that queues broadcasts in the engine (`sockeye-mio`) counts as
    /// queued what its engine holds beyond the write high-water mark (up
    /// to the mark, the client's own traffic may fill the engine, as it
    /// does beside a `Clients` queue).
    ///
    /// ```
    /// use sockeye_io::server::ServerPolicy;
    ///
    /// let policy = ServerPolicy::new().queue_budget(100);
    /// assert!(!policy.falls_behind(0, 500)); // an empty queue takes anything
    /// assert!(!policy.falls_behind(60, 40));
    /// assert!(policy.falls_behind(60, 41));
    /// ```
    pub fn falls_behind(&self, queued: usize, incoming: usize) -> bool {
        falls_behind(queued, incoming, self.queue_budget)
    }

    /// The answer to an upgrade request, apart from the connection limits.
    pub fn decide(&self, request: &RequestInfo<'_>) -> Decision {
        if let Some(path) = &self.path
            && request.path() != path
        {
            return Decision::reject(404)
                .header("Content-Type", "text/plain; charset=utf-8")
                .body("no WebSocket endpoint here\n");
        }
        let decision = match &self.verify {
            Some(verify) => verify(request),
            None => Decision::accept(),
        };
        if decision.rejected_status().is_some() {
            return decision;
        }
        let mut decision = match decision.selected_protocol() {
            Some(_) => decision,
            None => match request.select_protocol(&self.protocols) {
                Some(protocol) => decision.protocol(protocol),
                None => decision,
            },
        };
        for (name, value) in &self.headers {
            decision = decision.header(name, value);
        }
        decision
    }

    /// The bytes answering a plain HTTP request: the [`http`](Self::http)
    /// handler's response, or `None` for the default
    /// `426 Upgrade Required` (with `Upgrade: websocket`).
    pub fn answer_http(&self, request: &RequestInfo<'_>) -> Option<Vec<u8>> {
        let http = self.http.as_ref()?;
        let (bytes, _) = http(request)
            .apply(request.request(), Duration::ZERO)
            .ok()?;
        Some(bytes)
    }
}

/// [`ServerPolicy::falls_behind`] with the budget given.
pub(crate) fn falls_behind(queued: usize, incoming: usize, budget: usize) -> bool {
    queued > 0 && queued.saturating_add(incoming) > budget
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockeye::handshake::{HandshakeError, ServerHandshake};

    const PEER: &str = "192.0.2.7:4000";

    fn upgrade(target: &str, extra: &str) -> Request {
        let text = format!(
            "GET {target} HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n{extra}\r\n"
        );
        let mut handshake = ServerHandshake::new(Config::default(), Duration::ZERO);
        handshake.receive(text.as_bytes()).unwrap().unwrap()
    }

    fn plain(target: &str) -> Request {
        let text = format!("GET {target} HTTP/1.1\r\nHost: example.com\r\n\r\n");
        let mut handshake = ServerHandshake::new(Config::default(), Duration::ZERO);
        match handshake.receive(text.as_bytes()) {
            Err(HandshakeError::NotWebSocket(request)) => *request,
            other => panic!("expected a plain request, got {other:?}"),
        }
    }

    fn decide(policy: &ServerPolicy, request: &Request) -> Decision {
        policy.decide(&RequestInfo::new(request, PEER.parse().unwrap()))
    }

    fn response(policy: &ServerPolicy, request: &Request) -> String {
        let (bytes, _) = decide(policy, request)
            .apply(request, Duration::ZERO)
            .unwrap();
        String::from_utf8(bytes).unwrap()
    }

    fn token_policy() -> ServerPolicy {
        ServerPolicy::new().path("/ws").verify(|request| {
            let token = request
                .query("token")
                .map(|t| t.into_owned())
                .or_else(|| request.header("authorization").map(str::to_owned));
            match token.as_deref() {
                Some("s3cret" | "Bearer s3cret") => Decision::accept(),
                _ => Decision::reject(401).body("token required"),
            }
        })
    }

    #[test]
    fn another_path_gets_404_before_the_verify_hook_runs() {
        let policy = ServerPolicy::new()
            .path("/ws")
            .verify(|_| panic!("must not be asked"));
        let decision = decide(&policy, &upgrade("/other?x=1", ""));
        assert_eq!(decision.rejected_status(), Some(404));
    }

    #[test]
    fn the_path_ignores_the_query() {
        let policy = ServerPolicy::new().path("/ws");
        assert_eq!(
            decide(&policy, &upgrade("/ws?token=a%20b", "")).rejected_status(),
            None
        );
    }

    #[test]
    fn verify_sees_the_query_and_headers_without_regard_to_case() {
        let policy = token_policy();
        let by_query = upgrade("/ws?room=1&token=s3cret", "");
        let by_header = upgrade("/ws", "AUTHORIZATION: Bearer s3cret\r\n");
        let without = upgrade("/ws?token=wrong", "");
        assert_eq!(decide(&policy, &by_query).rejected_status(), None);
        assert_eq!(decide(&policy, &by_header).rejected_status(), None);
        assert_eq!(decide(&policy, &without).rejected_status(), Some(401));
        assert!(response(&policy, &without).ends_with("\r\n\r\ntoken required"));
    }

    #[test]
    fn verify_sees_origin_and_peer_address() {
        let policy = ServerPolicy::new().verify(|request| {
            let local = request.peer_addr().ip().to_string() == "192.0.2.7";
            match request.origin() {
                Some("https://good.example") if local => Decision::accept(),
                _ => Decision::reject(403),
            }
        });
        let good = upgrade("/", "Origin: https://good.example\r\n");
        let bad = upgrade("/", "Origin: https://evil.example\r\n");
        assert_eq!(decide(&policy, &good).rejected_status(), None);
        assert_eq!(decide(&policy, &bad).rejected_status(), Some(403));
    }

    #[test]
    fn selects_the_first_offered_protocol_the_server_supports() {
        let policy = ServerPolicy::new().protocols(&["v1", "v2"]);
        let offered = upgrade("/", "Sec-WebSocket-Protocol: v3, v2, v1\r\n");
        assert_eq!(decide(&policy, &offered).selected_protocol(), Some("v2"));
        assert!(response(&policy, &offered).contains("\r\nSec-WebSocket-Protocol: v2\r\n"));
        let none = upgrade("/", "Sec-WebSocket-Protocol: v9\r\n");
        assert_eq!(decide(&policy, &none).selected_protocol(), None);
        assert!(!response(&policy, &none).contains("Sec-WebSocket-Protocol"));
    }

    #[test]
    fn the_hooks_protocol_choice_wins() {
        let policy = ServerPolicy::new()
            .protocols(&["v1"])
            .verify(|_| Decision::accept().protocol("v2"));
        let offered = upgrade("/", "Sec-WebSocket-Protocol: v1, v2\r\n");
        assert_eq!(decide(&policy, &offered).selected_protocol(), Some("v2"));
    }

    #[test]
    fn adds_extra_fields_to_the_101() {
        let policy = ServerPolicy::new().header("Set-Cookie", "session=1");
        let text = response(&policy, &upgrade("/", ""));
        assert!(text.starts_with("HTTP/1.1 101 "));
        assert!(text.contains("\r\nSet-Cookie: session=1\r\n"));
    }

    #[test]
    fn plain_requests_get_the_default_426_or_the_handlers_answer() {
        let peer = PEER.parse().unwrap();
        let request = plain("/");
        let info = RequestInfo::new(&request, peer);
        assert!(!info.is_upgrade());
        assert_eq!(ServerPolicy::new().answer_http(&info), None);
        let policy = ServerPolicy::new().http(|request| {
            Decision::respond(200)
                .header("Content-Type", "text/html")
                .body(format!("<p>{}</p>", request.path()))
        });
        let bytes = policy.answer_http(&info).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 "));
        assert!(text.ends_with("<p>/</p>"));
    }

    #[test]
    fn heartbeat_is_on_by_default_and_can_be_tuned_or_turned_off() {
        let config = ServerPolicy::new().engine_config();
        assert_eq!(config.keepalive_interval, Some(DEFAULT_HEARTBEAT_INTERVAL));
        assert_eq!(config.pong_timeout, DEFAULT_HEARTBEAT_TIMEOUT);
        let tuned = ServerPolicy::new().heartbeat(Duration::from_secs(1), Duration::from_secs(2));
        assert_eq!(
            tuned.engine_config().keepalive_interval,
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            ServerPolicy::new()
                .no_heartbeat()
                .engine_config()
                .keepalive_interval,
            None
        );
    }

    #[test]
    fn max_message_size_bounds_frames_too() {
        let config = ServerPolicy::new()
            .max_message_size(1000)
            .engine_config()
            .clone();
        assert_eq!(
            (config.max_message_size, config.max_frame_size),
            (1000, 1000)
        );
    }
}
