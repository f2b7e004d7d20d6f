//! Run every Autobahn case against a fuzzing server:
//! `cargo run --release -p sockeye-smol --example smol-autobahn-client -- ws://127.0.0.1:9001`.

use sockeye_smol::{ClientOptions, Config, Error, Message};

const AGENT: &str = "sockeye-smol";

async fn case_count(base: &str) -> Result<u32, Error> {
    let (mut ws, _) = sockeye_smol::connect(&format!("{base}/getCaseCount")).await?;
    let mut count = 0;
    while let Some(message) = ws.recv().await {
        if let Message::Text(text) = message? {
            count = text.trim().parse().unwrap_or(0);
        }
    }
    Ok(count)
}

async fn run_case(base: &str, case: u32, config: Config) -> Result<(), Error> {
    let url = format!("{base}/runCase?case={case}&agent={AGENT}");
    let (mut ws, _) = sockeye_smol::connect_with(&url, ClientOptions::new(), config).await?;
    while let Some(message) = ws.recv().await {
        let message = message?;
        if message.is_data() {
            ws.send(message).await?;
        }
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    smol::block_on(run())
}

async fn run() -> Result<(), Error> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    let count = case_count(&base).await?;
    println!("{count} cases");
    for case in 1..=count {
        if let Err(error) = run_case(&base, case, config.clone()).await {
            println!("case {case}: {error}");
        }
    }
    let (mut ws, _) = sockeye_smol::connect(&format!("{base}/updateReports?agent={AGENT}")).await?;
    // The fuzzing server may hang up without a closing handshake here.
    while let Some(Ok(_)) = ws.recv().await {}
    Ok(())
}
