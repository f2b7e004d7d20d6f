//! `ws://` and `wss://` through a real HTTP proxy (tinyproxy): the tunnel,
//! a refused `CONNECT`, a proxy that wants credentials, and one that is not
//! there. Run by `cargo xtask test` (`--ignored`), which installs tinyproxy.

#[path = "../../sockeye-io/tests/support/tinyproxy.rs"]
mod tinyproxy;

use sockeye_tokio::{ClientOptions, CloseCode, Config, Error, Message, Proxy};
use tinyproxy::Tinyproxy;
use tokio::net::TcpListener;

/// An echo server on 127.0.0.1; its port.
async fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = sockeye_tokio::accept(tcp).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() {
                        ws.send(message).await.unwrap();
                    }
                }
            });
        }
    });
    port
}

/// Connect to `url` through `proxy`, send a text and expect it back.
async fn echo_through(url: &str, options: ClientOptions) -> Result<(), Error> {
    let (mut ws, _) = sockeye_tokio::connect_with(url, options, Config::default()).await?;
    ws.send(Message::text("through the tunnel")).await?;
    let reply = ws.recv().await.expect("a reply")?;
    assert_eq!(reply, Message::text("through the tunnel"));
    ws.close(CloseCode::NORMAL, "").await?;
    Ok(())
}

#[tokio::test]
#[ignore = "needs tinyproxy: cargo xtask test runs it"]
async fn ws_goes_through_the_proxy_tunnel() {
    let port = echo_server().await;
    let proxy = Tinyproxy::start("tokio-ws", &[port], None);
    let options = ClientOptions::new().proxy(Proxy::new(&proxy.url).unwrap());
    echo_through(&format!("ws://127.0.0.1:{port}/"), options)
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "needs tinyproxy: cargo xtask test runs it"]
async fn a_refused_connect_names_the_proxy_and_its_status() {
    let port = echo_server().await;
    // The proxy only tunnels to another port.
    let proxy = Tinyproxy::start("tokio-refused", &[port.wrapping_add(1).max(1)], None);
    let options = ClientOptions::new().proxy(Proxy::new(&proxy.url).unwrap());
    let error = echo_through(&format!("ws://127.0.0.1:{port}/"), options)
        .await
        .unwrap_err();
    let Error::Proxy(failure) = &error else {
        panic!("expected a proxy error, got {error:?}");
    };
    assert_eq!(failure.status, Some(403));
    assert_eq!(failure.proxy, proxy.url);
    assert!(error.to_string().contains(&proxy.url), "{error}");
}

#[tokio::test]
#[ignore = "needs tinyproxy: cargo xtask test runs it"]
async fn a_proxy_that_wants_credentials_gets_them_from_the_url() {
    let port = echo_server().await;
    let proxy = Tinyproxy::start("tokio-auth", &[port], Some(("alice", "s3cret")));
    let url = format!("ws://127.0.0.1:{port}/");
    let without = ClientOptions::new().proxy(Proxy::new(&proxy.url).unwrap());
    let error = echo_through(&url, without).await.unwrap_err();
    // 407 is the status for this (RFC 9110 §15.5.8); tinyproxy answers a
    // CONNECT without credentials with 401.
    assert!(
        matches!(&error, Error::Proxy(failure) if matches!(failure.status, Some(401 | 407))),
        "{error:?}"
    );
    let wrong = Proxy::new(&proxy.url_with_credentials("alice", "wrong")).unwrap();
    let error = echo_through(&url, ClientOptions::new().proxy(wrong))
        .await
        .unwrap_err();
    // 407 is the status for this (RFC 9110 §15.5.8); tinyproxy answers a
    // CONNECT without credentials with 401.
    assert!(
        matches!(&error, Error::Proxy(failure) if matches!(failure.status, Some(401 | 407))),
        "{error:?}"
    );
    let right = Proxy::new(&proxy.url_with_credentials("alice", "s3cret")).unwrap();
    echo_through(&url, ClientOptions::new().proxy(right))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unreachable_proxy_is_named_in_the_error() {
    let port = tinyproxy::free_port();
    let proxy = format!("http://127.0.0.1:{port}");
    let options = ClientOptions::new().proxy(Proxy::new(&proxy).unwrap());
    let error = echo_through("ws://127.0.0.1:9/", options)
        .await
        .unwrap_err();
    let Error::Proxy(failure) = &error else {
        panic!("expected a proxy error, got {error:?}");
    };
    assert_eq!(failure.status, None);
    assert_eq!(failure.error.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(error.to_string().contains(&proxy), "{error}");
}

#[cfg(feature = "rustls")]
#[path = "../../sockeye-io/tests/support/self_signed.rs"]
mod self_signed;

#[cfg(feature = "rustls")]
#[tokio::test]
#[ignore = "needs tinyproxy: cargo xtask test runs it"]
async fn wss_runs_tls_end_to_end_inside_the_tunnel() {
    use sockeye_tokio::TlsOptions;
    use tokio_rustls::TlsAcceptor;

    let (config, ca_file) = self_signed::localhost_config("sockeye-tokio", "proxy", None);
    let acceptor = TlsAcceptor::from(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut ws = sockeye_tokio::accept(tls).await.unwrap();
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() {
                        ws.send(message).await.unwrap();
                    }
                }
            });
        }
    });
    let proxy = Tinyproxy::start("tokio-wss", &[port], None);
    let options = ClientOptions::new()
        .proxy(Proxy::new(&proxy.url).unwrap())
        .tls(TlsOptions::new().add_ca_file(&ca_file));
    echo_through(&format!("wss://localhost:{port}/"), options)
        .await
        .unwrap();
}
