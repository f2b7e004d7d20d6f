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

use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sockeye_benches::reader::{Readers, reader_main, wall_nanos};

use sockeye_tokio::fanout::nats::NatsBroker;
use sockeye_tokio::fanout::redis::RedisBroker;
use sockeye_tokio::fanout::{self, Fanout, FanoutOptions};
use sockeye_tokio::{Clients, Message, Server, ServerPolicy};

const TOPIC: &str = "bench";
const MESSAGE_BYTES: usize = 1024;

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

async fn run(mode: Mode, url: &str, args: &Args) -> Result<Row, String> {
    let count = if mode == Mode::InProcess { 1 } else { 2 };
    let mut instances = Vec::new();
    for _ in 0..count {
        instances.push(instance(mode, url).await);
    }
    let addrs: Vec<SocketAddr> = instances.iter().map(|instance| instance.addr).collect();
    let readers = Readers::start(&addrs, args.clients, args.messages)?;
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
        return reader_main(addrs, args.clients, args.messages);
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
