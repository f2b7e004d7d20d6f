//! Abusive clients: slow readers, ping floods, oversized, malformed and
//! invalid UTF-8 frames, slowloris handshakes and idle connections. Each
//! kind runs in its own slots, one connection after another, while abuse
//! is on; the server must refuse each with the right close code, or drop
//! it within its limits.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::ctx::{Ctx, nap};
use crate::rng::Rng;
use crate::wire::{self, BINARY, CLOSE, CONTINUATION, Incoming, MessageReader, PING, Reader, TEXT};

/// The abusive kinds and how many slots each runs in.
pub const KINDS: [(&str, usize); 7] = [
    ("abuse.slow-reader", 4),
    ("abuse.ping-flood", 2),
    ("abuse.oversized", 2),
    ("abuse.malformed", 4),
    ("abuse.invalid-utf8", 2),
    ("abuse.slowloris", 4),
    ("abuse.idle", 8),
];

/// How long past the server's limit a connection may linger before it
/// counts as held too long.
const SLACK: Duration = Duration::from_secs(10);

/// Run one slot of abusive `kind` while abuse is on.
pub async fn slot(ctx: Arc<Ctx>, kind: &'static str, mut rng: Rng) {
    while ctx.abusing() {
        let id = ctx.next_id();
        let result = match kind {
            "abuse.slow-reader" => slow_reader(&ctx, &mut rng).await,
            "abuse.ping-flood" => ping_flood(&ctx, &mut rng).await,
            "abuse.oversized" => oversized(&ctx, &mut rng).await,
            "abuse.malformed" => malformed(&ctx, &mut rng).await,
            "abuse.invalid-utf8" => invalid_utf8(&ctx, &mut rng).await,
            "abuse.slowloris" => slowloris(&ctx).await,
            _ => idle(&ctx).await,
        };
        match result {
            Ok(()) => ctx.stats.count(kind),
            Err(error) => ctx
                .stats
                .violation(format!("{kind} connection {id}: {error}")),
        }
        nap(&ctx, Duration::from_millis(rng.range(100, 1000))).await;
    }
}

async fn open(ctx: &Ctx) -> io::Result<(TcpStream, Vec<u8>)> {
    let mut tcp = ctx.connect().await?;
    let leftover = wire::handshake(&mut tcp, "/echo", Duration::from_secs(10)).await?;
    Ok((tcp, leftover))
}

/// Sends `bytes`, then expects the server to close with `code`, answering
/// nothing else first but pongs, broadcasts and pings.
async fn refused_with(ctx: &Ctx, bytes: &[u8], code: u16, what: &str) -> io::Result<()> {
    let (tcp, leftover) = open(ctx).await?;
    let (read, mut write) = tcp.into_split();
    write.write_all(bytes).await?;
    let mut messages = MessageReader::new(Reader::new(read, leftover));
    let limit = Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout(limit, messages.next())
            .await
            .map_err(|_| io::Error::other(format!("{what}: no close within 10 s")))?;
        match next {
            Ok(Incoming::Close(got)) if got == code => {
                ctx.stats.count("bad-input.refused");
                // Answer, and let the server end TCP.
                let _ = write.write_all(&wire::close(code, [1, 2, 3, 4])).await;
                let _ = tokio::time::timeout(limit, messages.next()).await;
                return Ok(());
            }
            Ok(Incoming::Close(got)) => {
                return Err(io::Error::other(format!(
                    "{what}: closed with {got}, not {code}"
                )));
            }
            Ok(Incoming::Message { payload, .. }) if payload.first() == Some(&b'B') => {}
            Ok(Incoming::Ping(_) | Incoming::Pong) => {}
            Ok(Incoming::Message { .. }) => {
                return Err(io::Error::other(format!("{what}: echoed")));
            }
            Ok(Incoming::Eof) | Err(_) => {
                return Err(io::Error::other(format!(
                    "{what}: connection ended without a close frame"
                )));
            }
        }
    }
}

async fn oversized(ctx: &Ctx, rng: &mut Rng) -> io::Result<()> {
    ctx.stats.count("bad-input.sent.oversized");
    // The header alone: the server must refuse before reading the payload.
    let length = sockeye_soak::MAX_MESSAGE + rng.range(1, 1 << 30);
    let opcode = if rng.chance(50) { TEXT } else { BINARY };
    let bytes = wire::header(true, opcode, length, rng.mask());
    refused_with(ctx, &bytes, 1009, "an oversized frame").await
}

async fn malformed(ctx: &Ctx, rng: &mut Rng) -> io::Result<()> {
    let mask = rng.mask();
    let (what, bytes): (&str, Vec<u8>) = match rng.range(0, 8) {
        0 => (
            "a reserved opcode",
            wire::frame(true, 0, 0x3, b"x", Some(mask)),
        ),
        1 => (
            "RSV1 without an extension",
            wire::frame(true, 0x40, TEXT, b"x", Some(mask)),
        ),
        2 => ("an unmasked frame", wire::frame(true, 0, TEXT, b"x", None)),
        3 => ("a 126-byte ping", wire::masked(PING, &[0; 126], mask)),
        4 => (
            "a fragmented ping",
            wire::frame(false, 0, PING, b"x", Some(mask)),
        ),
        5 => (
            "a lone continuation",
            wire::masked(CONTINUATION, b"x", mask),
        ),
        6 => ("a one-byte close payload", wire::masked(CLOSE, &[3], mask)),
        _ => ("close code 999", wire::close(999, mask)),
    };
    ctx.stats.count("bad-input.sent.malformed");
    refused_with(ctx, &bytes, 1002, what).await
}

async fn invalid_utf8(ctx: &Ctx, rng: &mut Rng) -> io::Result<()> {
    let mask = rng.mask();
    let bytes = if rng.chance(50) {
        wire::masked(TEXT, b"valid, then \xC3\x28", mask)
    } else {
        // Split inside a four-byte sequence, whose end is wrong.
        let mut bytes = wire::frame(false, 0, TEXT, b"ok \xF0\x9F", Some(mask));
        bytes.extend(wire::frame(true, 0, CONTINUATION, b"\x98\x41", Some(mask)));
        bytes
    };
    ctx.stats.count("bad-input.sent.invalid-utf8");
    refused_with(ctx, &bytes, 1007, "invalid UTF-8").await
}

/// 1,000 pings in one write, a few times, reading what comes back; the
/// server may answer each or drop the client, but must stay up.
async fn ping_flood(ctx: &Ctx, rng: &mut Rng) -> io::Result<()> {
    let (tcp, leftover) = open(ctx).await?;
    let (read, mut write) = tcp.into_split();
    let mut messages = MessageReader::new(Reader::new(read, leftover));
    for _ in 0..rng.range(1, 6) {
        let mut burst = Vec::with_capacity(1000 * 22);
        for _ in 0..1000 {
            burst.extend(wire::masked(PING, b"flood-flood-", rng.mask()));
        }
        if write.write_all(&burst).await.is_err() {
            return Ok(());
        }
        ctx.stats.add("bad-input.sent.ping", 1000);
        let mut pongs = 0;
        while pongs < 1000 {
            match tokio::time::timeout(Duration::from_secs(10), messages.next()).await {
                Ok(Ok(Incoming::Pong)) => pongs += 1,
                Ok(Ok(Incoming::Close(_) | Incoming::Eof)) | Ok(Err(_)) => return Ok(()),
                Ok(Ok(_)) => {}
                Err(_) => return Err(io::Error::other("pongs stopped for 10 s")),
            }
        }
    }
    let _ = write.write_all(&wire::close(1000, rng.mask())).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(incoming) = messages.next().await {
            if matches!(incoming, Incoming::Eof) {
                break;
            }
        }
    })
    .await;
    Ok(())
}

/// Sends 64 KiB messages without ever reading, until the server stops
/// taking them, then holds the connection a while and resets it.
async fn slow_reader(ctx: &Ctx, rng: &mut Rng) -> io::Result<()> {
    let (mut tcp, _) = open(ctx).await?;
    let payload = vec![b'x'; 64 * 1024];
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let frame = wire::masked(BINARY, &payload, rng.mask());
        match tokio::time::timeout(Duration::from_secs(2), tcp.write_all(&frame)).await {
            Ok(Ok(())) => ctx.stats.count("bad-input.sent.unread"),
            // Stalled: the server stopped reading, as it should.
            Err(_) => break,
            // The server dropped us.
            Ok(Err(_)) => return Ok(()),
        }
    }
    tokio::time::sleep(Duration::from_millis(rng.range(1000, 15_000))).await;
    tcp.set_zero_linger()?;
    Ok(())
}

/// The upgrade request a byte every half second: the server must drop it
/// within its handshake timeout.
async fn slowloris(ctx: &Ctx) -> io::Result<()> {
    let mut tcp = ctx.connect().await?;
    let request = wire::upgrade_request("/echo");
    let start = Instant::now();
    let limit = sockeye_soak::HANDSHAKE_TIMEOUT + SLACK;
    ctx.stats.count("bad-input.sent.slowloris");
    for byte in &request {
        if tcp.write_all(std::slice::from_ref(byte)).await.is_err() {
            return Ok(());
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(()),
            // A 408 or the like, then the end.
            Ok(Ok(_)) => {}
            Err(_) => {}
        }
        if start.elapsed() > limit {
            return Err(io::Error::other(format!(
                "a slowloris handshake was held {:?}, past the {:?} handshake timeout",
                start.elapsed(),
                sockeye_soak::HANDSHAKE_TIMEOUT
            )));
        }
    }
    Err(io::Error::other(
        "the whole request went through a byte at a time",
    ))
}

/// Upgraded, then silent (no pong either): the heartbeat must drop it.
async fn idle(ctx: &Ctx) -> io::Result<()> {
    let (tcp, leftover) = open(ctx).await?;
    let (read, _write) = tcp.into_split();
    let mut messages = MessageReader::new(Reader::new(read, leftover));
    let limit = sockeye_soak::HEARTBEAT_INTERVAL + sockeye_soak::HEARTBEAT_TIMEOUT + SLACK;
    let start = Instant::now();
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, messages.next()).await {
            Err(_) => {
                return Err(io::Error::other(format!(
                    "a silent client was held {limit:?}, past the heartbeat"
                )));
            }
            Ok(Ok(Incoming::Eof)) | Ok(Err(_)) => return Ok(()),
            Ok(Ok(_)) => {}
        }
    }
}
