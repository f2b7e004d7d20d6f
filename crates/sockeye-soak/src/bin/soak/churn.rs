//! Churn: connections opened and ended at a steady rate, each in one of
//! the ways a connection ends in the wild.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::ctx::{Ctx, nap};
use crate::message::{self, ECHO};
use crate::rng::Rng;
use crate::wire::{self, BINARY, Incoming, MessageReader, Reader};

/// The ways a churned connection ends.
const KINDS: [&str; 5] = [
    "churn.clean",
    "churn.reset",
    "churn.half-close",
    "churn.mid-handshake",
    "churn.mid-frame",
];

/// Most churned connections at once.
const AT_ONCE: usize = 64;

/// Open `per_second` connections a second while abuse is on, each ended
/// in a way drawn from `rng`.
pub async fn run(ctx: Arc<Ctx>, mut rng: Rng, per_second: u64) {
    let gap = Duration::from_micros(1_000_000 / per_second.max(1));
    let slots = Arc::new(Semaphore::new(AT_ONCE));
    while ctx.abusing() {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let kind = KINDS[rng.range(0, KINDS.len() as u64) as usize];
        let (ctx2, rng2) = (ctx.clone(), rng.fork());
        tokio::spawn(async move {
            let id = ctx2.next_id();
            match one(&ctx2, kind, id, rng2).await {
                Ok(()) => ctx2.stats.count(kind),
                Err(error) => ctx2
                    .stats
                    .violation(format!("{kind} connection {id}: {error}")),
            }
            drop(slot);
        });
        nap(&ctx, gap).await;
    }
    // Let the last ones finish.
    let _ = tokio::time::timeout(Duration::from_secs(30), slots.acquire_many(AT_ONCE as u32)).await;
}

async fn one(ctx: &Ctx, kind: &str, id: u64, mut rng: Rng) -> io::Result<()> {
    let mut tcp = ctx.connect().await?;
    if kind == "churn.mid-handshake" {
        let request = wire::upgrade_request("/echo");
        let cut = rng.range(1, request.len() as u64) as usize;
        tcp.write_all(&request[..cut]).await?;
        if rng.chance(50) {
            tcp.set_zero_linger()?;
        }
        return Ok(());
    }
    let leftover = wire::handshake(&mut tcp, "/echo", Duration::from_secs(10)).await?;
    match kind {
        "churn.clean" => clean(tcp, leftover, id, &mut rng).await,
        "churn.reset" => {
            let payload = message::payload(ECHO, id, 0, BINARY, 100);
            tcp.write_all(&wire::masked(BINARY, &payload, rng.mask()))
                .await?;
            tcp.set_zero_linger()?;
            Ok(())
        }
        "churn.half-close" => {
            tcp.shutdown().await?;
            // The server must end the connection on its own.
            let (read, _write) = tcp.into_split();
            let mut frames = MessageReader::new(Reader::new(read, leftover));
            let limit = Duration::from_secs(15);
            loop {
                match tokio::time::timeout(limit, frames.next()).await {
                    Err(_) => {
                        return Err(io::Error::other("a half-closed client was held 15 s"));
                    }
                    Ok(Ok(Incoming::Eof)) | Ok(Err(_)) => return Ok(()),
                    Ok(Ok(_)) => {}
                }
            }
        }
        _ => {
            // Mid-frame: a header announcing 1,000 bytes, and 100 of them.
            let mut bytes = wire::header(true, BINARY, 1000, rng.mask());
            bytes.extend_from_slice(&[0x55; 100]);
            tcp.write_all(&bytes).await?;
            if rng.chance(50) {
                tcp.set_zero_linger()?;
            }
            Ok(())
        }
    }
}

/// One echo, then the closing handshake with 1000, then the server's FIN.
async fn clean(tcp: TcpStream, leftover: Vec<u8>, id: u64, rng: &mut Rng) -> io::Result<()> {
    let (read, mut write) = tcp.into_split();
    let mut messages = MessageReader::new(Reader::new(read, leftover));
    let payload = message::payload(ECHO, id, 0, BINARY, 200);
    write
        .write_all(&wire::masked(BINARY, &payload, rng.mask()))
        .await?;
    let limit = Duration::from_secs(10);
    let mut echoed = false;
    let mut closing = false;
    loop {
        let next = tokio::time::timeout(limit, messages.next())
            .await
            .map_err(|_| io::Error::other("no answer within 10 s"))??;
        match next {
            // Broadcasts reach every client.
            Incoming::Message { payload: back, .. }
                if back.first() == Some(&message::BROADCAST) => {}
            Incoming::Message { payload: back, .. } if !echoed && back == payload => {
                echoed = true;
                write.write_all(&wire::close(1000, rng.mask())).await?;
                closing = true;
            }
            Incoming::Message { .. } => return Err(io::Error::other("a wrong echo")),
            Incoming::Ping(data) => {
                write
                    .write_all(&wire::masked(wire::PONG, &data, rng.mask()))
                    .await?;
            }
            Incoming::Pong => {}
            Incoming::Close(1000) if closing => {}
            Incoming::Close(code) => {
                return Err(io::Error::other(format!("closed with {code}")));
            }
            Incoming::Eof if closing => return Ok(()),
            Incoming::Eof => return Err(io::Error::other("EOF before the echo")),
        }
    }
}
