//! Differential tests: every path the CPU supports against the scalar
//! definition.
//!
//! Under Miri (`cargo +nightly miri test -p sockeye mask`) the case counts
//! and lengths shrink, and paths are taken from compile-time target features
//! because Miri cannot run CPUID: by default that is scalar, word and SSE2
//! (x86_64 baseline). Miri also executes the AVX2 and AVX-512 kernels when
//! they are enabled at compile time, e.g. with
//! `RUSTFLAGS="-C target-feature=+avx2,+avx512f,+avx512bw"`, since they use
//! only plain unaligned loads, stores and XOR; the xtask `miri` step runs
//! the mask tests a second time that way.

use super::*;
use bytes::BytesMut;
use proptest::prelude::*;
use std::vec::Vec;

const MAX_EXHAUSTIVE_LEN: usize = if cfg!(miri) { 72 } else { 300 };
/// Past the inlined small-buffer kernel (128 bytes) even under Miri.
const MAX_DISPATCH_LEN: usize = if cfg!(miri) { 136 } else { 300 };
const MAX_RANDOM_LEN: usize = if cfg!(miri) { 1100 } else { 1 << 20 };
const CASES: u32 = if cfg!(miri) { 4 } else { 48 };
const KEYS: [[u8; 4]; 3] = [
    [0x37, 0xfa, 0x21, 0x3d],
    [0xff; 4],
    [0x01, 0x80, 0x00, 0x7f],
];

/// The supported paths, after saying which ones are skipped here.
/// `SOCKEYE_MASK_PATHS` (names, comma-separated) narrows them: the xtask's
/// second Miri run tests only the kernels the first one could not reach.
fn tested_paths() -> Vec<MaskPath> {
    for path in MaskPath::ALL.iter().filter(|p| !p.is_supported()) {
        std::eprintln!("mask: {} not supported here, skipped", path.name());
    }
    let only = std::env::var("SOCKEYE_MASK_PATHS").ok();
    MaskPath::available()
        .filter(|path| {
            only.as_deref()
                .is_none_or(|names| names.split(',').any(|name| name.trim() == path.name()))
        })
        .collect()
}

/// Deterministic filler, so large inputs cost no proptest shrinking.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn reference(data: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
    let mut expected = data.to_vec();
    scalar::apply(&mut expected, rotate(key, offset));
    expected
}

/// Check `path` on `data` placed `shift` bytes into a larger buffer, with
/// guard bytes on both sides that must stay untouched.
fn check(path: MaskPath, data: &[u8], key: [u8; 4], offset: usize, shift: usize) {
    let expected = reference(data, key, offset);
    let mut backing = std::vec![0xA5u8; shift + data.len() + 8];
    backing[shift..shift + data.len()].copy_from_slice(data);
    path.apply_at(&mut backing[shift..shift + data.len()], key, offset);
    assert_eq!(
        &backing[shift..shift + data.len()],
        &expected[..],
        "{} len {} offset {offset} shift {shift}",
        path.name(),
        data.len()
    );
    assert!(
        backing[..shift].iter().all(|&b| b == 0xA5),
        "{} wrote before",
        path.name()
    );
    assert!(
        backing[shift + data.len()..].iter().all(|&b| b == 0xA5),
        "{} wrote after",
        path.name()
    );
}

#[test]
fn masks_the_rfc_6455_section_5_7_example() {
    // "Hello" masked with 0x37fa213d (RFC 6455 §5.7).
    let mut buf = *b"Hello";
    apply(&mut buf, [0x37, 0xfa, 0x21, 0x3d]);
    assert_eq!(buf, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    apply(&mut buf, [0x37, 0xfa, 0x21, 0x3d]);
    assert_eq!(&buf, b"Hello");
}

#[test]
fn every_path_matches_scalar_for_every_length_and_offset() {
    let data = pattern(MAX_EXHAUSTIVE_LEN, 7);
    for path in tested_paths() {
        for len in 0..=MAX_EXHAUSTIVE_LEN {
            for offset in 0..4 {
                check(path, &data[..len], KEYS[len % KEYS.len()], offset, 0);
            }
        }
    }
}

#[test]
fn every_path_matches_scalar_at_misaligned_addresses() {
    let lens: &[usize] = if cfg!(miri) {
        &[15, 33, 70, 300]
    } else {
        &[15, 33, 70, 129, 300, 1000, 4099]
    };
    let step = if cfg!(miri) { 7 } else { 1 };
    for path in tested_paths() {
        for &len in lens {
            let data = pattern(len, len as u64);
            for shift in (0..64).step_by(step) {
                check(path, &data, KEYS[0], shift % 4, shift);
            }
        }
    }
}

#[test]
fn dispatched_functions_match_scalar() {
    std::eprintln!("mask: selected path {}", MaskPath::selected().name());
    assert!(MaskPath::selected().is_supported());
    for len in 0..=MAX_DISPATCH_LEN {
        let data = pattern(len, 3);
        for offset in 0..4 {
            let mut buf = data.clone();
            apply_at(&mut buf, KEYS[0], offset);
            assert_eq!(buf, reference(&data, KEYS[0], offset));
        }
        let mut buf = data.clone();
        apply(&mut buf, KEYS[1]);
        assert_eq!(buf, reference(&data, KEYS[1], 0));
    }
}

#[test]
fn masking_in_pieces_equals_masking_whole() {
    let data = pattern(200, 11);
    let whole = reference(&data, KEYS[2], 0);
    let mut pieces = data.clone();
    let mut at = 0;
    for piece in [1, 2, 3, 17, 5, 64, 100, 8] {
        let end = (at + piece).min(pieces.len());
        apply_at(&mut pieces[at..end], KEYS[2], at);
        at = end;
    }
    assert_eq!(pieces, whole);
}

#[test]
fn unsupported_paths_leave_the_buffer_alone() {
    for path in MaskPath::ALL.into_iter().filter(|p| !p.is_supported()) {
        let mut buf = pattern(100, 5);
        let before = buf.clone();
        path.apply_at(&mut buf, KEYS[0], 0);
        assert_eq!(buf, before, "{}", path.name());
        let mut out = BytesMut::from(&b"head"[..]);
        path.extend_masked(&mut out, &before, KEYS[0]);
        assert_eq!(&out[..], b"head");
    }
}

#[test]
fn extend_masked_appends_after_existing_bytes_whatever_the_capacity() {
    let lens: &[usize] = if cfg!(miri) {
        &[0, 1, 5, 16, 37, 100]
    } else {
        &[0, 1, 5, 16, 37, 100, 255, 1000, 5000]
    };
    let head = b"existing";
    let paths = tested_paths();
    for &len in lens {
        let src = pattern(len, 9);
        let expected = reference(&src, KEYS[0], 0);
        for spare in [0, 1, len / 2, len, len + 64] {
            let mut dst = BytesMut::with_capacity(head.len() + spare);
            dst.extend_from_slice(head);
            extend_masked(&mut dst, &src, KEYS[0]);
            assert_eq!(&dst[..head.len()], head);
            assert_eq!(&dst[head.len()..], &expected[..], "len {len} spare {spare}");
            for &path in &paths {
                let mut dst = BytesMut::with_capacity(head.len() + spare);
                dst.extend_from_slice(head);
                path.extend_masked(&mut dst, &src, KEYS[0]);
                assert_eq!(&dst[..head.len()], head);
                assert_eq!(
                    &dst[head.len()..],
                    &expected[..],
                    "{} len {len} spare {spare}",
                    path.name()
                );
            }
        }
    }
}

/// Found by the `mask` fuzz target: an offset near `usize::MAX` overflowed
/// `offset + i` in the first portable `apply_at` (a panic with debug
/// assertions), although only `offset % 4` matters.
#[test]
fn apply_at_with_offset_near_usize_max_follows_the_key_stream() {
    let key = [0x01, 0x02, 0x04, 0x08];
    // usize::MAX % 4 == 3: the stream starts at key[3].
    let expected = [0x08, 0x01, 0x02, 0x04, 0x08, 0x01];
    let mut buf = [0u8; 6];
    apply_at(&mut buf, key, usize::MAX);
    assert_eq!(buf, expected);
    for path in MaskPath::available() {
        let mut buf = [0u8; 6];
        path.apply_at(&mut buf, key, usize::MAX);
        assert_eq!(buf, expected, "{}", path.name());
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_path_matches_scalar_on_random_input(
        len in 0..=MAX_RANDOM_LEN,
        seed in any::<u64>(),
        key in any::<[u8; 4]>(),
        offset in 0..4usize,
        shift in 0..64usize,
    ) {
        let data = pattern(len, seed);
        for path in MaskPath::available() {
            check(path, &data, key, offset, shift);
        }
        let mut dst = BytesMut::from(&b"x"[..]);
        extend_masked(&mut dst, &data, key);
        prop_assert_eq!(&dst[1..], &reference(&data, key, 0)[..]);
    }
}

/// Under Miri, and without `std`, the SIMD paths follow the compile-time
/// target features. The xtask `miri` step runs these tests a second time
/// with `-C target-feature=+avx2,+avx512f,+avx512bw`, so the AVX-512 and
/// AVX2 kernels are executed and compared with scalar by the tests above
/// even on a CPU without AVX-512; this test makes sure that run really
/// selected them.
#[test]
fn target_features_enabled_at_compile_time_enable_their_paths() {
    std::eprintln!(
        "mask: paths run here: {:?}",
        MaskPath::available()
            .map(MaskPath::name)
            .collect::<Vec<_>>()
    );
    if cfg!(all(target_arch = "x86_64", target_feature = "avx2")) {
        assert!(MaskPath::Avx2.is_supported());
    }
    if cfg!(all(
        target_arch = "x86_64",
        target_feature = "avx512f",
        target_feature = "avx512bw"
    )) {
        assert!(MaskPath::Avx512.is_supported());
        assert_eq!(MaskPath::selected(), MaskPath::Avx512);
    }
}
