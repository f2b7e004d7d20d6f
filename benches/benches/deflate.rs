//! permessage-deflate: a server sends a JSON-like corpus to a client, which
//! inflates it, with compression off, with context takeover (the default)
//! and without it. Throughput counts the uncompressed payload bytes; the
//! compression ratio (bytes on the wire / payload bytes) of each mode is
//! printed before its measurement.
//!
//! The corpus is 64 messages of 100 B to 8 KiB of JSON records (ids, names,
//! flags and numbers, repeating keys as chat and RPC traffic does), made
//! deterministically by `sockeye_benches::deflate_corpus` (shared with the
//! side-by-side run against Node `ws` and Python `websockets`,
//! `benches/deflate-peers/`). Each iteration sends the whole corpus through
//! `send_text`, takes the bytes with `poll_transmit`, and feeds them to the
//! client until it has reported every message.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sockeye::deflate::DeflateConfig;
use sockeye::{Connection, Event, Utf8Bytes};
use std::hint::black_box;

fn corpus() -> Vec<Utf8Bytes> {
    sockeye_benches::deflate_corpus()
        .into_iter()
        .map(Utf8Bytes::from)
        .collect()
}

/// Sends the corpus from `server` to `client`; returns the bytes on the wire.
fn send_corpus(server: &mut Connection, client: &mut Connection, corpus: &[Utf8Bytes]) -> usize {
    let mut wire = 0;
    for message in corpus {
        server.send_text(message.clone()).unwrap();
        while let Some(bytes) = server.poll_transmit() {
            wire += bytes.len();
            client.receive(Duration::ZERO, &bytes);
        }
        match client.poll_event() {
            Some(Event::Text(text)) => {
                black_box(text);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    wire
}

fn deflate(c: &mut Criterion) {
    let corpus = corpus();
    let payload: usize = corpus.iter().map(|m| m.len()).sum();
    let no_takeover = {
        let mut config = DeflateConfig::default();
        config.server_no_context_takeover = true;
        config.client_no_context_takeover = true;
        config
    };
    let modes = [
        ("off", None),
        ("takeover", Some(DeflateConfig::default())),
        ("no_takeover", Some(no_takeover)),
    ];
    let mut group = c.benchmark_group("deflate_json");
    group.throughput(Throughput::Bytes(payload as u64));
    for (name, config) in modes {
        let (mut client, mut server) = sockeye_benches::deflate_pair(config);
        let wire = send_corpus(&mut server, &mut client, &corpus);
        println!(
            "deflate_json/{name}: {payload} payload bytes -> {wire} on the wire, ratio {:.3}",
            wire as f64 / payload as f64
        );
        group.bench_function(name, |b| {
            b.iter(|| send_corpus(&mut server, &mut client, &corpus));
        });
    }
    group.finish();
}

criterion_group!(benches, deflate);
criterion_main!(benches);
