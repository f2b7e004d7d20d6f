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
    client_auth: Option<ClientAuth>,
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

    /// Present a client certificate (for servers that require mutual TLS):
    /// the PEM chain at `cert_chain` and the PEM private key (PKCS#8, PKCS#1
    /// or SEC1) at `key`, read when the connection is made.
    pub fn client_certificate(
        mut self,
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Self {
        self.client_auth = Some(ClientAuth::Files {
            cert_chain: cert_chain.as_ref().to_owned(),
            key: key.as_ref().to_owned(),
        });
        self
    }

    /// Like [`client_certificate`](Self::client_certificate), from PEM text
    /// held in memory (a secret store, an environment variable).
    ///
    /// ```
    /// # let (chain, key) = (String::new(), String::new());
    /// let tls = sockeye_io::TlsOptions::new().client_certificate_pem(chain, key);
    /// # let _ = tls;
    /// ```
    pub fn client_certificate_pem(
        mut self,
        cert_chain: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.client_auth = Some(ClientAuth::Pem {
            cert_chain: cert_chain.into(),
            key: key.into(),
        });
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
            Some(auth) => {
                let (chain, key) = auth.load()?;
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

/// Where the client certificate and its key come from.
#[derive(Clone)]
enum ClientAuth {
    Files { cert_chain: PathBuf, key: PathBuf },
    Pem { cert_chain: Vec<u8>, key: Vec<u8> },
}

impl ClientAuth {
    fn load(&self) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Error> {
        match self {
            ClientAuth::Files { cert_chain, key } => Ok((
                read_certificates(cert_chain)?,
                PrivateKeyDer::from_pem_file(key).map_err(tls_error)?,
            )),
            ClientAuth::Pem { cert_chain, key } => {
                let chain = CertificateDer::pem_slice_iter(cert_chain)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(tls_error)?;
                if chain.is_empty() {
                    return Err(Error::Tls("no certificate in the client chain".into()));
                }
                Ok((
                    chain,
                    PrivateKeyDer::from_pem_slice(key).map_err(tls_error)?,
                ))
            }
        }
    }
}

/// The key never shows in debug output.
impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::Files { cert_chain, key } => f
                .debug_struct("Files")
                .field("cert_chain", cert_chain)
                .field("key", key)
                .finish(),
            ClientAuth::Pem { cert_chain, .. } => f
                .debug_struct("Pem")
                .field("cert_chain", &format_args!("{} bytes", cert_chain.len()))
                .finish_non_exhaustive(),
        }
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

/// Map a failed TLS handshake to [`Error::Tls`]: a rustls error (an
/// untrusted certificate, a wrong name, a refused client certificate) as
/// itself, and an I/O error during the handshake (the server hung up or
/// reset the connection) as the I/O error. The TCP connection was made
/// already, so none of these is [`Error::Connect`].
pub fn handshake_error(error: std::io::Error) -> Error {
    let is_rustls = error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>());
    if is_rustls {
        return match error.into_inner() {
            Some(inner) => Error::Tls(inner),
            None => Error::Tls("TLS handshake failed".into()),
        };
    }
    if error.kind() == std::io::ErrorKind::InvalidData && error.get_ref().is_none() {
        return Error::Tls("invalid TLS data".into());
    }
    Error::Tls(Box::new(error))
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
