//! The faulty path: a TCP proxy inside the driver, one per proxied
//! connection, that delays, splits writes into single bytes, stalls for
//! seconds or resets both sides at a random point, as the seeded plan of
//! that connection says.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::ctx::{Ctx, connect_to};
use crate::rng::Rng;

/// What the proxy does to one connection.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Every chunk waits this long before it is passed on.
    Delay(Duration),
    /// Every chunk towards the server is written one byte per write. The
    /// server's reads are what this tests; the server's writes are its
    /// own whatever the proxy does with them, and split towards the
    /// client they would only slow the path below the broadcast rate,
    /// until the server closes the client as too slow.
    Split,
    /// Once this many bytes went through, one direction (towards the
    /// server when the flag is set) waits this long. Less than the soak
    /// servers' heartbeat timeout, so that a client that keeps answering is
    /// not dropped for the proxy's silence: one stalled direction delays
    /// the other side's answers by at most the stall.
    Stall(u64, Duration, bool),
    /// Once this many bytes went through, both sides get a TCP reset.
    Reset(u64),
}

impl Fault {
    /// A fault drawn from `rng`.
    pub fn draw(rng: &mut Rng) -> Self {
        match rng.range(0, 4) {
            0 => Fault::Delay(Duration::from_millis(rng.range(1, 20))),
            1 => Fault::Split,
            2 => Fault::Stall(
                rng.range(0, 20_000),
                Duration::from_millis(rng.range(1000, 3500)),
                rng.chance(50),
            ),
            _ => Fault::Reset(rng.range(0, 50_000)),
        }
    }

    /// The counter of this kind of fault.
    pub fn counter(&self) -> &'static str {
        match self {
            Fault::Delay(_) => "fault.delay",
            Fault::Split => "fault.split",
            Fault::Stall(..) => "fault.stall",
            Fault::Reset(_) => "fault.reset",
        }
    }
}

/// What happened on a proxied connection, for its client to tell a fault
/// it was subjected to from a failure of the server.
#[derive(Default)]
pub struct Path {
    bytes: AtomicU64,
    reset: AtomicBool,
}

impl Path {
    /// Whether the proxy reset the connection.
    pub fn was_reset(&self) -> bool {
        self.reset.load(Ordering::Relaxed)
    }
}

/// A connection to the server through a fresh proxy applying `fault`.
pub async fn connect(ctx: &Arc<Ctx>, fault: Fault) -> io::Result<(TcpStream, Arc<Path>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let path = Arc::new(Path::default());
    let (server, shared) = (ctx.server, path.clone());
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let accepted = tokio::time::timeout(Duration::from_secs(5), listener.accept()).await;
        let Ok(Ok((client, _))) = accepted else {
            return;
        };
        drop(listener);
        let Ok(upstream) = connect_to(server).await else {
            return;
        };
        let _ = client.set_nodelay(true);
        ctx.stats.count(fault.counter());
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = upstream.into_split();
        tokio::spawn(pump(client_read, server_write, fault, true, shared.clone()));
        tokio::spawn(pump(server_read, client_write, fault, false, shared));
    });
    let tcp = connect_to(addr).await?;
    Ok((tcp, path))
}

/// One direction of the proxy (`upstream`: towards the server).
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    fault: Fault,
    upstream: bool,
    path: Arc<Path>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut stalled = false;
    loop {
        if path.was_reset() {
            return;
        }
        // Short reads, so that a reset by the other direction is seen.
        let n = match tokio::time::timeout(Duration::from_millis(100), from.read(&mut buf)).await {
            Err(_) => continue,
            Ok(Ok(0)) | Ok(Err(_)) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(Ok(n)) => n,
        };
        let total = path.bytes.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        let written = match fault {
            Fault::Delay(delay) => {
                tokio::time::sleep(delay).await;
                to.write_all(&buf[..n]).await
            }
            Fault::Split if upstream => split(&mut to, &buf[..n]).await,
            Fault::Split => to.write_all(&buf[..n]).await,
            Fault::Stall(at, pause, towards_server) => {
                if !stalled && total >= at && towards_server == upstream {
                    stalled = true;
                    tokio::time::sleep(pause).await;
                }
                to.write_all(&buf[..n]).await
            }
            Fault::Reset(at) => {
                if total >= at {
                    // A cut at a random byte: part of this chunk goes through.
                    let keep = n.saturating_sub((total - at) as usize);
                    let _ = to.write_all(&buf[..keep]).await;
                    path.reset.store(true, Ordering::Relaxed);
                    let _ = from.as_ref().set_zero_linger();
                    let _ = to.as_ref().set_zero_linger();
                    return;
                }
                to.write_all(&buf[..n]).await
            }
        };
        if written.is_err() {
            return;
        }
    }
}

async fn split(to: &mut OwnedWriteHalf, bytes: &[u8]) -> io::Result<()> {
    for byte in bytes {
        to.write_all(std::slice::from_ref(byte)).await?;
    }
    Ok(())
}
