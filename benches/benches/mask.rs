//! Masking throughput: every sockeye path this CPU supports, the dispatched
//! entry point, the fastwebsockets kernel, and `copy_from_slice` of the same
//! size as the memory-bandwidth reference.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sockeye::mask::{self, MaskPath};
use std::hint::black_box;

const SIZES: [usize; 6] = [16, 125, 1 << 10, 4 << 10, 64 << 10, 1 << 20];
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn label(size: usize) -> String {
    match size {
        s if s >= 1 << 20 => format!("{}MiB", s >> 20),
        s if s >= 1 << 10 => format!("{}KiB", s >> 10),
        s => format!("{s}B"),
    }
}

fn masking(c: &mut Criterion) {
    for path in MaskPath::ALL.iter().filter(|p| !p.is_supported()) {
        eprintln!(
            "mask bench: {} not supported on this CPU, skipped",
            path.name()
        );
    }
    eprintln!(
        "mask bench: dispatch selects {}",
        MaskPath::selected().name()
    );
    let mut group = c.benchmark_group("mask");
    for size in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        let mut buf = vec![0x5au8; size];
        let src = vec![0xa5u8; size];
        let id = label(size);
        group.bench_function(BenchmarkId::new("memcpy", &id), |b| {
            b.iter(|| black_box(&mut buf[..]).copy_from_slice(black_box(&src)))
        });
        group.bench_function(BenchmarkId::new("fastwebsockets", &id), |b| {
            b.iter(|| fastwebsockets::unmask(black_box(&mut buf[..]), black_box(KEY)))
        });
        group.bench_function(BenchmarkId::new("sockeye", &id), |b| {
            b.iter(|| mask::apply(black_box(&mut buf[..]), black_box(KEY)))
        });
        for path in MaskPath::available() {
            let name = format!("sockeye-{}", path.name());
            group.bench_function(BenchmarkId::new(name, &id), |b| {
                b.iter(|| path.apply_at(black_box(&mut buf[..]), black_box(KEY), 0))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, masking);
criterion_main!(benches);
