//! `sockeye connect` through a real HTTP proxy (tinyproxy): `--proxy`, the
//! proxy environment variables, and a refused tunnel. Run by
//! `cargo xtask test` (`--ignored`), which installs tinyproxy.

mod common;
#[path = "../../sockeye-io/tests/support/tinyproxy.rs"]
mod tinyproxy;

use common::{Server, run_with_input, sockeye};
use tinyproxy::Tinyproxy;

#[test]
#[ignore = "needs tinyproxy: cargo xtask test runs it"]
fn connect_goes_through_the_proxy_given_with_dash_dash_proxy() {
    let echo = Server::start(&["echo", "127.0.0.1:0"]);
    let proxy = Tinyproxy::start("cli-proxy", &[echo.port], Some(("cli", "word")));
    let mut command = sockeye();
    command.args([
        "connect",
        "--close-at-eof",
        "--proxy",
        &proxy.url_with_credentials("cli", "word"),
        &echo.url("/"),
    ]);
    let output = run_with_input(command, b"one\ntwo\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "one\ntwo\n");
}

#[test]
#[ignore = "needs tinyproxy: cargo xtask test runs it"]
fn a_refused_tunnel_exits_non_zero_with_one_line_naming_the_proxy() {
    let echo = Server::start(&["echo", "127.0.0.1:0"]);
    let proxy = Tinyproxy::start("cli-refused", &[echo.port.wrapping_add(1).max(1)], None);
    let mut command = sockeye();
    command.args(["connect", "--proxy", &proxy.url, &echo.url("/")]);
    let output = run_with_input(command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&proxy.url) && stderr.contains("403"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
#[ignore = "needs tinyproxy: cargo xtask test runs it"]
fn the_proxy_comes_from_the_environment_for_a_host_that_is_not_loopback() {
    let proxy = Tinyproxy::start("cli-env", &[], None);
    // A name that resolves nowhere (RFC 2606): only the proxy ever sees it,
    // and its failure to reach the host shows the proxy was used.
    let mut command = sockeye();
    command
        .args(["connect", "ws://sockeye-test.invalid:9/"])
        .env("HTTP_PROXY", &proxy.url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    let output = run_with_input(command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains(&proxy.url), "{stderr}");

    // --no-proxy goes direct, and fails to resolve the name itself.
    let mut command = sockeye();
    command
        .args(["connect", "--no-proxy", "ws://sockeye-test.invalid:9/"])
        .env("HTTP_PROXY", &proxy.url);
    let output = run_with_input(command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(!stderr.contains(&proxy.url), "{stderr}");
    assert!(stderr.contains("resolve"), "{stderr}");
}
