//! The Autobahn TestSuite cases, run by `kosoku` (PyPI), against sockeye's
//! example servers and clients.
//!
//! Two directions:
//! - [`autobahn_server_suite`]: kosoku is the client (`fuzzingclient` mode)
//!   and drives an echo server under test.
//! - [`autobahn_client_suite_selecting`]: kosoku is the server (`fuzzingserver` mode);
//!   the client under test asks `/getCaseCount`, then runs every
//!   `/runCase?case=N&agent=A` echoing what it receives, then calls
//!   `/updateReports?agent=A`, which ends the run.
//!
//! Either way kosoku writes `OUT/index.json` (plus one JSON and HTML report
//! per case), keyed by the agent (the server's `Server` header, or the
//! client's `agent` parameter), then case id:
//!
//! ```json
//! {
//!    "Python/3.11 websockets/17.4": {
//!       "1.1.1": {
//!          "behavior": "OK",
//!          "behaviorClose": "OK",
//!          "duration": 1,
//!          "remoteCloseCode": 1000,
//!          "reportfile": "python_3_11_websockets_17_4_case_1_1_1.json"
//!       },
//!       "7.1.5": {
//!          "behavior": "FAILED",
//!          "behaviorClose": "WRONG CODE",
//!          "duration": 2,
//!          "remoteCloseCode": 1002,
//!          "reportfile": "python_3_11_websockets_17_4_case_7_1_5.json"
//!       }
//!    }
//! }
//! ```
//!
//! `behavior` is one of `OK`, `NON-STRICT`, `INFORMATIONAL`, `UNIMPLEMENTED`,
//! `FAILED`, `ERROR`; `behaviorClose` one of `OK`, `INFORMATIONAL`, `FAILED`,
//! `FAILED BY CLIENT`, `UNCLEAN`, `WRONG CODE`; `remoteCloseCode` may be
//! `null`. A case passes when both verdicts are `OK`, `NON-STRICT` or
//! `INFORMATIONAL` (kosoku's own rule).
//!
//! Timing, measured on a 2-core machine against a Python `websockets` echo
//! peer, cases 1.* to 10.* (301 cases): the server suite takes about 17 s
//! with `-p 1` and 9 s with `-p 2`; the client suite (sequential by nature)
//! about 17 s.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cmd::{self, Result};
use crate::ensure::ensure_venv;
use crate::net::{ChildGuard, free_port};

/// Which side of the connection the program under test plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An echo server; gets its listen address (`127.0.0.1:PORT`) as its
    /// first argument.
    Server,
    /// An Autobahn client; gets the fuzzing server's URL
    /// (`ws://127.0.0.1:PORT`) as its first argument.
    Client,
}

/// The suites the `autobahn` step runs: name, kind, cargo example, package,
/// features. Each example is built with `cargo build --release --example
/// NAME -p PACKAGE --features FEATURES` and run from
/// `target/release/examples/NAME`.
pub const AUTOBAHN_SUITES: &[(&str, Kind, &str, &str, &[&str])] = &[
    (
        "tokio-echo-server",
        Kind::Server,
        "tokio-echo-server",
        "sockeye-tokio",
        &[],
    ),
    // The same echo on a ThreadedServer, one event loop per core.
    (
        "tokio-threaded-echo-server",
        Kind::Server,
        "tokio-threaded-echo-server",
        "sockeye-tokio",
        &[],
    ),
    (
        "smol-echo-server",
        Kind::Server,
        "smol-echo-server",
        "sockeye-smol",
        &[],
    ),
    (
        "std-echo-server",
        Kind::Server,
        "std-echo-server",
        "sockeye-std",
        &[],
    ),
    (
        "tokio-autobahn-client",
        Kind::Client,
        "tokio-autobahn-client",
        "sockeye-tokio",
        &[],
    ),
    (
        "smol-autobahn-client",
        Kind::Client,
        "smol-autobahn-client",
        "sockeye-smol",
        &[],
    ),
    (
        "std-autobahn-client",
        Kind::Client,
        "std-autobahn-client",
        "sockeye-std",
        &[],
    ),
    // An axum server upgrading through hyper (HTTP/1.1 here: kosoku has no
    // HTTP/2).
    (
        "axum-echo",
        Kind::Server,
        "axum-echo",
        "sockeye-hyper",
        &["axum"],
    ),
];

/// Suites with permessage-deflate: the example built with the `deflate`
/// feature (and the features listed) and run with `--deflate`, on
/// [`DEFLATE_CASES`] as well.
pub const DEFLATE_SUITES: &[(&str, Kind, &str, &str, &[&str])] = &[
    (
        "tokio-echo-server-deflate",
        Kind::Server,
        "tokio-echo-server",
        "sockeye-tokio",
        &[],
    ),
    (
        "tokio-autobahn-client-deflate",
        Kind::Client,
        "tokio-autobahn-client",
        "sockeye-tokio",
        &[],
    ),
    // sockeye-mio's event loops (two threads); the suite's cases 1.*–10.*
    // are its plain conformance run, since they offer no extension.
    (
        "mio-echo-server-deflate",
        Kind::Server,
        "mio-echo-server",
        "sockeye-mio",
        &[],
    ),
    // The deflate offer negotiated through the axum extractor (HTTP/1.1).
    (
        "axum-echo-deflate",
        Kind::Server,
        "axum-echo",
        "sockeye-hyper",
        &["axum"],
    ),
];

/// The permessage-deflate case groups, run by [`DEFLATE_SUITES`] only.
pub const DEFLATE_CASES: &[&str] = &["12.*", "13.*"];

/// The case groups every suite runs: 1.* to 10.* (there is no group 8).
/// 12.* and 13.* are permessage-deflate, run by [`DEFLATE_SUITES`].
pub const CASES: &[&str] = &[
    "1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*",
];

/// Cases kosoku runs at once against a server under test: 2 roughly halves
/// the wall time on a 2-core machine (17 s to 9 s for the full run).
const SERVER_PARALLELISM: &str = "2";
/// How long a server under test may take to start listening.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one whole suite may take (1.* to 10.* take well under a minute;
/// the permessage-deflate groups 12.* and 13.* several minutes).
const SUITE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long kosoku may take to write its report once the client is done.
const REPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// The verdicts that pass, for both `behavior` and `behaviorClose`.
const PASSING: &[&str] = &["OK", "NON-STRICT", "INFORMATIONAL"];

/// One case's line in `index.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    /// The agent the report is filed under.
    pub agent: String,
    /// The case id, e.g. `1.1.1`.
    pub id: String,
    /// The verdict for the message exchange.
    pub behavior: String,
    /// The verdict for the closing handshake.
    pub behavior_close: String,
    /// The close code the peer under test sent, if any.
    pub remote_close_code: Option<u64>,
    /// The per-case report file, relative to the output directory.
    pub report_file: String,
}

impl CaseResult {
    /// Whether both verdicts are acceptable.
    pub fn passed(&self) -> bool {
        PASSING.contains(&self.behavior.as_str()) && PASSING.contains(&self.behavior_close.as_str())
    }
}

/// What one suite run found.
#[derive(Debug)]
pub struct Summary {
    /// The suite's name.
    pub name: String,
    /// Every case, ordered by case id.
    pub cases: Vec<CaseResult>,
    /// How many cases got each `behavior`.
    pub by_behavior: BTreeMap<String, usize>,
    /// How many cases got each `behaviorClose`.
    pub by_behavior_close: BTreeMap<String, usize>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Summary {
    /// Summarizes parsed results.
    pub fn new(name: &str, mut cases: Vec<CaseResult>, elapsed: Duration) -> Self {
        cases.sort_by_key(|case| case_order(&case.id));
        let mut by_behavior = BTreeMap::new();
        let mut by_behavior_close = BTreeMap::new();
        for case in &cases {
            *by_behavior.entry(case.behavior.clone()).or_default() += 1;
            *by_behavior_close
                .entry(case.behavior_close.clone())
                .or_default() += 1;
        }
        Self {
            name: name.to_owned(),
            cases,
            by_behavior,
            by_behavior_close,
            elapsed,
        }
    }

    /// The cases that did not pass.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|case| !case.passed())
    }

    /// `Ok` with the summary when every case passed; otherwise an error that
    /// lists every failing case.
    pub fn into_result(self, out_dir: &Path) -> Result<Self> {
        if self.cases.is_empty() {
            return Err(format!(
                "autobahn {}: index.json in {} has no cases",
                self.name,
                out_dir.display()
            ));
        }
        let failures: Vec<String> = self
            .failures()
            .map(|case| {
                format!(
                    "  {:<8} behavior={} behaviorClose={} remoteCloseCode={} ({})",
                    case.id,
                    case.behavior,
                    case.behavior_close,
                    case.remote_close_code
                        .map_or_else(|| "none".to_owned(), |code| code.to_string()),
                    out_dir.join(&case.report_file).display()
                )
            })
            .collect();
        if failures.is_empty() {
            Ok(self)
        } else {
            Err(format!(
                "autobahn {}: {} of {} cases failed:\n{}",
                self.name,
                failures.len(),
                self.cases.len(),
                failures.join("\n")
            ))
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = |map: &BTreeMap<String, usize>| {
            map.iter()
                .map(|(verdict, n)| format!("{n} {verdict}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "autobahn {}: {} cases in {:.1}s; behavior: {}; close: {}",
            self.name,
            self.cases.len(),
            self.elapsed.as_secs_f64(),
            counts(&self.by_behavior),
            counts(&self.by_behavior_close)
        )
    }
}

/// Sort key for case ids: `1.1.10` after `1.1.9`.
fn case_order(id: &str) -> Vec<u64> {
    id.split('.')
        .map(|part| part.parse().unwrap_or(u64::MAX))
        .collect()
}

/// Parses kosoku's `index.json` (see the module docs for its shape).
pub fn parse_index(json: &str) -> Result<Vec<CaseResult>> {
    let root: Value =
        serde_json::from_str(json).map_err(|e| format!("index.json is not JSON: {e}"))?;
    let agents = root
        .as_object()
        .ok_or("index.json: expected an object keyed by agent")?;
    let mut cases = Vec::new();
    for (agent, agent_cases) in agents {
        let agent_cases = agent_cases
            .as_object()
            .ok_or_else(|| format!("index.json: agent {agent:?}: expected an object"))?;
        for (id, case) in agent_cases {
            let field = |name: &str| {
                case.get(name)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("index.json: case {id}: missing string {name:?}"))
            };
            cases.push(CaseResult {
                agent: agent.clone(),
                id: id.clone(),
                behavior: field("behavior")?,
                behavior_close: field("behaviorClose")?,
                remote_close_code: case.get("remoteCloseCode").and_then(Value::as_u64),
                report_file: field("reportfile").unwrap_or_default(),
            });
        }
    }
    Ok(cases)
}

/// Reads and parses `out_dir/index.json`.
pub fn read_index(out_dir: &Path) -> Result<Vec<CaseResult>> {
    let path = out_dir.join("index.json");
    let json =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    parse_index(&json).map_err(|e| format!("{}: {e}", path.display()))
}

/// The `kosoku` executable, installed into `target/venv` if needed, selecting
/// [`CASES`] and then `selection` (`-x CASE` leaves cases out, `-i CASE`
/// adds some).
fn kosoku(selection: &[String]) -> Result<Command> {
    let bin = installed_kosoku()?;
    let mut command = Command::new(bin.join("kosoku"));
    for case in CASES {
        command.args(["-i", case]);
    }
    command.args(selection);
    Ok(command)
}

/// The virtualenv's `bin` directory, with kosoku installed and patched.
fn installed_kosoku() -> Result<PathBuf> {
    let bin = ensure_venv(&["kosoku"])?;
    patch_kosoku_text_echo(&bin)?;
    Ok(bin)
}

/// kosoku 0.1.0 hands the 12.*/13.* case file a compressed message as
/// `bytes` but an uncompressed one as `str` (text decoded as UTF-8, binary
/// decoded as Latin-1, one code point per byte, for the older cases written
/// for Python 2), which the case file then hashes as if it were bytes: every
/// uncompressed echo (RFC 7692 lets a message go without RSV1) ends in ERROR
/// ("Strings must be encoded before hashing") whatever the peer does. This
/// turns such a `str` back into the bytes received, by the same encoding
/// kosoku decoded them with; the comparison itself is unchanged. Idempotent,
/// and it upgrades a copy patched by an earlier xtask that encoded binary
/// messages as UTF-8 too.
fn patch_kosoku_text_echo(bin: &Path) -> Result {
    const ORIGINAL: &str = "def onMessage(self, msg, binary):\n   m = hashlib.sha1()\n";
    const EARLIER: &str = "def onMessage(self, msg, binary):\n   if isinstance(msg, str):\n      \
                           msg = msg.encode('utf-8')\n   m = hashlib.sha1()\n";
    const PATCHED: &str = "def onMessage(self, msg, binary):\n   if isinstance(msg, str):\n      \
                           msg = msg.encode('latin-1' if binary else 'utf-8')\n   \
                           m = hashlib.sha1()\n";
    let lib = bin.with_file_name("lib");
    let entries = std::fs::read_dir(&lib).map_err(|e| format!("reading {}: {e}", lib.display()))?;
    for entry in entries.flatten() {
        let file = entry
            .path()
            .join("site-packages/kosoku/cases/case12_x_x.py");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let patched = text.replace(ORIGINAL, PATCHED).replace(EARLIER, PATCHED);
        if patched != text {
            std::fs::write(&file, patched)
                .map_err(|e| format!("patching {}: {e}", file.display()))?;
            println!(
                "xtask: patched {} (uncompressed echo hashing)",
                file.display()
            );
        }
    }
    Ok(())
}

fn fresh_dir(out_dir: &Path) -> Result {
    if out_dir.exists() {
        std::fs::remove_dir_all(out_dir)
            .map_err(|e| format!("clearing {}: {e}", out_dir.display()))?;
    }
    std::fs::create_dir_all(out_dir).map_err(|e| format!("creating {}: {e}", out_dir.display()))
}

/// Runs cases 1.* to 10.* against an echo server under test.
///
/// `server_cmd` gets `127.0.0.1:PORT` appended as its first argument (so it
/// should not have arguments yet), on a free port. Its report goes to
/// `out_dir`, which is emptied first.
///
/// # Errors
/// If the server does not start, kosoku cannot run or writes no report, or
/// any case does not pass (all failing cases are listed).
pub fn autobahn_server_suite(name: &str, server_cmd: Command, out_dir: &Path) -> Result<Summary> {
    autobahn_server_suite_selecting(name, server_cmd, out_dir, &[])
}

/// [`autobahn_server_suite`] with extra kosoku case options (`-x '9.*'`).
pub fn autobahn_server_suite_selecting(
    name: &str,
    mut server_cmd: Command,
    out_dir: &Path,
    selection: &[String],
) -> Result<Summary> {
    let mut kosoku = kosoku(selection)?;
    fresh_dir(out_dir)?;
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut server = ChildGuard::spawn(&format!("{name} server"), server_cmd.arg(&address))?;
    server.wait_for_port(port, STARTUP_TIMEOUT)?;

    let start = Instant::now();
    kosoku
        .args(["-p", SERVER_PARALLELISM, "-o"])
        .arg(out_dir)
        .arg(&address);
    let mut run = ChildGuard::spawn("kosoku fuzzingclient", &mut kosoku)?;
    // kosoku exits non-zero when a case fails; the report says which.
    let status = run.wait_timeout(SUITE_TIMEOUT)?;
    let elapsed = start.elapsed();
    server.check_running()?;
    drop(server);
    finish(name, out_dir, elapsed, status.success())
}

/// Runs cases 1.* to 10.*, and the extra kosoku case options `selection`
/// (`-x '9.*'`, `-i '12.*'`), against an Autobahn client under test.
///
/// kosoku serves the cases on a free port; `client_cmd` gets
/// `ws://127.0.0.1:PORT` appended as its first argument and must run every
/// case, then call `/updateReports`. Its report goes to `out_dir`, which is
/// emptied first.
///
/// # Errors
/// If kosoku cannot start, the client fails or runs past the time limit, no
/// report is written, or any case does not pass (all failing cases listed).
pub fn autobahn_client_suite_selecting(
    name: &str,
    mut client_cmd: Command,
    out_dir: &Path,
    selection: &[String],
) -> Result<Summary> {
    let mut kosoku = kosoku(selection)?;
    fresh_dir(out_dir)?;
    let port = free_port();
    kosoku
        .args(["-m", "fuzzingserver", "-o"])
        .arg(out_dir)
        .arg(format!("127.0.0.1:{port}"));
    let mut server = ChildGuard::spawn("kosoku fuzzingserver", &mut kosoku)?;
    server.wait_for_port(port, STARTUP_TIMEOUT)?;

    let start = Instant::now();
    let mut client = ChildGuard::spawn(
        &format!("{name} client"),
        client_cmd.arg(format!("ws://127.0.0.1:{port}")),
    )?;
    let client_status = client.wait_timeout(SUITE_TIMEOUT)?;
    if !client_status.success() {
        return Err(format!(
            "autobahn {name}: the client failed ({client_status})"
        ));
    }
    let status = server
        .wait_timeout(REPORT_TIMEOUT)
        .map_err(|e| format!("autobahn {name}: {e} (did the client call /updateReports?)"))?;
    finish(name, out_dir, start.elapsed(), status.success())
}

fn finish(
    name: &str,
    out_dir: &Path,
    elapsed: Duration,
    kosoku_succeeded: bool,
) -> Result<Summary> {
    let summary = Summary::new(name, read_index(out_dir)?, elapsed);
    println!("{summary}");
    println!("  report: {}", out_dir.join("index.html").display());
    let summary = summary.into_result(out_dir)?;
    if kosoku_succeeded {
        Ok(summary)
    } else {
        Err(format!(
            "autobahn {name}: kosoku failed although every case in index.json passed"
        ))
    }
}

/// Where a suite's report goes.
pub fn out_dir(name: &str) -> PathBuf {
    cmd::target_dir().join("autobahn").join(name)
}

/// permessage-deflate against an independent implementation, Python
/// `websockets`, in both directions: sockeye-tokio's `deflate_interop`
/// tests, which are `#[ignore]`d in a plain `cargo test` because they need
/// that peer, run here with `--ignored` and the virtualenv's Python (where
/// `websockets` is installed next to kosoku). Both must run and pass.
pub fn deflate_interop() -> Result {
    let bin = ensure_venv(&["kosoku", "websockets"])?;
    let totals = cmd::run_named_tests(
        cmd::cargo()
            .args([
                "test",
                "-p",
                "sockeye-tokio",
                "--features",
                "deflate",
                "--test",
                "deflate_interop",
                "--",
                "--ignored",
            ])
            .env("SOCKEYE_PYTHON", bin.join("python")),
        1,
    )?;
    if totals.passed < DEFLATE_INTEROP_TESTS {
        return Err(format!(
            "deflate_interop: {} of {DEFLATE_INTEROP_TESTS} tests passed",
            totals.passed
        ));
    }
    Ok(())
}

/// The tests in sockeye-tokio's `tests/deflate_interop.rs`: our client
/// against the Python server, the Python client against our server.
const DEFLATE_INTEROP_TESTS: usize = 2;

/// `sockeye connect` against a Python `websockets` server, which stops
/// sending once it has the client's close: sockeye-cli's ignored
/// `connect_pipes` test, run with the virtualenv's Python.
pub fn connect_interop() -> Result {
    let bin = ensure_venv(&["kosoku", "websockets"])?;
    cmd::run_named_tests(
        cmd::cargo()
            .args([
                "test",
                "-p",
                "sockeye-cli",
                "--test",
                "connect_pipes",
                "--",
                "--ignored",
            ])
            .env("SOCKEYE_PYTHON", bin.join("python")),
        1,
    )
    .map(drop)
}

/// Python `websockets` as a client of the axum extractor over HTTP/1.1:
/// sockeye-hyper's ignored `python_interop` test, run with the
/// virtualenv's Python.
pub fn axum_interop() -> Result {
    let bin = ensure_venv(&["kosoku", "websockets"])?;
    cmd::run_named_tests(
        cmd::cargo()
            .args([
                "test",
                "-p",
                "sockeye-hyper",
                "--features",
                "axum",
                "--test",
                "python_interop",
                "--",
                "--ignored",
            ])
            .env("SOCKEYE_PYTHON", bin.join("python")),
        1,
    )
    .map(drop)
}

/// Builds `example` of `package` in release mode with `features`; its path.
fn build_example(example: &str, package: &str, features: &[&str]) -> Result<PathBuf> {
    let mut build = cmd::cargo();
    build.args(["build", "--release", "--example", example, "-p", package]);
    if !features.is_empty() {
        build.args(["--features", &features.join(",")]);
    }
    cmd::run(&mut build)?;
    Ok(cmd::target_dir()
        .join("release")
        .join("examples")
        .join(example))
}

/// Runs suite `name` of `kind` with `command` as the implementation under
/// test and extra kosoku case options `selection`.
fn run_suite(name: &str, kind: Kind, command: Command, selection: &[String]) -> Result<Summary> {
    let out_dir = out_dir(name);
    match kind {
        Kind::Server => autobahn_server_suite_selecting(name, command, &out_dir, selection),
        Kind::Client => autobahn_client_suite_selecting(name, command, &out_dir, selection),
    }
}

/// The `autobahn` step: builds and runs every registered suite, running all
/// of them before reporting the ones that failed.
pub fn step() -> Result {
    if AUTOBAHN_SUITES.is_empty() {
        println!("no Autobahn suites registered");
        return Ok(());
    }
    let mut failures = Vec::new();
    for &(name, kind, example, package, features) in AUTOBAHN_SUITES {
        let command = Command::new(build_example(example, package, features)?);
        if let Err(error) = run_suite(name, kind, command, &[]) {
            eprintln!("{error}");
            failures.push(name);
        }
    }
    if let Err(error) = deflate_interop() {
        eprintln!("{error}");
        failures.push("deflate-interop");
    }
    if let Err(error) = connect_interop() {
        eprintln!("{error}");
        failures.push("connect-interop");
    }
    if let Err(error) = axum_interop() {
        eprintln!("{error}");
        failures.push("axum-interop");
    }
    let selection: Vec<String> = DEFLATE_CASES
        .iter()
        .flat_map(|case| ["-i".to_string(), case.to_string()])
        .collect();
    let mut deflate_suites = Vec::new();
    for &(name, kind, example, package, features) in DEFLATE_SUITES {
        let features: Vec<&str> = features.iter().copied().chain(["deflate"]).collect();
        let mut command = Command::new(build_example(example, package, &features)?);
        command.arg("--deflate");
        deflate_suites.push((name, kind, command));
    }
    // The deflate suites spend most of their time in kosoku's Python, on one
    // core each, so they run side by side: the step then takes as long as
    // the longer one. kosoku is installed and patched first, not by both at
    // once.
    installed_kosoku()?;
    let selection = &selection;
    let results: Vec<(&str, Result<Summary>)> = std::thread::scope(|scope| {
        let running: Vec<_> = deflate_suites
            .into_iter()
            .map(|(name, kind, command)| {
                let suite = scope.spawn(move || run_suite(name, kind, command, selection));
                (name, suite)
            })
            .collect();
        running
            .into_iter()
            .map(|(name, suite)| {
                let result = suite
                    .join()
                    .unwrap_or_else(|_| Err(format!("autobahn {name}: the suite panicked")));
                (name, result)
            })
            .collect()
    });
    for (name, result) in results {
        if let Err(error) = result {
            eprintln!("{error}");
            failures.push(name);
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("Autobahn suites failed: {}", failures.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
       "sockeye-std/0.1.0": {
          "1.1.10": {"behavior": "OK", "behaviorClose": "OK", "duration": 1,
                     "remoteCloseCode": 1000, "reportfile": "sockeye_case_1_1_10.json"},
          "1.1.9":  {"behavior": "NON-STRICT", "behaviorClose": "OK", "duration": 1,
                     "remoteCloseCode": 1000, "reportfile": "sockeye_case_1_1_9.json"},
          "6.4.1":  {"behavior": "INFORMATIONAL", "behaviorClose": "INFORMATIONAL",
                     "duration": 2003, "remoteCloseCode": null, "reportfile": "sockeye_case_6_4_1.json"},
          "7.1.5":  {"behavior": "FAILED", "behaviorClose": "WRONG CODE", "duration": 2,
                     "remoteCloseCode": 1002, "reportfile": "sockeye_case_7_1_5.json"},
          "7.3.1":  {"behavior": "OK", "behaviorClose": "UNCLEAN", "duration": 2,
                     "remoteCloseCode": null, "reportfile": "sockeye_case_7_3_1.json"}
       }
    }"#;

    #[test]
    fn parses_index_json() {
        let cases = parse_index(SAMPLE).unwrap();
        assert_eq!(cases.len(), 5);
        let case = cases.iter().find(|c| c.id == "7.1.5").unwrap();
        assert_eq!(
            case,
            &CaseResult {
                agent: "sockeye-std/0.1.0".into(),
                id: "7.1.5".into(),
                behavior: "FAILED".into(),
                behavior_close: "WRONG CODE".into(),
                remote_close_code: Some(1002),
                report_file: "sockeye_case_7_1_5.json".into(),
            }
        );
        let informational = cases.iter().find(|c| c.id == "6.4.1").unwrap();
        assert_eq!(informational.remote_close_code, None);
    }

    #[test]
    fn summary_orders_cases_and_counts_verdicts() {
        let summary = Summary::new("sample", parse_index(SAMPLE).unwrap(), Duration::ZERO);
        let ids: Vec<&str> = summary.cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["1.1.9", "1.1.10", "6.4.1", "7.1.5", "7.3.1"]);
        assert_eq!(summary.by_behavior["OK"], 2);
        assert_eq!(summary.by_behavior["NON-STRICT"], 1);
        assert_eq!(summary.by_behavior_close["OK"], 2);
        assert_eq!(summary.by_behavior_close["UNCLEAN"], 1);
        assert_eq!(
            summary.to_string(),
            "autobahn sample: 5 cases in 0.0s; behavior: 1 FAILED, 1 INFORMATIONAL, \
             1 NON-STRICT, 2 OK; close: 1 INFORMATIONAL, 2 OK, 1 UNCLEAN, 1 WRONG CODE"
        );
    }

    #[test]
    fn failure_lists_every_failing_case_including_close_verdicts() {
        let summary = Summary::new("sample", parse_index(SAMPLE).unwrap(), Duration::ZERO);
        let error = summary.into_result(Path::new("out")).unwrap_err();
        assert!(
            error.starts_with("autobahn sample: 2 of 5 cases failed:"),
            "{error}"
        );
        // A failed message exchange, and a clean exchange with an unclean close.
        assert!(
            error
                .contains("7.1.5    behavior=FAILED behaviorClose=WRONG CODE remoteCloseCode=1002"),
            "{error}"
        );
        assert!(
            error.contains("7.3.1    behavior=OK behaviorClose=UNCLEAN remoteCloseCode=none"),
            "{error}"
        );
        assert!(!error.contains("1.1.9"), "NON-STRICT passes: {error}");
        assert!(!error.contains("6.4.1"), "INFORMATIONAL passes: {error}");
    }

    #[test]
    fn passing_cases_pass() {
        let passing: Vec<CaseResult> = parse_index(SAMPLE)
            .unwrap()
            .into_iter()
            .filter(CaseResult::passed)
            .collect();
        assert_eq!(passing.len(), 3);
        let summary = Summary::new("sample", passing, Duration::ZERO);
        assert!(summary.into_result(Path::new("out")).is_ok());
    }

    #[test]
    fn an_empty_report_fails() {
        let summary = Summary::new("empty", parse_index("{}").unwrap(), Duration::ZERO);
        assert!(
            summary
                .into_result(Path::new("out"))
                .unwrap_err()
                .contains("no cases")
        );
    }

    #[test]
    fn malformed_index_json_is_an_error() {
        assert!(parse_index("[]").is_err());
        assert!(
            parse_index(r#"{"a": {"1.1.1": {"behavior": "OK"}}}"#)
                .unwrap_err()
                .contains("behaviorClose")
        );
    }

    #[test]
    fn kosoku_patch_restores_received_bytes_and_upgrades_the_earlier_one() {
        let root = std::env::temp_dir().join(format!("xtask-kosoku-patch-{}", std::process::id()));
        let cases = root.join("lib/python3.11/site-packages/kosoku/cases");
        std::fs::create_dir_all(&cases).unwrap();
        std::fs::create_dir_all(root.join("bin")).unwrap();
        let file = cases.join("case12_x_x.py");
        let tail = "   m.update(msg)\n";
        let earlier = "def onMessage(self, msg, binary):\n   if isinstance(msg, str):\n      \
                       msg = msg.encode('utf-8')\n   m = hashlib.sha1()\n";
        let original = "def onMessage(self, msg, binary):\n   m = hashlib.sha1()\n";
        for before in [original, earlier] {
            std::fs::write(&file, format!("{before}{tail}")).unwrap();
            patch_kosoku_text_echo(&root.join("bin")).unwrap();
            patch_kosoku_text_echo(&root.join("bin")).unwrap();
            let text = std::fs::read_to_string(&file).unwrap();
            assert_eq!(
                text,
                "def onMessage(self, msg, binary):\n   if isinstance(msg, str):\n      \
                 msg = msg.encode('latin-1' if binary else 'utf-8')\n   m = hashlib.sha1()\n   \
                 m.update(msg)\n"
            );
        }
        std::fs::remove_dir_all(&root).unwrap();
    }
}
