//! Frame decoding: 10,000 masked binary frames, as a server receives them,
//! decoded and unmasked into messages, for 16 B, 125 B and 1 KiB payloads.
//!
//! How each implementation is driven, all in memory on one thread:
//!
//! - **sockeye**: a fresh `Connection::server(Config::default(), 0)` per
//!   iteration (built inside the timed part, so its cost is included), fed
//!   the whole buffer with one `receive` (which copies it into the
//!   connection's receive buffer), then `poll_event` until `None`.
//! - **tungstenite**: `WebSocket::from_raw_socket` over a
//!   `std::io::Cursor<Vec<u8>>` holding the buffer (the buffer copy is made
//!   outside the timed part), `Role::Server`, default config; `read()` is
//!   called 10,000 times. tungstenite reads from the cursor into its own
//!   read buffer in chunks.
//! - **fastwebsockets**: `WebSocket::after_handshake` over a
//!   `std::io::Cursor<Vec<u8>>` (tokio implements `AsyncRead` and
//!   `AsyncWrite` for it), `Role::Server`, auto-close and auto-pong left on;
//!   `read_frame()` is awaited 10,000 times inside one `block_on` of a
//!   current-thread tokio runtime created once outside the loop.
//!
//! Every implementation checks the frames are masked and unmasks them; the
//! payload is handed to `black_box`.

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sockeye::{Config, Connection, Event};
use sockeye_benches::masked_binary_frames;
use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

const FRAMES: usize = 10_000;
const SIZES: [usize; 3] = [16, 125, 1024];

fn label(size: usize) -> String {
    if size >= 1024 {
        format!("{}KiB", size >> 10)
    } else {
        format!("{size}B")
    }
}

fn sockeye_decode(input: &[u8]) -> usize {
    let mut connection = Connection::server(Config::default(), Duration::ZERO);
    connection.receive(Duration::ZERO, input);
    let mut count = 0;
    while let Some(event) = connection.poll_event() {
        match event {
            Event::Binary(payload) => {
                black_box(payload);
                count += 1;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    count
}

fn tungstenite_decode(input: Vec<u8>) -> usize {
    use tungstenite::protocol::{Role, WebSocket};
    let mut socket = WebSocket::from_raw_socket(Cursor::new(input), Role::Server, None);
    for _ in 0..FRAMES {
        match socket.read() {
            Ok(tungstenite::Message::Binary(payload)) => {
                black_box(payload);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    FRAMES
}

async fn fastwebsockets_decode(input: Vec<u8>) -> usize {
    use fastwebsockets::{OpCode, Role, WebSocket};
    let mut socket = WebSocket::after_handshake(Cursor::new(input), Role::Server);
    for _ in 0..FRAMES {
        let frame = socket.read_frame().await.expect("valid frame");
        assert_eq!(frame.opcode, OpCode::Binary);
        black_box(&frame.payload[..]);
    }
    FRAMES
}

fn frames(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("frames");
    for size in SIZES {
        let input = masked_binary_frames(FRAMES, size);
        assert_eq!(sockeye_decode(&input), FRAMES);
        assert_eq!(tungstenite_decode(input.clone()), FRAMES);
        assert_eq!(
            runtime.block_on(fastwebsockets_decode(input.clone())),
            FRAMES
        );
        let id = label(size);
        group.throughput(Throughput::Elements(FRAMES as u64));
        group.bench_function(BenchmarkId::new("sockeye", &id), |b| {
            b.iter(|| sockeye_decode(black_box(&input)))
        });
        group.bench_function(BenchmarkId::new("tungstenite", &id), |b| {
            b.iter_batched(|| input.clone(), tungstenite_decode, BatchSize::LargeInput)
        });
        group.bench_function(BenchmarkId::new("fastwebsockets", &id), |b| {
            b.iter_batched(
                || input.clone(),
                |input| runtime.block_on(fastwebsockets_decode(input)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, frames);
criterion_main!(benches);
