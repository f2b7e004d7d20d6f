//! The checks `cargo xtask ci` runs, one function per step.

use crate::autobahn;
use crate::cmd::{self, Result};
use crate::ensure::{
    ensure_apt, ensure_cargo_tool, ensure_nightly_component, ensure_rustup_target,
};

/// Targets the engine must build for without `std` (or for the web).
const CROSS_TARGETS: &[&str] = &[
    "thumbv7em-none-eabihf",
    "wasm32-unknown-unknown",
    "aarch64-unknown-linux-gnu",
];

/// The engine's unit-test modules Miri runs: those whose code, or whose
/// dependencies' code, has `unsafe` blocks (the SIMD mask kernels,
/// `simdutf8`, unchecked UTF-8 in `message`, `bytes` buffers in `frame`).
/// Miri interprets every instruction, so work that takes milliseconds
/// natively takes minutes there: the whole test suite took about 17 minutes
/// under Miri on 2 shared cores, too much for CI. Everything keeps running
/// natively in the `test` step; `cargo +nightly miri test -p sockeye` runs
/// all of it under Miri by hand.
pub const MIRI_MODULES: &[&str] = &["mask::", "utf8::", "message::", "frame::"];

/// Proptest cases per property under Miri (the native default is 256).
const MIRI_PROPTEST_CASES: &str = "8";

/// `cargo fmt --all --check`.
pub fn fmt() -> Result {
    cmd::run(cmd::cargo().args(["fmt", "--all", "--check"]))
}

/// Clippy over everything with warnings denied, and the engine without its
/// default features (the `no_std` build).
pub fn clippy() -> Result {
    cmd::run(cmd::cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))?;
    cmd::run(cmd::cargo().args([
        "clippy",
        "-p",
        "sockeye",
        "--no-default-features",
        "--",
        "-D",
        "warnings",
    ]))
}

/// Unit, integration and doc tests of the whole workspace, every feature on;
/// then the adapters' `no_tls` tests in a build without `rustls` (under
/// `--all-features` they compile to nothing); then the idle-memory test once
/// more in a release build, where its bound is the tighter one users see.
pub fn test() -> Result {
    // `--all-features` so the optional `rustls` (wss://) code is tested too.
    cmd::run_tests(cmd::cargo().args(["test", "--workspace", "--all-features"]))?;
    no_tls()?;
    proxy()?;
    fanout()?;
    cmd::run_tests(cmd::cargo().args([
        "test",
        "--release",
        "-p",
        "sockeye-tokio",
        "--test",
        "idle_memory",
    ]))
    .map(drop)
}

/// The adapters whose `tests/no_tls.rs` checks that `wss://` without the
/// `rustls` feature is refused with an error naming the feature.
const NO_TLS_ADAPTERS: &[&str] = &["sockeye-tokio", "sockeye-smol", "sockeye-std"];

/// Each adapter's `no_tls` test with `rustls` off and `deflate` on. Only the
/// adapters are selected, so the CLI (which turns `rustls` on for
/// sockeye-tokio) takes no part in feature resolution. The step fails if any
/// of the test binaries ran no test, which is what a `cfg`'d-out file does.
fn no_tls() -> Result {
    let mut command = cmd::cargo();
    command.args(["test", "--no-default-features", "--features", "deflate"]);
    for adapter in NO_TLS_ADAPTERS {
        command.args(["-p", adapter]);
    }
    command.args(["--test", "no_tls"]);
    cmd::run_named_tests(&mut command, NO_TLS_ADAPTERS.len()).map(drop)
}

/// The clients whose `tests/proxy.rs` go through a real HTTP proxy.
const PROXY_CLIENTS: &[&str] = &["sockeye-tokio", "sockeye-std", "sockeye-cli"];

/// The clients' proxy tests against Debian's tinyproxy (installed when
/// missing); they are `#[ignore]`d in a plain `cargo test`, which has no
/// proxy, and the step fails if one of the test binaries ran nothing.
fn proxy() -> Result {
    ensure_apt(&["tinyproxy"])?;
    let mut command = cmd::cargo();
    command.args(["test", "--all-features"]);
    for client in PROXY_CLIENTS {
        command.args(["-p", client]);
    }
    command.args(["--test", "proxy", "--", "--ignored"]);
    cmd::run_named_tests(&mut command, PROXY_CLIENTS.len()).map(drop)
}

/// The fan-out test files of sockeye-tokio, one per broker.
const FANOUT_TESTS: &[&str] = &["fanout_redis", "fanout_nats"];

/// The fan-out tests across server instances, and the chat shared by two
/// processes, against Debian's Redis and NATS servers (installed when
/// missing), which each test starts on a free loopback port; they are
/// `#[ignore]`d in a plain `cargo test`, and the step fails if one of the
/// test binaries ran nothing.
fn fanout() -> Result {
    ensure_apt(&["redis-server", "nats-server"])?;
    let mut command = cmd::cargo();
    command.args(["test", "-p", "sockeye-tokio", "--features", "redis,nats"]);
    for test in FANOUT_TESTS {
        command.args(["--test", test]);
    }
    command.args(["--", "--ignored"]);
    cmd::run_named_tests(&mut command, FANOUT_TESTS.len())?;
    // Two `sockeye chat` processes sharing the room through each broker.
    let mut chat = cmd::cargo();
    chat.args([
        "test",
        "-p",
        "sockeye-cli",
        "--test",
        "chat_scale",
        "--",
        "--ignored",
    ]);
    cmd::run_named_tests(&mut chat, 1).map(drop)
}

/// The engine builds for a bare-metal target and for wasm without `std`,
/// for wasm with `std`, and checks on a 64-bit ARM host target; then its
/// mask and UTF-8 unit tests run on that ARM target (the NEON kernel).
pub fn no_std() -> Result {
    ensure_rustup_target(None, CROSS_TARGETS)?;
    let build = |args: &[&str]| cmd::run(cmd::cargo().args(args));
    build(&[
        "build",
        "-p",
        "sockeye",
        "--no-default-features",
        "--target",
        "thumbv7em-none-eabihf",
    ])?;
    build(&[
        "build",
        "-p",
        "sockeye",
        "--no-default-features",
        "--target",
        "wasm32-unknown-unknown",
    ])?;
    // wasm32-unknown-unknown has no OS random source: `std` without the
    // default `os-rng` feature (callers pass their own `Entropy`).
    build(&[
        "build",
        "-p",
        "sockeye",
        "--no-default-features",
        "--features",
        "std",
        "--target",
        "wasm32-unknown-unknown",
    ])?;
    build(&[
        "check",
        "-p",
        "sockeye",
        "--target",
        "aarch64-unknown-linux-gnu",
    ])?;
    aarch64_mask_and_utf8_tests()
}

/// The engine's unit-test modules run on 64-bit ARM: the mask tests compare
/// the NEON kernel with the scalar definition, and the UTF-8 tests cover
/// `simdutf8`'s NEON validator. Only these, so the step stays short under
/// emulation.
const AARCH64_TEST_MODULES: &[&str] = &["mask::", "utf8::"];

/// Proptest cases per property under emulation: with the native 256 the
/// tests took 44 s under qemu on 2 shared cores, with 32 they take 12 s; the
/// fixed tables of lengths and offsets run in full either way.
const AARCH64_PROPTEST_CASES: &str = "32";

/// Debian packages for building and running aarch64 Linux binaries on
/// another host: a cross linker with the target's C library, and user-mode
/// emulation.
const AARCH64_CROSS_PACKAGES: &[&str] = &[
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "qemu-user",
];

/// [`AARCH64_TEST_MODULES`] for `aarch64-unknown-linux-gnu`: natively on an
/// aarch64 host, elsewhere linked with the cross gcc and run under
/// `qemu-aarch64` (the Debian packages in [`AARCH64_CROSS_PACKAGES`] are
/// installed when missing). `cargo check` alone would never execute the
/// NEON kernel. Fails if no test ran.
fn aarch64_mask_and_utf8_tests() -> Result {
    let mut command = cmd::cargo();
    command
        .args([
            "test",
            "-p",
            "sockeye",
            "--lib",
            "--target",
            "aarch64-unknown-linux-gnu",
            "--",
        ])
        .args(AARCH64_TEST_MODULES)
        .env("PROPTEST_CASES", AARCH64_PROPTEST_CASES);
    if !cfg!(target_arch = "aarch64") {
        ensure_apt(AARCH64_CROSS_PACKAGES)?;
        command
            .env(
                "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
                "aarch64-linux-gnu-gcc",
            )
            .env(
                "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER",
                "qemu-aarch64 -L /usr/aarch64-linux-gnu",
            );
    }
    cmd::run_named_tests(&mut command, 1).map(drop)
}

/// The engine's unit tests in [`MIRI_MODULES`] under Miri (undefined
/// behaviour, out-of-bounds access, leaks), with few proptest cases; then
/// the mask tests once more with the AVX2 and AVX-512 kernels enabled.
pub fn miri() -> Result {
    ensure_nightly_component(&["miri", "rust-src"])?;
    cmd::run(cmd::cargo_nightly().args(["miri", "setup"]))?;
    let mut command = cmd::cargo_nightly();
    command
        .args(["miri", "test", "-p", "sockeye", "--lib", "--"])
        .args(MIRI_MODULES)
        .env("PROPTEST_CASES", MIRI_PROPTEST_CASES)
        // Proptest reads its failure-persistence files, which Miri's
        // isolation would refuse.
        .env("MIRIFLAGS", "-Zmiri-disable-isolation");
    cmd::run_tests(&mut command)?;
    miri_wide_mask_kernels()
}

/// Target features for the second Miri run of the mask tests. Miri cannot
/// run CPUID, so the mask dispatch follows compile-time target features
/// there; enabling these makes Miri execute (and the differential tests
/// check) the AVX2 and AVX-512 kernels even on a CPU without AVX-512.
const MIRI_WIDE_MASK_FEATURES: &str = "-C target-feature=+avx2,+avx512f,+avx512bw";

/// The mask tests under Miri again with [`MIRI_WIDE_MASK_FEATURES`], in a
/// target directory of their own so the changed flags do not invalidate
/// the main Miri build. x86_64 hosts only.
fn miri_wide_mask_kernels() -> Result {
    if !cfg!(target_arch = "x86_64") {
        println!("miri: not an x86_64 host, the AVX2/AVX-512 mask run is skipped");
        return Ok(());
    }
    let mut command = cmd::cargo_nightly();
    command
        .args(["miri", "test", "-p", "sockeye", "--lib", "mask::"])
        .env("CARGO_TARGET_DIR", cmd::target_dir().join("miri-wide-mask"))
        .env("RUSTFLAGS", MIRI_WIDE_MASK_FEATURES)
        .env("PROPTEST_CASES", MIRI_PROPTEST_CASES)
        // The first run covered scalar, word and SSE2.
        .env("SOCKEYE_MASK_PATHS", "avx2,avx512")
        .env("MIRIFLAGS", "-Zmiri-disable-isolation");
    cmd::run_tests(&mut command).map(drop)
}

/// The C ABI (`crates/sockeye-ffi/ci.sh`: release build, header freshness
/// against cbindgen, the C echo server and Autobahn client built with
/// `-Werror`, the Python ctypes test), then the Autobahn TestSuite cases 1–10
/// in both roles: kosoku's fuzzing client against the C echo server, and the
/// C client against kosoku's fuzzing server (about 10 s on 2 cores).
pub fn ffi() -> Result {
    ensure_cargo_tool("cbindgen", "cbindgen", &[])?;
    cmd::run(&mut script("crates/sockeye-ffi/ci.sh"))?;
    let server = std::process::Command::new(cmd::target_dir().join("echo_server"));
    let server_suite = autobahn::autobahn_server_suite(
        "ffi-c-echo-server",
        server,
        &autobahn::out_dir("ffi-c-echo-server"),
    );
    let client = std::process::Command::new(cmd::target_dir().join("autobahn_client"));
    let client_suite = autobahn::autobahn_client_suite_selecting(
        "ffi-c-autobahn-client",
        client,
        &autobahn::out_dir("ffi-c-autobahn-client"),
        &[],
    );
    let failures: Vec<String> = [server_suite, client_suite]
        .into_iter()
        .filter_map(Result::err)
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Seconds each fuzz target runs in CI: a smoke test that every target
/// builds, replays its seed corpus and survives fresh mutations. Long
/// campaigns are run by hand (docs/security.md).
const FUZZ_SECONDS_PER_TARGET: &str = "15";

/// Every cargo-fuzz target, built with nightly and run briefly from its seed
/// corpus with a memory limit (`fuzz/smoke.sh`); a crash fails the step.
pub fn fuzz() -> Result {
    ensure_nightly_component(&[])?;
    ensure_cargo_tool("cargo-fuzz", "cargo-fuzz", &[])?;
    cmd::run(script("fuzz/smoke.sh").arg(FUZZ_SECONDS_PER_TARGET))
}

/// `bash SCRIPT` from the repository root, with the rustup proxies first on
/// `PATH` and no toolchain pinned, so `cargo +nightly` inside works as in a
/// shell.
fn script(relative: &str) -> std::process::Command {
    let mut command = std::process::Command::new("bash");
    command.arg(cmd::root().join(relative));
    command.env_remove("RUSTUP_TOOLCHAIN");
    if let Some(proxies) = cmd::rustup_proxy("cargo")
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
    {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![proxies.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        if let Ok(joined) = std::env::join_paths(dirs) {
            command.env("PATH", joined);
        }
    }
    command
}

/// The chat page of `sockeye chat`, and a WebSocket over HTTP/2 to
/// sockeye-hyper's `axum-echo`, in Debian's headless Chromium driven by
/// playwright-core (`crates/sockeye-cli/browser-test/run.sh`, which installs
/// Chromium, Node.js and the npm lockfile when missing). The screenshot goes
/// under `target/` so that CI leaves `docs/chat.png` as committed.
pub fn browser() -> Result {
    let screenshot = cmd::target_dir().join("chat.png");
    cmd::run(
        script("crates/sockeye-cli/browser-test/run.sh").env("SOCKEYE_SCREENSHOT", &screenshot),
    )
}
