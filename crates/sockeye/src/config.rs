//! Roles, limits and timers: everything a connection can be tuned with.
//!
//! Every limit has a safe default chosen so that a hostile peer cannot make a
//! connection hold more memory than the limit allows, while ordinary traffic
//! (browsers, chat, RPC, file transfer in pieces) never comes near it.

use alloc::sync::Arc;
use core::fmt;
use core::time::Duration;

/// The defaults, which connections made with them point to instead of
/// keeping a copy.
static DEFAULT_CONFIG: Config = Config::DEFAULT;

/// Which end of the connection this engine plays.
///
/// The role decides the masking rules (RFC 6455 §5.1: a client masks every
/// frame it sends, a server never does) and who closes the TCP connection
/// first after the closing handshake (§7.1.1: the server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that sent the opening handshake request.
    Client,
    /// The end that answered the opening handshake with `101 Switching Protocols`.
    Server,
}

/// Limits, timers and behaviour switches of a connection and its handshake.
///
/// Start from [`Config::default`] and change the fields you need:
///
/// ```
/// use sockeye::Config;
/// use core::time::Duration;
///
/// let mut config = Config::default();
/// config.max_message_size = 1 << 20;
/// config.keepalive_interval = Some(Duration::from_secs(30));
/// assert_eq!(config.max_frame_size, 16 << 20);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest payload of a single received frame, in bytes; a frame whose
    /// header announces more fails the connection with 1009 before any of its
    /// payload is buffered. Default: 16 MiB.
    pub max_frame_size: u64,
    /// Largest received message (all fragments together), in bytes; exceeding
    /// it fails the connection with 1009. In streaming mode this bounds the
    /// sum of the fragments as well, unless set to `u64::MAX`. Default: 64 MiB.
    pub max_message_size: u64,
    /// Most frames one received message may be split into; exceeding it fails
    /// the connection with 1009. Guards against a peer that sends millions of
    /// empty continuation frames. Default: 65 536.
    pub max_fragments: usize,
    /// Most bytes the opening handshake's header block may take (request line
    /// or status line included). Default: 8 KiB.
    pub max_header_bytes: usize,
    /// Most header fields in the opening handshake. Default: 64.
    pub max_headers: usize,
    /// Most body bytes kept from a rejected (non-101) handshake response.
    /// Default: 64 KiB.
    pub max_rejection_body: usize,
    /// Answer every received ping with a pong automatically (RFC 6455
    /// §5.5.2). The ping is still reported as an event. Default: `true`.
    pub auto_pong: bool,
    /// Hand out each received data frame's payload as it arrives
    /// ([`crate::Event::Fragment`]) instead of assembling whole messages. With
    /// this on, a message of any size flows through bounded memory.
    /// Default: `false`.
    pub streaming: bool,
    /// Split outgoing messages into frames of at most this many payload
    /// bytes; `None` sends each message as one frame. Default: `None`.
    pub max_send_frame_size: Option<usize>,
    /// The queued-output level above which [`crate::Connection::is_write_blocked`]
    /// reports true: adapters stop accepting new messages until the peer has
    /// taken some. Default: 1 MiB.
    pub write_high_water_mark: usize,
    /// How long to wait for the peer's close frame after sending ours, and
    /// (for a client) for the server to close the transport after the closing
    /// handshake. Default: 5 s.
    pub close_timeout: Option<Duration>,
    /// Send a keepalive ping every this long. `None` (or a zero interval,
    /// which would ping without pause) disables keepalive. Default: `None`
    /// (adapters turn it on for servers).
    pub keepalive_interval: Option<Duration>,
    /// After a keepalive ping, how long to wait for any traffic from the peer
    /// before declaring it dead: the connection fails with
    /// [`crate::ProtocolError::KeepaliveTimeout`], sends no close frame and
    /// reports 1006.
    /// Default: 20 s.
    pub pong_timeout: Duration,
    /// Close the connection with 1000 when nothing was received or sent for
    /// this long. `None` disables it. Default: `None`.
    pub idle_timeout: Option<Duration>,
    /// Deadline for the whole opening handshake. Default: 10 s.
    pub handshake_timeout: Option<Duration>,
    /// permessage-deflate (RFC 7692): `Some` makes a client offer it and a
    /// server accept a client's offer. Default: `None` (off).
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Config {
    /// The defaults, as a constant so that they can live in a `static`.
    pub(crate) const DEFAULT: Config = Config {
        max_frame_size: 16 << 20,
        max_message_size: 64 << 20,
        max_fragments: 1 << 16,
        max_header_bytes: 8 << 10,
        max_headers: 64,
        max_rejection_body: 64 << 10,
        auto_pong: true,
        streaming: false,
        max_send_frame_size: None,
        write_high_water_mark: 1 << 20,
        close_timeout: Some(Duration::from_secs(5)),
        keepalive_interval: None,
        pong_timeout: Duration::from_secs(20),
        idle_timeout: None,
        handshake_timeout: Some(Duration::from_secs(10)),
        #[cfg(feature = "deflate")]
        deflate: None,
    };
}

/// A [`Config`] frozen so that many connections can share it: cloning it
/// copies a pointer, and a connection keeps a `SharedConfig` rather than
/// its own copy of the settings.
///
/// Every constructor that takes a config takes `impl Into<SharedConfig>`,
/// so a plain [`Config`] works everywhere; a server that makes many
/// connections with the same non-default config converts it once and
/// hands out clones. A config equal to the defaults needs no allocation at
/// all: every connection made with it points to one `static` copy.
///
/// ```
/// use sockeye::config::{Config, SharedConfig};
///
/// let mut config = Config::default();
/// config.max_message_size = 1 << 20;
/// let shared = SharedConfig::new(config.clone());
/// let for_each_connection = shared.clone();
/// assert_eq!(for_each_connection.to_config(), config);
/// assert!(SharedConfig::default().is_default());
/// ```
#[derive(Clone, Default)]
pub struct SharedConfig(Option<Arc<Config>>);

impl SharedConfig {
    /// Freezes `config`. This allocates unless `config` equals
    /// [`Config::default`].
    pub fn new(config: Config) -> Self {
        if config == Config::DEFAULT {
            Self(None)
        } else {
            Self(Some(Arc::new(config)))
        }
    }

    /// The frozen config, as a [`Config`] again.
    pub fn to_config(&self) -> Config {
        self.get().clone()
    }

    /// Whether this is the defaults (which take no allocation).
    pub fn is_default(&self) -> bool {
        self.0.is_none()
    }

    /// The frozen config.
    pub fn get(&self) -> &Config {
        self.0.as_deref().unwrap_or(&DEFAULT_CONFIG)
    }
}

impl From<Config> for SharedConfig {
    fn from(config: Config) -> Self {
        Self::new(config)
    }
}

impl core::ops::Deref for SharedConfig {
    type Target = Config;

    fn deref(&self) -> &Config {
        self.get()
    }
}

impl PartialEq for SharedConfig {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for SharedConfig {}

impl fmt::Debug for SharedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedConfig")
            .field(&self.to_config())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_not_allocated_and_read_back_unchanged() {
        let shared = SharedConfig::new(Config::default());
        assert!(shared.is_default());
        assert_eq!(shared.to_config(), Config::default());
        assert!(core::ptr::eq(shared.get(), &DEFAULT_CONFIG));
    }

    #[test]
    fn a_tuned_config_is_shared_by_its_clones() {
        let config = Config {
            max_fragments: 3,
            ..Config::default()
        };
        let shared = SharedConfig::from(config.clone());
        assert!(!shared.is_default());
        let clone = shared.clone();
        assert!(core::ptr::eq(shared.get(), clone.get()));
        assert_eq!(clone.to_config(), config);
        assert_ne!(clone, SharedConfig::default());
    }
}
