//! An axum server that echoes every text and binary message on any path,
//! over HTTP/1.1 upgrades and HTTP/2 extended CONNECT (prior knowledge) on
//! the same plain port.
//!
//! ```text
//! cargo run -p sockeye-hyper --example axum-echo --features axum -- 127.0.0.1:9001
//! ```
//!
//! `axum-echo ADDR --tls CERT.pem KEY.pem` serves the same over TLS, offering
//! ALPN `h2` and `http/1.1`.
//!
//! Prints `listening on ADDR` (the bound address, also for port 0) once it
//! accepts connections. With `--deflate` (build with `--features
//! axum,deflate`) it accepts permessage-deflate offers. With `--report` it
//! prints a line for each WebSocket when it opens (`opened PATH over
//! http2`, or `http1`) and when it ends (`closed PATH CODE`), which the
//! browser test reads to know how the browser came. A plain `GET` (not an
//! upgrade) gets a blank HTML page, so that a browser can open a page on
//! the origin first.

use axum::Router;
use axum::response::{Html, IntoResponse};
use axum::routing::any;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use sockeye_hyper::{Config, HandshakeForm, Refusal, WebSocketUpgrade};
use sockeye_io::sockeye::handshake::HandshakeError;

async fn echo(
    ws: Result<WebSocketUpgrade, Refusal>,
    config: Config,
    report: bool,
) -> axum::response::Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(refusal) if matches!(refusal.error(), Some(HandshakeError::NotWebSocket(_))) => {
            return Html("<!doctype html><title>axum-echo</title>").into_response();
        }
        Err(refusal) => return refusal.into_response(),
    };
    let path = ws.request().path().to_owned();
    if report {
        let form = match ws.request().upgrade() {
            HandshakeForm::Http1 => "http1",
            _ => "http2",
        };
        println!("opened {path} over {form}");
    }
    ws.config(config).on_upgrade(move |mut ws| async move {
        while let Some(Ok(message)) = ws.recv().await {
            if message.is_data() && ws.send(message).await.is_err() {
                break;
            }
        }
        if report {
            let code = ws.close_status().map_or(1006, |status| status.code);
            println!("closed {path} {code}");
        }
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut addr = String::from("127.0.0.1:9001");
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    let mut tls = None;
    let mut report = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--deflate" => enable_deflate(&mut config),
            "--report" => report = true,
            "--tls" => match (args.next(), args.next()) {
                (Some(cert), Some(key)) => tls = Some(tls_acceptor(&cert, &key)?),
                _ => return Err(std::io::Error::other("--tls needs CERT.pem KEY.pem")),
            },
            _ => addr = arg,
        }
    }
    let app = Router::new().fallback(any(move |ws| echo(ws, config.clone(), report)));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let mut builder = Builder::new(TokioExecutor::new());
    // RFC 8441: advertise SETTINGS_ENABLE_CONNECT_PROTOCOL so that HTTP/2
    // clients may open WebSockets as extended CONNECT streams.
    builder.http2().enable_connect_protocol();
    // The request head is hyper's to read: bound how long it may take
    // (slowloris) and how much of it hyper buffers (an endless header
    // block gets 431), as the engine bounds its own handshake.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(10))
        .max_buf_size(64 << 10);
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            // The auto builder tells HTTP/2 from HTTP/1.1 by the client's
            // preface, so ALPN needs nothing more here.
            let _ = match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => {
                        builder
                            .serve_connection_with_upgrades(TokioIo::new(stream), service)
                            .await
                    }
                    Err(_) => return,
                },
                None => {
                    builder
                        .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                        .await
                }
            };
        });
    }
}

#[cfg(feature = "deflate")]
fn enable_deflate(config: &mut Config) {
    // As tokio-echo-server: every message compressed, at the fastest level
    // (the Autobahn cases check the compressed path, not the ratio).
    let mut deflate = sockeye_hyper::DeflateConfig::default();
    deflate.threshold = 0;
    deflate.level = 1;
    config.deflate = Some(deflate);
}

#[cfg(not(feature = "deflate"))]
fn enable_deflate(_: &mut Config) {
    eprintln!("--deflate needs the `deflate` feature (--features axum,deflate)");
    std::process::exit(2);
}

/// A TLS acceptor for the certificate chain and key in PEM files, offering
/// HTTP/2 and HTTP/1.1 by ALPN.
fn tls_acceptor(cert: &str, key: &str) -> std::io::Result<tokio_rustls::TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let invalid = |error: &dyn std::fmt::Display| std::io::Error::other(error.to_string());
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| invalid(&e))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| invalid(&e))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(&e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| invalid(&e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
}
