//! `wss://` against a TLS echo server with a self-signed certificate.
#![cfg(feature = "rustls")]

#[path = "../../sockeye-io/tests/support/self_signed.rs"]
mod self_signed;

use std::path::PathBuf;

use futures_rustls::TlsAcceptor;
use smol::net::TcpListener;
use sockeye_smol::{ClientOptions, CloseCode, Config, Error, Message, TlsOptions};

struct Server {
    url: String,
    ca_file: PathBuf,
}

/// A TLS echo server on 127.0.0.1:0 for "localhost", its certificate
/// written to a PEM file for the client to trust.
async fn tls_echo_server(name: &str) -> Server {
    let (config, ca_file) = self_signed::localhost_config("sockeye-smol", name, None);
    let acceptor = TlsAcceptor::from(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    smol::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            smol::spawn(async move {
                // A client that rejects the certificate ends the TLS handshake here.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut ws = sockeye_smol::accept(tls).await.unwrap();
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() {
                        ws.send(message).await.unwrap();
                    }
                }
            })
            .detach();
        }
    })
    .detach();
    Server {
        url: format!("wss://localhost:{port}/"),
        ca_file,
    }
}

#[test]
fn client_trusting_the_ca_file_exchanges_messages() {
    smol::block_on(async {
        let server = tls_echo_server("ca-file").await;
        let options = ClientOptions::new().tls(TlsOptions::new().add_ca_file(&server.ca_file));
        let (mut ws, _) = sockeye_smol::connect_with(&server.url, options, Config::default())
            .await
            .unwrap();
        ws.send("hello over TLS").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::text("hello over TLS")
        );
        ws.close(CloseCode::NORMAL, "bye").await.unwrap();
        let _ = std::fs::remove_file(server.ca_file);
    });
}

#[test]
fn client_with_default_roots_fails_with_tls_error() {
    smol::block_on(async {
        let server = tls_echo_server("default-roots").await;
        let Err(error) = sockeye_smol::connect(&server.url).await else {
            panic!("connected to an untrusted server");
        };
        assert!(matches!(error, Error::Tls(_)), "{error:?}");
        let _ = std::fs::remove_file(server.ca_file);
    });
}

#[test]
fn danger_accept_invalid_certs_connects_to_self_signed_server() {
    smol::block_on(async {
        let server = tls_echo_server("danger").await;
        let options = ClientOptions::new().tls(TlsOptions::new().danger_accept_invalid_certs(true));
        let (mut ws, _) = sockeye_smol::connect_with(&server.url, options, Config::default())
            .await
            .unwrap();
        ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::binary(vec![1, 2, 3])
        );
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        let _ = std::fs::remove_file(server.ca_file);
    });
}
