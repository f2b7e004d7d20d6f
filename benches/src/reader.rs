//! The reader process of the broadcast benchmarks (`fanout`, `broadcast`):
//! many WebSocket clients on one thread in a process of their own, as they
//! would be on machines of their own, so that the benchmark's process does
//! only the servers' work. The benchmark runs itself again with
//! `--reader ADDR[,ADDR…] --clients N --messages M` and calls
//! [`reader_main`] there; its own side is [`Readers`].
//!
//! Every message's payload starts with the time it was sent
//! ([`wall_nanos`], big-endian) and its sequence number (big-endian `u64`).

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sockeye_tokio::Message;
use tokio::sync::Notify;

/// Nanoseconds on the wall clock, which the publisher and the reader
/// process share (an `Instant` is private to its process).
pub fn wall_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

/// The reader process as the publisher sees it: how many messages every
/// client has, and the latency figures once it ends.
pub struct Readers {
    child: Child,
    /// Closed to tell the readers to stop and report.
    stdin: Option<ChildStdin>,
    /// Messages (from the first) that reached every client.
    pub completed: Arc<AtomicUsize>,
    /// Notified when `completed` grows (or the process ends).
    pub changed: Arc<Notify>,
    /// Notified once every client is connected.
    pub ready: Arc<Notify>,
    result: Arc<std::sync::Mutex<Option<[u64; 4]>>>,
    lines: Option<std::thread::JoinHandle<()>>,
}

impl Readers {
    /// Start this program again as the reader process: `clients` clients
    /// spread over `addrs`, each reading `messages` messages.
    ///
    /// # Errors
    /// When the process cannot start.
    pub fn start(addrs: &[SocketAddr], clients: usize, messages: usize) -> Result<Self, String> {
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        let addrs: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        let mut child = Command::new(me)
            .args(["--reader", &addrs.join(",")])
            .args(["--clients", &clients.to_string()])
            .args(["--messages", &messages.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the reader process: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let completed = Arc::new(AtomicUsize::new(0));
        let changed = Arc::new(Notify::new());
        let ready = Arc::new(Notify::new());
        let result = Arc::new(std::sync::Mutex::new(None));
        let lines = {
            let (completed, changed, ready, result) = (
                completed.clone(),
                changed.clone(),
                ready.clone(),
                result.clone(),
            );
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let mut words = line.split(' ');
                    match words.next() {
                        Some("ready") => ready.notify_one(),
                        Some("done") => {
                            completed.fetch_add(1, Ordering::AcqRel);
                            changed.notify_one();
                        }
                        Some("result") => {
                            let numbers: Vec<u64> =
                                words.filter_map(|word| word.parse().ok()).collect();
                            if let Ok(figures) = numbers.try_into() {
                                *result.lock().unwrap() = Some(figures);
                            }
                        }
                        _ => {}
                    }
                }
                changed.notify_one();
            })
        };
        Ok(Self {
            child,
            stdin,
            completed,
            changed,
            ready,
            result,
            lines: Some(lines),
        })
    }

    /// Tell the readers to stop, and take their figures: deliveries, p50,
    /// p99 and max latency in nanoseconds.
    pub fn finish(mut self) -> Option<[u64; 4]> {
        drop(self.stdin.take());
        if let Some(lines) = self.lines.take() {
            let _ = lines.join();
        }
        let _ = self.child.wait();
        *self.result.lock().unwrap()
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The reader process: `clients` WebSocket clients spread over
/// `addrs` on one single-threaded runtime. Prints `ready` once all are
/// connected, `done` each time a message has reached every client (they
/// arrive in order), and `result DELIVERED P50 P99 MAX` (nanoseconds) when
/// every message arrived or its stdin closes.
pub fn reader_main(addrs: Vec<SocketAddr>, clients: usize, messages: usize) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let arrived: Arc<Vec<AtomicUsize>> =
            Arc::new((0..messages).map(|_| AtomicUsize::new(0)).collect());
        let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(
            clients * messages,
        )));
        let mut streams = Vec::with_capacity(clients);
        for n in 0..clients {
            let addr = addrs[n % addrs.len()];
            match sockeye_tokio::connect(&format!("ws://{addr}/")).await {
                Ok((ws, _)) => streams.push(ws),
                Err(error) => {
                    eprintln!("fanout reader: client {n}: {error}");
                    return ExitCode::FAILURE;
                }
            }
        }
        say("ready");
        let mut tasks = tokio::task::JoinSet::new();
        for mut ws in streams {
            let (arrived, latencies) = (arrived.clone(), latencies.clone());
            tasks.spawn(async move {
                for _ in 0..messages {
                    let Some(Ok(Message::Binary(data))) = ws.recv().await else {
                        break;
                    };
                    let now = wall_nanos();
                    let sent = u64::from_be_bytes(data[..8].try_into().unwrap());
                    let k = u64::from_be_bytes(data[8..16].try_into().unwrap()) as usize;
                    latencies.lock().unwrap().push(now.saturating_sub(sent));
                    if arrived[k].fetch_add(1, Ordering::AcqRel) + 1 == clients {
                        say("done");
                    }
                }
            });
        }
        let stop = Arc::new(Notify::new());
        let on_eof = stop.clone();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            on_eof.notify_one();
        });
        tokio::select! {
            _ = async { while tasks.join_next().await.is_some() {} } => {}
            _ = stop.notified() => {}
        }
        let mut latencies = std::mem::take(&mut *latencies.lock().unwrap());
        latencies.sort_unstable();
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0)
        };
        say(&format!(
            "result {} {} {} {}",
            latencies.len(),
            at(0.50),
            at(0.99),
            latencies.last().copied().unwrap_or(0)
        ));
        ExitCode::SUCCESS
    })
}

/// One line to the publisher, at once.
fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}
