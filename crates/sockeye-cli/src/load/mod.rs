//! `sockeye load`: a load generator.

use std::process::ExitCode;

/// Load generator (placeholder).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// URL.
    pub url: String,
}

/// Run `sockeye load`.
pub async fn run(_args: Args) -> Result<ExitCode, String> {
    Err("not yet".into())
}
