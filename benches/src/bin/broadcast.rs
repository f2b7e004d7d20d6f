//! Broadcast across sockeye-mio's threads: the server CPU each delivered
//! message costs when one `Handle::broadcast` reaches 10,000 clients spread
//! over 1 thread and over N, side by side in one run.
//!
//! ```text
//! cargo build --release -p sockeye-benches --bin broadcast
//! target/release/broadcast [--clients 10000] [--messages 200] [--size 64] [--window 4] [--threads 1,2]
//! ```
//!
//! For each thread count the server runs in this process
//! (`Server::bind_threads` on `SO_REUSEPORT` listeners, no heartbeat) and
//! the clients in a reader process of their own (this program again, see
//! `sockeye_benches::reader`); at most `--window` broadcasts are in flight.
//! The server's CPU is this process's user and system time over the
//! broadcasts (from `/proc/self/stat`): its event loops, the publishing
//! loop that waits on the reader's progress, and nothing else. The
//! latencies are from just before `broadcast` to the client's read.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sockeye_benches::cpu::{clock_ticks_per_second, cpu_ticks, ticks_to_time};
use sockeye_benches::reader::{Readers, reader_main, wall_nanos};
use sockeye_mio::{Client, Message, Server, ServerPolicy};

struct Args {
    clients: usize,
    messages: usize,
    size: usize,
    window: usize,
    threads: Vec<usize>,
    /// Run as the reader process, with the server's address.
    reader: Option<Vec<SocketAddr>>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        clients: 10_000,
        messages: 200,
        size: 64,
        window: 4,
        threads: vec![1, 2],
        reader: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{flag}: not a number: {value}"))
        };
        match flag.as_str() {
            "--reader" => {
                let addrs = value
                    .split(',')
                    .map(|addr| {
                        addr.parse()
                            .map_err(|_| format!("--reader: bad address {addr}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                args.reader = Some(addrs);
            }
            "--threads" => {
                args.threads = value
                    .split(',')
                    .map(|count| match count.parse() {
                        Ok(count) if count >= 1 => Ok(count),
                        _ => Err(format!("--threads: bad count {count}")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
            }
            "--clients" => args.clients = number()?.max(1),
            "--messages" => args.messages = number()?.max(1),
            // The payload carries a timestamp and a sequence number.
            "--size" => args.size = number()?.max(16),
            "--window" => args.window = number()?.max(1),
            _ => return Err(format!("unknown flag: {flag}")),
        }
    }
    Ok(args)
}

struct Row {
    threads: usize,
    delivered: u64,
    expected: u64,
    seconds: f64,
    cpu: Duration,
    p50: u64,
    p99: u64,
}

fn run(threads: usize, args: &Args, ticks_per_second: f64) -> Result<Row, String> {
    let policy = ServerPolicy::new()
        .no_heartbeat()
        .max_connections(args.clients + 16);
    let server = Server::bind_threads("127.0.0.1:0", policy, threads).map_err(|e| e.to_string())?;
    let addr = server.local_addr();
    let running = server
        .start(|_: &mut Client<'_>, _: Message| {})
        .map_err(|e| e.to_string())?;
    let handle = running.handle().clone();
    let readers = Readers::start(&[addr], args.clients, args.messages)?;
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (seconds, cpu) = tokio.block_on(async {
        if tokio::time::timeout(Duration::from_secs(120), readers.ready.notified())
            .await
            .is_err()
        {
            return Err("the clients did not connect in time".to_string());
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while handle.clients() < args.clients {
            if Instant::now() > deadline {
                return Err(format!(
                    "{} of {} clients open",
                    handle.clients(),
                    args.clients
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let cpu_time = || cpu_ticks("self").map(|ticks| ticks_to_time(ticks, ticks_per_second));
        let (started, cpu_before) = (Instant::now(), cpu_time()?);
        for k in 0..args.messages {
            let limit = Instant::now() + Duration::from_secs(10);
            while readers.completed.load(Ordering::Acquire) + args.window <= k {
                if Instant::now() > limit {
                    return Err(format!(
                        "message {} did not reach every client",
                        k - args.window
                    ));
                }
                let _ = tokio::time::timeout(Duration::from_millis(5), readers.changed.notified())
                    .await;
            }
            let mut payload = vec![0u8; args.size];
            payload[..8].copy_from_slice(&wall_nanos().to_be_bytes());
            payload[8..16].copy_from_slice(&(k as u64).to_be_bytes());
            handle.broadcast(Message::binary(payload));
        }
        let limit = Instant::now() + Duration::from_secs(30);
        while readers.completed.load(Ordering::Acquire) < args.messages && Instant::now() < limit {
            let _ =
                tokio::time::timeout(Duration::from_millis(5), readers.changed.notified()).await;
        }
        Ok((started.elapsed().as_secs_f64(), cpu_time()? - cpu_before))
    })?;
    let [delivered, p50, p99, _max] = readers
        .finish()
        .ok_or("the reader process reported nothing")?;
    handle.shutdown(Duration::from_secs(1));
    running.join().map_err(|e| e.to_string())?;
    Ok(Row {
        threads,
        delivered,
        expected: (args.clients * args.messages) as u64,
        seconds,
        cpu,
        p50,
        p99,
    })
}

fn main() -> ExitCode {
    let mut args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("broadcast: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(addrs) = args.reader.take() {
        return reader_main(addrs, args.clients, args.messages);
    }
    println!(
        "{} clients (in a reader process), {} broadcasts of {} B, window {}\n",
        args.clients, args.messages, args.size, args.window
    );
    println!(
        "| server threads | delivered | deliveries/s | server CPU ns per delivery | vs 1st row | p50 | p99 |"
    );
    println!("| --: | --: | --: | --: | --: | --: | --: |");
    let ticks_per_second = clock_ticks_per_second();
    let mut first = None;
    let mut failed = false;
    for &threads in &args.threads {
        match run(threads, &args, ticks_per_second) {
            Ok(row) => {
                let per_delivery = row.cpu.as_nanos() as f64 / row.delivered.max(1) as f64;
                let base = *first.get_or_insert(per_delivery);
                println!(
                    "| {} | {}/{} | {:.0} | {:.0} | {:.2}× | {:.2} ms | {:.2} ms |",
                    row.threads,
                    row.delivered,
                    row.expected,
                    row.delivered as f64 / row.seconds,
                    per_delivery,
                    per_delivery / base,
                    row.p50 as f64 / 1e6,
                    row.p99 as f64 / 1e6,
                );
                failed |= row.delivered != row.expected;
            }
            Err(error) => {
                eprintln!("broadcast: {threads} threads: {error}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
