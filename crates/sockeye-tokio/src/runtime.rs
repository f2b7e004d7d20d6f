//! Tokio as the shared layer's [`Runtime`], and its clock.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use sockeye_io::driver::{Clock, clock_epoch};
use sockeye_io::{Error, Runtime, TlsClient};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// Tokio as a [`Runtime`]: `tokio::net` for TCP, `tokio-rustls` for TLS
/// (feature `rustls`), `tokio::time` for timers. The reconnecting client
/// connects through it too (as [`TokioConnector`](crate::TokioConnector)).
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

impl Runtime for Tokio {
    async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }

    fn connect_tcp(addr: SocketAddr) -> impl Future<Output = io::Result<TcpStream>> + Send {
        TcpStream::connect(addr)
    }

    fn set_nodelay(tcp: &TcpStream) -> io::Result<()> {
        tcp.set_nodelay(true)
    }

    #[cfg(feature = "rustls")]
    async fn wrap_tls(tcp: TcpStream, tls: TlsClient<'_>) -> Result<Self::Tls, Error> {
        let (name, config) = tls.settings()?;
        let connector = tokio_rustls::TlsConnector::from(config);
        let handshake = connector.connect(name, tcp);
        handshake.await.map_err(sockeye_io::tls::handshake_error)
    }

    #[cfg(not(feature = "rustls"))]
    async fn wrap_tls(_tcp: TcpStream, _tls: TlsClient<'_>) -> Result<Self::Tls, Error> {
        Err(TlsClient::unsupported("sockeye-tokio"))
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }

    async fn accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
        listener.accept().await
    }

    fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }
}

/// Tokio's clock (so `tokio::time::pause` works in tests) and one lazily
/// allocated timer.
///
/// Every `TokioClock` counts from one process-wide epoch, [`clock_epoch`],
/// so a clock is a single pointer (to its timer, once armed) and costs an
/// idle connection 8 bytes. The epoch is read from the system's monotonic
/// clock, never from tokio's, so it is not later than any tokio `Instant`
/// read afterwards, also under `tokio::time::pause` (a paused clock starts
/// at the real time it was created); a paused clock created before the
/// epoch reads zero until it passes it, which keeps time monotonic.
#[derive(Debug, Default)]
pub struct TokioClock {
    timer: Option<Pin<Box<Sleep>>>,
}

impl TokioClock {
    /// A clock on the process-wide scale.
    pub fn new() -> Self {
        Self { timer: None }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        Instant::now()
            .into_std()
            .saturating_duration_since(clock_epoch())
    }

    fn poll_deadline(&mut self, cx: &mut Context<'_>, deadline: Duration) -> Poll<()> {
        let Some(at) = clock_epoch().checked_add(deadline).map(Instant::from_std) else {
            // Beyond the clock's range: never.
            return Poll::Pending;
        };
        if Instant::now() >= at {
            return Poll::Ready(());
        }
        let sleep = match &mut self.timer {
            Some(sleep) => {
                if sleep.deadline() != at {
                    sleep.as_mut().reset(at);
                }
                sleep
            }
            None => self.timer.insert(Box::pin(tokio::time::sleep_until(at))),
        };
        sleep.as_mut().poll(cx)
    }

    fn disarm(&mut self) {
        self.timer = None;
    }
}
