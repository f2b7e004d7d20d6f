//! Running `sockeye` as a process in tests, every wait bounded.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest any test waits for anything.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn sockeye() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sockeye"));
    command.env_remove("RUST_LOG");
    // The tests talk to loopback servers; a proxy set in the environment
    // that runs them must not take part unless a test sets one.
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"] {
        command
            .env_remove(name)
            .env_remove(name.to_ascii_lowercase());
    }
    command
}

/// A server process, killed when dropped.
pub struct Server {
    child: Child,
    /// The port it listens on.
    pub port: u16,
}

impl Server {
    /// Start `sockeye <args>` (which binds port 0) and wait for its
    /// "listening on" line on stderr.
    pub fn start(args: &[&str]) -> Server {
        let mut child = sockeye()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sockeye");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(WAIT)
            .expect("the server announces its address");
        let port = line
            .rsplit(':')
            .next()
            .and_then(|tail| {
                tail.trim_end_matches(|c: char| !c.is_ascii_digit())
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|digits| digits.parse().ok())
            })
            .or_else(|| {
                // "... http://127.0.0.1:PORT/ (WebSocket at ...)"
                line.split("127.0.0.1:")
                    .nth(1)
                    .and_then(|rest| rest.split('/').next())
                    .and_then(|digits| digits.parse().ok())
            })
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Server { child, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    /// The names of the process's threads (Linux: `/proc/PID/task/*/comm`).
    pub fn thread_names(&self) -> Vec<String> {
        let tasks = format!("/proc/{}/task", self.child.id());
        let mut names: Vec<String> = std::fs::read_dir(tasks)
            .expect("the server's threads")
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_string())
            .collect();
        names.sort();
        names
    }

    /// The event-loop threads serving connections (`sockeye-loop-N`), once
    /// `count` of them run (they start after the address is announced), or
    /// as many as run after [`WAIT`].
    pub fn server_threads(&self, count: usize) -> Vec<String> {
        let started = Instant::now();
        loop {
            let threads: Vec<String> = self
                .thread_names()
                .into_iter()
                .filter(|name| name.starts_with("sockeye-loop-"))
                .collect();
            if threads.len() >= count || started.elapsed() > WAIT {
                return threads;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `command` with `stdin` as its input; kill it if it takes longer than [`WAIT`].
pub fn run_with_input(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sockeye");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let stdout = reader(child.stdout.take().expect("stdout"));
    let stderr = reader(child.stderr.take().expect("stderr"));
    let status = wait_bounded(&mut child);
    Output {
        status,
        stdout: stdout.recv_timeout(WAIT).unwrap_or_default(),
        stderr: stderr.recv_timeout(WAIT).unwrap_or_default(),
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = pipe.read_to_end(&mut all);
        let _ = tx.send(all);
    });
    rx
}

fn wait_bounded(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if start.elapsed() > WAIT {
            let _ = child.kill();
            panic!("sockeye did not finish within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
