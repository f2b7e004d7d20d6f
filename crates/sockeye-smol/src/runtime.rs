//! `async-net` and `async-io` as the shared layer's [`Runtime`].

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use async_net::{TcpListener, TcpStream};
use sockeye_io::{Error, Runtime, TlsClient};

/// `async-net` (TCP), `futures-rustls` (TLS, feature `rustls`) and
/// `async-io` (timers) as a [`Runtime`], for any executor. The reconnecting
/// client connects through it too (as [`SmolConnector`](crate::SmolConnector)).
#[derive(Clone, Copy, Debug, Default)]
pub struct Smol;

impl Runtime for Smol {
    async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        async_net::resolve((host, port)).await
    }

    async fn connect_tcp(addr: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect(addr).await
    }

    fn set_nodelay(tcp: &TcpStream) -> io::Result<()> {
        tcp.set_nodelay(true)
    }

    #[cfg(feature = "rustls")]
    async fn wrap_tls(tcp: TcpStream, tls: TlsClient<'_>) -> Result<Self::Tls, Error> {
        let (name, config) = tls.settings()?;
        futures_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(sockeye_io::tls::handshake_error)
    }

    #[cfg(not(feature = "rustls"))]
    async fn wrap_tls(_tcp: TcpStream, _tls: TlsClient<'_>) -> Result<Self::Tls, Error> {
        Err(TlsClient::unsupported("sockeye-smol"))
    }

    async fn sleep(duration: Duration) {
        async_io::Timer::after(duration).await;
    }

    async fn accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
        listener.accept().await
    }

    fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }
}
