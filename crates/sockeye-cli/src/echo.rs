//! `sockeye echo`: an echo server, fit for the Autobahn TestSuite.

use std::process::ExitCode;

use sockeye_io::{Config, Decision, Message};
use tokio::net::{TcpListener, TcpStream};

/// An echo server: every text and binary message comes back unchanged.
///
/// Messages up to 64 MiB and frames up to 16 MiB are accepted, fragmented
/// messages are reassembled, pings are answered and every protocol rule is
/// enforced, which makes it a target for the Autobahn TestSuite's fuzzing
/// client. Plain HTTP requests get 426 Upgrade Required.
///
/// Prints `listening on ws://ADDR` on stderr once bound (port 0 picks a free
/// port).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on, such as 127.0.0.1:9001 ([::]:9001 for every
    /// IPv6 and IPv4 address).
    #[arg(default_value = "127.0.0.1:9001")]
    pub addr: String,

    /// Accept permessage-deflate compression (RFC 7692) when a client offers it.
    #[arg(long)]
    pub deflate: bool,
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
    let listener = TcpListener::bind(&args.addr)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", args.addr))?;
    let local = listener
        .local_addr()
        .map_err(|error| format!("cannot listen on {}: {error}", args.addr))?;
    eprintln!("sockeye echo listening on ws://{local}");
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: keep serving the others.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let deflate = args.deflate;
        tokio::spawn(async move {
            if let Err(error) = serve(stream, deflate).await {
                tracing::info!(%peer, %error, "connection ended");
            }
        });
    }
}

async fn serve(stream: TcpStream, deflate: bool) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let mut config = config();
    if deflate {
        config.deflate = Some(sockeye_tokio::DeflateConfig::default());
    }
    let (mut socket, _request) = sockeye_tokio::accept_with(stream, config, |_| Decision::accept())
        .await
        .map_err(|error| error.to_string())?;
    while let Some(received) = socket.recv().await {
        let message = received.map_err(|error| error.to_string())?;
        if !matches!(message, Message::Text(_) | Message::Binary(_)) {
            continue;
        }
        match socket.send(message).await {
            // The peer's close frame is already on its way to us.
            Ok(()) | Err(sockeye_io::Error::Closed) => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    Ok(())
}
