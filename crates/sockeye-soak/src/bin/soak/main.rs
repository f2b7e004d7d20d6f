//! `soak`: the soak and fault-injection driver.
//!
//! ```text
//! cargo build -p sockeye-soak --bins [--release]
//! target/debug/soak [--duration 60s] [--server tokio|smol|std|mio|axum] [--seed N] [--report-every 60s]
//! ```
//!
//! Starts `soak-server-FLAVOUR` as a child on a free loopback port, then:
//! 1. warm-up (a tenth of the run, 5 to 30 s): the whole mix, then the
//!    server is left to settle and its idle memory, descriptors and
//!    clients are recorded;
//! 2. baseline (a sixth, 10 s to 2 min): well-behaved clients alone;
//! 3. mix (the rest): well-behaved clients, churn, abusive clients and
//!    clients behind the faulty proxy, all at once;
//! 4. drain: every client closes, the server settles, and its memory,
//!    descriptors and clients are compared with the idle level.
//!
//! A line of figures is printed every `--report-every` and at the end. The
//! run fails (exit status 1, each violation named) when a message on a
//! connection that stayed open was lost, duplicated, reordered or altered,
//! when a bad input was not refused with its close code, when a client was
//! held past the server's limits, when the server crashed, leaked (heap
//! bytes in use more than 10 % over idle, resident memory more than 10 % or
//! 2 MiB over idle, descriptors or clients above idle) or
//! when the well-behaved clients' p99 under the mix exceeded 3× the
//! baseline's (against a floor of 1 ms, below which timer noise rules).

mod abuse;
mod churn;
mod ctx;
mod good;
mod load_thread;
mod message;
mod proxy;
mod report;
mod rng;
mod server;
mod stats;
mod wire;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ctx::Ctx;
use rng::Rng;
use server::Server;
use stats::Phase;

/// The run's settings.
pub struct Options {
    pub duration: Duration,
    pub server: String,
    pub seed: u64,
    pub report_every: Duration,
    /// Well-behaved clients straight to the server.
    pub direct: usize,
    /// Well-behaved clients behind the faulty proxy.
    pub proxied: usize,
    /// Churned connections a second.
    pub churn: u64,
    /// Most the direct clients' p99 under the mix may be, as a multiple of
    /// the baseline's; 0 reports the ratio without judging it.
    pub latency_bound: u32,
    /// Abusive kinds left out (`--skip-abuse ping-flood,idle`), to find
    /// which one costs the well-behaved clients their latency.
    pub skip_abuse: Vec<String>,
}

fn usage() -> &'static str {
    "usage: soak [--duration 60s] [--server tokio|smol|std|mio|axum] [--seed N] [--report-every 60s]\n\
     \x20           [--direct 16] [--proxied 8] [--churn 20] [--latency-bound 3]\n\
     \x20           [--skip-abuse slow-reader,ping-flood,oversized,malformed,invalid-utf8,slowloris,idle]\n\
     durations take s, m or h (90s, 10m, 1h)"
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let number: u64 = number
        .parse()
        .map_err(|_| format!("bad duration {text:?}"))?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        _ => return Err(format!("bad duration {text:?}")),
    };
    Ok(Duration::from_secs(seconds))
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        duration: Duration::from_secs(60),
        server: "tokio".into(),
        seed: 1,
        report_every: Duration::from_secs(60),
        direct: 16,
        proxied: 8,
        churn: 20,
        latency_bound: 3,
        skip_abuse: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--duration" => options.duration = parse_duration(&value()?)?,
            "--server" => options.server = value()?,
            "--seed" => options.seed = value()?.parse().map_err(|_| "bad --seed")?,
            "--report-every" => options.report_every = parse_duration(&value()?)?,
            "--direct" => options.direct = value()?.parse().map_err(|_| "bad --direct")?,
            "--proxied" => options.proxied = value()?.parse().map_err(|_| "bad --proxied")?,
            "--churn" => options.churn = value()?.parse().map_err(|_| "bad --churn")?,
            "--latency-bound" => {
                options.latency_bound = value()?.parse().map_err(|_| "bad --latency-bound")?;
            }
            "--skip-abuse" => {
                for kind in value()?.split(',') {
                    let known = abuse::KINDS
                        .iter()
                        .any(|(name, _)| name.strip_prefix("abuse.") == Some(kind));
                    if !known {
                        return Err(format!("unknown abusive kind {kind:?}"));
                    }
                    options.skip_abuse.push(format!("abuse.{kind}"));
                }
            }
            "-h" | "--help" => return Err(usage().into()),
            other => return Err(format!("unexpected argument {other:?}\n{}", usage())),
        }
    }
    if !server::FLAVOURS.contains(&options.server.as_str()) {
        return Err(format!(
            "unknown server {:?}; one of {}",
            options.server,
            server::FLAVOURS.join(", ")
        ));
    }
    if options.duration < Duration::from_secs(20) {
        return Err("--duration must be at least 20s".into());
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let abuse_runtime = load_thread::start();
    match runtime.block_on(run(options, abuse_runtime)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("soak FAILED: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options, abuse_runtime: tokio::runtime::Handle) -> Result<(), String> {
    let server = Server::start(&options.server)?;
    let broadcast = options.server != "std";
    let ctx = Arc::new(Ctx::new(server.addr, broadcast));
    println!(
        "soak: server {} (pid {}) on {}, seed {}, duration {:?}{}",
        options.server,
        server.pid(),
        server.addr,
        options.seed,
        options.duration,
        if broadcast {
            ""
        } else {
            " (no broadcast: the blocking server has none)"
        }
    );
    let started = server.sample();
    let total = options.duration.as_secs();
    let warm_up = Duration::from_secs((total / 10).clamp(5, 30));
    let baseline = Duration::from_secs((total / 6).clamp(10, 120));
    let mix = options.duration.saturating_sub(warm_up + baseline);
    let mut reporter = report::Reporter::new(&options);

    ctx.set_phase(Phase::WarmUp);
    load(
        &ctx,
        &server,
        &options,
        &mut reporter,
        &abuse_runtime,
        warm_up,
        true,
    )
    .await;
    let idle = server.settle(started.fds, Duration::from_secs(30)).await;
    reporter.line("idle after warm-up", &ctx, &idle);

    ctx.set_phase(Phase::Baseline);
    load(
        &ctx,
        &server,
        &options,
        &mut reporter,
        &abuse_runtime,
        baseline,
        false,
    )
    .await;
    ctx.set_phase(Phase::Mix);
    load(
        &ctx,
        &server,
        &options,
        &mut reporter,
        &abuse_runtime,
        mix,
        true,
    )
    .await;
    ctx.set_phase(Phase::Drain);
    let after = server.settle(idle.fds, Duration::from_secs(45)).await;
    reporter.line("idle after the load", &ctx, &after);

    let crashed = server.has_exited();
    let stopped_running = server.stop();
    report::finish(&ctx, &options, &idle, &after, crashed || !stopped_running)
}

/// The direct clients and the publisher, whose latencies are the ones
/// reported, on a thread and runtime of their own: what they measure is the
/// server's delay, not the wait for the driver's other tasks (the proxy
/// alone writes some messages a byte at a time).
fn measured_clients(
    ctx: &Arc<Ctx>,
    options: &Options,
    mut rng: Rng,
) -> std::thread::JoinHandle<()> {
    let ctx = ctx.clone();
    let direct = options.direct;
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(async {
            let mut tasks = Vec::new();
            for _ in 0..direct {
                tasks.push(tokio::spawn(good::direct(ctx.clone(), rng.fork())));
            }
            if ctx.broadcast {
                tasks.push(tokio::spawn(good::publisher(ctx.clone(), rng.fork())));
            }
            for task in tasks {
                let _ = task.await;
            }
        });
    })
}

/// Run the load for `duration` (with churn, abuse and faults when `abuse`,
/// on `abuse_runtime`: see [`load_thread`]), reporting on the way, then
/// stop it and wait for every client.
async fn load(
    ctx: &Arc<Ctx>,
    server: &Server,
    options: &Options,
    reporter: &mut report::Reporter,
    abuse_runtime: &tokio::runtime::Handle,
    duration: Duration,
    abuse: bool,
) {
    ctx.set_stopping(false);
    ctx.set_abuse(abuse);
    let phase = ctx.phase() as u64;
    let mut rng = Rng::new(options.seed, phase);
    let measured = measured_clients(ctx, options, rng.fork());
    let mut tasks = Vec::new();
    if abuse {
        for _ in 0..options.proxied {
            tasks.push(abuse_runtime.spawn(good::proxied(ctx.clone(), rng.fork())));
        }
        tasks.push(abuse_runtime.spawn(churn::run(ctx.clone(), rng.fork(), options.churn)));
        for (kind, slots) in abuse::KINDS {
            if options.skip_abuse.iter().any(|skip| skip == kind) {
                continue;
            }
            for _ in 0..slots {
                tasks.push(abuse_runtime.spawn(abuse::slot(ctx.clone(), kind, rng.fork())));
            }
        }
    }
    let end = Instant::now() + duration;
    while Instant::now() < end {
        let left = end - Instant::now();
        tokio::time::sleep(left.min(reporter.until_next())).await;
        if reporter.due() {
            reporter.line(&format!("{:?}", ctx.phase()), ctx, &server.sample());
        }
        if server.has_exited() {
            ctx.stats
                .violation("the server exited during the load".into());
            break;
        }
    }
    ctx.set_abuse(false);
    ctx.set_stopping(true);
    let stopped = Instant::now();
    while !measured.is_finished() && stopped.elapsed() < Duration::from_secs(90) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !measured.is_finished() {
        ctx.stats
            .violation("the direct clients did not finish within 90 s of the stop".into());
    }
    for task in tasks {
        if tokio::time::timeout(Duration::from_secs(90), task)
            .await
            .is_err()
        {
            ctx.stats
                .violation("a client task did not finish within 90 s of the stop".into());
        }
    }
}
