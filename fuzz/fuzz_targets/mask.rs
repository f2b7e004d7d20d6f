//! Every masking path this CPU supports (`MaskPath::available()`: scalar,
//! word, SSE2, AVX2, AVX-512, NEON) and the dispatched functions against the
//! byte-by-byte definition of RFC 6455 §5.3
//! (`out[i] = in[i] ^ key[(offset + i) % 4]`), for any length, key,
//! key-stream offset (up to `usize::MAX`) and buffer alignment.
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sockeye::mask::MaskPath;

#[derive(Arbitrary, Debug)]
struct Input {
    key: [u8; 4],
    offset: usize,
    /// Bytes skipped at the front of the buffer, so that the slice starts at
    /// every alignment.
    skew: u8,
    data: Vec<u8>,
}

fn reference(data: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
    data.iter()
        .enumerate()
        .map(|(i, b)| b ^ key[(offset.wrapping_add(i)) % 4])
        .collect()
}

fuzz_target!(|input: Input| {
    let Input {
        key,
        offset,
        skew,
        data,
    } = input;
    let skew = usize::from(skew % 64);
    // An offset near usize::MAX must still follow the key stream modulo 4.
    let expected_at = reference(&data, key, offset);
    let expected = reference(&data, key, 0);

    let mut buf = vec![0u8; skew];
    buf.extend_from_slice(&data);
    sockeye::mask::apply_at(&mut buf[skew..], key, offset);
    assert_eq!(
        &buf[skew..],
        &expected_at[..],
        "apply_at, offset {offset}, skew {skew}"
    );
    assert!(
        buf[..skew].iter().all(|&b| b == 0),
        "apply_at wrote before the slice"
    );

    let mut buf = vec![0u8; skew];
    buf.extend_from_slice(&data);
    sockeye::mask::apply(&mut buf[skew..], key);
    assert_eq!(&buf[skew..], &expected[..], "apply, skew {skew}");
    // Masking is its own inverse.
    sockeye::mask::apply(&mut buf[skew..], key);
    assert_eq!(&buf[skew..], &data[..]);

    let mut dst = BytesMut::from(&vec![0x5a; skew][..]);
    sockeye::mask::extend_masked(&mut dst, &data, key);
    assert_eq!(
        &dst[..skew],
        &vec![0x5a; skew][..],
        "extend_masked touched earlier bytes"
    );
    assert_eq!(&dst[skew..], &expected[..], "extend_masked, prefix {skew}");

    for path in MaskPath::available() {
        let name = path.name();
        let mut buf = vec![0u8; skew];
        buf.extend_from_slice(&data);
        path.apply_at(&mut buf[skew..], key, offset);
        assert_eq!(
            &buf[skew..],
            &expected_at[..],
            "{name} apply_at, offset {offset}, skew {skew}"
        );
        assert!(
            buf[..skew].iter().all(|&b| b == 0),
            "{name} wrote before the slice"
        );

        let mut dst = BytesMut::from(&vec![0x5a; skew][..]);
        path.extend_masked(&mut dst, &data, key);
        assert_eq!(
            &dst[..skew],
            &vec![0x5a; skew][..],
            "{name} extend_masked touched earlier bytes"
        );
        assert_eq!(
            &dst[skew..],
            &expected[..],
            "{name} extend_masked, prefix {skew}"
        );
    }

    // Masking in pieces with running offsets equals masking at once.
    let mut pieces = data.clone();
    let mut at = 0;
    let step = usize::from(skew % 13) + 1;
    while at < pieces.len() {
        let end = (at + step).min(pieces.len());
        sockeye::mask::apply_at(&mut pieces[at..end], key, at);
        at = end;
    }
    assert_eq!(pieces, expected, "piecewise apply_at, step {step}");
});
