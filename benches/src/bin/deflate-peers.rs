//! sockeye's side of the permessage-deflate comparison against Node `ws`
//! and Python `websockets` (`benches/deflate-peers/run.sh` runs all three
//! and prints one table).
//!
//! ```text
//! target/release/deflate-peers [--corpus-out FILE] [--rounds 5] [--round-seconds 0.4]
//! ```
//!
//! Writes the corpus ([`sockeye_benches::deflate_corpus`], one message a
//! line) to `--corpus-out` for the peer scripts, then measures the same
//! operation they do: every message of the corpus compressed by a server
//! `Connection` (`send_text`, default `DeflateConfig`: level 6, memory level
//! 8, window 15) and inflated by a client `Connection`, with context
//! takeover and without it on both sides. sockeye's figure includes the
//! framing around the deflate work (header, the client's UTF-8 check of the
//! inflated text), which the peers' figures do not.
//!
//! Each mode runs `--rounds` rounds of whole passes over the corpus, each
//! round at least `--round-seconds` long; the best round's rate is
//! reported (the machine is shared, and the best round is the one least
//! disturbed). Output: one tab-separated line per mode, `implementation
//! mode MB/s ratio`, where MB is 10^6 bytes of uncompressed payload and the
//! ratio is compressed payload bytes over uncompressed ones (frame headers
//! left out).

use std::hint::black_box;
use std::time::{Duration, Instant};

use sockeye::deflate::DeflateConfig;
use sockeye::{Connection, Event, Utf8Bytes};

/// The header length of an unmasked server frame that is `total` bytes long.
fn header_len(total: usize) -> usize {
    if total - 2 < 126 {
        2
    } else if total - 4 < 1 << 16 {
        4
    } else {
        10
    }
}

/// One pass over the corpus; returns the compressed payload bytes.
fn pass(server: &mut Connection, client: &mut Connection, corpus: &[Utf8Bytes]) -> usize {
    let mut compressed = 0;
    for message in corpus {
        server.send_text(message.clone()).expect("send");
        let mut frame = 0;
        while let Some(bytes) = server.poll_transmit() {
            frame += bytes.len();
            client.receive(Duration::ZERO, &bytes);
        }
        compressed += frame - header_len(frame);
        match client.poll_event() {
            Some(Event::Text(text)) => {
                black_box(text);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    compressed
}

fn main() {
    let mut corpus_out = None;
    let mut rounds = 5u32;
    let mut round_seconds = 0.4f64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--corpus-out" => corpus_out = Some(value()),
            "--rounds" => rounds = value().parse().expect("--rounds N"),
            "--round-seconds" => round_seconds = value().parse().expect("--round-seconds S"),
            other => panic!("unknown argument {other}"),
        }
    }
    let corpus = sockeye_benches::deflate_corpus();
    if let Some(path) = corpus_out {
        std::fs::write(&path, corpus.join("\n") + "\n").expect("writing the corpus");
    }
    let corpus: Vec<Utf8Bytes> = corpus.into_iter().map(Utf8Bytes::from).collect();
    let payload: usize = corpus.iter().map(|m| m.len()).sum();
    let round = Duration::from_secs_f64(round_seconds);

    for (mode, no_takeover) in [("takeover", false), ("no_takeover", true)] {
        let mut deflate = DeflateConfig::default();
        deflate.server_no_context_takeover = no_takeover;
        deflate.client_no_context_takeover = no_takeover;
        let (mut client, mut server) = sockeye_benches::deflate_pair(Some(deflate));
        // The first pass warms up and gives the ratio (from the second one
        // on, context takeover also refers back to the previous pass).
        let compressed = pass(&mut server, &mut client, &corpus);
        let mut best = 0f64;
        for _ in 0..rounds {
            let start = Instant::now();
            let mut passes = 0u64;
            while start.elapsed() < round {
                pass(&mut server, &mut client, &corpus);
                passes += 1;
            }
            let rate = (payload as u64 * passes) as f64 / start.elapsed().as_secs_f64() / 1e6;
            best = best.max(rate);
        }
        println!(
            "sockeye\t{mode}\t{best:.1}\t{:.3}",
            compressed as f64 / payload as f64
        );
    }
}
