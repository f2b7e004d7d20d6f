//! The names every async adapter shows as its own: `sockeye-tokio` and
//! `sockeye-smol` re-export this module whole (`pub use sockeye_io::api::*`),
//! so their APIs cannot drift apart.

#[cfg(feature = "deflate")]
pub use sockeye::deflate::DeflateConfig;

#[cfg(feature = "async")]
pub use crate::driver::{Close, ReadHalf, Recv, Sending, WebSocket, WriteHalf};
pub use crate::reconnect;
pub use crate::server::{ClientId, Clients, RateLimit, ServerPolicy, ShutdownReport};
pub use crate::{
    ClientOptions, CloseCode, CloseFrame, Config, Decision, Error, HandshakeInfo, Message,
    ReadyState, Request, Response, Role, SharedConfig,
};
#[cfg(feature = "rustls")]
pub use crate::{Roots, TlsOptions};
