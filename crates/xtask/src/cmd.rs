//! Running commands: where the workspace is, how a command is shown, and
//! turning an exit status into a `Result`.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Every fallible xtask function reports a human-readable message.
pub type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (this crate lives in `crates/xtask`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/xtask has two ancestors")
        .to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` if set, else `target/`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// The cargo that runs xtask (so the same toolchain runs every step), in the
/// workspace root.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(root());
    command
}

/// `cargo +nightly`, through the rustup proxy (the `+toolchain` argument is a
/// rustup feature, so this must not be the toolchain's own cargo binary).
pub fn cargo_nightly() -> Command {
    let mut command = Command::new(rustup_proxy("cargo"));
    command
        .arg("+nightly")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .current_dir(root());
    command
}

/// A rustup proxy (`cargo`, `rustup`) from `$CARGO_HOME/bin` when it exists,
/// else whatever `PATH` finds.
pub fn rustup_proxy(name: &str) -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    if let Some(candidate) = cargo_home.map(|home| home.join("bin").join(name))
        && candidate.is_file()
    {
        return candidate;
    }
    PathBuf::from(name)
}

/// A command as a shell line, for banners and error messages.
pub fn display(command: &Command) -> String {
    let mut line = String::new();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            line.push_str(&format!("{}={} ", key.to_string_lossy(), quote(value)));
        }
    }
    line.push_str(&quote(command.get_program()));
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    line
}

fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=+,@%".contains(c));
    if plain {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Runs a command with inherited output, failing unless it exits with 0.
pub fn run(command: &mut Command) -> Result {
    println!("$ {}", display(command));
    let status = command
        .status()
        .map_err(|e| format!("could not start `{}`: {e}", display(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", display(command)))
    }
}

/// Runs a command quietly and returns its stdout, failing unless it exits
/// with 0.
pub fn output(command: &mut Command) -> Result<String> {
    let out = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start `{}`: {e}", display(command)))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("`{}` failed ({})", display(command), out.status))
    }
}

/// Whether a command can be started and exits with 0, output discarded.
pub fn succeeds(command: &mut Command) -> bool {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Counts summed over a test run's `test result:` lines.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TestTotals {
    /// How many `test result:` lines (one per test binary and doc-test run).
    pub runs: usize,
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Tests ignored.
    pub ignored: usize,
    /// Tests left out by a name filter.
    pub filtered_out: usize,
    /// Runs (test binaries) in which no test passed.
    pub runs_without_a_pass: usize,
}

impl TestTotals {
    /// Adds one libtest closing line such as
    /// `test result: ok. 23 passed; 0 failed; 1 ignored; 0 measured; 4 filtered out; finished in 0.01s`.
    /// Returns whether the line was one.
    pub fn add_line(&mut self, line: &str) -> bool {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return false;
        };
        let passed_before = self.passed;
        self.runs += 1;
        // After "ok." or "FAILED.": "23 passed; 0 failed; ... 4 filtered out; finished in ...".
        let counts = rest.split_once(". ").map_or(rest, |(_, counts)| counts);
        for part in counts.split(';') {
            let part = part.trim();
            let Some((count, label)) = part.split_once(' ') else {
                continue;
            };
            let Ok(count) = count.parse::<usize>() else {
                continue;
            };
            match label {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                "ignored" => self.ignored += count,
                "filtered out" => self.filtered_out += count,
                _ => {}
            }
        }
        if self.passed == passed_before {
            self.runs_without_a_pass += 1;
        }
        true
    }
}

/// [`run_tests`] for named tests that must really run: fails unless there
/// were exactly `binaries` test runs and a test passed in each. A test
/// compiled out by a `cfg`, left out by a filter or ignored otherwise shows
/// as `0 passed` and would pass unnoticed.
pub fn run_named_tests(command: &mut Command, binaries: usize) -> Result<TestTotals> {
    let totals = run_tests(command)?;
    if totals.runs != binaries || totals.runs_without_a_pass != 0 {
        return Err(format!(
            "`{}`: expected a passing test in each of {binaries} test runs, \
             got {} runs of which {} passed nothing",
            display(command),
            totals.runs,
            totals.runs_without_a_pass
        ));
    }
    Ok(totals)
}

/// Runs a test command, streaming its stdout as it comes, and collects the
/// `test result:` closing lines, which it repeats at the end so they are
/// visible together even after a long log.
pub fn run_tests(command: &mut Command) -> Result<TestTotals> {
    println!("$ {}", display(command));
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start `{}`: {e}", display(command)))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut totals = TestTotals::default();
    let mut closing_lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("reading test output: {e}"))?;
        println!("{line}");
        if totals.add_line(&line) {
            closing_lines.push(line.trim().to_owned());
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for `{}`: {e}", display(command)))?;
    println!();
    for line in &closing_lines {
        println!("  {line}");
    }
    println!(
        "  total: {} passed; {} failed; {} ignored; {} filtered out (in {} test runs)",
        totals.passed, totals.failed, totals.ignored, totals.filtered_out, totals.runs
    );
    if status.success() {
        Ok(totals)
    } else {
        Err(format!("`{}` failed ({status})", display(command)))
    }
}

/// Whether `program` is an executable file somewhere on `PATH` (or in
/// `$CARGO_HOME/bin`, where `cargo install` puts tools).
pub fn on_path(program: &str) -> bool {
    let cargo_bin = rustup_proxy(program);
    if cargo_bin.is_absolute() {
        return true;
    }
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program)))
    })
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_libtest_closing_lines() {
        let mut totals = TestTotals::default();
        assert!(totals.add_line(
            "test result: ok. 23 passed; 0 failed; 1 ignored; 0 measured; 4 filtered out; finished in 0.01s"
        ));
        assert!(totals.add_line(
            "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.50s"
        ));
        assert!(!totals.add_line("running 23 tests"));
        assert!(totals.add_line(
            "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s"
        ));
        assert_eq!(
            totals,
            TestTotals {
                runs: 3,
                passed: 25,
                failed: 1,
                ignored: 1,
                filtered_out: 4,
                runs_without_a_pass: 1,
            }
        );
    }

    #[test]
    fn displays_commands_with_shell_quoting() {
        let mut command = Command::new("kosoku");
        command
            .args(["-i", "1.*", "it's"])
            .env("PROPTEST_CASES", "8");
        assert_eq!(
            display(&command),
            r"PROPTEST_CASES=8 kosoku -i '1.*' 'it'\''s'"
        );
    }

    #[test]
    fn finds_programs_on_path() {
        assert!(on_path("sh"));
        assert!(!on_path("sockeye-no-such-program"));
    }

    #[test]
    fn root_holds_the_workspace_manifest() {
        assert!(root().join("Cargo.toml").is_file());
        assert!(root().join("crates/xtask").is_dir());
    }
}
