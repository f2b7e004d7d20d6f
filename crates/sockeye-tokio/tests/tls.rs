//! `wss://` against a TLS echo server with a self-signed certificate.
#![cfg(feature = "rustls")]

use std::path::PathBuf;
use std::sync::Arc;

use sockeye_tokio::{ClientOptions, CloseCode, Config, Error, Message, TlsOptions};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};

struct Server {
    url: String,
    ca_file: PathBuf,
}

/// A TLS echo server on 127.0.0.1:0 for "localhost", its certificate
/// written to a PEM file for the client to trust.
async fn tls_echo_server(name: &str) -> Server {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let ca_file =
        std::env::temp_dir().join(format!("sockeye-tokio-{name}-{}.pem", std::process::id()));
    std::fs::write(&ca_file, certified.cert.pem()).unwrap();
    let key = PrivateKeyDer::try_from(certified.signing_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that rejects the certificate ends the TLS handshake here.
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
    Server {
        url: format!("wss://localhost:{port}/"),
        ca_file,
    }
}

#[tokio::test]
async fn client_trusting_the_ca_file_exchanges_messages() {
    let server = tls_echo_server("ca-file").await;
    let options = ClientOptions::new().tls(TlsOptions::new().add_ca_file(&server.ca_file));
    let (mut ws, _) = sockeye_tokio::connect_with(&server.url, options, Config::default())
        .await
        .unwrap();
    ws.send("hello over TLS").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::text("hello over TLS")
    );
    let big = vec![7u8; 300 << 10];
    ws.send(Message::binary(big.clone())).await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::binary(big));
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    let _ = std::fs::remove_file(server.ca_file);
}

#[tokio::test]
async fn client_with_default_roots_fails_with_tls_error() {
    let server = tls_echo_server("default-roots").await;
    let Err(error) = sockeye_tokio::connect(&server.url).await else {
        panic!("connected to an untrusted server");
    };
    assert!(matches!(error, Error::Tls(_)), "{error:?}");
    let _ = std::fs::remove_file(server.ca_file);
}

#[tokio::test]
async fn wrong_server_name_fails_with_tls_error() {
    let server = tls_echo_server("wrong-name").await;
    let url = server.url.replace("localhost", "127.0.0.1");
    let options = ClientOptions::new().tls(TlsOptions::new().add_ca_file(&server.ca_file));
    let Err(error) = sockeye_tokio::connect_with(&url, options, Config::default()).await else {
        panic!("connected to a server under another name");
    };
    assert!(matches!(error, Error::Tls(_)), "{error:?}");
    let _ = std::fs::remove_file(server.ca_file);
}

#[tokio::test]
async fn danger_accept_invalid_certs_connects_to_self_signed_server() {
    let server = tls_echo_server("danger").await;
    let options = ClientOptions::new().tls(TlsOptions::new().danger_accept_invalid_certs(true));
    let (mut ws, _) = sockeye_tokio::connect_with(&server.url, options, Config::default())
        .await
        .unwrap();
    ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::binary(vec![1, 2, 3])
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    let _ = std::fs::remove_file(server.ca_file);
}
