//! The reconnecting client over tokio: the policy and the client are
//! [`sockeye_io::reconnect`]'s; only connecting and sleeping are tokio's.

use std::future::Future;
use std::time::Duration;

use sockeye_io::reconnect::{Attempt, Connector, ReconnectPolicy};
use sockeye_io::{ClientOptions, Config};
use tokio::net::TcpStream;

use crate::{MaybeTlsStream, TokioClock, TokioIo, connect_with};

/// Connects with [`connect_with`] and waits with `tokio::time::sleep`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioConnector;

impl Connector for TokioConnector {
    type Transport = TokioIo<MaybeTlsStream<TcpStream>>;
    type Clock = TokioClock;

    fn connect(&self, url: String, options: ClientOptions, config: Config) -> Attempt<Self> {
        Box::pin(async move { connect_with(&url, options, config).await })
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(duration)
    }
}

/// A client that reconnects when its connection is lost (see
/// [`sockeye_io::reconnect::ReconnectingClient`]).
///
/// ```no_run
/// use sockeye_tokio::reconnect::{Event, ReconnectPolicy};
/// use sockeye_tokio::{ClientOptions, Config, ReconnectingClient};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut client = ReconnectingClient::new(
///     sockeye_tokio::TokioConnector,
///     "ws://127.0.0.1:9001/feed",
///     ClientOptions::new().header("Authorization", "Bearer abc"),
///     Config::default(),
///     ReconnectPolicy::default(),
/// );
/// client.send("subscribe").await.unwrap(); // queued until connected
/// while let Some(event) = client.recv().await {
///     match event {
///         Event::Connected { connection, .. } => println!("connected (#{connection})"),
///         Event::Message(message) => println!("{message:?}"),
///         Event::Disconnected { close, reconnect_in, .. } => {
///             println!("closed {}: retry in {reconnect_in:?}", close.code)
///         }
///         Event::GaveUp { attempts } => println!("gave up after {attempts}"),
///         _ => {}
///     }
/// }
/// # }
/// ```
pub type ReconnectingClient = sockeye_io::reconnect::ReconnectingClient<TokioConnector>;

/// A [`ReconnectingClient`] for `url` (nothing happens until its first `recv`).
pub fn reconnecting(
    url: &str,
    options: ClientOptions,
    config: Config,
    policy: ReconnectPolicy,
) -> ReconnectingClient {
    ReconnectingClient::new(TokioConnector, url, options, config, policy)
}
