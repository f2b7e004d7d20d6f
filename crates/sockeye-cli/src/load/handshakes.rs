//! Handshakes per second: connect, complete the opening handshake, close.

use std::io::ErrorKind;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use sockeye::{CloseCode, Event};
use sockeye_io::driver::Clock;
use sockeye_tokio::TokioClock;
use tokio::io::AsyncWriteExt;

use super::{Args, Counters, Outcome, client_config, collect, new_histogram, open};

/// How long a closing handshake may take before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Run CONNECTIONS handshaking loops; returns what each measured and the
/// elapsed time.
pub(super) async fn run(args: &Args, counters: &Arc<Counters>) -> (Vec<Outcome>, Duration) {
    let started = Instant::now();
    let stop_at = started + args.duration;
    let mut tasks = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let url = args.url.clone();
        let counters = counters.clone();
        tasks.push(tokio::spawn(async move {
            let mut histogram = new_histogram();
            let error = handshake_loop(&url, stop_at, &counters, &mut histogram)
                .await
                .err();
            Outcome { histogram, error }
        }));
    }
    let outcomes = collect(tasks, counters).await;
    (outcomes, started.elapsed())
}

/// Handshake and close until `stop_at`. Each handshake's connect + upgrade
/// time is recorded; the close completes (close frames both ways, then the
/// server's TCP close) before the next connection, so that the server does
/// all the work of a connection's life.
async fn handshake_loop(
    url: &str,
    stop_at: Instant,
    counters: &Counters,
    histogram: &mut Histogram<u64>,
) -> Result<(), String> {
    let clock = TokioClock::new();
    while Instant::now() < stop_at {
        let began = Instant::now();
        let (mut stream, mut conn) = open(url, client_config(0), &clock).await?;
        let micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
        histogram.saturating_record(micros.max(1));
        counters.handshakes.fetch_add(1, Ordering::Relaxed);

        let _ = conn.close(clock.now(), CloseCode::NORMAL, "");
        while let Some(run) = conn.poll_transmit() {
            stream
                .write_all(&run)
                .await
                .map_err(|error| format!("writing the close frame: {error}"))?;
        }
        let closed = tokio::time::timeout(CLOSE_TIMEOUT, async {
            let mut got_close = false;
            loop {
                stream
                    .readable()
                    .await
                    .map_err(|error| format!("reading: {error}"))?;
                match conn.receive_with(clock.now(), |buf| stream.try_read_buf(buf)) {
                    // The server closed TCP: the connection's life is over.
                    Ok(0) => {
                        return if got_close {
                            Ok(())
                        } else {
                            Err("the server closed TCP without a close frame".to_string())
                        };
                    }
                    Ok(_) => {}
                    Err(error) if error.kind() == ErrorKind::WouldBlock => continue,
                    Err(error) => return Err(format!("reading: {error}")),
                }
                while let Some(event) = conn.poll_event() {
                    match event {
                        Event::Close(_) => got_close = true,
                        Event::Failed(error) => return Err(format!("protocol error: {error}")),
                        _ => {}
                    }
                }
            }
        })
        .await;
        match closed {
            Ok(result) => result?,
            Err(_) => return Err("the server did not finish the closing handshake".into()),
        }
    }
    Ok(())
}
