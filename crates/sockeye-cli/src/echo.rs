//! `sockeye echo`: an echo server, fit for the Autobahn TestSuite.

use std::process::ExitCode;

use sockeye_io::server::available_threads;
use sockeye_io::{Config, Message};
use sockeye_mio::{Client, Server, ServerPolicy};

/// An echo server: every text and binary message comes back unchanged.
///
/// Messages up to 64 MiB and frames up to 16 MiB are accepted, fragmented
/// messages are reassembled, pings are answered and every protocol rule is
/// enforced, which makes it a target for the Autobahn TestSuite's fuzzing
/// client. Plain HTTP requests get 426 Upgrade Required.
///
/// Prints `listening on ws://ADDR (N threads)` on stderr once bound (port 0
/// picks a free port). With --threads N (default: one per available core)
/// the connections are spread over N event-loop threads (sockeye-mio: one
/// poller per thread driving its connections' engines, no task per
/// connection).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on, such as 127.0.0.1:9001 ([::]:9001 for every
    /// IPv6 and IPv4 address).
    #[arg(default_value = "127.0.0.1:9001")]
    pub addr: String,

    /// Accept permessage-deflate compression (RFC 7692) when a client offers it.
    #[arg(long)]
    pub deflate: bool,

    /// Event-loop threads, each accepting on its own socket of the same port
    /// (SO_REUSEPORT) and serving its connections (default: one per
    /// available core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Pin each event-loop thread to a CPU of its own (Linux).
    #[arg(long)]
    pub pin: bool,
}

/// The limits of the echo server: 64 MiB messages, 16 MiB frames.
pub fn config() -> Config {
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    config
}

/// Run `sockeye echo`.
pub async fn run(args: Args) -> Result<ExitCode, String> {
    let mut config = config();
    if args.deflate {
        config.deflate = Some(sockeye_tokio::DeflateConfig::default());
    }
    // No heartbeat: an echo server answers, it does not probe (the
    // Autobahn TestSuite counts every frame it receives).
    let policy = ServerPolicy::new().config(config).no_heartbeat();
    let threads = args.threads.map_or_else(available_threads, usize::from);
    let server = Server::bind_threads(&args.addr, policy, threads)
        .map_err(|error| format!("cannot listen on {}: {error}", args.addr))?
        .pin_threads(args.pin);
    eprintln!(
        "sockeye echo listening on ws://{} ({threads} thread{})",
        server.local_addr(),
        if threads == 1 { "" } else { "s" }
    );
    // The event loops run on threads of their own; this task waits for them.
    tokio::task::spawn_blocking(move || server.run(echo))
        .await
        .map_err(|error| format!("the server failed: {error}"))?
        .map_err(|error| format!("the server failed: {error}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Sends every text and binary message back; the engine answers pings and
/// closes.
fn echo(client: &mut Client<'_>, message: Message) {
    if !matches!(message, Message::Text(_) | Message::Binary(_)) {
        return;
    }
    // Fails only once the client is closing: its close is on its way.
    if let Err(error) = client.send(message)
        && !matches!(error, sockeye_io::Error::Closed)
    {
        tracing::info!(peer = %client.peer_addr(), %error, "connection ended");
    }
}
