//! `wss://` against a TLS echo server (rustls `StreamOwned` handed to
//! `accept`) with a self-signed certificate.
#![cfg(feature = "rustls")]

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sockeye_std::{ClientOptions, CloseCode, Config, Error, Message, TlsOptions};

struct Server {
    url: String,
    ca_file: PathBuf,
}

/// A TLS echo server on 127.0.0.1:0 for "localhost", serving `clients`
/// connections; its certificate is written to a PEM file for the client.
fn tls_echo_server(name: &str, clients: usize) -> Server {
    tls_echo_server_with(name, clients, None)
}

/// As [`tls_echo_server`]; with `client_ca`, the server requires a client
/// certificate issued by it.
fn tls_echo_server_with(
    name: &str,
    clients: usize,
    client_ca: Option<CertificateDer<'static>>,
) -> Server {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let ca_file =
        std::env::temp_dir().join(format!("sockeye-std-{name}-{}.pem", std::process::id()));
    std::fs::write(&ca_file, certified.cert.pem()).unwrap();
    let key = PrivateKeyDer::try_from(certified.signing_key.serialize_der()).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(client_verifier(client_ca))
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for _ in 0..clients {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let tls = rustls::StreamOwned::new(
                rustls::ServerConnection::new(config.clone()).unwrap(),
                tcp,
            );
            // A client that rejects the certificate fails the handshake here.
            let Ok(mut ws) = sockeye_std::accept(tls) else {
                continue;
            };
            while let Some(Ok(message)) = ws.recv() {
                if message.is_data() {
                    ws.send(message).unwrap();
                }
            }
        }
    });
    Server {
        url: format!("wss://localhost:{port}/"),
        ca_file,
    }
}

#[test]
fn client_trusting_the_ca_file_exchanges_messages() {
    let server = tls_echo_server("ca-file", 1);
    let options = ClientOptions::new().tls(TlsOptions::new().add_ca_file(&server.ca_file));
    let (mut ws, _) = sockeye_std::connect_with(&server.url, options, Config::default()).unwrap();
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    ws.send("hello over TLS").unwrap();
    assert_eq!(ws.recv().unwrap().unwrap(), Message::text("hello over TLS"));
    let big = vec![9u8; 300 << 10];
    ws.send(big.clone()).unwrap();
    assert_eq!(ws.recv().unwrap().unwrap(), Message::binary(big));
    ws.close(CloseCode::NORMAL, "bye").unwrap();
    let _ = std::fs::remove_file(server.ca_file);
}

#[test]
fn client_with_default_roots_fails_with_tls_error() {
    let server = tls_echo_server("default-roots", 1);
    let error = sockeye_std::connect(&server.url).err().unwrap();
    assert!(matches!(error, Error::Tls(_)), "{error:?}");
    let _ = std::fs::remove_file(server.ca_file);
}

#[test]
fn danger_accept_invalid_certs_connects_to_self_signed_server() {
    let server = tls_echo_server("danger", 1);
    let options = ClientOptions::new().tls(TlsOptions::new().danger_accept_invalid_certs(true));
    let (mut ws, _) = sockeye_std::connect_with(&server.url, options, Config::default()).unwrap();
    ws.send(vec![1u8, 2, 3]).unwrap();
    assert_eq!(ws.recv().unwrap().unwrap(), Message::binary(vec![1, 2, 3]));
    ws.close(CloseCode::NORMAL, "").unwrap();
    let _ = std::fs::remove_file(server.ca_file);
}

/// No client authentication, or a certificate issued by `client_ca` required.
fn client_verifier(
    client_ca: Option<CertificateDer<'static>>,
) -> Arc<dyn rustls::server::danger::ClientCertVerifier> {
    let Some(ca) = client_ca else {
        return rustls::server::WebPkiClientVerifier::no_client_auth();
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .unwrap()
}

#[test]
fn server_requiring_a_client_certificate_accepts_ours_and_refuses_none() {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca =
        rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let certificate = rcgen::CertificateParams::new(vec!["client".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let server = tls_echo_server_with("mtls", 2, Some(ca.der().clone()));
    let trusted = TlsOptions::new().add_ca_file(&server.ca_file);

    let options = ClientOptions::new().tls(
        trusted
            .clone()
            .client_certificate_pem(certificate.pem(), key.serialize_pem()),
    );
    let (mut ws, _) = sockeye_std::connect_with(&server.url, options, Config::default()).unwrap();
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    ws.send("mutual").unwrap();
    assert_eq!(ws.recv().unwrap().unwrap(), Message::text("mutual"));
    ws.close(CloseCode::NORMAL, "").unwrap();

    let options = ClientOptions::new().tls(trusted);
    let Err(error) = sockeye_std::connect_with(&server.url, options, Config::default()) else {
        panic!("connected without a client certificate");
    };
    assert!(matches!(error, Error::Tls(_)), "{error:?}");
    let _ = std::fs::remove_file(server.ca_file);
}
