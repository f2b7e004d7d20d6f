//! `sockeye`: a WebSocket client, echo server, browser chat server and load
//! generator built on the sockeye engine and its tokio adapter.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod chat;
mod connect;
mod duration;
mod echo;
mod listen;
mod load;
mod threads;
mod upgrade;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// A WebSocket (RFC 6455) toolbox on the sockeye engine.
///
/// Logs go to stderr; raise their level with `-v` (repeatable) or the
/// `RUST_LOG` environment variable (for example `RUST_LOG=sockeye=debug`).
#[derive(Debug, Parser)]
#[command(name = "sockeye", version, propagate_version = true)]
struct Cli {
    /// More log output on stderr: -v for info, -vv for debug, -vvv for trace.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Connect(connect::Args),
    Echo(echo::Args),
    Chat(chat::Args),
    Load(load::Args),
    Listen(listen::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sockeye: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Connect(args) => connect::run(args).await,
            Command::Echo(args) => echo::run(args).await,
            Command::Chat(args) => chat::run(args).await,
            Command::Load(args) => load::run(args).await,
            Command::Listen(args) => listen::run(args).await,
        }
    });
    // Tasks still parked on stdin or sockets must not hold the exit up.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("sockeye: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
