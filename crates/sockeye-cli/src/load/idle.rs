//! Idle connections: open them all, announce it, hold them still.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::{Args, Counters, Outcome, client_config, new_histogram, open};

/// Handshakes under way at once while opening; enough to open thousands of
/// connections quickly without overflowing the server's accept backlog.
const OPENING_AT_ONCE: usize = 64;

/// Open CONNECTIONS connections, report when they are all open, keep them
/// for DURATION, then drop them. The connections are not read meanwhile:
/// an idle server sends nothing.
pub(super) async fn run(args: &Args, counters: &Arc<Counters>) -> (Vec<Outcome>, Duration) {
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let mut tasks = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let url = args.url.clone();
        let gate = gate.clone();
        let counters = counters.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await;
            let opened = open(&url, client_config(0), &sockeye_tokio::TokioClock::new()).await;
            if opened.is_ok() {
                counters
                    .handshakes
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            opened
        }));
    }
    let mut held = Vec::with_capacity(args.connections);
    let mut outcomes = Vec::new();
    for task in tasks {
        let error = match task.await {
            Ok(Ok(connection)) => {
                held.push(connection);
                continue;
            }
            Ok(Err(error)) => error,
            Err(error) => format!("connection task failed: {error}"),
        };
        counters
            .errors
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        outcomes.push(Outcome {
            histogram: new_histogram(),
            error: Some(error),
        });
    }
    if args.json {
        println!("{{\"idle_connections\":{}}}", held.len());
        let _ = std::io::stdout().flush();
    } else {
        eprintln!("{} idle connections open", held.len());
    }
    tokio::time::sleep(args.duration).await;
    drop(held);
    (outcomes, started.elapsed())
}
