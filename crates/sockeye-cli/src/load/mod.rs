//! `sockeye load`: a load generator for WebSocket echo servers.
//!
//! Three modes: echo load (the default, [`echo`]), handshakes per second
//! ([`handshakes`]) and idle connections held open ([`idle`]), the last for
//! measuring a server's memory per connection.

mod echo;
mod handshakes;
mod idle;
mod report;

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use sockeye::Config;
use sockeye_io::ClientOptions;
use sockeye_io::driver::Clock;
use sockeye_tokio::TokioClock;
use tokio::net::TcpStream;

use crate::duration::parse_duration;
use crate::upgrade;
use report::Summary;

/// Generate load against an echo server and report rate and latency.
///
/// Opens CONNECTIONS connections to URL (an echo server such as
/// `sockeye echo`), each keeping WINDOW messages of SIZE bytes in flight for
/// DURATION, then prints a summary: messages per second, payload megabytes
/// per second (received, 1 MB = 10^6 bytes), round-trip latency p50, p99 and
/// p99.9, and errors. A live progress line is shown on stderr when it is a
/// terminal. The driver is meant to be cheaper than the server it measures:
/// the masked frames are prepared once and rewritten as they are, each
/// connection writes every free window slot in one write and parses
/// everything one read brought before writing again.
///
/// With --handshakes, each connection instead connects, completes the
/// opening handshake and closes (close frame, the server's reply, TCP close)
/// again and again for DURATION; the rate is handshakes per second and the
/// latency that of connect + handshake.
///
/// With --idle, CONNECTIONS connections are opened and then hold still for
/// DURATION before closing; once they are all open, a line
/// `{"idle_connections":N}` is printed on stdout (with --json) or
/// `N idle connections open` on stderr, so that the server's memory can be
/// read meanwhile.
///
/// With --json the summary is also printed on stdout as one JSON object (the
/// human-readable summary then goes to stderr):
///   {"url","mode","connections","size","window","binary","duration_secs",
///    "elapsed_secs","messages","messages_per_sec","bytes","mb_per_sec",
///    "handshakes","handshakes_per_sec",
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

    /// How long to send (or to hold the idle connections), such as 10, 10s,
    /// 500ms or 1m.
    #[arg(short, long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Send binary messages instead of text.
    #[arg(long)]
    pub binary: bool,

    /// Measure opening handshakes per second instead of echoes.
    #[arg(long, conflicts_with = "idle")]
    pub handshakes: bool,

    /// Open the connections and hold them idle instead of sending.
    #[arg(long)]
    pub idle: bool,

    /// The server is a raw TCP echo, not a WebSocket server (the benchmarks'
    /// floor): skip the opening handshake, send the same masked frames and
    /// count every frame's length of bytes returned as one reply, unchecked.
    #[arg(long, conflicts_with_all = ["handshakes", "idle"])]
    pub raw_echo: bool,

    /// Also print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    fn mode(&self) -> &'static str {
        if self.handshakes {
            "handshakes"
        } else if self.idle {
            "idle"
        } else {
            "echo"
        }
    }
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

/// Counters shared by every connection, read by the progress line. Each
/// connection adds once per batch of replies, not once per message.
#[derive(Default)]
struct Counters {
    messages: AtomicU64,
    bytes: AtomicU64,
    handshakes: AtomicU64,
    errors: AtomicU64,
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    messages: u64,
    bytes: u64,
    handshakes: u64,
    errors: u64,
}

impl Counters {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            messages: self.messages.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            handshakes: self.handshakes.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

/// What one connection (or one handshaking task) measured.
struct Outcome {
    histogram: Histogram<u64>,
    error: Option<String>,
}

fn new_histogram() -> Histogram<u64> {
    // Microseconds, from 1 µs to 10 min, three significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// The engine limits of the driver's client connections: large enough for
/// the messages it sends.
fn client_config(size: usize) -> Config {
    let mut config = Config::default();
    config.max_message_size = (size as u64).max(1 << 20);
    config.max_frame_size = (size as u64).max(1 << 20);
    config
}

/// Connect and complete the opening handshake.
async fn open(
    url: &str,
    config: Config,
    clock: &TokioClock,
) -> Result<(TcpStream, sockeye::Connection), String> {
    let (stream, established) = upgrade::dial(url, &ClientOptions::new(), config, clock)
        .await
        .map_err(crate::connect::describe)?;
    Ok((stream, established.into_connection(clock.now())))
}

/// Run `sockeye load`.
pub async fn run(args: Args) -> Result<ExitCode, String> {
    if args.connections == 0 || args.window == 0 {
        return Err("--connections and --window must be at least 1".into());
    }
    let counters = std::sync::Arc::new(Counters::default());
    let progress = report::progress(args.duration);
    let started = std::time::Instant::now();
    let ticker = {
        let counters = counters.clone();
        let progress = progress.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(200));
            loop {
                every.tick().await;
                report::update(&progress, &counters.snapshot(), started.elapsed());
            }
        })
    };

    let (outcomes, elapsed) = if args.handshakes {
        handshakes::run(&args, &counters).await
    } else if args.idle {
        idle::run(&args, &counters).await
    } else {
        echo::run(&args, &counters).await
    };
    ticker.abort();
    progress.finish_and_clear();

    let mut histogram = new_histogram();
    let mut errors = Vec::new();
    for outcome in outcomes {
        let _ = histogram.add(&outcome.histogram);
        errors.extend(outcome.error);
    }
    let summary = Summary::new(&args, elapsed, counters.snapshot(), &histogram);
    for error in errors.iter().take(5) {
        eprintln!("sockeye load: {error}");
    }
    if errors.len() > 5 {
        eprintln!("sockeye load: ... and {} more errors", errors.len() - 5);
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

/// Wait for spawned connection tasks and collect what they measured.
async fn collect(
    tasks: Vec<tokio::task::JoinHandle<Outcome>>,
    counters: &Counters,
) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        let outcome = task.await.unwrap_or_else(|error| Outcome {
            histogram: new_histogram(),
            error: Some(format!("connection task failed: {error}")),
        });
        if outcome.error.is_some() {
            counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        outcomes.push(outcome);
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("64"), Ok(64));
        assert_eq!(parse_size("16k"), Ok(16 << 10));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert!(parse_size("x").is_err());
    }
}
