//! The reconnecting client over tokio: the policy, the client and its
//! connector are [`sockeye_io::reconnect`]'s; [`Tokio`] is the runtime.

use sockeye_io::reconnect::ReconnectPolicy;
use sockeye_io::{ClientOptions, SharedConfig};

use crate::Tokio;

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
///     sockeye_tokio::Tokio,
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
pub type ReconnectingClient = sockeye_io::reconnect::ReconnectingClient<Tokio>;

/// A [`ReconnectingClient`] for `url` (nothing happens until its first `recv`).
pub fn reconnecting(
    url: &str,
    options: ClientOptions,
    config: impl Into<SharedConfig>,
    policy: ReconnectPolicy,
) -> ReconnectingClient {
    ReconnectingClient::new(Tokio, url, options, config, policy)
}
