//! Server policy, written once for every runtime.
//!
//! * [`ServerPolicy`]: what a server accepts, decided synchronously from the
//!   request ([`RequestInfo`]): the path, a verify hook (status, headers and
//!   body of a refusal), the subprotocol, extra response fields, the answer
//!   to plain HTTP requests (`426 Upgrade Required` by default), connection
//!   limits, the message size and rate limits, and the heartbeat;
//! * [`Clients`]: the connected clients with their ids, per-address counts
//!   and bounded outgoing queues, for broadcasting without ever waiting on a
//!   slow client;
//! * [`RateLimit`]: a token bucket fed with the time, no clock of its own;
//! * [`ServerCore`] (feature `async`): one connection's life under the
//!   policy over the driver's [`Transport`](crate::driver::Transport), and
//!   graceful shutdown;
//! * [`Acceptor`] and [`ServerHandle`] (feature `async`): the accept loop
//!   over any [`Runtime`](crate::Runtime)'s listener and the handle that
//!   broadcasts and shuts down. `sockeye-tokio` and `sockeye-smol` only add
//!   their runtime's `bind` and `spawn`;
//! * [`bind_listeners`] (feature `async`): one listening socket per thread
//!   (`SO_REUSEPORT`) for a server that runs an event loop on every core;
//!   its accept loops are [`Acceptor::with_core`]s sharing one
//!   [`ServerCore`], so broadcast, limits and shutdown span every thread.
//!
//! # Close codes and statuses the policy uses
//! | event | answer |
//! | --- | --- |
//! | upgrade request for another path | HTTP 404 |
//! | plain HTTP request (no upgrade) | HTTP 426 with `Upgrade: websocket`, unless [`ServerPolicy::http`] answers |
//! | [`ServerPolicy::max_connections`] or [`ServerPolicy::max_connections_per_ip`] reached, or shutting down | HTTP 503 with `Retry-After` |
//! | a client's queued bytes would exceed [`ServerPolicy::queue_budget`] (its socket does not take what is broadcast) | close 1008, reason `"too slow"` |
//! | more messages than [`ServerPolicy::rate_limit`] allows | close 1008, reason `"rate limit"` |
//! | a message above [`ServerPolicy::max_message_size`] | close 1009 (the engine's limit) |
//! | no answer to a heartbeat ping | connection dropped (1006 locally) |
//! | graceful shutdown | close 1001 |

mod clients;
mod counts;
#[cfg(feature = "async")]
mod listen;
mod policy;
mod rate;
#[cfg(feature = "async")]
mod serve;
#[cfg(feature = "async")]
mod threads;

pub use clients::{ClientId, ClientSlot, Clients, Outgoing, Refusal};
pub use counts::ConnectionCounts;
#[cfg(feature = "async")]
pub use listen::{Acceptor, RuntimeClient, ServerHandle, Task};
pub use policy::{
    DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_QUEUE_BUDGET, RequestInfo,
    ServerPolicy,
};
pub use rate::{RateLimit, RateLimiter};
#[cfg(feature = "async")]
pub use serve::{Admission, ServerClient, ServerCore, ShutdownReport};
#[cfg(feature = "async")]
pub use threads::{available_threads, bind_listeners, pin_current_thread};
