//! The end-to-end echo benchmark: every echo server in `src/bin` against
//! `sockeye load`, side by side, as one Markdown table.
//!
//! ```text
//! cargo build --release -p sockeye-cli -p sockeye-benches --bins
//! target/release/e2e [--duration 3s] [--repeat 3] [--servers a,b] [--cells a,b] [--output FILE]
//! ```
//!
//! Each server runs pinned to CPU 0 and the driver to CPU 1 (`taskset`);
//! every cell starts a fresh server process. The server's CPU time (user +
//! system, from `/proc/PID/stat`) over the driver's run divided by the
//! messages echoed is the figure that stays fair when the driver, not the
//! server, is the bottleneck. Each cell is repeated and the median of each
//! figure is reported, with the ratios of `sockeye-tokio` to every other
//! server. The repeats are interleaved (every server once per round, each
//! round starting with the next server), so that a drift in the machine's
//! speed during a cell spreads over all servers rather than landing on
//! one. The memory cells read the server's resident set (`VmRSS`) idle and
//! while the driver holds 1,000 and 10,000 idle connections.
//!
//! The yardstick is `floor` (`echo-floor`): a raw TCP echo on the same
//! event-loop calls doing no WebSocket work. The driver talks to it with
//! `--raw-echo` (no handshake; the masked frames it sends come back as they
//! are and only their bytes are counted), so it has no handshake or memory
//! cells. Every server's CPU per message is also given as a multiple of the
//! floor's in the same cell: what a server costs beyond the kernel.
//!
//! `sockeye-threads-N` and `sockeye-mio-N` (not run unless named) are
//! sockeye's multi-threaded servers on N threads pinned to CPUs 0 to N-1:
//! the tokio one (a current-thread runtime per thread) and the mio event
//! loop (sockeye-mio, no task per connection). On a 2-CPU machine a second
//! thread shares CPU 1 with the driver, so those figures show the cost of
//! spreading over threads, not the throughput of N free cores.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use sockeye_benches::cpu::{clock_ticks_per_second, cpu_ticks};

/// The servers, `src/bin/echo-NAME.rs`, in table order.
const SERVERS: [&str; 9] = [
    "sockeye-tokio",
    "floor",
    "sockeye-smol",
    "sockeye-std",
    "tungstenite",
    "fastwebsockets",
    "tokio-websockets",
    "axum-sockeye",
    "axum-tungstenite",
];

/// The server every other is compared with.
const REFERENCE: &str = "sockeye-tokio";

/// Servers named `PREFIX-N`, run as their echo binary on N threads pinned
/// to CPUs 0 to N-1 (from 2 threads on, they share a CPU with the driver):
/// sockeye's `ThreadedServer` and sockeye-mio's event loop.
const THREADED: [(&str, &str); 2] = [
    ("sockeye-threads-", "echo-sockeye-threads"),
    ("sockeye-mio-", "echo-sockeye-mio"),
];

/// The echo binary and thread count of a `PREFIX-N` server.
fn threads_of(name: &str) -> Option<(&'static str, usize)> {
    THREADED.iter().find_map(|&(prefix, binary)| {
        let threads = name.strip_prefix(prefix)?.parse().ok().filter(|&n| n > 0)?;
        Some((binary, threads))
    })
}

/// The raw TCP echo server: the kernel's cost for the same bytes.
const FLOOR: &str = "floor";

/// uWebSockets' echo server, measured when its prebuilt binary is present.
const UWS: &str = "uws";

/// Where the prebuilt uWebSockets echo server lives (`shared/peers` beside
/// the repository; see its README). A benchmark peer only.
fn uws_binary() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/peers/uws-echo")
}

/// One cell of the matrix: a name and the driver's arguments.
struct Cell {
    name: &'static str,
    title: &'static str,
    args: &'static [&'static str],
}

const CELLS: [Cell; 7] = [
    Cell {
        name: "latency",
        title: "1 conn × 1 in flight, 16 B",
        args: &["-c", "1", "-w", "1", "-s", "16"],
    },
    Cell {
        name: "small",
        title: "1 conn × 64 in flight, 16 B",
        args: &["-c", "1", "-w", "64", "-s", "16"],
    },
    Cell {
        name: "many",
        title: "100 conns × 16 in flight, 1 KiB",
        args: &["-c", "100", "-w", "16", "-s", "1k"],
    },
    Cell {
        name: "text64k",
        title: "1 conn × 8 in flight, 64 KiB text",
        args: &["-c", "1", "-w", "8", "-s", "64k"],
    },
    Cell {
        name: "binary64k",
        title: "1 conn × 8 in flight, 64 KiB binary",
        args: &["-c", "1", "-w", "8", "-s", "64k", "--binary"],
    },
    Cell {
        name: "binary1m",
        title: "1 conn × 2 in flight, 1 MiB binary",
        args: &["-c", "1", "-w", "2", "-s", "1m", "--binary"],
    },
    Cell {
        name: "handshakes",
        title: "handshakes (16 at a time: connect, handshake, close)",
        args: &["-c", "16", "--handshakes"],
    },
];

/// Idle connection counts of the memory cells.
const IDLE_COUNTS: [usize; 2] = [1_000, 10_000];

const SERVER_CPU: &str = "0";
const DRIVER_CPU: &str = "1";

struct Options {
    duration: String,
    repeat: usize,
    servers: Vec<String>,
    cells: Vec<String>,
    memory: bool,
    output: Option<PathBuf>,
    bin_dir: PathBuf,
}

fn usage() -> &'static str {
    "usage: e2e [--duration 3s] [--repeat 3] [--servers NAME,...] [--cells NAME,...] \
     [--no-memory] [--output FILE] [--bin-dir DIR]\n\
     servers: sockeye-tokio floor sockeye-smol sockeye-std tungstenite fastwebsockets tokio-websockets\n\
     axum-sockeye axum-tungstenite,\n\
     sockeye-threads-N, sockeye-mio-N (sockeye's ThreadedServer and sockeye-mio on N threads, CPUs 0..N-1),\n\
     uws (uWebSockets, from ../shared/peers/uws-echo when present),\n\
     or NAME for any echo-NAME in the binary directory\n\
     cells: latency small many text64k binary64k binary1m handshakes"
}

fn parse_options() -> Result<Options, String> {
    let exe = std::env::current_exe().map_err(|error| error.to_string())?;
    let mut options = Options {
        duration: "3s".into(),
        repeat: 3,
        servers: default_servers(),
        cells: CELLS.iter().map(|c| c.name.to_string()).collect(),
        memory: true,
        output: None,
        bin_dir: exe.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--no-memory" {
            options.memory = false;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Err(usage().into());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))?;
        let list = |value: &str| value.split(',').map(str::to_string).collect::<Vec<_>>();
        match flag.as_str() {
            "--duration" => options.duration = value,
            "--repeat" => {
                options.repeat = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--repeat wants a positive count")?;
            }
            "--servers" => options.servers = list(&value),
            "--cells" => options.cells = list(&value),
            "--output" => options.output = Some(value.into()),
            "--bin-dir" => options.bin_dir = value.into(),
            _ => return Err(format!("unknown option {flag}\n{}", usage())),
        }
    }
    for server in &options.servers {
        // Any other echo server in the binary directory may be measured
        // too (an older build of sockeye, copied in as `echo-NAME`).
        let present = options.bin_dir.join(format!("echo-{server}")).is_file()
            || (server == UWS && uws_binary().is_file())
            || threads_of(server).is_some();
        if !SERVERS.contains(&server.as_str()) && !present {
            return Err(format!("unknown server {server}\n{}", usage()));
        }
    }
    for cell in &options.cells {
        if !CELLS.iter().any(|c| c.name == cell) {
            return Err(format!("unknown cell {cell}\n{}", usage()));
        }
    }
    Ok(options)
}

/// Every built-in server, and uWebSockets when its binary is there (the
/// run says so when it is not).
fn default_servers() -> Vec<String> {
    let mut servers: Vec<String> = SERVERS.iter().map(|s| s.to_string()).collect();
    if uws_binary().is_file() {
        servers.push(UWS.into());
    } else {
        eprintln!(
            "uWebSockets not measured: no echo server at {}",
            uws_binary().display()
        );
    }
    servers
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let ticks = clock_ticks_per_second();
    let load_before = load_average();
    let started = Instant::now();

    let mut rows: Vec<(String, String, Figures)> = Vec::new();
    for cell in CELLS
        .iter()
        .filter(|c| options.cells.iter().any(|n| n == c.name))
    {
        // Round by round, each round starting one server further on: the
        // machine's speed drifts (a shared host; the kernel still settling
        // after the previous cell), and running one server's repeats back to
        // back would hand the drift to whichever server comes first.
        let count = options.servers.len();
        let mut runs: Vec<Vec<Figures>> = vec![Vec::new(); count];
        for round in 0..options.repeat {
            for slot in 0..count {
                let index = (round + slot) % count;
                let server = &options.servers[index];
                if server == FLOOR && cell.args.contains(&"--handshakes") {
                    // No WebSocket handshake to measure.
                    continue;
                }
                eprint!("{} / {server} / run {}: ", cell.name, round + 1);
                match run_cell(&options, server, cell, ticks) {
                    Ok(figures) => {
                        eprintln!("{}", figures.brief());
                        runs[index].push(figures);
                    }
                    Err(error) => eprintln!("failed: {error}"),
                }
            }
        }
        for (server, runs) in options.servers.iter().zip(&runs) {
            rows.push((cell.name.into(), server.clone(), Figures::median(runs)));
        }
    }
    let mut memory = Vec::new();
    if options.memory {
        for server in options.servers.iter().filter(|s| *s != FLOOR) {
            eprint!("memory / {server}: ");
            match measure_memory(&options, server) {
                Ok(figures) => {
                    eprintln!("{figures:?}");
                    memory.push((server.clone(), Some(figures)));
                }
                Err(error) => {
                    eprintln!("failed: {error}");
                    memory.push((server.clone(), None));
                }
            }
        }
    }
    let load_after = load_average();

    let markdown = render(
        &options,
        &rows,
        &memory,
        &load_before,
        &load_after,
        started.elapsed(),
    );
    print!("{markdown}");
    if let Some(path) = &options.output
        && let Err(error) = std::fs::write(path, &markdown)
    {
        eprintln!("cannot write {}: {error}", path.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// What one run of one cell measured (or the medians of several runs).
#[derive(Clone, Debug, Default)]
struct Figures {
    messages_per_sec: f64,
    mb_per_sec: f64,
    handshakes_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    /// Server CPU time per message (per handshake in the handshake cell).
    cpu_us_per_op: f64,
    /// Server CPU time over the run's wall time.
    cpu_busy: f64,
    runs: usize,
}

impl Figures {
    fn brief(&self) -> String {
        format!(
            "{:.0} msg/s, {:.0} hs/s, p50 {:.0} µs, p99 {:.0} µs, {:.2} µs CPU/op, CPU {:.0}%",
            self.messages_per_sec,
            self.handshakes_per_sec,
            self.p50_us,
            self.p99_us,
            self.cpu_us_per_op,
            self.cpu_busy * 100.0
        )
    }

    fn median(runs: &[Figures]) -> Figures {
        let pick = |get: fn(&Figures) -> f64| {
            let mut values: Vec<f64> = runs.iter().map(get).collect();
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
        };
        Figures {
            messages_per_sec: pick(|f| f.messages_per_sec),
            mb_per_sec: pick(|f| f.mb_per_sec),
            handshakes_per_sec: pick(|f| f.handshakes_per_sec),
            p50_us: pick(|f| f.p50_us),
            p99_us: pick(|f| f.p99_us),
            p999_us: pick(|f| f.p999_us),
            cpu_us_per_op: pick(|f| f.cpu_us_per_op),
            cpu_busy: pick(|f| f.cpu_busy),
            runs: runs.len(),
        }
    }
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(options: &Options, name: &str) -> Result<Server, String> {
        let mut cpus = SERVER_CPU.to_string();
        let mut extra = Vec::new();
        let (binary, listen) = if let Some((binary, threads)) = threads_of(name) {
            cpus = format!("0-{}", threads - 1);
            extra.push(threads.to_string());
            (options.bin_dir.join(binary), "127.0.0.1:0".to_string())
        } else if name == UWS {
            // uws-echo reports the address it was given, so it gets a port
            // that was free a moment ago rather than port 0.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .map_err(|error| format!("no free port: {error}"))?
                .port();
            (uws_binary(), format!("127.0.0.1:{port}"))
        } else {
            (
                options.bin_dir.join(format!("echo-{name}")),
                "127.0.0.1:0".to_string(),
            )
        };
        let mut child = Command::new("taskset")
            .args(["-c", &cpus])
            .arg(&binary)
            .arg(&listen)
            .args(&extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .map(str::to_string);
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{name} did not report its address: {line:?}"));
        };
        Ok(Server { child, addr })
    }

    fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// User + system CPU time so far, in clock ticks (all threads).
    fn cpu_ticks(&self) -> Result<u64, String> {
        cpu_ticks(&self.child.id().to_string())
    }

    /// Resident set size in KiB.
    fn rss_kib(&self) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|error| format!("reading /proc/PID/status: {error}"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| "no VmRSS".into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The driver, pinned to its CPU.
fn driver(options: &Options) -> Command {
    let mut command = Command::new("taskset");
    command
        .args(["-c", DRIVER_CPU])
        .arg(options.bin_dir.join("sockeye"))
        .arg("load");
    command
}

fn run_cell(options: &Options, name: &str, cell: &Cell, ticks: f64) -> Result<Figures, String> {
    let server = Server::start(options, name)?;
    let mut command = driver(options);
    command
        .arg(server.url())
        .args(cell.args)
        .args(["-d", &options.duration, "--json"]);
    if name == FLOOR {
        command.arg("--raw-echo");
    }
    let cpu_before = server.cpu_ticks()?;
    let began = Instant::now();
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|error| format!("cannot run sockeye load: {error}"))?;
    let wall = began.elapsed().as_secs_f64();
    let cpu_secs = server.cpu_ticks()?.saturating_sub(cpu_before) as f64 / ticks;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().filter(|l| l.contains("sockeye")).take(2);
        return Err(format!(
            "sockeye load failed: {}",
            last.collect::<Vec<_>>().join("; ")
        ));
    }
    let summary: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .ok_or("no JSON summary from sockeye load")?;
    let number = |value: &serde_json::Value| value.as_f64().unwrap_or(f64::NAN);
    let messages = number(&summary["messages"]);
    let handshakes = number(&summary["handshakes"]);
    let operations = if cell.args.contains(&"--handshakes") {
        handshakes
    } else {
        messages
    };
    Ok(Figures {
        messages_per_sec: number(&summary["messages_per_sec"]),
        mb_per_sec: number(&summary["mb_per_sec"]),
        handshakes_per_sec: number(&summary["handshakes_per_sec"]),
        p50_us: number(&summary["latency_us"]["p50"]),
        p99_us: number(&summary["latency_us"]["p99"]),
        p999_us: number(&summary["latency_us"]["p999"]),
        cpu_us_per_op: cpu_secs * 1e6 / operations,
        cpu_busy: cpu_secs / wall,
        runs: 1,
    })
}

/// Resident memory: idle, and per connection at each idle count.
#[derive(Debug)]
struct Memory {
    idle_kib: u64,
    per_connection_kib: Vec<f64>,
}

fn measure_memory(options: &Options, name: &str) -> Result<Memory, String> {
    let mut idle_kib = 0;
    let mut per_connection_kib = Vec::new();
    for count in IDLE_COUNTS {
        let server = Server::start(options, name)?;
        std::thread::sleep(Duration::from_millis(200));
        let before = server.rss_kib()?;
        idle_kib = before;
        let mut child = driver(options)
            .arg(server.url())
            .args(["--idle", "-c", &count.to_string(), "-d", "3s", "--json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot run sockeye load: {error}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines.next().and_then(Result::ok).unwrap_or_default();
        let held: Option<usize> = serde_json::from_str::<serde_json::Value>(&ready)
            .ok()
            .and_then(|v| v["idle_connections"].as_u64())
            .map(|n| n as usize);
        // Let the last handshakes settle before reading.
        std::thread::sleep(Duration::from_millis(1000));
        let during = server.rss_kib();
        let _ = child.wait();
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        match held {
            Some(n) if n == count => {}
            other => {
                return Err(format!(
                    "{count} idle connections: {other:?} held; {}",
                    stderr.lines().last().unwrap_or("")
                ));
            }
        }
        per_connection_kib.push(during?.saturating_sub(before) as f64 / count as f64);
    }
    Ok(Memory {
        idle_kib,
        per_connection_kib,
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".into())
}

/// Versions of the measured libraries, from the workspace's Cargo.lock.
fn versions() -> String {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let wanted = [
        "tokio",
        "smol",
        "tokio-tungstenite",
        "fastwebsockets",
        "hyper",
        "tokio-websockets",
        "axum",
    ];
    let mut found: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("name = ") {
            name = wanted
                .iter()
                .find(|w| value.trim_matches('"') == **w)
                .copied();
        } else if let (Some(n), Some(value)) = (name, line.strip_prefix("version = ")) {
            found
                .entry(n)
                .or_default()
                .push(value.trim_matches('"').into());
            name = None;
        }
    }
    let mut listed: Vec<String> = wanted
        .iter()
        .map(|n| {
            let versions = found.get(n).map(|v| v.join("/")).unwrap_or_default();
            format!("{n} {versions}")
        })
        .collect();
    // The first line of uws-VERSIONS: "uWebSockets COMMIT DESCRIBE".
    let uws = std::fs::read_to_string(uws_binary().with_file_name("uws-VERSIONS"))
        .ok()
        .and_then(|text| Some(text.lines().next()?.split_whitespace().last()?.to_string()));
    if let Some(uws) = uws {
        listed.push(format!("uWebSockets {uws}"));
    }
    listed.join(", ")
}

fn render(
    options: &Options,
    rows: &[(String, String, Figures)],
    memory: &[(String, Option<Memory>)],
    load_before: &str,
    load_after: &str,
    elapsed: Duration,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "Machine: {cpu}, {} CPUs; server on CPU {SERVER_CPU}, driver on CPU {DRIVER_CPU}. \
         Load average before {load_before}, after {load_after}. {} s per run, {} runs per cell \
         (medians), {:.0} s in all.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        options.duration.trim_end_matches('s'),
        options.repeat,
        elapsed.as_secs_f64(),
    );
    let _ = writeln!(out, "Versions: {}.\n", versions());
    let _ = writeln!(
        out,
        "| cell | server | msg/s | MB/s | p50 µs | p99 µs | p99.9 µs | server CPU µs/msg | CPU/msg ÷ floor | server busy | {REFERENCE} ÷ this: msg/s | {REFERENCE} ÷ this: CPU/msg |"
    );
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (cell_name, server, figures) in rows {
        let cell = CELLS
            .iter()
            .find(|c| c.name == cell_name)
            .expect("known cell");
        let handshakes = cell.args.contains(&"--handshakes");
        let reference = rows
            .iter()
            .find(|(c, s, _)| c == cell_name && s == REFERENCE)
            .map(|(_, _, f)| f);
        let rate = |f: &Figures| {
            if handshakes {
                f.handshakes_per_sec
            } else {
                f.messages_per_sec
            }
        };
        let floor = rows
            .iter()
            .find(|(c, s, f)| c == cell_name && s == FLOOR && f.runs > 0)
            .map(|(_, _, f)| f);
        let over_floor = match floor {
            Some(floor) if figures.runs > 0 => {
                format!("{:.2}×", figures.cpu_us_per_op / floor.cpu_us_per_op)
            }
            _ => String::new(),
        };
        let (rate_ratio, cpu_ratio) = match reference {
            Some(r) if server != REFERENCE && figures.runs > 0 => (
                format!("{:.2}×", rate(r) / rate(figures)),
                format!("{:.2}×", r.cpu_us_per_op / figures.cpu_us_per_op),
            ),
            _ => (String::new(), String::new()),
        };
        if figures.runs == 0 {
            if server == FLOOR && handshakes {
                continue;
            }
            let _ = writeln!(
                out,
                "| {} | {server} | failed | | | | | | | | | |",
                cell.title
            );
            continue;
        }
        let _ = writeln!(
            out,
            "| {} | {server} | {}{:.0} | {} | {:.0} | {:.0} | {:.0} | {:.2} | {over_floor} | {:.0}% | {rate_ratio} | {cpu_ratio} |",
            cell.title,
            if handshakes { "hs/s " } else { "" },
            rate(figures),
            if handshakes {
                "".to_string()
            } else {
                format!("{:.1}", figures.mb_per_sec)
            },
            figures.p50_us,
            figures.p99_us,
            figures.p999_us,
            figures.cpu_us_per_op,
            figures.cpu_busy * 100.0,
        );
    }
    if !memory.is_empty() {
        let _ = writeln!(out);
        let _ = write!(out, "| server | RSS idle KiB |");
        for count in IDLE_COUNTS {
            let _ = write!(out, " KiB per conn, {count} idle |");
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "|---|--:|{}", "--:|".repeat(IDLE_COUNTS.len()));
        for (server, figures) in memory {
            match figures {
                Some(m) => {
                    let _ = write!(out, "| {server} | {} |", m.idle_kib);
                    for kib in &m.per_connection_kib {
                        let _ = write!(out, " {kib:.2} |");
                    }
                    let _ = writeln!(out);
                }
                None => {
                    let _ = writeln!(
                        out,
                        "| {server} | failed |{}",
                        " |".repeat(IDLE_COUNTS.len())
                    );
                }
            }
        }
    }
    out
}
