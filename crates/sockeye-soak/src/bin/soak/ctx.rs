//! What every task of the driver shares: where the server is, the phase
//! of the run, the switches that stop each part of the load, and the stats.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::TcpStream;

use crate::stats::{Phase, Stats};

/// The run's shared state.
pub struct Ctx {
    pub server: SocketAddr,
    /// Whether the server broadcasts on `/broadcast` (not the blocking one).
    pub broadcast: bool,
    pub stats: Stats,
    phase: Mutex<Phase>,
    /// Churn, abusive clients and proxied clients run while this is on.
    abuse: AtomicBool,
    /// Everything stops once this is on.
    stopping: AtomicBool,
    next_id: AtomicU64,
}

/// How long a well-behaved client waits for any answer before it counts
/// what it sent as lost.
pub const ANSWER_LIMIT: Duration = Duration::from_secs(30);

impl Ctx {
    /// A run against `server`.
    pub fn new(server: SocketAddr, broadcast: bool) -> Self {
        Self {
            server,
            broadcast,
            stats: Stats::default(),
            phase: Mutex::new(Phase::WarmUp),
            abuse: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        *self.phase.lock().unwrap()
    }

    /// Enter `phase`.
    pub fn set_phase(&self, phase: Phase) {
        *self.phase.lock().unwrap() = phase;
    }

    /// Whether churn and abuse run.
    pub fn abusing(&self) -> bool {
        self.abuse.load(Ordering::Relaxed) && !self.stopping()
    }

    /// Turn churn and abuse on or off.
    pub fn set_abuse(&self, on: bool) {
        self.abuse.store(on, Ordering::Relaxed);
    }

    /// Whether the load is stopping.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Stop the load (or, with `false`, allow it again).
    pub fn set_stopping(&self, on: bool) {
        self.stopping.store(on, Ordering::Relaxed);
    }

    /// A fresh connection id.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A TCP connection to the server, Nagle off.
    pub async fn connect(&self) -> std::io::Result<TcpStream> {
        connect_to(self.server).await
    }
}

/// A TCP connection to `addr`, Nagle off, within five seconds.
pub async fn connect_to(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let tcp = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// Sleep for up to `duration`, waking early once `ctx` is stopping.
/// Returns false if it woke because of that.
pub async fn nap(ctx: &Ctx, duration: Duration) -> bool {
    let step = Duration::from_millis(100);
    let mut left = duration;
    while !left.is_zero() {
        if ctx.stopping() {
            return false;
        }
        let now = left.min(step);
        tokio::time::sleep(now).await;
        left -= now;
    }
    !ctx.stopping()
}
