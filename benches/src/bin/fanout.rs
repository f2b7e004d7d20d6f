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
//! target/release/fanout [--clients 1000] [--messages 2000] [--window 16]
//! ```
//!
//! `redis-server` and `nats-server` must be on `PATH` (Debian packages);
//! each is started on a free loopback port and killed by PID at the end.
//! The publisher keeps at most `--window` messages in flight (message k is
//! published once message k - window reached every client), so the figure
//! is the delivery rate the whole path sustains, not the size of a queue.
//! Latency is from just before `publish` to the client's task reading the
//! message, over every delivery.

use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sockeye_tokio::fanout::nats::NatsBroker;
use sockeye_tokio::fanout::redis::RedisBroker;
use sockeye_tokio::fanout::{self, Fanout, FanoutOptions};
use sockeye_tokio::{Clients, Message, Server, ServerPolicy};
use tokio::sync::Notify;

const TOPIC: &str = "bench";
const MESSAGE_BYTES: usize = 1024;

/// The clock every timestamp is read from.
fn since_start() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

struct Args {
    clients: usize,
    messages: usize,
    window: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        clients: 1000,
        messages: 2000,
        window: 16,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given.next().ok_or(format!("{flag} needs a value"))?;
        let number: usize = value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value}"))?;
        match flag.as_str() {
            "--clients" if number >= 2 => args.clients = number,
            "--messages" if number >= 1 => args.messages = number,
            "--window" if number >= 1 => args.window = number,
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

async fn run(mode: Mode, url: &str, args: &Args) -> Result<Row, String> {
    let count = if mode == Mode::InProcess { 1 } else { 2 };
    let mut instances = Vec::new();
    for _ in 0..count {
        instances.push(instance(mode, url).await);
    }
    let progress: Arc<Vec<AtomicU32>> =
        Arc::new((0..args.messages).map(|_| AtomicU32::new(0)).collect());
    let complete = Arc::new(Notify::new());
    let mut readers = Vec::new();
    for n in 0..args.clients {
        let addr = instances[n % count].addr;
        let (mut ws, _) = sockeye_tokio::connect(&format!("ws://{addr}/"))
            .await
            .map_err(|e| format!("client {n}: {e}"))?;
        let (progress, complete, clients, messages) = (
            progress.clone(),
            complete.clone(),
            args.clients as u32,
            args.messages,
        );
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(messages);
            while latencies.len() < messages {
                let Some(Ok(Message::Binary(data))) = ws.recv().await else {
                    break;
                };
                let now = since_start();
                let sent = u64::from_be_bytes(data[..8].try_into().unwrap());
                let k = u64::from_be_bytes(data[8..16].try_into().unwrap()) as usize;
                latencies.push(now.saturating_sub(sent));
                if progress[k].fetch_add(1, Ordering::AcqRel) + 1 == clients {
                    complete.notify_one();
                }
            }
            latencies
        }));
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
        if k >= args.window {
            let waited_for = &progress[k - args.window];
            let limit = Instant::now() + Duration::from_secs(5);
            while waited_for.load(Ordering::Acquire) < args.clients as u32 {
                if Instant::now() > limit {
                    stalled = true;
                    break;
                }
                let _ = tokio::time::timeout(Duration::from_millis(5), complete.notified()).await;
            }
            if stalled {
                break;
            }
        }
        let mut payload = vec![0u8; MESSAGE_BYTES];
        payload[..8].copy_from_slice(&since_start().to_be_bytes());
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
    let expected = (args.clients * args.messages) as u64;
    let mut latencies = Vec::with_capacity(expected as usize);
    let finish = Instant::now() + Duration::from_secs(if stalled { 1 } else { 30 });
    for reader in readers {
        let left = finish.saturating_duration_since(Instant::now());
        if let Ok(Ok(mut part)) = tokio::time::timeout(left, reader).await {
            latencies.append(&mut part);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let dropped = instances
        .iter()
        .filter_map(|i| i.fanout.as_ref())
        .map(|f| f.stats().dropped)
        .sum();
    Ok(Row {
        mode,
        delivered: latencies.len() as u64,
        expected,
        seconds,
        p50: at(0.50),
        p99: at(0.99),
        max: latencies.last().copied().unwrap_or(0),
        dropped,
    })
}

fn micros(nanos: u64) -> String {
    format!("{:.2} ms", nanos as f64 / 1e6)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("fanout: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        since_start();
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
            "{} clients, {} messages of {MESSAGE_BYTES} B, window {}\n",
            args.clients, args.messages, args.window
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
