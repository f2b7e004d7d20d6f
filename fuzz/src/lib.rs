//! Shared pieces of the sockeye fuzz targets: an independent RFC 6455 frame
//! reader that judges the engine's output, and the scenario driver for the
//! connection targets.

pub mod drive;
pub mod http;
pub mod wire;
