//! Broadcast across server instances through a broker (feature `fanout`,
//! with a backend feature: `redis` or `nats`).
//!
//! A [`Fanout`] sits beside an instance's [`crate::server::Clients`]:
//! clients join topics; a publication reaches this instance's clients in
//! the topic at once (in-process) and every other instance's through the
//! broker, always through the clients' bounded queues. The wire format,
//! the guarantees and the probe are described in `docs/fanout.md`:
//!
//! * per publisher and topic, messages arrive in publication order, at most
//!   once (duplicates and late arrivals are discarded by sequence number);
//! * what cannot reach the broker (queue full, broker down) is dropped and
//!   counted ([`FanoutStats::dropped`]), never buffered without bound;
//! * the broker task reconnects with backoff and jitter, resubscribes to
//!   every live topic and reports [`FanoutEvent`]s;
//! * each instance publishes a probe to itself every
//!   [`FanoutOptions::probe_interval`]; one that does not come back within
//!   [`FanoutOptions::probe_timeout`] replaces the connection, which repairs
//!   a subscription the broker dropped silently.

mod hub;
#[cfg(feature = "nats")]
pub mod nats;
pub mod presence;
#[cfg(feature = "redis")]
pub mod redis;
mod task;
mod wire;

use std::sync::Arc;
use std::time::Duration;

pub use hub::{Fanout, FanoutEvent, FanoutStats, Outbound};
pub use presence::PresenceOptions;
pub use task::{Broker, Session};
pub use wire::{Envelope, Kind, MAX_TOPIC_LEN, TopicError, WIRE_VERSION, WireError, check_topic};

use crate::reconnect::{Jitter, ReconnectPolicy};
use crate::server::Clients;

/// How a fan-out talks to its broker.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FanoutOptions {
    /// Put before every topic to make the broker channel or subject, so
    /// that several applications can share a broker. Default `"sockeye."`.
    pub prefix: String,
    /// Publications waiting for the broker; more are dropped and counted.
    /// Default 4096.
    pub outgoing_capacity: usize,
    /// Publications sent to the broker in one batch (one pipeline on
    /// Redis). Default 64.
    pub batch: usize,
    /// How often the instance publishes a probe to itself; `None` turns the
    /// probe off (then a silently dropped subscription is never noticed).
    /// Default 1 s.
    pub probe_interval: Option<Duration>,
    /// How long a probe may take to come back before the connection is
    /// replaced. Default 3 s.
    pub probe_timeout: Duration,
    /// The longest a connect, subscribe or publish may take before the
    /// broker counts as stalled and the connection is replaced. Default 2 s.
    pub op_timeout: Duration,
    /// The delays between connection attempts. Default: 100 ms doubling to
    /// 2 s, full jitter, never giving up.
    pub reconnect: ReconnectPolicy,
}

impl Default for FanoutOptions {
    fn default() -> Self {
        let reconnect = ReconnectPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            jitter: Jitter::Full,
            max_attempts: None,
            ..ReconnectPolicy::default()
        };
        Self {
            prefix: "sockeye.".into(),
            outgoing_capacity: 4096,
            batch: 64,
            probe_interval: Some(Duration::from_secs(1)),
            probe_timeout: Duration::from_secs(3),
            op_timeout: Duration::from_secs(2),
            reconnect,
        }
    }
}

/// Start a fan-out for `clients` over `broker`, its broker task spawned on
/// the current tokio runtime. The task ends when the last handle on the
/// returned [`Fanout`] is dropped.
///
/// # Panics
/// Outside a tokio runtime.
pub fn spawn<B: Broker>(clients: Clients, broker: B, options: FanoutOptions) -> Fanout {
    let (mut fanout, outgoing) = Fanout::new(
        clients,
        random_instance_id(),
        options.prefix.clone(),
        options.outgoing_capacity,
    );
    let task = tokio::spawn(task::run(fanout.shared.clone(), outgoing, broker, options));
    fanout.task = Some(Arc::new(AbortOnDrop(task)));
    fanout
}

/// Stops the broker task with the last handle.
pub(crate) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A random 64-bit instance id: instances (and restarts of one) must not
/// share an id, or they would ignore each other's publications.
fn random_instance_id() -> u64 {
    let mut bytes = [0; 8];
    sockeye::entropy::os_seeded().fill(&mut bytes);
    u64::from_be_bytes(bytes)
}
