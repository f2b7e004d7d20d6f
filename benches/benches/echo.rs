//! The engine's echo loop, as a server runs it for one connection: feed a
//! batch of masked client frames with one `receive`, answer every message
//! with `send_binary`, borrow the queued output with `transmit` and report
//! it `written` (as a vectored write would), then call
//! `release_idle_buffers`, which the async driver does whenever a read
//! would block. No socket is involved: this is the engine's share of the
//! end-to-end harness's latency, small-message and 1 KiB cells.
//!
//! The connection is made once, outside the timed part, so the figures are
//! its steady state: the buffers it frees when idle and allocates again
//! for the next batch are part of what is timed.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sockeye::{Config, Connection, Event};
use sockeye_benches::masked_binary_frames;

/// One batch through the connection; returns the bytes written.
fn echo_batch(server: &mut Connection, batch: &[u8]) -> usize {
    server.receive(Duration::ZERO, batch);
    while let Some(event) = server.poll_event() {
        if let Event::Binary(payload) = event {
            server.send_binary(payload).expect("the connection is open");
        }
    }
    let mut written = 0;
    loop {
        let transmit = server.transmit();
        let mut runs = [&[][..]; 8];
        let filled = transmit.chunks(&mut runs);
        if filled == 0 {
            break;
        }
        let n: usize = runs[..filled].iter().map(|run| black_box(run).len()).sum();
        transmit.written(n);
        written += n;
    }
    server.read_blocked();
    written
}

fn echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("echo");
    for (count, size) in [(1, 16), (64, 16), (16, 1024)] {
        let batch = masked_binary_frames(count, size);
        let mut server = Connection::server(Config::default(), Duration::ZERO);
        // Every message comes back with a 2- or 4-byte header.
        let expected = count * (size + if size < 126 { 2 } else { 4 });
        assert_eq!(echo_batch(&mut server, &batch), expected);
        group.throughput(Throughput::Elements(count as u64));
        let id = format!("{count}x{size}B");
        group.bench_function(BenchmarkId::new("sockeye", id), |b| {
            b.iter(|| echo_batch(&mut server, black_box(&batch)));
        });
    }
    group.finish();
}

criterion_group!(benches, echo);
criterion_main!(benches);
