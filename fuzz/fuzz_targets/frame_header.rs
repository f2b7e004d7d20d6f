//! `FrameHeader::decode` on arbitrary bytes.
//!
//! Invariants:
//! * it agrees with an independent reading of RFC 6455 §5.2/§5.5
//!   (`sockeye_fuzz::wire::ref_decode`): same accept/reject/partial verdict,
//!   same fields, same header length;
//! * a decoded header re-encodes to exactly the bytes it was decoded from,
//!   and `encoded_len` agrees;
//! * `Partial { needed }` is consistent: `needed >= 1`, the total never
//!   exceeds 14 bytes, adding fewer than `needed` bytes stays partial,
//!   totals never shrink as bytes arrive, and once the first two bytes are
//!   known, adding exactly `needed` bytes never yields `Partial` again;
//! * the verdict on a prefix is final: appending bytes after a complete
//!   header or an error changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockeye::frame::{Decoded, FrameHeader, MAX_HEADER_LEN};
use sockeye_fuzz::wire::{RefDecoded, ref_decode};

fn check_against_reference(bytes: &[u8]) -> Result<Decoded, sockeye::ProtocolError> {
    let decoded = FrameHeader::decode(bytes);
    match (&decoded, ref_decode(bytes)) {
        (Ok(Decoded::Complete { header, header_len }), RefDecoded::Complete(reference)) => {
            assert_eq!(*header_len, reference.header_len, "{bytes:02x?}");
            assert_eq!(header.fin, reference.fin);
            assert_eq!(header.rsv, reference.rsv);
            assert_eq!(header.opcode as u8, reference.opcode);
            assert_eq!(header.mask, reference.mask);
            assert_eq!(header.payload_len, reference.payload_len);
        }
        (Ok(Decoded::Partial { needed }), RefDecoded::Partial { total }) => {
            assert_eq!(bytes.len() + needed, total, "{bytes:02x?}");
        }
        (Err(_), RefDecoded::Invalid(_)) => {}
        (ours, reference) => {
            panic!("decode({bytes:02x?}) = {ours:?}, reference says {reference:?}")
        }
    }
    decoded
}

fuzz_target!(|data: &[u8]| {
    let decoded = check_against_reference(data);
    match decoded {
        Ok(Decoded::Complete { header, header_len }) => {
            assert!(header_len <= MAX_HEADER_LEN && header_len <= data.len());
            let mut out = [0u8; MAX_HEADER_LEN];
            let written = header.encode(&mut out);
            assert_eq!(written, header_len, "re-encoded length differs");
            assert_eq!(header.encoded_len(), header_len);
            assert_eq!(&out[..written], &data[..header_len], "re-encoding differs");
            // Every shorter prefix is partial, with a total no larger.
            for cut in 0..header_len {
                match FrameHeader::decode(&data[..cut]) {
                    Ok(Decoded::Partial { needed }) => {
                        assert!(
                            needed >= 1 && cut + needed <= header_len,
                            "prefix {cut}: needed {needed}"
                        );
                    }
                    other => panic!("prefix of {cut} bytes of a valid header gave {other:?}"),
                }
            }
        }
        Ok(Decoded::Partial { needed }) => {
            assert!(needed >= 1, "Partial with needed 0");
            let total = data.len() + needed;
            assert!(
                total <= MAX_HEADER_LEN,
                "total {total} over {MAX_HEADER_LEN}"
            );
            // Extend with arbitrary bytes (taken from the input itself, then a
            // fixed pattern) one at a time and watch the totals.
            let mut grown = data.to_vec();
            let mut last_total = total;
            let known_two = data.len() >= 2;
            let mut filler = data.iter().copied().chain((0u8..=255).cycle());
            for added in 1..=needed {
                grown.push(filler.next().unwrap_or(0));
                match check_against_reference(&grown) {
                    Ok(Decoded::Partial { needed: now_needed }) => {
                        let now_total = grown.len() + now_needed;
                        assert!(
                            now_total >= last_total,
                            "total shrank from {last_total} to {now_total}"
                        );
                        assert!(now_total <= MAX_HEADER_LEN);
                        if known_two {
                            assert_eq!(now_total, total, "total changed after the first two bytes");
                        }
                        last_total = now_total;
                        assert!(
                            added < needed || !known_two,
                            "still partial after adding `needed` bytes"
                        );
                    }
                    Ok(Decoded::Complete { header_len, .. }) => {
                        assert_eq!(added, needed, "complete before `needed` bytes arrived");
                        assert_eq!(header_len, total);
                        break;
                    }
                    Err(_) => {
                        // Errors need the bytes that break a rule; once two
                        // bytes are known only the length rules remain, and
                        // those need the whole extended length.
                        assert!(
                            !known_two || added == needed,
                            "error before the length was known"
                        );
                        break;
                    }
                }
            }
        }
        Err(error) => {
            // The verdict is final: more bytes change nothing.
            let mut longer = data.to_vec();
            longer.extend_from_slice(&[0xff; MAX_HEADER_LEN]);
            assert_eq!(FrameHeader::decode(&longer), Err(error));
        }
    }
    if let Ok(Decoded::Complete { .. }) = decoded {
        let mut longer = data.to_vec();
        longer.extend_from_slice(&[0xa5; 3]);
        assert_eq!(
            FrameHeader::decode(&longer),
            decoded,
            "appending bytes changed the header"
        );
    }
});
