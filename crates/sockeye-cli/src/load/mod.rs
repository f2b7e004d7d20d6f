//! `sockeye load`: a load generator for WebSocket echo servers.
//!
//! Each connection keeps WINDOW messages in flight. The frames are prepared
//! once (masked by a client engine) and the same bytes are written again and
//! again, several frames per write. Replies are parsed by the engine's
//! [`Connection`] reading straight from the socket into its buffer, and each
//! reply's round-trip time (replies come back in order) goes into a
//! histogram.

mod report;

use std::collections::VecDeque;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use hdrhistogram::Histogram;
use sockeye::{Config, Connection, Event, Role};
use sockeye_io::driver::Clock;
use sockeye_tokio::TokioClock;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Semaphore;

use crate::upgrade;
use report::Summary;
use sockeye_io::ClientOptions;

/// Generate load against an echo server and report rate and latency.
///
/// Opens CONNECTIONS connections to URL (an echo server such as
/// `sockeye echo`), each keeping WINDOW messages of SIZE bytes in flight for
/// DURATION, then prints a summary: messages per second, payload megabytes
/// per second (received, 1 MB = 10^6 bytes), round-trip latency p50, p99 and
/// p99.9, and errors. A live progress line is shown on stderr when it is a
/// terminal.
///
/// With --json the summary is also printed on stdout as one JSON object (the
/// human-readable summary then goes to stderr):
///   {"url","connections","size","window","binary","duration_secs",
///    "elapsed_secs","messages","messages_per_sec","bytes","mb_per_sec",
///    "latency_us":{"p50","p99","p999","max","mean"},"errors"}
///
/// Exit status: 0 when every connection ran without error, 1 otherwise.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The echo server's URL (ws://).
    pub url: String,

    /// Connections to open.
    #[arg(short, long, value_name = "CONNECTIONS", default_value_t = 16)]
    pub connections: usize,

    /// Payload size of each message, in bytes (suffixes k and m: 1024 and 1024²).
    #[arg(short, long, value_name = "SIZE", default_value = "64", value_parser = parse_size)]
    pub size: usize,

    /// Messages in flight per connection.
    #[arg(short, long, value_name = "WINDOW", default_value_t = 16)]
    pub window: usize,

    /// How long to send, such as 10, 10s, 500ms or 1m.
    #[arg(short, long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Send binary messages instead of text.
    #[arg(long)]
    pub binary: bool,

    /// Also print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn parse_size(raw: &str) -> Result<usize, String> {
    let lower = raw.trim().to_ascii_lowercase();
    let (digits, factor) = if let Some(digits) = lower.strip_suffix('k') {
        (digits, 1 << 10)
    } else if let Some(digits) = lower.strip_suffix('m') {
        (digits, 1 << 20)
    } else {
        (lower.as_str(), 1)
    };
    digits
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("`{raw}` is not a size like 64, 16k or 1m"))
}

fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (number, unit) = if let Some(n) = raw.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = raw.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = raw.strip_suffix('m') {
        (n, 60.0)
    } else {
        (raw, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration like 10, 10s, 500ms or 1m"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("`{raw}` is not a positive duration"));
    }
    Ok(Duration::from_secs_f64(value * unit))
}

/// Counters shared by every connection, read by the progress line.
#[derive(Default)]
struct Counters {
    messages: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
}

/// What one connection measured.
struct Outcome {
    histogram: Histogram<u64>,
    error: Option<String>,
}

fn new_histogram() -> Histogram<u64> {
    // Microseconds, from 1 µs to 10 min, three significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// Run `sockeye load`.
pub async fn run(args: Args) -> Result<ExitCode, String> {
    if args.connections == 0 || args.window == 0 {
        return Err("--connections and --window must be at least 1".into());
    }
    let frames = Arc::new(prepare_frames(args.size, args.window, args.binary));
    let counters = Arc::new(Counters::default());
    let progress = report::progress(args.duration);
    let started = Instant::now();
    let stop_at = started + args.duration;

    let mut tasks = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let url = args.url.clone();
        let frames = frames.clone();
        let counters = counters.clone();
        let (size, window, binary) = (args.size, args.window, args.binary);
        tasks.push(tokio::spawn(async move {
            let mut histogram = new_histogram();
            let error = run_connection(
                &url,
                &frames,
                size,
                window,
                binary,
                stop_at,
                &counters,
                &mut histogram,
            )
            .await
            .err();
            if error.is_some() {
                counters.errors.fetch_add(1, Ordering::Relaxed);
            }
            Outcome { histogram, error }
        }));
    }

    let ticker = {
        let counters = counters.clone();
        let progress = progress.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(200));
            loop {
                every.tick().await;
                report::update(&progress, &counters_snapshot(&counters), started.elapsed());
            }
        })
    };

    let mut histogram = new_histogram();
    let mut first_errors = Vec::new();
    for task in tasks {
        match task.await {
            Ok(outcome) => {
                let _ = histogram.add(&outcome.histogram);
                if let Some(error) = outcome.error {
                    first_errors.push(error);
                }
            }
            Err(error) => first_errors.push(format!("connection task failed: {error}")),
        }
    }
    ticker.abort();
    progress.finish_and_clear();
    let elapsed = started.elapsed();

    let snapshot = counters_snapshot(&counters);
    let summary = Summary::new(&args, elapsed, snapshot, &histogram);
    for error in first_errors.iter().take(5) {
        eprintln!("sockeye load: {error}");
    }
    if first_errors.len() > 5 {
        eprintln!(
            "sockeye load: ... and {} more errors",
            first_errors.len() - 5
        );
    }
    if args.json {
        eprint!("{}", summary.human());
        println!("{}", summary.json());
    } else {
        print!("{}", summary.human());
    }
    Ok(if summary.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// (messages, bytes, errors) so far.
fn counters_snapshot(counters: &Counters) -> (u64, u64, u64) {
    (
        counters.messages.load(Ordering::Relaxed),
        counters.bytes.load(Ordering::Relaxed),
        counters.errors.load(Ordering::Relaxed),
    )
}

/// `window` copies of one masked frame carrying `size` bytes, back to back,
/// so that writing `n` frames is writing the first `n * frame_len` bytes.
struct Frames {
    batch: Bytes,
    frame_len: usize,
}

fn prepare_frames(size: usize, window: usize, binary: bool) -> Frames {
    // Printable ASCII, so the text variant is valid UTF-8.
    let payload: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut client = Connection::new(Role::Client, Config::default(), Duration::ZERO);
    let queued = if binary {
        client.send_binary(payload)
    } else {
        client.send_text(String::from_utf8(payload).unwrap_or_default())
    };
    queued.expect("a fresh connection accepts a message");
    let mut frame = Vec::new();
    while let Some(run) = client.poll_transmit() {
        frame.extend_from_slice(&run);
    }
    let frame_len = frame.len();
    let mut batch = BytesMut::with_capacity(frame_len * window);
    for _ in 0..window {
        batch.extend_from_slice(&frame);
    }
    Frames {
        batch: batch.freeze(),
        frame_len,
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_connection(
    url: &str,
    frames: &Frames,
    size: usize,
    window: usize,
    binary: bool,
    stop_at: Instant,
    counters: &Counters,
    histogram: &mut Histogram<u64>,
) -> Result<(), String> {
    let clock = TokioClock::new();
    let mut config = Config::default();
    config.max_message_size = (size as u64).max(1 << 20);
    config.max_frame_size = (size as u64).max(1 << 20);
    let (stream, established) = upgrade::dial(url, &ClientOptions::new(), config, &clock)
        .await
        .map_err(crate::connect::describe)?;
    let conn = established.into_connection(clock.now());
    let (reader, writer) = stream.into_split();

    let credits = Arc::new(Semaphore::new(window));
    let sent_at: Arc<Mutex<VecDeque<Instant>>> =
        Arc::new(Mutex::new(VecDeque::with_capacity(window)));

    let write_side = {
        let credits = credits.clone();
        let sent_at = sent_at.clone();
        let batch = frames.batch.clone();
        let frame_len = frames.frame_len;
        async move {
            write_loop(
                writer, &batch, frame_len, window, stop_at, &credits, &sent_at,
            )
            .await
        }
    };
    let read_side = read_loop(
        reader, conn, size, binary, stop_at, &credits, &sent_at, counters, histogram,
    );
    let (written, read) = tokio::join!(write_side, read_side);
    let mut writer = written?;
    let (reader, mut conn) = read?;

    // Close politely: our close frame, then the server's, bounded.
    let _ = conn.close(clock.now(), sockeye::CloseCode::NORMAL, "");
    while let Some(run) = conn.poll_transmit() {
        writer
            .write_all(&run)
            .await
            .map_err(|error| format!("writing the close frame: {error}"))?;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            if reader.readable().await.is_err() {
                return;
            }
            match conn.receive_with(|buf| reader.try_read_buf(buf)) {
                Ok(0) => return,
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => return,
            }
            while let Some(event) = conn.poll_event() {
                if matches!(event, Event::Close(_) | Event::Failed(_)) {
                    return;
                }
            }
        }
    })
    .await;
    let _ = writer.shutdown().await;
    Ok(())
}

/// Write frames whenever credits (free window slots) are available, as many
/// as are free in one write, until `stop_at`.
async fn write_loop(
    mut writer: OwnedWriteHalf,
    batch: &[u8],
    frame_len: usize,
    window: usize,
    stop_at: Instant,
    credits: &Semaphore,
    sent_at: &Mutex<VecDeque<Instant>>,
) -> Result<OwnedWriteHalf, String> {
    loop {
        let first = tokio::select! {
            permit = credits.acquire() => permit.map_err(|_| "window closed".to_string())?,
            () = tokio::time::sleep_until(stop_at.into()) => break,
        };
        first.forget();
        let mut n = 1;
        while n < window {
            match credits.try_acquire() {
                Ok(permit) => {
                    permit.forget();
                    n += 1;
                }
                Err(_) => break,
            }
        }
        let now = Instant::now();
        if now >= stop_at {
            break;
        }
        {
            let mut queue = sent_at.lock().unwrap_or_else(|p| p.into_inner());
            queue.extend(std::iter::repeat_n(now, n));
        }
        writer
            .write_all(&batch[..n * frame_len])
            .await
            .map_err(|error| format!("writing: {error}"))?;
    }
    Ok(writer)
}

/// Parse replies until every message sent has come back after `stop_at`.
#[allow(clippy::too_many_arguments)]
async fn read_loop(
    reader: OwnedReadHalf,
    mut conn: Connection,
    size: usize,
    binary: bool,
    stop_at: Instant,
    credits: &Semaphore,
    sent_at: &Mutex<VecDeque<Instant>>,
    counters: &Counters,
    histogram: &mut Histogram<u64>,
) -> Result<(OwnedReadHalf, Connection), String> {
    // Replies still in flight at the end get this long to arrive.
    let drain_deadline = stop_at + Duration::from_secs(5);
    loop {
        // Parse what is buffered first: the handshake may have brought some.
        while let Some(event) = conn.poll_event() {
            let (is_binary, len) = match event {
                Event::Text(text) => (false, text.len()),
                Event::Binary(data) => (true, data.len()),
                Event::Ping(_) | Event::Pong(_) => continue,
                Event::Close(frame) => {
                    return Err(format!("the server closed the connection: {frame:?}"));
                }
                Event::Failed(error) => return Err(format!("protocol error: {error}")),
                other => return Err(format!("unexpected event {other:?}")),
            };
            if is_binary != binary || len != size {
                return Err(format!(
                    "the echo differs: got {len} bytes ({}), sent {size}",
                    if is_binary { "binary" } else { "text" }
                ));
            }
            let sent = sent_at
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front()
                .ok_or("a reply to a message never sent")?;
            let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
            histogram.saturating_record(micros.max(1));
            counters.messages.fetch_add(1, Ordering::Relaxed);
            counters.bytes.fetch_add(len as u64, Ordering::Relaxed);
            credits.add_permits(1);
        }
        let now = Instant::now();
        if now >= stop_at {
            let outstanding = sent_at.lock().unwrap_or_else(|p| p.into_inner()).len();
            if outstanding == 0 {
                break;
            }
            if now >= drain_deadline {
                return Err(format!("{outstanding} replies missing after the run"));
            }
        }
        let wait = if now >= stop_at {
            drain_deadline
        } else {
            stop_at
        };
        tokio::select! {
            ready = reader.readable() => ready.map_err(|error| format!("reading: {error}"))?,
            // Wake at the end of the run to check whether anything is still owed.
            () = tokio::time::sleep_until(wait.into()) => continue,
        }
        match conn.receive_with(|buf| reader.try_read_buf(buf)) {
            Ok(0) => return Err("the server closed the TCP connection".into()),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(format!("reading: {error}")),
        }
    }
    Ok((reader, conn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_and_durations() {
        assert_eq!(parse_size("64"), Ok(64));
        assert_eq!(parse_size("16k"), Ok(16 << 10));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert!(parse_size("x").is_err());
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("0").is_err());
    }

    #[test]
    fn prepares_identical_masked_frames_back_to_back() {
        let frames = prepare_frames(200, 3, false);
        // 2 header bytes + 2 extended length + 4 mask key + 200 payload.
        assert_eq!(frames.frame_len, 208);
        assert_eq!(frames.batch.len(), 3 * 208);
        assert_eq!(frames.batch[0], 0x81);
        assert_eq!(frames.batch[1], 0x80 | 126);
        assert_eq!(&frames.batch[..208], &frames.batch[208..416]);
        let mut server = Connection::new(Role::Server, Config::default(), Duration::ZERO);
        server.receive(&frames.batch);
        for _ in 0..3 {
            match server.poll_event() {
                Some(Event::Text(text)) => assert!(text.as_str().starts_with("abcdef")),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
