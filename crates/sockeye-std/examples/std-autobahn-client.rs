//! Run every Autobahn case against a fuzzing server:
//! `cargo run --release -p sockeye-std --example std-autobahn-client -- ws://127.0.0.1:9001`.

use sockeye_std::{ClientOptions, Config, Error, Message};

const AGENT: &str = "sockeye-std";

fn run_case(base: &str, case: u32, config: Config) -> Result<(), Error> {
    let url = format!("{base}/runCase?case={case}&agent={AGENT}");
    let (mut ws, _) = sockeye_std::connect_with(&url, ClientOptions::new(), config)?;
    while let Some(message) = ws.recv() {
        let message = message?;
        if message.is_data() {
            ws.send(message)?;
        }
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 16 << 20;
    let (mut ws, _) = sockeye_std::connect(&format!("{base}/getCaseCount"))?;
    let mut count = 0;
    while let Some(message) = ws.recv() {
        if let Message::Text(text) = message? {
            count = text.trim().parse().unwrap_or(0);
        }
    }
    println!("{count} cases");
    for case in 1..=count {
        if let Err(error) = run_case(&base, case, config.clone()) {
            println!("case {case}: {error}");
        }
    }
    let (mut ws, _) = sockeye_std::connect(&format!("{base}/updateReports?agent={AGENT}"))?;
    // The fuzzing server may hang up without a closing handshake here.
    while let Some(Ok(_)) = ws.recv() {}
    Ok(())
}
