//! Well-behaved clients: steady echo traffic with a few messages in
//! flight, a broadcast publisher, and every client checking that each
//! message comes back exactly once, in order and unaltered.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Semaphore;

use crate::ctx::{ANSWER_LIMIT, Ctx, nap};
use crate::message::{self, BROADCAST, ECHO};
use crate::proxy::{self, Fault, Path};
use crate::rng::Rng;
use crate::wire::{self, BINARY, CONTINUATION, Incoming, MessageReader, PING, PONG, Reader, TEXT};

/// Echo messages in flight per client.
const WINDOW: usize = 4;

/// What a client does on its connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Echo traffic on `/echo`.
    Echo,
    /// Broadcasts on `/broadcast`.
    Publish,
}

/// A message sent and not yet echoed.
struct Sent {
    seq: u64,
    at: Instant,
    opcode: u8,
    payload: Vec<u8>,
}

/// A direct client: one connection for the whole phase, whose latencies
/// are the ones reported. Its connection must end only by its own clean
/// close.
pub async fn direct(ctx: Arc<Ctx>, mut rng: Rng) {
    run_one(&ctx, &mut rng, Role::Echo, None, None).await;
}

/// The broadcast publisher of a phase.
pub async fn publisher(ctx: Arc<Ctx>, mut rng: Rng) {
    run_one(&ctx, &mut rng, Role::Publish, None, None).await;
}

/// A client behind the faulty proxy: connection after connection, each
/// with a fault drawn from `rng` and a lifetime of a few seconds, while
/// abuse is on.
pub async fn proxied(ctx: Arc<Ctx>, mut rng: Rng) {
    while ctx.abusing() {
        let fault = Fault::draw(&mut rng);
        let lifetime = Duration::from_millis(rng.range(3_000, 15_000));
        run_one(&ctx, &mut rng, Role::Echo, Some(fault), Some(lifetime)).await;
    }
}

async fn run_one(
    ctx: &Arc<Ctx>,
    rng: &mut Rng,
    role: Role,
    fault: Option<Fault>,
    lifetime: Option<Duration>,
) {
    let id = ctx.next_id();
    let kind = match (role, fault) {
        (Role::Publish, _) => "publisher",
        (_, None) => "direct",
        (_, Some(_)) => "proxied",
    };
    let (mut tcp, path) = match fault {
        None => match ctx.connect().await {
            Ok(tcp) => (tcp, None),
            Err(error) => {
                ctx.stats
                    .violation(format!("{kind} client {id}: cannot connect: {error}"));
                return;
            }
        },
        Some(fault) => match proxy::connect(ctx, fault).await {
            Ok((tcp, path)) => (tcp, Some(path)),
            Err(error) => {
                ctx.stats.violation(format!(
                    "{kind} client {id}: cannot reach the proxy: {error}"
                ));
                return;
            }
        },
    };
    let reset = |path: &Option<Arc<Path>>| path.as_ref().is_some_and(|path| path.was_reset());
    let route = if role == Role::Publish {
        sockeye_soak::BROADCAST_PATH
    } else {
        "/echo"
    };
    let leftover = match wire::handshake(&mut tcp, route, Duration::from_secs(10)).await {
        Ok(leftover) => leftover,
        Err(_) if reset(&path) => {
            ctx.stats.count("closed.proxied.by-fault");
            return;
        }
        Err(error) => {
            ctx.stats
                .violation(format!("{kind} client {id}: handshake failed: {error}"));
            return;
        }
    };
    ctx.stats.count(match kind {
        "publisher" => "opened.publisher",
        "direct" => "opened.direct",
        _ => "opened.proxied",
    });
    let outcome = session(ctx, id, role, tcp, leftover, rng, lifetime, fault.is_none()).await;
    match outcome {
        Ok(()) => ctx.stats.count(match kind {
            "publisher" => "closed.publisher.clean",
            "direct" => "closed.direct.clean",
            _ => "closed.proxied.clean",
        }),
        Err(_) if reset(&path) => ctx.stats.count("closed.proxied.by-fault"),
        Err((reason, unanswered)) => {
            ctx.stats.add("msg.lost", unanswered);
            ctx.stats.violation(format!(
                "{kind} client {id} (fault {fault:?}) ended without a reset on its path: \
                 {reason}; {unanswered} messages unanswered"
            ));
        }
    }
}

/// How the reading half of a session ended.
struct ReadEnd {
    /// The server's close code, if a close frame came.
    close: Option<u16>,
    /// Why it ended otherwise (an error), if it did.
    error: Option<String>,
    /// Whether the close frame came before we started closing.
    server_first: bool,
}

/// One connection's traffic until the phase stops (or `lifetime` ends),
/// then a clean close. `Err` carries why the connection ended badly and
/// how many messages were left unanswered.
#[allow(clippy::too_many_arguments)]
async fn session(
    ctx: &Arc<Ctx>,
    id: u64,
    role: Role,
    tcp: TcpStream,
    leftover: Vec<u8>,
    rng: &mut Rng,
    lifetime: Option<Duration>,
    measure: bool,
) -> Result<(), (String, u64)> {
    let (read, write) = tcp.into_split();
    let write = Arc::new(tokio::sync::Mutex::new(write));
    let inflight = Arc::new(Mutex::new(VecDeque::<Sent>::new()));
    let window = Arc::new(Semaphore::new(WINDOW));
    let closing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = tokio::spawn(read_loop(
        ctx.clone(),
        id,
        Reader::new(read, leftover),
        write.clone(),
        inflight.clone(),
        window.clone(),
        closing.clone(),
        rng.fork(),
        measure,
    ));
    let start = Instant::now();
    let mut seq = 0u64;
    let mut failure = None;
    while !ctx.stopping() && lifetime.is_none_or(|limit| start.elapsed() < limit) {
        if role == Role::Publish {
            let payload = message::payload_of_broadcast(id, seq);
            let frame = wire::masked(BINARY, &payload, rng.mask());
            if let Err(error) = write.lock().await.write_all(&frame).await {
                failure = Some(format!("write failed: {error}"));
                break;
            }
            ctx.stats.count("broadcast.sent");
            seq += 1;
            nap(ctx, Duration::from_millis(50)).await;
            continue;
        }
        match tokio::time::timeout(ANSWER_LIMIT, window.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit.forget(),
            // The reader ended: the connection is gone.
            Ok(Err(_)) => break,
            Err(_) => {
                failure = Some(format!("no echo within {ANSWER_LIMIT:?}"));
                break;
            }
        }
        let opcode = if rng.chance(50) { TEXT } else { BINARY };
        let len = match rng.range(0, 100) {
            0..=79 => rng.range(0, 1024),
            80..=98 => rng.range(1024, 64 * 1024),
            _ => rng.range(64 * 1024, 512 * 1024),
        } as usize;
        // Through the proxy, a message may go a byte per write: the
        // driver's time, not the server's, would go into large ones.
        let len = if measure { len } else { len.min(16 * 1024) };
        let payload = message::payload(ECHO, id, seq, opcode, len);
        let bytes = encode(&payload, opcode, rng);
        inflight.lock().unwrap().push_back(Sent {
            seq,
            at: Instant::now(),
            opcode,
            payload,
        });
        if let Err(error) = write.lock().await.write_all(&bytes).await {
            failure = Some(format!("write failed: {error}"));
            break;
        }
        ctx.stats.count("msg.sent");
        seq += 1;
        nap(ctx, Duration::from_millis(rng.range(5, 30))).await;
    }
    // Drain: every message in flight must come back before the close.
    if failure.is_none() {
        let end = Instant::now() + ANSWER_LIMIT;
        while !inflight.lock().unwrap().is_empty() && !reader.is_finished() && Instant::now() < end
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        closing.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut write = write.lock().await;
        if let Err(error) = write.write_all(&wire::close(1000, rng.mask())).await {
            failure = Some(format!("writing the close frame failed: {error}"));
        }
    }
    let ended = tokio::time::timeout(ANSWER_LIMIT, reader).await;
    let unanswered = inflight.lock().unwrap().len() as u64;
    let end = match ended {
        Ok(Ok(end)) => end,
        Ok(Err(_)) => return Err(("the reader panicked".into(), unanswered)),
        Err(_) => return Err(("the close was not answered".into(), unanswered)),
    };
    if let Some(failure) = failure {
        let seen = format!(
            "{failure}; the reader saw close {:?} (server first: {}), error {:?}",
            end.close, end.server_first, end.error
        );
        return Err((seen, unanswered));
    }
    if let Some(error) = end.error {
        return Err((error, unanswered));
    }
    if end.server_first {
        return Err((
            format!("the server closed first with {:?}", end.close),
            unanswered,
        ));
    }
    if end.close != Some(1000) {
        return Err((
            format!("our close was answered with {:?}, not 1000", end.close),
            unanswered,
        ));
    }
    if unanswered > 0 {
        return Err(("closed with messages unanswered".into(), unanswered));
    }
    Ok(())
}

/// `payload` as one frame, or (one message in ten) as two or three
/// fragments with a ping between them.
fn encode(payload: &[u8], opcode: u8, rng: &mut Rng) -> Vec<u8> {
    if payload.len() < 64 || !rng.chance(10) {
        return wire::masked(opcode, payload, rng.mask());
    }
    let first = rng.range(1, payload.len() as u64 / 2) as usize;
    let second = rng.range(first as u64 + 1, payload.len() as u64) as usize;
    let mut out = wire::frame(false, 0, opcode, &payload[..first], Some(rng.mask()));
    out.extend(wire::masked(PING, b"between", rng.mask()));
    out.extend(wire::frame(
        false,
        0,
        CONTINUATION,
        &payload[first..second],
        Some(rng.mask()),
    ));
    out.extend(wire::frame(
        true,
        0,
        CONTINUATION,
        &payload[second..],
        Some(rng.mask()),
    ));
    out
}

#[allow(clippy::too_many_arguments)]
async fn read_loop(
    ctx: Arc<Ctx>,
    id: u64,
    frames: Reader<OwnedReadHalf>,
    write: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    inflight: Arc<Mutex<VecDeque<Sent>>>,
    window: Arc<Semaphore>,
    closing: Arc<std::sync::atomic::AtomicBool>,
    mut rng: Rng,
    measure: bool,
) -> ReadEnd {
    let mut messages = MessageReader::new(frames);
    let mut broadcasts: HashMap<u64, u64> = HashMap::new();
    let mut end = ReadEnd {
        close: None,
        error: None,
        server_first: false,
    };
    loop {
        let next = tokio::time::timeout(ANSWER_LIMIT, messages.next()).await;
        let incoming = match next {
            Err(_) => {
                end.error = Some(format!("nothing from the server for {ANSWER_LIMIT:?}"));
                break;
            }
            Ok(Err(error)) => {
                end.error = Some(format!("read failed: {error}"));
                break;
            }
            Ok(Ok(incoming)) => incoming,
        };
        match incoming {
            Incoming::Eof => {
                if end.close.is_none() {
                    end.error = Some("the server closed TCP without a close frame".into());
                }
                break;
            }
            Incoming::Close(code) => {
                end.close = Some(code);
                end.server_first = !closing.load(std::sync::atomic::Ordering::Relaxed);
                if end.server_first {
                    let frame = wire::close(code, rng.mask());
                    let _ = write.lock().await.write_all(&frame).await;
                }
            }
            Incoming::Ping(payload) => {
                let frame = wire::masked(PONG, &payload, rng.mask());
                let _ = write.lock().await.write_all(&frame).await;
            }
            Incoming::Pong => {}
            Incoming::Message { opcode, payload } => {
                check(
                    &ctx,
                    id,
                    opcode,
                    &payload,
                    &inflight,
                    &window,
                    &mut broadcasts,
                    measure,
                );
            }
        }
    }
    window.close();
    end
}

/// Check one message that came back.
#[allow(clippy::too_many_arguments)]
fn check(
    ctx: &Ctx,
    id: u64,
    opcode: u8,
    payload: &[u8],
    inflight: &Mutex<VecDeque<Sent>>,
    window: &Semaphore,
    broadcasts: &mut HashMap<u64, u64>,
    measure: bool,
) {
    let stats = &ctx.stats;
    match message::parse(payload) {
        Some((BROADCAST, publisher, seq)) => {
            if !message::is_broadcast(payload, opcode, publisher, seq) {
                stats.count("broadcast.corrupted");
                stats.violation(format!(
                    "client {id}: broadcast {publisher}/{seq} corrupted"
                ));
                return;
            }
            match broadcasts.insert(publisher, seq) {
                Some(last) if seq == last + 1 => stats.count("broadcast.verified"),
                None => stats.count("broadcast.verified"),
                Some(last) if seq <= last => {
                    stats.count("broadcast.duplicated-or-reordered");
                    stats.violation(format!(
                        "client {id}: broadcast {publisher}/{seq} after {last}"
                    ));
                }
                Some(last) => {
                    stats.add("broadcast.lost", seq - last - 1);
                    stats.violation(format!(
                        "client {id}: broadcasts {publisher}/{}..{seq} missing",
                        last + 1
                    ));
                }
            }
        }
        Some((ECHO, from, seq)) if from == id => {
            let mut inflight = inflight.lock().unwrap();
            let Some(front) = inflight.front() else {
                stats.count("msg.duplicated");
                stats.violation(format!("client {id}: echo {seq} with nothing in flight"));
                return;
            };
            if seq < front.seq {
                stats.count("msg.duplicated");
                stats.violation(format!("client {id}: echo {seq} again"));
                return;
            }
            if seq > front.seq {
                stats.count("msg.reordered");
                stats.violation(format!("client {id}: echo {seq} before echo {}", front.seq));
                return;
            }
            let sent = inflight.pop_front().expect("front exists");
            drop(inflight);
            window.add_permits(1);
            if sent.opcode != opcode || sent.payload != payload {
                stats.count("msg.corrupted");
                stats.violation(format!("client {id}: echo {seq} altered"));
                return;
            }
            stats.count("msg.verified");
            if measure {
                stats.latency(ctx.phase(), sent.at.elapsed());
            }
        }
        _ => {
            stats.count("msg.corrupted");
            stats.violation(format!(
                "client {id}: a message that is neither its echo nor a broadcast ({} bytes)",
                payload.len()
            ));
        }
    }
}
