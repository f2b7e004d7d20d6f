//! Installing what the checks need, only when it is missing, and saying so.
//!
//! CI runs on a fresh machine, so every step brings its own tools: rustup
//! targets and components, cargo tools, Python packages in a virtualenv
//! under `target/`, and Debian packages.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cmd::{self, Result};

/// Makes sure `target/venv` exists with `packages` installed, and returns its
/// `bin` directory (where the packages' console scripts are).
///
/// Package names are plain distribution names (`kosoku`, `websockets`); a
/// package counts as present when `pip show` finds it.
pub fn ensure_venv(packages: &[&str]) -> Result<PathBuf> {
    let venv = cmd::target_dir().join("venv");
    let bin = venv.join("bin");
    let python = bin.join("python");
    if !python.is_file() {
        println!("xtask: creating virtualenv {}", venv.display());
        let mut create = Command::new("python3");
        create.args(["-m", "venv"]).arg(&venv);
        if cmd::run(&mut create).is_err() {
            // Debian's python3 ships venv without ensurepip; that half is
            // the python3-venv package.
            println!("xtask: python3 -m venv failed; trying with python3-venv installed");
            let _ = std::fs::remove_dir_all(&venv);
            ensure_apt(&["python3-venv"])?;
            cmd::run(&mut create)?;
        }
    }
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| {
            !cmd::succeeds(Command::new(&python).args(["-m", "pip", "show", "--quiet", package]))
        })
        .collect();
    if !missing.is_empty() {
        println!(
            "xtask: installing PyPI packages into {}: {}",
            venv.display(),
            missing.join(" ")
        );
        cmd::run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(&missing),
        )?;
    }
    Ok(bin)
}

static APT_UPDATED: AtomicBool = AtomicBool::new(false);

/// Makes sure Debian packages are installed: `apt-get update` once per run
/// (only when something is missing), then `apt-get install` of the missing
/// ones, non-interactively. Uses `sudo -n` when not running as root.
pub fn ensure_apt(packages: &[&str]) -> Result {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !dpkg_installed(package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !cmd::on_path("apt-get") {
        return Err(format!(
            "missing system packages {} and no apt-get to install them; install them by hand",
            missing.join(" ")
        ));
    }
    println!("xtask: installing Debian packages: {}", missing.join(" "));
    let apt = || {
        let mut command = if is_root() {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        command.env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    if !APT_UPDATED.swap(true, Ordering::SeqCst) {
        cmd::run(apt().args(["update", "-q"]))?;
    }
    cmd::run(
        apt()
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing),
    )
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|out| {
            out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains("install ok installed")
        })
}

fn is_root() -> bool {
    // The real uid is the first number on the `Uid:` line.
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            == Some("0")
    })
}

/// Makes sure the cargo tool binary `bin` (e.g. `cargo-fuzz`) exists, running
/// `cargo install --locked CRATE EXTRA_ARGS` when it does not.
pub fn ensure_cargo_tool(bin: &str, crate_name: &str, extra_args: &[&str]) -> Result {
    if cmd::on_path(bin) {
        return Ok(());
    }
    println!("xtask: installing cargo tool {bin} (crate {crate_name})");
    cmd::run(
        cmd::cargo()
            .args(["install", "--locked", crate_name])
            .args(extra_args),
    )
}

/// Makes sure rustup `targets` are installed for `toolchain` (`None`: the
/// toolchain that runs xtask).
pub fn ensure_rustup_target(toolchain: Option<&str>, targets: &[&str]) -> Result {
    let rustup = || {
        let mut command = Command::new(cmd::rustup_proxy("rustup"));
        if let Some(toolchain) = toolchain {
            command
                .arg(format!("+{toolchain}"))
                .env_remove("RUSTUP_TOOLCHAIN");
        }
        command
    };
    let installed = cmd::output(rustup().args(["target", "list", "--installed"]))?;
    let missing = missing_items(&installed, targets);
    if missing.is_empty() {
        return Ok(());
    }
    println!("xtask: installing rustup targets: {}", missing.join(" "));
    let added = cmd::run(rustup().args(["target", "add"]).args(&missing));
    // Another build sharing this rustup home may have added them meanwhile,
    // which makes our own `target add` fail on a file conflict.
    let installed = cmd::output(rustup().args(["target", "list", "--installed"]))?;
    if missing_items(&installed, targets).is_empty() {
        return Ok(());
    }
    added
}

/// Makes sure a nightly toolchain exists (minimal profile) with the given
/// components (`miri`, `rust-src`).
pub fn ensure_nightly_component(components: &[&str]) -> Result {
    let rustup = || {
        let mut command = Command::new(cmd::rustup_proxy("rustup"));
        command.env_remove("RUSTUP_TOOLCHAIN");
        command
    };
    let toolchains = cmd::output(rustup().args(["toolchain", "list"]))?;
    if !toolchains.lines().any(|line| line.starts_with("nightly")) {
        println!("xtask: installing the nightly toolchain (minimal profile)");
        cmd::run(rustup().args(["toolchain", "install", "nightly", "--profile", "minimal"]))?;
    }
    let installed =
        cmd::output(rustup().args(["component", "list", "--installed", "--toolchain", "nightly"]))?;
    let missing = missing_items(&installed, components);
    if missing.is_empty() {
        return Ok(());
    }
    println!(
        "xtask: installing nightly components: {}",
        missing.join(" ")
    );
    cmd::run(
        rustup()
            .args(["component", "add", "--toolchain", "nightly"])
            .args(&missing),
    )
}

/// The wanted items not in rustup's one-per-line listing. Components are
/// listed with their host triple (`miri-x86_64-unknown-linux-gnu`) or without
/// one (`rust-src`); both count.
fn missing_items<'a>(listing: &str, wanted: &[&'a str]) -> Vec<&'a str> {
    wanted
        .iter()
        .copied()
        .filter(|item| {
            !listing.lines().map(str::trim).any(|line| {
                line == *item
                    || line
                        .strip_prefix(item)
                        .is_some_and(|rest| rest.starts_with('-') && rest[1..].contains('-'))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_present_cargo_tool_is_not_installed_again() {
        // cargo-clippy ships with the toolchain; installing it would fail.
        ensure_cargo_tool("cargo-clippy", "no-such-crate-sockeye", &[]).unwrap();
    }

    #[test]
    fn present_rustup_targets_and_apt_packages_are_left_alone() {
        let installed = cmd::output(Command::new(cmd::rustup_proxy("rustup")).args([
            "target",
            "list",
            "--installed",
        ]))
        .unwrap();
        let first = installed
            .lines()
            .next()
            .expect("the host target is installed");
        ensure_rustup_target(None, &[first]).unwrap();
        ensure_apt(&[]).unwrap();
    }

    #[test]
    fn finds_missing_targets() {
        let listing = "thumbv7em-none-eabihf\nx86_64-unknown-linux-gnu\n";
        assert_eq!(
            missing_items(
                listing,
                &["thumbv7em-none-eabihf", "wasm32-unknown-unknown"]
            ),
            ["wasm32-unknown-unknown"]
        );
    }

    #[test]
    fn matches_components_with_and_without_host_triple() {
        let listing = "cargo-x86_64-unknown-linux-gnu\nmiri-x86_64-unknown-linux-gnu\nrust-src\n";
        assert!(missing_items(listing, &["miri", "rust-src", "cargo"]).is_empty());
        // `rust` is a prefix of `rust-src` but not a listed component.
        assert_eq!(
            missing_items(listing, &["rust", "clippy"]),
            ["rust", "clippy"]
        );
    }
}
