//! The reconnecting client over `futures-io`: the policy and the client are
//! [`sockeye_io::reconnect`]'s; only connecting and sleeping are this crate's.

use std::time::Duration;

use async_net::TcpStream;
use sockeye_io::driver::FuturesIo;
use sockeye_io::reconnect::{Attempt, Connector, ReconnectPolicy};
use sockeye_io::{ClientOptions, Config};

use crate::{AsyncIoClock, MaybeTlsStream, connect_with};

/// Connects with [`connect_with`] and waits with an `async-io` timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct SmolConnector;

impl Connector for SmolConnector {
    type Transport = FuturesIo<MaybeTlsStream<TcpStream>>;
    type Clock = AsyncIoClock;

    fn connect(&self, url: String, options: ClientOptions, config: Config) -> Attempt<Self> {
        Box::pin(async move { connect_with(&url, options, config).await })
    }

    async fn sleep(&self, duration: Duration) {
        async_io::Timer::after(duration).await;
    }
}

/// A client that reconnects when its connection is lost (see
/// [`sockeye_io::reconnect::ReconnectingClient`]).
pub type ReconnectingClient = sockeye_io::reconnect::ReconnectingClient<SmolConnector>;

/// A [`ReconnectingClient`] for `url` (nothing happens until its first `recv`).
pub fn reconnecting(
    url: &str,
    options: ClientOptions,
    config: Config,
    policy: ReconnectPolicy,
) -> ReconnectingClient {
    ReconnectingClient::new(SmolConnector, url, options, config, policy)
}
