//! TLS client settings for `wss://` (feature `rustls`), turned once into a
//! rustls [`ClientConfig`] that every adapter wraps its stream with.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::Error;

pub use rustls;

/// Where trusted root certificates come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Roots {
    /// The Mozilla root program, compiled in (`webpki-roots`): the same on
    /// every machine, no file system access.
    #[default]
    Bundled,
    /// The operating system's trust store (`rustls-native-certs`).
    System,
    /// None: only the certificates added with [`TlsOptions::add_ca_file`].
    None,
}

/// TLS settings of a `wss://` client.
///
/// ```
/// use sockeye_io::{Roots, TlsOptions};
///
/// let tls = TlsOptions::new().roots(Roots::System);
/// # let _ = tls;
/// ```
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    roots: Roots,
    ca_files: Vec<PathBuf>,
    client_auth: Option<(PathBuf, PathBuf)>,
    accept_invalid_certs: bool,
    config: Option<Arc<ClientConfig>>,
}

impl TlsOptions {
    /// Bundled roots, no extra CA, no client certificate, full verification.
    pub fn new() -> Self {
        Self::default()
    }

    /// Choose the root certificates ([`Roots::Bundled`] by default).
    pub fn roots(mut self, roots: Roots) -> Self {
        self.roots = roots;
        self
    }

    /// Also trust the certificates in the PEM file at `path` (a private CA,
    /// a self-signed server certificate). Read when the connection is made.
    pub fn add_ca_file(mut self, path: impl AsRef<Path>) -> Self {
        self.ca_files.push(path.as_ref().to_owned());
        self
    }

    /// Present a client certificate: the PEM chain at `cert_chain` and the
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) at `key`.
    pub fn client_certificate(
        mut self,
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Self {
        self.client_auth = Some((cert_chain.as_ref().to_owned(), key.as_ref().to_owned()));
        self
    }

    /// **DANGER**: with `true`, accept *any* server certificate — expired,
    /// self-signed, issued for another name, forged. The connection is still
    /// encrypted, but anyone on the path can impersonate the server and read
    /// and change everything. Only for tests and local development; never
    /// for a connection that carries anything of value.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// Use a ready rustls `config` instead of building one from these
    /// options (for settings they do not cover).
    pub fn rustls_config(mut self, config: Arc<ClientConfig>) -> Self {
        self.config = Some(config);
        self
    }

    /// The rustls configuration these options describe, with the ring
    /// crypto provider and `http/1.1` as the only ALPN protocol.
    ///
    /// # Errors
    /// [`Error::Tls`] when a CA file, certificate or key cannot be read or
    /// parsed, or the system trust store cannot be loaded.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        if let Some(config) = &self.config {
            return Ok(config.clone());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?;
        let builder = if self.accept_invalid_certs {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        } else {
            builder.with_root_certificates(self.root_store()?)
        };
        let mut config = match &self.client_auth {
            None => builder.with_no_client_auth(),
            Some((chain, key)) => {
                let chain = read_certificates(chain)?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(tls_error)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(tls_error)?
            }
        };
        // RFC 6455 runs over HTTP/1.1; a server offering h2 must not pick it.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    fn root_store(&self) -> Result<RootCertStore, Error> {
        let mut store = RootCertStore::empty();
        match self.roots {
            Roots::Bundled => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Roots::System => {
                let loaded = rustls_native_certs::load_native_certs();
                if loaded.certs.is_empty()
                    && let Some(error) = loaded.errors.into_iter().next()
                {
                    return Err(tls_error(error));
                }
                store.add_parsable_certificates(loaded.certs);
            }
            Roots::None => {}
        }
        for path in &self.ca_files {
            for certificate in read_certificates(path)? {
                store.add(certificate).map_err(tls_error)?;
            }
        }
        Ok(store)
    }
}

/// The name to verify the server's certificate against: the URL's host (a
/// DNS name or an IP address).
///
/// # Errors
/// [`Error::Tls`] when `host` is neither.
pub fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(tls_error)
}

/// Map a failed TLS handshake (an I/O error wrapping a rustls error, as
/// tokio-rustls and futures-rustls report it) to [`Error::Tls`]; other I/O
/// errors stay [`Error::Connect`].
pub fn handshake_error(error: std::io::Error) -> Error {
    let is_tls = error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>());
    if is_tls || error.kind() == std::io::ErrorKind::InvalidData {
        match error.into_inner() {
            Some(inner) => Error::Tls(inner),
            None => Error::Tls("invalid TLS data".into()),
        }
    } else {
        Error::Connect(error)
    }
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(tls_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(tls_error)?;
    if certificates.is_empty() {
        return Err(Error::Tls(
            format!("no certificate in {}", path.display()).into(),
        ));
    }
    Ok(certificates)
}

fn tls_error(error: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Tls(Box::new(error))
}

/// The verifier behind [`TlsOptions::danger_accept_invalid_certs`]: every
/// certificate is accepted; signatures are still checked so the handshake
/// itself is well-formed.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
