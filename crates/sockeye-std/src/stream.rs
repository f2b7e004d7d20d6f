//! The stream `connect` returns: plain TCP or (feature `rustls`) TLS over it.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[cfg(feature = "rustls")]
use sockeye_io::{ClientOptions, Error, Target};

/// Plain TCP for `ws://`, rustls over TCP for `wss://`.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// Plain `ws://`.
    Plain(TcpStream),
    /// `wss://` through rustls.
    #[cfg(feature = "rustls")]
    Rustls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl MaybeTlsStream {
    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.get_ref(),
        }
    }

    /// Set the socket's read timeout ([`TcpStream::set_read_timeout`]).
    ///
    /// # Errors
    /// As [`TcpStream::set_read_timeout`].
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }

    /// Set the socket's write timeout ([`TcpStream::set_write_timeout`]).
    ///
    /// # Errors
    /// As [`TcpStream::set_write_timeout`].
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_write_timeout(timeout)
    }

    /// Wrap `tcp` in TLS for `target` and run the TLS handshake to its end,
    /// so that its failures are [`Error::Tls`] and not a WebSocket error.
    #[cfg(feature = "rustls")]
    pub(crate) fn tls(
        mut tcp: TcpStream,
        target: &Target,
        options: &ClientOptions,
    ) -> Result<Self, Error> {
        let config = options.tls_options().client_config()?;
        let name = sockeye_io::tls::server_name(&target.host)?;
        let mut conn = rustls::ClientConnection::new(config, name)
            .map_err(|error| Error::Tls(Box::new(error)))?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp)
                .map_err(sockeye_io::tls::handshake_error)?;
        }
        Ok(MaybeTlsStream::Rustls(Box::new(rustls::StreamOwned::new(
            conn, tcp,
        ))))
    }
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.read(buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.read(buf),
        }
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.write(buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.write_vectored(bufs),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.flush(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.flush(),
        }
    }
}
