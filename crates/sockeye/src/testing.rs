//! Test support: a seeded random source and an in-memory client–server pair
//! with a fake clock. Enabled by the `testing` feature (and in the crate's own
//! tests); shared by unit tests, property tests and fuzz targets.
//!
//! ```
//! use sockeye::testing::Pair;
//! use sockeye::{CloseCode, Event};
//!
//! let mut pair = Pair::new();
//! pair.client.send_text("hello").unwrap();
//! pair.drive();
//! assert_eq!(pair.server_events, [Event::Text("hello".into())]);
//!
//! pair.client.close(pair.now, CloseCode::NORMAL, "bye").unwrap();
//! pair.drive();
//! assert!(pair.both_closed());
//! ```

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::time::Duration;

use crate::config::{Config, Role};
use crate::connection::{Connection, Event, State};
use crate::entropy::Entropy;

/// A small deterministic generator (xorshift64*): repeatable mask keys for tests.
/// Not for production: mask keys must be unpredictable (RFC 6455 §10.3).
#[derive(Clone, Debug)]
pub struct SeededEntropy(u64);

impl SeededEntropy {
    /// A generator seeded with `seed` (0 is replaced by a fixed non-zero value).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }
}

impl Entropy for SeededEntropy {
    fn fill(&mut self, dest: &mut [u8]) {
        for byte in dest {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            *byte = (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8;
        }
    }
}

/// A client and a server connection wired back to back in memory, with a
/// fake clock. Events each side reports are collected in order.
#[derive(Debug)]
pub struct Pair {
    /// The client end.
    pub client: Connection,
    /// The server end.
    pub server: Connection,
    /// The fake clock: time since the pair was created.
    pub now: Duration,
    /// Events the client reported, oldest first.
    pub client_events: Vec<Event>,
    /// Events the server reported, oldest first.
    pub server_events: Vec<Event>,
}

impl Default for Pair {
    fn default() -> Self {
        Self::new()
    }
}

/// Upper bound on rounds in [`Pair::drive`]; every exchange settles long before.
const MAX_ROUNDS: usize = 10_000;

impl Pair {
    /// A pair with default configurations and a fixed seed.
    pub fn new() -> Self {
        Self::with_configs(Config::default(), Config::default(), 1)
    }

    /// A pair with the given configurations and mask-key seed.
    pub fn with_configs(client: Config, server: Config, seed: u64) -> Self {
        let now = Duration::ZERO;
        Self {
            client: Connection::with_entropy(
                Role::Client,
                client,
                now,
                Box::new(SeededEntropy::new(seed)),
            ),
            server: Connection::server(server, now),
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// Move everything queued on the client to the server in one piece.
    /// Returns the number of bytes moved.
    pub fn client_to_server(&mut self) -> usize {
        transfer(&mut self.client, &mut self.server, self.now)
    }

    /// Move everything queued on the server to the client in one piece.
    /// Returns the number of bytes moved.
    pub fn server_to_client(&mut self) -> usize {
        transfer(&mut self.server, &mut self.client, self.now)
    }

    /// Poll both sides' events into the event lists; returns how many arrived.
    pub fn poll_events(&mut self) -> usize {
        let mut count = 0;
        while let Some(event) = self.client.poll_event() {
            self.client_events.push(event);
            count += 1;
        }
        while let Some(event) = self.server.poll_event() {
            self.server_events.push(event);
            count += 1;
        }
        count
    }

    /// Shuttle bytes and poll events until neither side has anything more to
    /// say. Bounded: gives up after a fixed number of rounds.
    pub fn drive(&mut self) {
        for _ in 0..MAX_ROUNDS {
            let moved = self.client_to_server() + self.server_to_client();
            let events = self.poll_events();
            if moved == 0 && events == 0 {
                return;
            }
        }
    }

    /// Advance the clock to the earliest timer of either side, fire it, and
    /// drive. Returns `false` when no timer is armed.
    pub fn advance_to_next_timeout(&mut self) -> bool {
        let next = match (self.client.poll_timeout(), self.server.poll_timeout()) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return false,
        };
        self.now = self.now.max(next);
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.drive();
        true
    }

    /// Advance the clock by `by`, firing due timers, without moving bytes.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
    }

    /// Whether both ends are [`State::Closed`].
    pub fn both_closed(&self) -> bool {
        self.client.state() == State::Closed && self.server.state() == State::Closed
    }
}

/// Move every queued byte from `from` into `to`, received at `now`;
/// returns the count.
pub fn transfer(from: &mut Connection, to: &mut Connection, now: Duration) -> usize {
    let mut moved = 0;
    while let Some(bytes) = from.poll_transmit() {
        moved += bytes.len();
        to.receive(now, &bytes);
    }
    moved
}

/// Everything queued on `conn` for the transport, concatenated.
pub fn take_output(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(bytes) = conn.poll_transmit() {
        out.extend_from_slice(&bytes);
    }
    out
}

/// A hostile opening handshake and the answer every sockeye server (the
/// engine's endpoint and each driver over it) must give: drivers' tests run
/// these same cases, so one rule gets one answer everywhere.
#[derive(Clone, Debug)]
pub struct HostileHandshake {
    /// What the case is, for failure messages.
    pub name: &'static str,
    /// The bytes the client sends; it then sends nothing more and keeps the
    /// transport open.
    pub request: Vec<u8>,
    /// The status line of the server's answer, or `None` when the server
    /// answers nothing and closes the transport at the handshake deadline.
    pub answer: Option<&'static str>,
}

/// The hostile handshakes for a server with `config`: a header block over
/// [`Config::max_header_bytes`] (431), a request that stops half-way
/// (slowloris: closed at [`Config::handshake_timeout`] with no answer), and a
/// `Sec-WebSocket-Version` other than 13 (426).
pub fn hostile_handshakes(config: &Config) -> Vec<HostileHandshake> {
    let valid = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";
    let mut oversized = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nX-Padding: ".to_vec();
    oversized.resize(config.max_header_bytes + 64, b'a');
    let wrong_version = alloc::string::String::from_utf8_lossy(valid)
        .replace("Version: 13", "Version: 8")
        .into_bytes();
    alloc::vec![
        HostileHandshake {
            name: "oversized header block",
            request: oversized,
            answer: Some("HTTP/1.1 431 Request Header Fields Too Large"),
        },
        HostileHandshake {
            name: "slowloris",
            request: valid[..40].to_vec(),
            answer: None,
        },
        HostileHandshake {
            name: "wrong version",
            request: wrong_version,
            answer: Some("HTTP/1.1 426 Upgrade Required"),
        },
    ]
}
