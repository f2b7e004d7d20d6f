#![doc = include_str!("../README.md")]
#![no_std]
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod close;
pub mod config;
pub mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
pub mod endpoint;
pub mod entropy;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod message;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod transmit;
pub mod utf8;

pub use close::{CloseCode, CloseFrame, CloseStatus};
pub use config::{Config, Role, SharedConfig};
pub use connection::{Connection, Event, State};
pub use endpoint::{Endpoint, EndpointEvent};
pub use entropy::Entropy;
pub use error::{ProtocolError, SendError};
pub use message::{DataKind, Utf8Bytes};
pub use transmit::Transmit;
