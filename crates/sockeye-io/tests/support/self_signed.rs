//! A self-signed TLS server identity for the async adapters' `wss://`
//! tests, shared by `sockeye-tokio` and `sockeye-smol` (each includes this
//! file with `#[path]`, and wraps its runtime's TLS acceptor around the
//! config).

use std::path::PathBuf;
use std::sync::Arc;

use sockeye_io::tls::rustls::{self, pki_types::CertificateDer, pki_types::PrivateKeyDer};

/// A rustls server config for "localhost" with a fresh self-signed
/// certificate, written to a PEM file named after `crate_name` and `name`
/// for the client to trust. With `client_ca`, the server requires a client
/// certificate issued by it.
pub fn localhost_config(
    crate_name: &str,
    name: &str,
    client_ca: Option<CertificateDer<'static>>,
) -> (Arc<rustls::ServerConfig>, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let ca_file =
        std::env::temp_dir().join(format!("{crate_name}-{name}-{}.pem", std::process::id()));
    std::fs::write(&ca_file, certified.cert.pem()).unwrap();
    let key = PrivateKeyDer::try_from(certified.signing_key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let config = match client_ca {
        None => config.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            config.with_client_cert_verifier(verifier)
        }
    }
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .unwrap();
    (Arc::new(config), ca_file)
}
