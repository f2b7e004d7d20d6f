//! `sockeye connect` in a pipe: a million short lines through the client
//! against `sockeye echo`, the output checked byte for byte, in lines per
//! second.
//!
//! ```text
//! cargo build --release -p sockeye-cli -p sockeye-benches --bins
//! target/release/pipe [--lines 1000000] [--repeat 3] [--sockeye PATH] [--server PATH] [--websocat PATH]
//! ```
//!
//! The clock runs from starting `sockeye connect` until the last echoed
//! byte has arrived on its stdout, so the rate covers both directions (each
//! line goes out as a message and comes back) and leaves out what happens
//! after the last reply (the client's wait for more replies and its
//! closing handshake), which is reported beside it as the time to exit.
//! `--sockeye` measures another build of the client (an older one, say)
//! against the same server, `--server` (default: the client binary) names
//! the binary whose `echo` subcommand serves. `--websocat` measures
//! websocat (`websocat URL`: a text message per line, a line per message,
//! the same contract) in the same run, the rounds alternating between the
//! two clients.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest one run may take before it counts as hung.
const LIMIT: Duration = Duration::from_secs(300);

struct Options {
    lines: usize,
    repeat: usize,
    sockeye: PathBuf,
    server: Option<PathBuf>,
    websocat: Option<PathBuf>,
}

fn parse_options() -> Result<Options, String> {
    let exe = std::env::current_exe().map_err(|error| error.to_string())?;
    let mut options = Options {
        lines: 1_000_000,
        repeat: 3,
        sockeye: exe.with_file_name("sockeye"),
        server: None,
        websocat: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--lines" => options.lines = value()?.parse().map_err(|_| "--lines: a number")?,
            "--repeat" => options.repeat = value()?.parse().map_err(|_| "--repeat: a number")?,
            "--sockeye" => options.sockeye = value()?.into(),
            "--server" => options.server = Some(value()?.into()),
            "--websocat" => options.websocat = Some(value()?.into()),
            _ => {
                return Err(format!(
                    "usage: pipe [--lines N] [--repeat N] [--sockeye PATH] [--server PATH] [--websocat PATH] (not `{arg}`)"
                ));
            }
        }
    }
    Ok(options)
}

/// `count` lines of 12 to 20 bytes (newline included), all different.
fn generate(count: usize) -> Vec<u8> {
    let mut input = Vec::with_capacity(count * 20);
    for i in 0..count {
        writeln!(input, "line {i} of the pipe").expect("writing to a Vec");
    }
    input
}

/// An echo server process, killed when dropped.
struct Echo {
    child: Child,
    url: String,
}

impl Echo {
    fn start(binary: &PathBuf) -> Result<Echo, String> {
        let mut child = Command::new(binary)
            .args(["echo", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        let mut line = String::new();
        let _ = stderr.read_line(&mut line);
        // Keep draining so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("ws://"))
            .map(str::to_owned);
        match url {
            Some(url) => Ok(Echo { child, url }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "the echo server did not announce its address: {line:?}"
                ))
            }
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Run {
    /// From starting the client to the last echoed byte.
    to_last_echo: Duration,
    /// From starting the client to its exit.
    to_exit: Duration,
}

/// A client under test: the program and the arguments before the URL.
struct Client {
    name: String,
    program: PathBuf,
    args: &'static [&'static str],
}

fn run_once(client: &Client, url: &str, input: &[u8]) -> Result<Run, String> {
    let start = Instant::now();
    let mut child = Command::new(&client.program)
        .args(client.args)
        .arg(url)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", client.program.display()))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let data = input.to_vec();
    std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let mut stdout = child.stdout.take().expect("piped stdout");
    let expected = input.len();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut output = Vec::with_capacity(expected);
        let mut chunk = vec![0; 1 << 16];
        let mut complete = None;
        loop {
            match stdout.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => output.extend_from_slice(&chunk[..n]),
            }
            if complete.is_none() && output.len() >= expected {
                complete = Some(Instant::now());
            }
        }
        let _ = tx.send((output, complete));
    });
    let mut stderr = child.stderr.take().expect("piped stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let (output, complete) = match rx.recv_timeout(LIMIT) {
        Ok(received) => received,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("no end of output within {LIMIT:?}"));
        }
    };
    let status = child.wait().map_err(|error| error.to_string())?;
    let to_exit = start.elapsed();
    let errors = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("the client failed ({status}): {errors}"));
    }
    if output != input {
        let same = output.iter().zip(input).take_while(|(a, b)| a == b).count();
        return Err(format!(
            "the output differs from the input: {} bytes out of {}, first difference at byte {same}",
            output.len(),
            input.len()
        ));
    }
    let last = complete.ok_or("no output")?;
    Ok(Run {
        to_last_echo: last - start,
        to_exit,
    })
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let server = options.server.as_ref().unwrap_or(&options.sockeye);
    let echo = match Echo::start(server) {
        Ok(echo) => echo,
        Err(message) => {
            eprintln!("pipe: {message}");
            return ExitCode::FAILURE;
        }
    };
    let input = generate(options.lines);
    let mut clients = vec![Client {
        name: format!("{} connect", options.sockeye.display()),
        program: options.sockeye.clone(),
        args: &["connect"],
    }];
    if let Some(websocat) = &options.websocat {
        clients.push(Client {
            name: websocat.display().to_string(),
            program: websocat.clone(),
            args: &[],
        });
    }
    println!(
        "{} lines ({} bytes) against {} echo",
        options.lines,
        input.len(),
        server.display()
    );
    let mut rates = vec![Vec::new(); clients.len()];
    for round in 1..=options.repeat {
        for (client, rates) in clients.iter().zip(&mut rates) {
            match run_once(client, &echo.url, &input) {
                Ok(run) => {
                    let rate = options.lines as f64 / run.to_last_echo.as_secs_f64();
                    println!(
                        "{}, run {round}: {rate:.0} lines/s (last echo after {:.3} s, exit after {:.3} s), output identical",
                        client.name,
                        run.to_last_echo.as_secs_f64(),
                        run.to_exit.as_secs_f64()
                    );
                    rates.push(rate);
                }
                Err(message) => {
                    eprintln!("pipe: {}, run {round}: {message}", client.name);
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    for (client, rates) in clients.iter().zip(&mut rates) {
        rates.sort_by(f64::total_cmp);
        if let Some(median) = rates.get(rates.len() / 2) {
            println!(
                "{}: median {median:.0} lines/s in each direction",
                client.name
            );
        }
    }
    drop(echo);
    ExitCode::SUCCESS
}
