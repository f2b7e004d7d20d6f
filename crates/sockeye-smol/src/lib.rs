//! WebSocket (RFC 6455) client and server over `futures-io` streams, driven
//! by the sans-IO [`sockeye`](sockeye_io::sockeye) engine. Runs on smol,
//! async-std or any executor; timers come from `async-io`.
//!
//! The API is the one of `sockeye-tokio`: the same driver
//! ([`sockeye_io::driver`]) with a `futures-io` transport and an `async-io`
//! clock, the same connect sequence ([`sockeye_io::connect`]) and the same
//! [`ReconnectingClient`] ([`sockeye_io::reconnect`]), all over [`Smol`]
//! (`async-net` and `async-io` as a [`sockeye_io::Runtime`]).
//!
//! [`Server`] accepts under a [`ServerPolicy`] and hands each [`Client`] to
//! a handler, with broadcast through [`Clients`] and graceful shutdown; the
//! policy is [`sockeye_io::server`]'s, shared with `sockeye-tokio`.
//!
//! ```no_run
//! # fn main() -> Result<(), sockeye_smol::Error> {
//! smol::block_on(async {
//!     let (mut ws, _) = sockeye_smol::connect("ws://127.0.0.1:9001/").await?;
//!     ws.send("hello").await?;
//!     let reply = ws.recv().await;
//!     ws.close(sockeye_smol::CloseCode::NORMAL, "").await
//! })
//! # }
//! ```
//!
//! # Logging
//! With the `tracing` feature (on by default) connections and the server
//! policy emit [`tracing`](https://docs.rs/tracing) events under the target
//! `sockeye`: handshakes accepted or rejected, protocol failures with their
//! close code, closes with their outcome and duration, and the policy's
//! verdicts. Install a subscriber with an `EnvFilter` and run with
//! `RUST_LOG=sockeye=debug` to see them; without a subscriber they cost
//! nothing worth measuring. The list is in `docs/architecture.md`
//! ("Observability").
#![warn(missing_docs)]
#![forbid(unsafe_code)]

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use sockeye_io::driver::{Clock, FuturesIo, clock_epoch};

mod runtime;
mod server;
pub use runtime::Smol;
pub use server::Server;
pub use sockeye_io::server::Task;

/// The reconnecting client's name for [`Smol`], which connects and waits
/// for it.
pub use runtime::Smol as SmolConnector;

sockeye_io::runtime_api! {
    name = "futures-io", runtime = Smol, clock = AsyncIoClock,
    tcp = async_net::TcpStream, listener = async_net::TcpListener, tls = futures_rustls::client::TlsStream,
    transport = FuturesIo, stream = [futures_io::AsyncRead, futures_io::AsyncWrite];
    fn connect; fn accept; fn accept_with; fn reconnecting;
}

/// The system clock with an `async-io` timer, allocated on first use.
///
/// Every `AsyncIoClock` counts from one process-wide epoch,
/// [`clock_epoch`], and keeps its timer boxed with the deadline it is armed
/// for, so a clock costs an idle connection one pointer.
#[derive(Debug, Default)]
pub struct AsyncIoClock {
    timer: Option<Box<(Duration, async_io::Timer)>>,
}

impl AsyncIoClock {
    /// A clock on the process-wide scale.
    pub fn new() -> Self {
        Self { timer: None }
    }
}

impl Clock for AsyncIoClock {
    fn now(&self) -> Duration {
        clock_epoch().elapsed()
    }

    fn poll_deadline(&mut self, cx: &mut Context<'_>, deadline: Duration) -> Poll<()> {
        let Some(at) = clock_epoch().checked_add(deadline) else {
            return Poll::Pending;
        };
        if Instant::now() >= at {
            return Poll::Ready(());
        }
        let (armed, timer) = &mut **self
            .timer
            .get_or_insert_with(|| Box::new((deadline, async_io::Timer::at(at))));
        if *armed != deadline {
            timer.set_at(at);
            *armed = deadline;
        }
        Pin::new(timer).poll(cx).map(|_| ())
    }

    fn disarm(&mut self) {
        self.timer = None;
    }
}
