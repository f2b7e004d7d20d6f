//! The soak: `cargo xtask soak --duration D [--server S] [--seed N]
//! [--report-every D] [--debug]` by hand, and the 60-second `soak` step of
//! `cargo xtask ci` against the tokio server.

use std::process::Command;

use crate::cmd::{self, Result};

/// The CI step's run: a minute against the tokio server, a fixed seed so a
/// failure replays with `cargo xtask soak --duration 60s --seed 1`. It fails
/// on a lost, duplicated, reordered or altered message, a leak or a crash;
/// the latency ratio is reported but not judged (`--latency-bound 0`): on a
/// shared CI machine a one-minute baseline's p99 moves by 3× from run to run
/// with the other jobs, and a longer run by hand judges it.
const CI_ARGS: &[&str] = &[
    "--duration",
    "60s",
    "--server",
    "tokio",
    "--seed",
    "1",
    "--report-every",
    "15s",
    "--latency-bound",
    "0",
];

/// The CI step: build the driver and servers in release (what users run;
/// in a debug build the servers' own slowness would dominate the latency
/// figures), then soak the tokio server for a minute.
pub fn step() -> Result {
    run(CI_ARGS, true)
}

/// `cargo xtask soak ARGS...`: the driver's arguments, passed on (`--debug`
/// builds and runs the debug binaries instead of the release ones).
pub fn adhoc(args: &[String]) -> Result {
    let release = !args.iter().any(|arg| arg == "--debug");
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|arg| *arg != "--debug")
        .collect();
    run(&args, release)
}

fn run(args: &[&str], release: bool) -> Result {
    let mut build = cmd::cargo();
    build.args(["build", "-p", "sockeye-soak", "--bins"]);
    if release {
        build.arg("--release");
    }
    cmd::run(&mut build)?;
    let profile = if release { "release" } else { "debug" };
    let driver = cmd::target_dir().join(profile).join("soak");
    cmd::run(Command::new(driver).args(args))
}
