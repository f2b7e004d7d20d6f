//! The server under test: a child process started from the binary next to
//! the driver's own, its stats line read from its stdout, its resident
//! memory and open descriptors read from `/proc`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sockeye_soak::parse_stats_line;

/// The flavours, by `--server` name.
pub const FLAVOURS: [&str; 5] = ["tokio", "smol", "std", "mio", "axum"];

/// glibc's allocator settings for the server: fixed mmap and trim
/// thresholds (by default glibc raises both after the first large free, up
/// to 32 and 64 MiB, and then keeps freed buffers resident) and at most two
/// arenas (by default one per thread, up to eight per core, each keeping
/// its own freed memory). With them the resident set shows what the
/// server holds, not what the allocator keeps for later; the exact count
/// of heap bytes in use comes from the server's stats line either way.
pub const ALLOCATOR_SETTINGS: [(&str, &str); 3] = [
    ("MALLOC_ARENA_MAX", "2"),
    ("MALLOC_MMAP_THRESHOLD_", "131072"),
    ("MALLOC_TRIM_THRESHOLD_", "131072"),
];

/// A running server under test.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    live: Arc<AtomicUsize>,
    tasks: Arc<AtomicUsize>,
    heap: Arc<AtomicUsize>,
    exited: Arc<AtomicBool>,
}

/// What the server's process holds at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    pub rss_kib: u64,
    pub fds: u64,
    pub live: usize,
    pub tasks: usize,
    pub heap: usize,
}

impl Server {
    /// Start `soak-server-FLAVOUR` (from the driver's own directory) on a
    /// free loopback port and wait for its address.
    pub fn start(flavour: &str) -> Result<Self, String> {
        let binary = sibling(&format!("soak-server-{flavour}"))?;
        let mut child = Command::new(&binary)
            .arg("127.0.0.1:0")
            .envs(ALLOCATOR_SETTINGS)
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let addr = first
            .strip_prefix("listening on ")
            .and_then(|addr| addr.trim().parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{} printed {first:?}, not its address",
                binary.display()
            ));
        };
        let (live, tasks, heap, exited) = Default::default();
        let server = Self {
            child,
            addr,
            live,
            tasks,
            heap,
            exited,
        };
        let (live, tasks, heap, exited) = (
            server.live.clone(),
            server.tasks.clone(),
            server.heap.clone(),
            server.exited.clone(),
        );
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Some(stats) = parse_stats_line(&line) {
                    live.store(stats.live, Ordering::Relaxed);
                    tasks.store(stats.tasks, Ordering::Relaxed);
                    heap.store(stats.heap, Ordering::Relaxed);
                }
            }
            exited.store(true, Ordering::Relaxed);
        });
        Ok(server)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server's stdout ended (it exited or crashed).
    pub fn has_exited(&self) -> bool {
        self.exited.load(Ordering::Relaxed)
    }

    /// Memory, descriptors and counts now (the counts as of the last stats
    /// line, at most half a second old).
    pub fn sample(&self) -> Sample {
        let pid = self.pid();
        let rss_kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
                line.split_whitespace().nth(1)?.parse().ok()
            })
            .unwrap_or(0);
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|dir| dir.count() as u64)
            .unwrap_or(0);
        Sample {
            rss_kib,
            fds,
            live: self.live.load(Ordering::Relaxed),
            tasks: self.tasks.load(Ordering::Relaxed),
            heap: self.heap.load(Ordering::Relaxed),
        }
    }

    /// Wait (up to `limit`) until the server is back to `idle` descriptors
    /// and no client; returns the last sample.
    pub async fn settle(&self, idle_fds: u64, limit: Duration) -> Sample {
        let end = tokio::time::Instant::now() + limit;
        loop {
            // Two stats lines apart, so the counts are current.
            tokio::time::sleep(Duration::from_millis(1100)).await;
            let sample = self.sample();
            let idle = sample.live == 0 && sample.tasks == 0 && sample.fds <= idle_fds;
            if idle || tokio::time::Instant::now() >= end {
                return sample;
            }
        }
    }

    /// Stop the process (by its id) and report whether it was still running.
    pub fn stop(mut self) -> bool {
        let running = matches!(self.child.try_wait(), Ok(None));
        let _ = self.child.kill();
        let _ = self.child.wait();
        running
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A binary in the driver's own directory.
fn sibling(name: &str) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|error| error.to_string())?;
    let path = me.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found; build it with `cargo build -p sockeye-soak --bins`",
            path.display()
        ))
    }
}
