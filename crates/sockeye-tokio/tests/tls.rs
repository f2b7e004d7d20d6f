//! `wss://` against a TLS echo server with a self-signed certificate.
#![cfg(feature = "rustls")]

#[path = "../../sockeye-io/tests/support/self_signed.rs"]
mod self_signed;

use std::path::PathBuf;

use sockeye_tokio::{ClientOptions, CloseCode, Config, Error, Message, TlsOptions};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::CertificateDer;

struct Server {
    url: String,
    ca_file: PathBuf,
}

/// A TLS echo server on 127.0.0.1:0 for "localhost", its certificate
/// written to a PEM file for the client to trust.
async fn tls_echo_server(name: &str) -> Server {
    tls_echo_server_with(name, None).await
}

/// As [`tls_echo_server`]; with `client_ca`, the server requires a client
/// certificate issued by it.
async fn tls_echo_server_with(name: &str, client_ca: Option<CertificateDer<'static>>) -> Server {
    let (config, ca_file) = self_signed::localhost_config("sockeye-tokio", name, client_ca);
    let acceptor = TlsAcceptor::from(config);
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

/// A CA for client certificates, and a client certificate it issued (PEM
/// chain, PEM key).
fn client_identity() -> (CertificateDer<'static>, String, String) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca =
        rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let certificate = rcgen::CertificateParams::new(vec!["client".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    (ca.der().clone(), certificate.pem(), key.serialize_pem())
}

#[tokio::test]
async fn server_requiring_a_client_certificate_accepts_ours_and_refuses_none() {
    let (ca, chain, key) = client_identity();
    let server = tls_echo_server_with("mtls", Some(ca)).await;

    let trusted = TlsOptions::new().add_ca_file(&server.ca_file);
    let options = ClientOptions::new().tls(
        trusted
            .clone()
            .client_certificate_pem(chain.clone(), key.clone()),
    );
    let (mut ws, _) = sockeye_tokio::connect_with(&server.url, options, Config::default())
        .await
        .unwrap();
    ws.send("mutual").await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("mutual"));
    ws.close(CloseCode::NORMAL, "").await.unwrap();

    // The same certificate from PEM files.
    let dir = std::env::temp_dir();
    let chain_file = dir.join(format!("sockeye-tokio-client-{}.pem", std::process::id()));
    let key_file = dir.join(format!(
        "sockeye-tokio-client-key-{}.pem",
        std::process::id()
    ));
    std::fs::write(&chain_file, &chain).unwrap();
    std::fs::write(&key_file, &key).unwrap();
    let options =
        ClientOptions::new().tls(trusted.clone().client_certificate(&chain_file, &key_file));
    let (mut ws, _) = sockeye_tokio::connect_with(&server.url, options, Config::default())
        .await
        .unwrap();
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    let _ = std::fs::remove_file(chain_file);
    let _ = std::fs::remove_file(key_file);

    let options = ClientOptions::new().tls(trusted);
    let Err(error) = sockeye_tokio::connect_with(&server.url, options, Config::default()).await
    else {
        panic!("connected without a client certificate");
    };
    assert!(matches!(error, Error::Tls(_)), "{error:?}");
    let _ = std::fs::remove_file(server.ca_file);
}

/// A TCP server that ends every connection as soon as it arrives: with
/// `reset`, by a reset (linger 0), otherwise by a plain close.
async fn hang_up_server(reset: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            // Wait for the ClientHello, so the TLS handshake has started.
            let _ = tcp.readable().await;
            if reset {
                #[allow(deprecated)]
                tcp.set_linger(Some(std::time::Duration::ZERO)).unwrap();
            }
            drop(tcp);
        }
    });
    format!("wss://localhost:{port}/")
}

#[tokio::test]
async fn end_of_stream_during_the_tls_handshake_is_a_tls_error() {
    let url = hang_up_server(false).await;
    let Err(error) = sockeye_tokio::connect(&url).await else {
        panic!("connected to a server that hung up");
    };
    assert!(matches!(error, Error::Tls(_)), "{error:?}");
}

#[tokio::test]
async fn reset_during_the_tls_handshake_is_a_tls_error() {
    let url = hang_up_server(true).await;
    let Err(error) = sockeye_tokio::connect(&url).await else {
        panic!("connected to a server that reset");
    };
    assert!(matches!(error, Error::Tls(_)), "{error:?}");
}
