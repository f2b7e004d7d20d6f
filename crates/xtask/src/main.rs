//! `cargo xtask`: the project's automation.
//!
//! `cargo xtask ci` runs every check, in order, stopping at the first
//! failure, and installs whatever a check needs (rustup targets and
//! components, cargo tools, Python packages in `target/venv`, Debian
//! packages). `cargo xtask STEP` runs one step.

mod autobahn;
mod cmd;
mod ensure;
mod net;
mod steps;

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use cmd::Result;

/// One named check.
struct Step {
    name: &'static str,
    about: &'static str,
    run: fn() -> Result,
}

/// Every step of `cargo xtask ci`, in the order it runs them.
const STEPS: &[Step] = &[
    Step {
        name: "fmt",
        about: "cargo fmt --all --check",
        run: steps::fmt,
    },
    Step {
        name: "clippy",
        about: "clippy on every target, and on the engine without default features, warnings denied",
        run: steps::clippy,
    },
    Step {
        name: "test",
        about: "cargo test --workspace (unit, integration and doc tests), then the adapters' no_tls tests without rustls",
        run: steps::test,
    },
    Step {
        name: "no-std",
        about: "the engine for thumbv7em (no_std), wasm32 (with and without std), aarch64 (mask and UTF-8 tests under qemu)",
        run: steps::no_std,
    },
    Step {
        name: "miri",
        about: "the engine's tests under Miri (nightly), then the mask tests with AVX2/AVX-512 enabled",
        run: steps::miri,
    },
    Step {
        name: "ffi",
        about: "the C ABI: header freshness, C examples with -Werror, Python ctypes test, Autobahn on the C echo server and C client",
        run: steps::ffi,
    },
    Step {
        name: "fuzz",
        about: "every cargo-fuzz target built, then run briefly from its seed corpus (fuzz/smoke.sh)",
        run: steps::fuzz,
    },
    Step {
        name: "browser",
        about: "headless Chromium: the chat page (two pages talk, the server restarts, the pages reconnect), and a wss:// WebSocket over HTTP/2 to axum-echo",
        run: steps::browser,
    },
    Step {
        name: "autobahn",
        about: "the Autobahn TestSuite (kosoku) against the example servers and clients",
        run: autobahn::step,
    },
];

fn usage() -> String {
    let mut text = String::from(
        "usage:\n  \
         cargo xtask ci [--skip STEP]... [--only STEP]...   run every step, in order\n  \
         cargo xtask STEP                                   run one step\n  \
         cargo xtask autobahn-server NAME [-i CASE|-x CASE]... -- CMD [ARGS]...\n      \
         the Autobahn cases against an echo server\n  \
         cargo xtask autobahn-client NAME [-i CASE|-x CASE]... -- CMD [ARGS]...\n      \
         the Autobahn cases against an Autobahn client\n\n\
         steps:\n",
    );
    for step in STEPS {
        text.push_str(&format!("  {:<9} {}\n", step.name, step.about));
    }
    text.push_str(
        "\nautobahn-server/-client run CMD with the address (127.0.0.1:PORT, or ws://127.0.0.1:PORT)\n\
         appended, and write the report to target/autobahn/NAME. They run cases 1.* to 10.*;\n\
         -x CASE leaves cases out, -i CASE adds some (ids or globs like '9.*').\n",
    );
    text
}

fn find_step(name: &str) -> Result<&'static Step> {
    STEPS.iter().find(|step| step.name == name).ok_or_else(|| {
        let names: Vec<&str> = STEPS.iter().map(|step| step.name).collect();
        format!("unknown step {name:?}; steps are: {}", names.join(", "))
    })
}

/// Picks the steps of `ci` from `--skip` and `--only` options.
fn select(args: &[String]) -> Result<Vec<&'static Step>> {
    let mut skip = Vec::new();
    let mut only = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let list = match arg.as_str() {
            "--skip" => &mut skip,
            "--only" => &mut only,
            other => return Err(format!("unexpected argument {other:?}\n\n{}", usage())),
        };
        let name = args
            .next()
            .ok_or_else(|| format!("{arg} needs a step name"))?;
        // `--skip a,b` works as well as `--skip a --skip b`.
        for name in name.split(',') {
            list.push(find_step(name)?.name);
        }
    }
    Ok(STEPS
        .iter()
        .filter(|step| only.is_empty() || only.contains(&step.name))
        .filter(|step| !skip.contains(&step.name))
        .collect())
}

enum Outcome {
    Passed(Duration),
    Failed(Duration),
    NotRun,
}

/// Runs steps in order, stopping at the first failure, then prints the
/// summary table and the closing `N passed, M failed` line.
fn run_steps(steps: &[&Step]) -> ExitCode {
    let total_start = Instant::now();
    let mut outcomes = Vec::new();
    let mut failed = false;
    for (index, step) in steps.iter().enumerate() {
        if failed {
            outcomes.push((step.name, Outcome::NotRun));
            continue;
        }
        println!();
        println!("==== [{}/{}] {} ====", index + 1, steps.len(), step.name);
        println!("     {}", step.about);
        let start = Instant::now();
        let result = (step.run)();
        let elapsed = start.elapsed();
        match result {
            Ok(()) => {
                println!("==== {} passed in {} ====", step.name, seconds(elapsed));
                outcomes.push((step.name, Outcome::Passed(elapsed)));
            }
            Err(error) => {
                println!("==== {} FAILED in {} ====", step.name, seconds(elapsed));
                eprintln!("error: {error}");
                outcomes.push((step.name, Outcome::Failed(elapsed)));
                failed = true;
            }
        }
    }

    println!();
    println!("step       result   time");
    let (mut passed, mut failures) = (0, 0);
    for (name, outcome) in &outcomes {
        let (result, time) = match outcome {
            Outcome::Passed(time) => {
                passed += 1;
                ("ok", seconds(*time))
            }
            Outcome::Failed(time) => {
                failures += 1;
                ("FAILED", seconds(*time))
            }
            Outcome::NotRun => ("not run", String::from("-")),
        };
        println!("{name:<10} {result:<8} {time:>7}");
    }
    println!(
        "{:<10} {:<8} {:>7}",
        "total",
        "",
        seconds(total_start.elapsed())
    );
    println!("{passed} passed, {failures} failed");
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

/// `autobahn-server NAME [-i CASE | -x CASE]... -- CMD ARGS...` and
/// `autobahn-client ...`: run the Autobahn cases against any command, e.g.
/// while working on an adapter (`-x` leaves cases out of 1.* to 10.*, `-i`
/// adds cases).
fn autobahn_adhoc(kind: autobahn::Kind, args: &[String]) -> Result {
    let (name, mut rest) = args.split_first().ok_or("missing suite name")?;
    let mut selection = Vec::new();
    while let Some((option, after)) = rest.split_first() {
        match option.as_str() {
            "--" => {
                rest = after;
                break;
            }
            "-i" | "-x" => {
                let (case, after) = after
                    .split_first()
                    .ok_or_else(|| format!("{option} needs a case id or glob"))?;
                selection.extend([option.clone(), case.clone()]);
                rest = after;
            }
            _ => break,
        }
    }
    let (program, program_args) = rest.split_first().ok_or("missing command")?;
    let mut command = Command::new(program);
    command.args(program_args);
    let out_dir: PathBuf = autobahn::out_dir(name);
    match kind {
        autobahn::Kind::Server => {
            autobahn::autobahn_server_suite_selecting(name, command, &out_dir, &selection)
        }
        autobahn::Kind::Client => {
            autobahn::autobahn_client_suite_selecting(name, command, &out_dir, &selection)
        }
    }
    .map(drop)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprint!("{}", usage());
        return ExitCode::FAILURE;
    };
    let result = match task.as_str() {
        "ci" => match select(rest) {
            Ok(steps) => return run_steps(&steps),
            Err(error) => Err(error),
        },
        "autobahn-server" => autobahn_adhoc(autobahn::Kind::Server, rest),
        "autobahn-client" => autobahn_adhoc(autobahn::Kind::Client, rest),
        "help" | "--help" | "-h" => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        name => match find_step(name) {
            Ok(step) if rest.is_empty() => return run_steps(&[step]),
            Ok(_) => Err(format!("unexpected arguments after {name}\n\n{}", usage())),
            Err(error) => Err(format!("{error}\n\n{}", usage())),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(args: &[&str]) -> Result<Vec<&'static str>> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        select(&args).map(|steps| steps.iter().map(|step| step.name).collect())
    }

    #[test]
    fn ci_runs_every_step_in_order() {
        assert_eq!(
            names(&[]).unwrap(),
            [
                "fmt", "clippy", "test", "no-std", "miri", "ffi", "fuzz", "browser", "autobahn"
            ]
        );
    }

    #[test]
    fn skip_and_only_select_steps_keeping_the_order() {
        assert_eq!(
            names(&["--skip", "miri", "--skip", "autobahn"]).unwrap(),
            ["fmt", "clippy", "test", "no-std", "ffi", "fuzz", "browser"]
        );
        assert_eq!(
            names(&["--skip", "miri,fmt"]).unwrap(),
            [
                "clippy", "test", "no-std", "ffi", "fuzz", "browser", "autobahn"
            ]
        );
        assert_eq!(
            names(&["--only", "test", "--only", "fmt"]).unwrap(),
            ["fmt", "test"]
        );
        assert_eq!(
            names(&["--only", "test,miri", "--skip", "miri"]).unwrap(),
            ["test"]
        );
    }

    #[test]
    fn unknown_steps_and_arguments_are_errors() {
        assert!(
            names(&["--skip", "lint"])
                .unwrap_err()
                .contains("unknown step \"lint\"")
        );
        assert!(
            names(&["--only"])
                .unwrap_err()
                .contains("needs a step name")
        );
        assert!(
            names(&["--fast"])
                .unwrap_err()
                .contains("unexpected argument")
        );
    }
}
