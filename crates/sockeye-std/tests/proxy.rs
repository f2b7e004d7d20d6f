//! The blocking client through a real HTTP proxy (tinyproxy): the tunnel,
//! a refused `CONNECT` and an unreachable proxy. Run by `cargo xtask test`
//! (`--ignored`), which installs tinyproxy.

#[path = "../../sockeye-io/tests/support/tinyproxy.rs"]
mod tinyproxy;

use std::net::TcpListener;
use std::time::Duration;

use sockeye_std::{ClientOptions, CloseCode, Config, Error, Message, Proxy};
use tinyproxy::Tinyproxy;

/// An echo server for one connection on 127.0.0.1; its port.
fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((tcp, _)) = listener.accept() else {
            return;
        };
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let Ok(mut ws) = sockeye_std::accept(tcp) else {
            return;
        };
        while let Some(Ok(message)) = ws.recv() {
            if message.is_data() {
                ws.send(message).unwrap();
            }
        }
    });
    port
}

fn echo_through(url: &str, proxy: &str) -> Result<(), Error> {
    let options = ClientOptions::new()
        .proxy(Proxy::new(proxy).unwrap())
        .connect_timeout(Duration::from_secs(10));
    let (mut ws, _) = sockeye_std::connect_with(url, options, Config::default())?;
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    ws.send("through the tunnel")?;
    assert_eq!(ws.recv().unwrap()?, Message::text("through the tunnel"));
    ws.close(CloseCode::NORMAL, "")
}

#[test]
#[ignore = "needs tinyproxy: cargo xtask test runs it"]
fn ws_goes_through_the_proxy_tunnel() {
    let port = echo_server();
    let proxy = Tinyproxy::start("std-ws", &[port], None);
    echo_through(&format!("ws://127.0.0.1:{port}/"), &proxy.url).unwrap();
}

#[test]
#[ignore = "needs tinyproxy: cargo xtask test runs it"]
fn a_refused_connect_names_the_proxy_and_its_status() {
    let port = echo_server();
    let proxy = Tinyproxy::start("std-refused", &[port.wrapping_add(1).max(1)], None);
    let error = echo_through(&format!("ws://127.0.0.1:{port}/"), &proxy.url).unwrap_err();
    let Error::Proxy(failure) = &error else {
        panic!("expected a proxy error, got {error:?}");
    };
    assert_eq!(
        (failure.status, failure.proxy.as_str()),
        (Some(403), proxy.url.as_str())
    );
}

#[test]
fn an_unreachable_proxy_is_named_in_the_error() {
    let proxy = format!("http://127.0.0.1:{}", tinyproxy::free_port());
    let error = echo_through("ws://127.0.0.1:9/", &proxy).unwrap_err();
    let Error::Proxy(failure) = &error else {
        panic!("expected a proxy error, got {error:?}");
    };
    assert_eq!(failure.error.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(error.to_string().contains(&proxy), "{error}");
}

#[test]
#[ignore = "needs tinyproxy: cargo xtask test runs it"]
fn a_proxy_that_wants_credentials_gets_them_from_the_url() {
    let port = echo_server();
    let proxy = Tinyproxy::start("std-auth", &[port], Some(("bob", "pa55")));
    let url = format!("ws://127.0.0.1:{port}/");
    let error = echo_through(&url, &proxy.url).unwrap_err();
    // 407 is the status for this (RFC 9110 §15.5.8); tinyproxy answers a
    // CONNECT without credentials with 401.
    assert!(
        matches!(&error, Error::Proxy(failure) if matches!(failure.status, Some(401 | 407))),
        "{error:?}"
    );
    echo_through(&url, &proxy.url_with_credentials("bob", "pa55")).unwrap();
}
