//! What an async runtime provides to the shared client and server: name
//! resolution, TCP, TLS, timers and its clock. Everything built on it (the
//! connect sequence, the accept loop, the reconnecting client's connector)
//! is written once, in [`connect`](crate::connect) and [`server`](crate::server).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::driver::{Clock, IntoStream, Transport};
use crate::{ClientOptions, Error, MaybeTlsStream, Target};

/// The things of an async runtime the shared client and server handle: its
/// TCP stream and listener, its TLS client stream, its clock, and how the
/// driver reads and writes its streams. An adapter declares them with
/// [`runtime_api!`](crate::runtime_api), which keeps them in step with the
/// names of its API (`MaybeTlsStream`, `WebSocketStream`).
pub trait RuntimeTypes {
    /// A connected TCP stream.
    type Tcp: Send + Unpin + 'static;
    /// The client TLS stream over [`Tcp`](Self::Tcp); [`NoTls`](crate::NoTls)
    /// for an adapter built without TLS.
    type Tls: Send + Unpin + 'static;
    /// A TCP listener.
    type Listener: Send + Sync + 'static;
    /// The clock of the connections it makes (a new one per connection).
    type Clock: Clock + Default + Send + 'static;
    /// A client connection as the driver reads and writes it.
    type ClientIo: Transport + From<MaybeTlsStream<Self::Tcp, Self::Tls>> + Send + 'static;
    /// A TCP stream as the driver reads and writes it: an accepted
    /// connection, or a client's way to an HTTP proxy before TLS.
    type ServerIo: Transport + From<Self::Tcp> + IntoStream<Stream = Self::Tcp> + Send + 'static;
}

/// An async runtime as the shared client and server need it: what it does
/// with the things of [`RuntimeTypes`]. The adapters implement it on a unit
/// type (`sockeye_tokio::Tokio`, `sockeye_smol::Smol`).
///
/// Spawning is not here: tokio spawns globally, while the `futures-io`
/// adapter leaves it to the caller's executor, so the accept loop takes a
/// spawn function instead.
pub trait Runtime: RuntimeTypes + Send + Sync + 'static {
    /// The addresses of `host` (a name or an IP literal) at `port`.
    fn resolve(host: &str, port: u16) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send;

    /// Open a TCP connection to `addr`.
    fn connect_tcp(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Tcp>> + Send;

    /// Send segments without waiting to coalesce them (`TCP_NODELAY`): the
    /// driver already writes frames in as few writes as it can.
    ///
    /// # Errors
    /// As the operating system's `setsockopt`.
    fn set_nodelay(tcp: &Self::Tcp) -> io::Result<()>;

    /// Run the client side of a TLS handshake over `tcp` as `tls` says.
    fn wrap_tls(
        tcp: Self::Tcp,
        tls: TlsClient<'_>,
    ) -> impl Future<Output = Result<Self::Tls, Error>> + Send;

    /// Wait for `duration`.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;

    /// Accept the next connection on `listener`, with its peer's address.
    fn accept(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<(Self::Tcp, SocketAddr)>> + Send;

    /// The address `listener` is bound to.
    ///
    /// # Errors
    /// As the operating system's `getsockname`.
    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;
}

/// What a `wss://` connection's TLS handshake is to use: the server name
/// and the client's TLS settings, turned into rustls terms only when asked,
/// so that an adapter without TLS fails with its own error first.
#[derive(Clone, Copy, Debug)]
pub struct TlsClient<'a> {
    target: &'a Target,
    options: &'a ClientOptions,
}

impl<'a> TlsClient<'a> {
    pub(crate) fn new(target: &'a Target, options: &'a ClientOptions) -> Self {
        Self { target, options }
    }

    /// The URL taken apart: the host is the name to verify.
    pub fn target(&self) -> &'a Target {
        self.target
    }

    /// The client's options, with its TLS settings.
    pub fn options(&self) -> &'a ClientOptions {
        self.options
    }

    /// The name to verify the server's certificate against and the rustls
    /// configuration of [`ClientOptions::tls`].
    ///
    /// # Errors
    /// [`Error::Tls`] when the settings cannot be loaded (see
    /// [`TlsOptions::client_config`](crate::TlsOptions::client_config)) or
    /// the host is not a valid server name.
    #[cfg(feature = "rustls")]
    pub fn settings(
        &self,
    ) -> Result<
        (
            rustls::pki_types::ServerName<'static>,
            std::sync::Arc<rustls::ClientConfig>,
        ),
        Error,
    > {
        let config = self.options().tls_options().client_config()?;
        let name = crate::tls::server_name(&self.target().host)?;
        Ok((name, config))
    }

    /// The error of a `wss://` URL given to `adapter` built without its
    /// `rustls` feature.
    pub fn unsupported(adapter: &str) -> Error {
        Error::Tls(format!("wss:// needs the `rustls` feature of {adapter}").into())
    }
}
