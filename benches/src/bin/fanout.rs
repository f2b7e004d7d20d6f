//! Fan-out throughput and latency: one publisher sends 1 KiB binary
//! messages to 1,000 WebSocket clients, side by side for
//!
//! * `in-process`: one instance, all clients local, `Clients::broadcast`;
//! * `redis` and `nats`: two instances with half the clients each; the
//!   publisher is instance A's `Fanout::publish`, so half the deliveries are
//!   in-process and half go through the broker to instance B.
//!
//! ```text
//! cargo build --release -p sockeye-benches --bin fanout
//! target/release/fanout [--clients 1000] [--messages 2000] [--window 16] [--interval-ms 0]
//! ```
//!
//! `redis-server` and `nats-server` must be on `PATH` (Debian packages);
//! each is started on a free loopback port and killed by PID at the end.
//!
//! The clients run in a child process (this program again, with
//! `--reader`), on a single-threaded runtime of their own, as they would
//! on machines of their own: the servers' process then does only the
//! servers' work, and the figures are not the cost of 1,000 clients
//! parsing in the servers' scheduler. The publisher keeps at most
//! `--window` messages in flight (message k is published once message
//! k - window reached every client), so the rate is what the whole path
//! sustains, not the size of a queue. With `--interval-ms N` it also waits
//! N ms between publications: `--window 1 --interval-ms 10` measures the
//! latency of one broadcast at a time on an otherwise quiet path.
//! Latency is from just before `publish` to the client's read of the
//! message, over every delivery, on the wall clock that both processes
//! share.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sockeye_tokio::fanout::nats::NatsBroker;
use sockeye_tokio::fanout::redis::RedisBroker;
use sockeye_tokio::fanout::{self, Fanout, FanoutOptions};
use sockeye_tokio::{Clients, Message, Server, ServerPolicy};
use tokio::sync::Notify;

const TOPIC: &str = "bench";
const MESSAGE_BYTES: usize = 1024;

/// Nanoseconds on the wall clock, which the publisher and the reader
/// process share (an `Instant` is private to its process).
fn wall_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

struct Args {
    clients: usize,
    messages: usize,
    window: usize,
    interval: Duration,
    /// Run as the reader process, with the servers' addresses.
    reader: Option<Vec<SocketAddr>>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        clients: 1000,
        messages: 2000,
        window: 16,
        interval: Duration::ZERO,
        reader: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given.next().ok_or(format!("{flag} needs a value"))?;
        if flag == "--reader" {
            let addrs = value
                .split(',')
                .map(|addr| {
                    addr.parse()
                        .map_err(|_| format!("--reader: bad address {addr}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            args.reader = Some(addrs);
            continue;
        }
        let number: usize = value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value}"))?;
        match flag.as_str() {
            "--clients" if number >= 2 => args.clients = number,
            "--messages" if number >= 1 => args.messages = number,
            "--window" if number >= 1 => args.window = number,
            "--interval-ms" => args.interval = Duration::from_millis(number as u64),
            _ => return Err(format!("unknown flag or bad value: {flag} {value}")),
        }
    }
    Ok(args)
}

/// A broker process on a free loopback port, killed when dropped.
struct BrokerProcess {
    child: Child,
    port: u16,
}

impl BrokerProcess {
    fn start(program: &str, args: &[&str]) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let port_text = port.to_string();
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "PORT" { port_text.as_str() } else { a })
            .collect();
        let child = Command::new(program)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {program} (install it): {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("{program} did not start"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self { child, port })
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    InProcess,
    Redis,
    Nats,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::InProcess => "in-process (1 instance)",
            Mode::Redis => "Redis (2 instances)",
            Mode::Nats => "NATS (2 instances)",
        }
    }
}

struct Instance {
    addr: SocketAddr,
    clients: Clients,
    fanout: Option<Fanout>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
        self.clients.abort_all();
    }
}

async fn instance(mode: Mode, url: &str) -> Instance {
    let server = Server::bind("127.0.0.1:0", ServerPolicy::new().queue_budget(1 << 20))
        .await
        .expect("bind");
    let addr = server.local_addr().unwrap();
    let clients = server.handle().clients().clone();
    let fanout = match mode {
        Mode::InProcess => None,
        Mode::Redis => Some(fanout::spawn(
            clients.clone(),
            RedisBroker::open(url).unwrap(),
            FanoutOptions::default(),
        )),
        Mode::Nats => Some(fanout::spawn(
            clients.clone(),
            NatsBroker::new(url),
            FanoutOptions::default(),
        )),
    };
    let for_handler = fanout.clone();
    let server = tokio::spawn(async move {
        let _ = server
            .run(move |mut client| {
                let fanout = for_handler.clone();
                async move {
                    if let Some(fanout) = &fanout {
                        fanout.join(TOPIC, client.id()).unwrap();
                    }
                    while client.recv().await.is_some() {}
                    if let Some(fanout) = &fanout {
                        fanout.leave_all(client.id());
                    }
                }
            })
            .await;
    });
    Instance {
        addr,
        clients,
        fanout,
        server,
    }
}

struct Row {
    mode: Mode,
    delivered: u64,
    expected: u64,
    seconds: f64,
    p50: u64,
    p99: u64,
    max: u64,
    dropped: u64,
}

/// The reader process as the publisher sees it: how many messages every
/// client has, and the latency figures once it ends.
struct Readers {
    child: Child,
    /// Closed to tell the readers to stop and report.
    stdin: Option<ChildStdin>,
    /// Messages (from the first) that reached every client.
    completed: Arc<AtomicUsize>,
    changed: Arc<Notify>,
    ready: Arc<Notify>,
    result: Arc<std::sync::Mutex<Option<[u64; 4]>>>,
    lines: Option<std::thread::JoinHandle<()>>,
}

impl Readers {
    fn start(addrs: &[SocketAddr], args: &Args) -> Result<Self, String> {
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        let addrs: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        let mut child = Command::new(me)
            .args(["--reader", &addrs.join(",")])
            .args(["--clients", &args.clients.to_string()])
            .args(["--messages", &args.messages.to_string()])
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
    fn finish(mut self) -> Option<[u64; 4]> {
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

async fn run(mode: Mode, url: &str, args: &Args) -> Result<Row, String> {
    let count = if mode == Mode::InProcess { 1 } else { 2 };
    let mut instances = Vec::new();
    for _ in 0..count {
        instances.push(instance(mode, url).await);
    }
    let addrs: Vec<SocketAddr> = instances.iter().map(|instance| instance.addr).collect();
    let readers = Readers::start(&addrs, args)?;
    if tokio::time::timeout(Duration::from_secs(60), readers.ready.notified())
        .await
        .is_err()
    {
        return Err(format!(
            "{}: the clients did not connect in time",
            mode.name()
        ));
    }
    // Everyone joined and, across instances, subscribed.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = instances.iter().enumerate().all(|(i, instance)| {
            let here = (args.clients + count - 1 - i) / count;
            match &instance.fanout {
                Some(f) => f.members(TOPIC).len() == here && f.is_subscribed(TOPIC),
                None => instance.clients.len() == here,
            }
        });
        if ready {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("{}: clients did not join in time", mode.name()));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let started = Instant::now();
    let mut stalled = false;
    for k in 0..args.messages {
        // Message k - window must have reached everyone.
        let limit = Instant::now() + Duration::from_secs(5);
        while readers.completed.load(Ordering::Acquire) + args.window <= k {
            if Instant::now() > limit {
                stalled = true;
                break;
            }
            let _ =
                tokio::time::timeout(Duration::from_millis(5), readers.changed.notified()).await;
        }
        if stalled {
            break;
        }
        if !args.interval.is_zero() && k > 0 {
            tokio::time::sleep(args.interval).await;
        }
        let mut payload = vec![0u8; MESSAGE_BYTES];
        payload[..8].copy_from_slice(&wall_nanos().to_be_bytes());
        payload[8..16].copy_from_slice(&(k as u64).to_be_bytes());
        let message = Message::binary(payload);
        match &instances[0].fanout {
            Some(fanout) => {
                fanout.publish(TOPIC, message).unwrap();
            }
            None => {
                instances[0].clients.broadcast(message);
            }
        }
    }
    let finish = Instant::now() + Duration::from_secs(if stalled { 1 } else { 30 });
    while readers.completed.load(Ordering::Acquire) < args.messages && Instant::now() < finish {
        let _ = tokio::time::timeout(Duration::from_millis(5), readers.changed.notified()).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let dropped = instances
        .iter()
        .filter_map(|i| i.fanout.as_ref())
        .map(|f| f.stats().dropped)
        .sum();
    let [delivered, p50, p99, max] = tokio::task::spawn_blocking(move || readers.finish())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{}: the reader process reported nothing", mode.name()))?;
    Ok(Row {
        mode,
        delivered,
        expected: (args.clients * args.messages) as u64,
        seconds,
        p50,
        p99,
        max,
        dropped,
    })
}

/// The reader process: `args.clients` WebSocket clients spread over
/// `addrs` on one single-threaded runtime. Prints `ready` once all are
/// connected, `done` each time a message has reached every client (they
/// arrive in order), and `result DELIVERED P50 P99 MAX` (nanoseconds) when
/// every message arrived or its stdin closes.
fn reader_main(addrs: Vec<SocketAddr>, args: &Args) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let clients = args.clients;
    let messages = args.messages;
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

fn micros(nanos: u64) -> String {
    format!("{:.2} ms", nanos as f64 / 1e6)
}

fn main() -> ExitCode {
    let mut args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("fanout: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(addrs) = args.reader.take() {
        return reader_main(addrs, &args);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let redis = match BrokerProcess::start(
            "redis-server",
            &[
                "--port",
                "PORT",
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        ) {
            Ok(process) => process,
            Err(error) => {
                eprintln!("fanout: {error}");
                return ExitCode::FAILURE;
            }
        };
        let nats = match BrokerProcess::start("nats-server", &["-a", "127.0.0.1", "-p", "PORT"]) {
            Ok(process) => process,
            Err(error) => {
                eprintln!("fanout: {error}");
                return ExitCode::FAILURE;
            }
        };
        let urls = [
            (Mode::InProcess, String::new()),
            (Mode::Redis, format!("redis://127.0.0.1:{}/", redis.port)),
            (Mode::Nats, format!("nats://127.0.0.1:{}", nats.port)),
        ];
        println!(
            "{} clients (in a reader process), {} messages of {MESSAGE_BYTES} B, window {}, interval {} ms\n",
            args.clients,
            args.messages,
            args.window,
            args.interval.as_millis()
        );
        println!(
            "| path | delivered | msg/s delivered | vs in-process | p50 | p99 | max | dropped |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
        let mut baseline = None;
        let mut failed = false;
        for (mode, url) in &urls {
            match run(*mode, url, &args).await {
                Ok(row) => {
                    let rate = row.delivered as f64 / row.seconds;
                    let base = *baseline.get_or_insert(rate);
                    println!(
                        "| {} | {}/{} | {:.0} | {:.0} % | {} | {} | {} | {} |",
                        row.mode.name(),
                        row.delivered,
                        row.expected,
                        rate,
                        100.0 * rate / base,
                        micros(row.p50),
                        micros(row.p99),
                        micros(row.max),
                        row.dropped
                    );
                    failed |= row.delivered != row.expected;
                }
                Err(error) => {
                    eprintln!("fanout: {error}");
                    failed = true;
                }
            }
        }
        if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    })
}
