//! Run every Autobahn case against a fuzzing server:
//! `cargo run --release -p sockeye-tokio --example tokio-autobahn-client -- ws://127.0.0.1:9001`.
//!
//! With `--deflate` (build with `--features deflate`) the client offers
//! permessage-deflate; the agent name becomes `sockeye-tokio-deflate`.

use sockeye_tokio::{ClientOptions, Config, Error, Message};

async fn case_count(base: &str) -> Result<u32, Error> {
    let (mut ws, _) = sockeye_tokio::connect(&format!("{base}/getCaseCount")).await?;
    let mut count = 0;
    while let Some(message) = ws.recv().await {
        if let Message::Text(text) = message? {
            count = text.trim().parse().unwrap_or(0);
        }
    }
    Ok(count)
}

async fn run_case(base: &str, agent: &str, case: u32, config: Config) -> Result<(), Error> {
    let url = format!("{base}/runCase?case={case}&agent={agent}");
    let (mut ws, _) = sockeye_tokio::connect_with(&url, ClientOptions::new(), config).await?;
    while let Some(message) = ws.recv().await {
        let message = message?;
        if message.is_data() {
            ws.send(message).await?;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut deflate = false;
    let mut base = String::from("ws://127.0.0.1:9001");
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--deflate" => deflate = true,
            _ => base = arg,
        }
    }
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    let agent = if deflate {
        enable_deflate(&mut config);
        "sockeye-tokio-deflate"
    } else {
        "sockeye-tokio"
    };
    let count = case_count(&base).await?;
    println!("{count} cases");
    for case in 1..=count {
        if let Err(error) = run_case(&base, agent, case, config.clone()).await {
            println!("case {case}: {error}");
        }
    }
    let (mut ws, _) =
        sockeye_tokio::connect(&format!("{base}/updateReports?agent={agent}")).await?;
    // The fuzzing server may hang up without a closing handshake here.
    while let Some(Ok(_)) = ws.recv().await {}
    Ok(())
}

#[cfg(feature = "deflate")]
fn enable_deflate(config: &mut Config) {
    // Compress every message, however small: the Autobahn cases check the
    // compressed path. The fastest level: conformance does not depend on
    // it, and the cases compress about 6 GB per run. The second offer with
    // the `client_no_context_takeover` hint is what the cases that ask the
    // client to drop its context (13.2, 13.5, 13.6) look for.
    let mut deflate = sockeye_tokio::DeflateConfig::default();
    deflate.threshold = 0;
    deflate.level = 1;
    deflate.offer_no_context_takeover_fallback = true;
    config.deflate = Some(deflate);
}

#[cfg(not(feature = "deflate"))]
fn enable_deflate(_: &mut Config) {
    eprintln!("--deflate needs the `deflate` feature (cargo run --features deflate)");
    std::process::exit(2);
}
