//! UTF-8 validation throughput: sockeye's whole-text check and streaming
//! validator (4 KiB pieces) beside `core::str::from_utf8` and raw simdutf8.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sockeye::utf8::{self, Utf8Validator};
use std::hint::black_box;

const PIECE: usize = 4 << 10;

/// `size` bytes of valid UTF-8 built from `unit`, cut at a char boundary.
fn text(unit: &str, size: usize) -> Vec<u8> {
    let mut s = String::with_capacity(size + unit.len());
    while s.len() < size {
        s.push_str(unit);
    }
    let mut end = size;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.into_bytes()
}

fn validation(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8");
    // Mixed: ASCII with 2-, 3- and 4-byte code points, so 4 KiB pieces cut
    // code points.
    let inputs = [
        (
            "ascii",
            "The quick brown fox jumps over the lazy dog. 0123456789\n",
        ),
        (
            "mixed",
            "Grüße, κόσμε, こんにちは, 🦀 and plain ASCII words; ",
        ),
    ];
    for (kind, unit) in inputs {
        for size in [1 << 10, 1 << 20] {
            let bytes = text(unit, size);
            let id = format!("{kind}-{}", if size >= 1 << 20 { "1MiB" } else { "1KiB" });
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            group.bench_function(BenchmarkId::new("std", &id), |b| {
                b.iter(|| core::str::from_utf8(black_box(&bytes)).is_ok())
            });
            group.bench_function(BenchmarkId::new("simdutf8-basic", &id), |b| {
                b.iter(|| simdutf8::basic::from_utf8(black_box(&bytes)).is_ok())
            });
            group.bench_function(BenchmarkId::new("sockeye-validate", &id), |b| {
                b.iter(|| utf8::validate(black_box(&bytes)).is_ok())
            });
            group.bench_function(BenchmarkId::new("sockeye-stream-4KiB", &id), |b| {
                b.iter(|| {
                    let mut validator = Utf8Validator::new();
                    for piece in black_box(&bytes).chunks(PIECE) {
                        validator.feed(piece).unwrap();
                    }
                    validator.finish().is_ok()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, validation);
criterion_main!(benches);
