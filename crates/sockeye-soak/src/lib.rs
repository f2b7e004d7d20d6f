//! The servers under test of the soak driver (`src/bin/soak`) share their
//! limits and their stats line from here.
//!
//! Every server flavour (`soak-server-tokio`, `soak-server-smol`,
//! `soak-server-std`) takes `ADDR` (default `127.0.0.1:0`), prints
//! `listening on ADDR` on stdout once bound, then a [`stats_line`] every
//! [`STATS_EVERY`]. It echoes every data message on any path except
//! [`BROADCAST_PATH`], where each data message is broadcast to every client
//! instead (the async flavours; the blocking one has no broadcast and
//! echoes there too).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sockeye_std::Config;
use sockeye_std::server::ServerPolicy;

/// The path whose messages are broadcast to every client.
pub const BROADCAST_PATH: &str = "/broadcast";

/// How often the servers print their stats line.
pub const STATS_EVERY: Duration = Duration::from_millis(500);

/// Largest message and frame a soak client may send: 1 MiB.
pub const MAX_MESSAGE: u64 = 1 << 20;

/// Time a client gets to finish its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Heartbeat: a ping this often...
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// ...and a client that sends nothing this long after it is dropped.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);

/// Most clients at once: far above what the driver opens, so that a
/// refusal means a leaked slot.
pub const MAX_CONNECTIONS: usize = 4_000;

/// The engine configuration of every soak server: short timers so that
/// idle and stalled clients are dropped within seconds, 1 MiB messages.
pub fn config() -> Config {
    let mut config = Config::default();
    config.max_message_size = MAX_MESSAGE;
    config.max_frame_size = MAX_MESSAGE;
    config.handshake_timeout = Some(HANDSHAKE_TIMEOUT);
    config.keepalive_interval = Some(HEARTBEAT_INTERVAL);
    config.pong_timeout = HEARTBEAT_TIMEOUT;
    config.close_timeout = Some(Duration::from_secs(5));
    config
}

/// The server policy of every soak server: [`config`] and a connection cap.
pub fn policy() -> ServerPolicy {
    ServerPolicy::new()
        .config(config())
        .max_connections(MAX_CONNECTIONS)
}

/// The stats line the driver parses: `stats live=N tasks=M`, the clients
/// registered with the server and the connection tasks (or threads) alive,
/// handshakes included.
pub fn stats_line(live: usize, tasks: usize) -> String {
    format!("stats live={live} tasks={tasks}")
}

/// Parses a [`stats_line`] into (live, tasks).
pub fn parse_stats_line(line: &str) -> Option<(usize, usize)> {
    let rest = line.strip_prefix("stats live=")?;
    let (live, tasks) = rest.split_once(" tasks=")?;
    Some((live.parse().ok()?, tasks.trim().parse().ok()?))
}

/// One more running connection handler in `count`, until dropped (also
/// when the handler's future is dropped before it ends).
pub struct Running(Arc<AtomicUsize>);

impl Running {
    /// Count one more handler in `count`.
    pub fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_lines_parse_back() {
        assert_eq!(parse_stats_line(&stats_line(3, 7)), Some((3, 7)));
        assert_eq!(parse_stats_line("stats live=x tasks=1"), None);
        assert_eq!(parse_stats_line("listening on 127.0.0.1:1"), None);
    }
}
