//! Raw deflate streams over zlib-rs, shaped for RFC 7692 §7.2: each message
//! ends with a sync flush whose `00 00 ff ff` tail is left off the wire.
//!
//! Output goes into a `Vec` that is grown in steps, zero-filled and cut back
//! to what was written, so no `unsafe` is needed around zlib-rs.

use alloc::vec::Vec;

use zlib_rs::{Deflate, DeflateFlush, Inflate, InflateFlush, Status};

/// The bytes a sync flush ends with, removed by the sender and appended by
/// the receiver (RFC 7692 §7.2.1, §7.2.2).
pub(crate) const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// The first step of output buffer growth.
const MIN_GROWTH: usize = 4 << 10;

/// One end's compressor.
///
/// Without context takeover nothing needs to survive between messages, so
/// the zlib state is freed after each message and made again for the next:
/// an idle connection then holds no compressor memory at all.
pub(crate) struct Compressor {
    deflate: Option<Deflate>,
    config: zlib_rs::DeflateConfig,
    reset_after_message: bool,
}

impl Compressor {
    pub(crate) fn new(
        level: u8,
        window_bits: u8,
        mem_level: u8,
        reset_after_message: bool,
    ) -> Self {
        let config = zlib_rs::DeflateConfig {
            level: i32::from(level),
            // Negative window bits: a raw deflate stream, no zlib header.
            window_bits: -i32::from(window_bits),
            mem_level: i32::from(mem_level),
            ..zlib_rs::DeflateConfig::default()
        };
        Self {
            deflate: (!reset_after_message).then(|| Deflate::new_with_config(config)),
            config,
            reset_after_message,
        }
    }

    /// Whether the context is dropped after every message, so a message may
    /// be sent uncompressed without the two ends' windows drifting apart.
    pub(crate) fn resets_after_message(&self) -> bool {
        self.reset_after_message
    }

    /// Compresses `input`, a piece of a message, appending to `out`. With
    /// `end_of_message` the sync-flush tail is removed and, without context
    /// takeover, the compressor starts afresh for the next message.
    pub(crate) fn compress(&mut self, input: &[u8], out: &mut Vec<u8>, end_of_message: bool) {
        let config = self.config;
        let deflate = self
            .deflate
            .get_or_insert_with(|| Deflate::new_with_config(config));
        let mut consumed = 0;
        let message_start = out.len();
        loop {
            if out.capacity() - out.len() < 64 {
                let extra = (input.len() - consumed + 64).max(out.len()).max(MIN_GROWTH);
                out.reserve(extra);
            }
            let start = out.len();
            out.resize(out.capacity(), 0);
            let (in_before, out_before) = (deflate.total_in(), deflate.total_out());
            // A sync flush empties the compressor whenever it returns with
            // output space left, so the message's bytes are all in `out`.
            let result = deflate.compress(
                &input[consumed..],
                &mut out[start..],
                DeflateFlush::SyncFlush,
            );
            consumed += (deflate.total_in() - in_before) as usize;
            let written = (deflate.total_out() - out_before) as usize;
            let space = out.len() - start;
            out.truncate(start + written);
            // Errors only come from an inconsistent state, which a valid
            // configuration never reaches; stop rather than loop.
            if result.is_err() || (consumed == input.len() && written < space) {
                break;
            }
        }
        if end_of_message {
            if out.len() > message_start && out.ends_with(&SYNC_TAIL) {
                out.truncate(out.len() - SYNC_TAIL.len());
            } else {
                // Nothing new since the last flush, so zlib wrote nothing and
                // the stream is byte-aligned: the message must still end with
                // an empty stored block (RFC 7692 §7.2.1), whose header byte
                // is all that remains once its tail is removed.
                out.push(0x00);
            }
            if self.reset_after_message {
                self.deflate = None;
            }
        }
    }
}

/// Why inflating a message stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InflateFailure {
    /// The inflated message would exceed the size limit.
    TooLarge,
    /// The data is not a valid deflate stream.
    Corrupt,
}

/// One end's decompressor; like the compressor, its state is freed between
/// messages when the peer does not take over its context.
pub(crate) struct Decompressor {
    inflate: Option<Inflate>,
    window_bits: u8,
    reset_after_message: bool,
    /// The peer ended its stream with a final block; anything after it in
    /// this message is ignored, and the next message starts a new stream.
    stream_ended: bool,
    /// Bytes of the sync-flush tail already inflated by [`finish_some`](Self::finish_some).
    tail_taken: usize,
}

impl Decompressor {
    pub(crate) fn new(window_bits: u8, reset_after_message: bool) -> Self {
        Self {
            inflate: (!reset_after_message).then(|| Inflate::new(false, window_bits)),
            window_bits,
            reset_after_message,
            stream_ended: false,
            tail_taken: 0,
        }
    }

    /// Inflates `input`, a piece of a compressed message, appending to `out`
    /// without letting `out` grow past `limit` bytes: a message that would
    /// inflate further fails with [`InflateFailure::TooLarge`] having
    /// produced at most `limit + 1` bytes.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateFailure> {
        self.inflate_some(input, out, limit, usize::MAX).map(|_| ())
    }

    /// Like [`inflate`](Self::inflate), but stops once `out` holds `cap`
    /// bytes, so one call's output stays bounded however far the input
    /// would inflate. Says how much of `input` was taken and whether the
    /// output filled up; call again with the rest of the input (possibly
    /// none) until it did not.
    pub(crate) fn inflate_some(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
        cap: usize,
    ) -> Result<Inflated, InflateFailure> {
        // One byte past the limit is enough to tell that it was exceeded.
        let cap = cap.min(limit.saturating_add(1));
        let window_bits = self.window_bits;
        let inflate = self
            .inflate
            .get_or_insert_with(|| Inflate::new(false, window_bits));
        let mut consumed = 0;
        while !self.stream_ended {
            let room = cap.saturating_sub(out.len());
            if room == 0 {
                if out.len() > limit {
                    return Err(InflateFailure::TooLarge);
                }
                return Ok(Inflated {
                    consumed,
                    output_full: true,
                });
            }
            if out.capacity() == out.len() {
                let growth = out.len().max(input.len() * 2).max(MIN_GROWTH).min(room);
                out.reserve_exact(growth);
            }
            let start = out.len();
            let space = (out.capacity() - start).min(room);
            out.resize(start + space, 0);
            let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
            let result = inflate.decompress(
                &input[consumed..],
                &mut out[start..],
                InflateFlush::SyncFlush,
            );
            consumed += (inflate.total_in() - in_before) as usize;
            let written = (inflate.total_out() - out_before) as usize;
            out.truncate(start + written);
            if out.len() > limit {
                return Err(InflateFailure::TooLarge);
            }
            match result {
                Err(_) => return Err(InflateFailure::Corrupt),
                Ok(Status::StreamEnd) => self.stream_ended = true,
                Ok(Status::Ok | Status::BufError) => {
                    // Done once all input is in and output space was left over.
                    if consumed == input.len() && written < space {
                        break;
                    }
                    if written == 0 && inflate.total_in() == in_before {
                        break;
                    }
                }
            }
        }
        if self.stream_ended {
            // What follows a final block is ignored.
            consumed = input.len();
        }
        Ok(Inflated {
            consumed,
            output_full: false,
        })
    }

    /// Ends a message: feeds the sync-flush tail the sender left off, and
    /// starts afresh where the peer does not take over its context.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), InflateFailure> {
        let result = self.inflate(&SYNC_TAIL, out, limit);
        self.end_message(result.is_err());
        result
    }

    /// [`finish`](Self::finish) in bounded steps, as
    /// [`inflate_some`](Self::inflate_some) is to [`inflate`](Self::inflate):
    /// inflates the sync-flush tail into `out` up to `cap` bytes. Returns
    /// `true` once the message is over; `false` when the output filled up
    /// first, and the call must be repeated.
    pub(crate) fn finish_some(
        &mut self,
        out: &mut Vec<u8>,
        limit: usize,
        cap: usize,
    ) -> Result<bool, InflateFailure> {
        let rest = &SYNC_TAIL[self.tail_taken..];
        let step = match self.inflate_some(rest, out, limit, cap) {
            Ok(step) => step,
            Err(failure) => {
                self.end_message(true);
                return Err(failure);
            }
        };
        if step.output_full {
            self.tail_taken += step.consumed;
            return Ok(false);
        }
        self.end_message(false);
        Ok(true)
    }

    /// Ends a message whose sync-flush tail has been inflated (or that
    /// failed): starts afresh where the peer does not take over its context
    /// or its stream ended with a final block.
    fn end_message(&mut self, failed: bool) {
        if self.reset_after_message {
            self.inflate = None;
        } else if (self.stream_ended || failed)
            && let Some(inflate) = self.inflate.as_mut()
        {
            // Back to a fresh raw stream (zlib's reset keeps the allocation).
            inflate.reset(false);
        }
        self.stream_ended = false;
        self.tail_taken = 0;
    }
}

/// How far one bounded inflate step got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Inflated {
    /// Bytes of input taken.
    pub(crate) consumed: usize,
    /// The output reached its cap: more may follow, even from no more input.
    pub(crate) output_full: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compress_message(compressor: &mut Compressor, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        compressor.compress(message, &mut out, true);
        out
    }

    fn inflate_message(decompressor: &mut Decompressor, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        decompressor.inflate(data, &mut out, usize::MAX).unwrap();
        decompressor.finish(&mut out, usize::MAX).unwrap();
        out
    }

    #[test]
    fn inflates_rfc_7692_section_7_2_3_1_hello() {
        let mut decompressor = Decompressor::new(15, false);
        let data = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(inflate_message(&mut decompressor, &data), b"Hello");
        // §7.2.3.2: the second "Hello" refers back to the first.
        assert_eq!(
            inflate_message(&mut decompressor, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
            b"Hello"
        );
    }

    #[test]
    fn inflates_a_final_block_and_starts_afresh() {
        // §7.2.3.3: "Hello" in a block with BFINAL set.
        let mut decompressor = Decompressor::new(15, false);
        let data = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        assert_eq!(inflate_message(&mut decompressor, &data), b"Hello");
        assert_eq!(inflate_message(&mut decompressor, &data), b"Hello");
    }

    #[test]
    fn empty_message_compresses_to_one_byte() {
        // §7.2.3.6.
        let mut compressor = Compressor::new(6, 15, 8, false);
        assert_eq!(compress_message(&mut compressor, b""), [0x00]);
        let mut decompressor = Decompressor::new(15, false);
        assert_eq!(inflate_message(&mut decompressor, &[0x00]), b"");
    }

    #[test]
    fn empty_message_after_another_still_ends_the_block() {
        let mut compressor = Compressor::new(6, 15, 8, false);
        let mut decompressor = Decompressor::new(15, false);
        for message in [&b"first"[..], b"", b"", b"second"] {
            let data = compress_message(&mut compressor, message);
            assert_eq!(inflate_message(&mut decompressor, &data), message);
        }
    }

    #[test]
    fn round_trips_with_and_without_context_takeover() {
        for reset in [false, true] {
            let mut compressor = Compressor::new(6, 9, 1, reset);
            let mut decompressor = Decompressor::new(9, reset);
            for round in 0..4 {
                let message: Vec<u8> = (0..5000u32).map(|i| (i * round % 251) as u8).collect();
                let data = compress_message(&mut compressor, &message);
                assert_eq!(inflate_message(&mut decompressor, &data), message);
            }
        }
    }

    #[test]
    fn every_level_round_trips_small_binary_messages_into_a_context_keeping_peer() {
        // A client that compresses without context takeover (the offer's
        // hint) talks to a server that keeps its inflate window.
        let mut seed = 0x2545_f491_u32;
        for level in 0..=9 {
            for reset in [false, true] {
                let mut compressor = Compressor::new(level, 15, 8, reset);
                let mut decompressor = Decompressor::new(15, false);
                for len in [1usize, 16, 17, 64, 100, 256, 1000, 4096] {
                    let message: Vec<u8> = (0..len)
                        .map(|_| {
                            seed ^= seed << 13;
                            seed ^= seed >> 17;
                            seed ^= seed << 5;
                            (seed >> 24) as u8
                        })
                        .collect();
                    let data = compress_message(&mut compressor, &message);
                    assert_eq!(
                        inflate_message(&mut decompressor, &data),
                        message,
                        "level {level}, reset {reset}, {len} bytes"
                    );
                }
            }
        }
    }

    #[test]
    fn stops_a_zip_bomb_at_the_limit() {
        let mut compressor = Compressor::new(9, 15, 8, false);
        let bomb = compress_message(&mut compressor, &alloc::vec![0u8; 10 << 20]);
        assert!(bomb.len() < 20 << 10);
        let mut decompressor = Decompressor::new(15, false);
        let mut out = Vec::new();
        assert_eq!(
            decompressor.inflate(&bomb, &mut out, 1 << 20),
            Err(InflateFailure::TooLarge)
        );
        assert!(out.len() <= (1 << 20) + 1);
        assert!(out.capacity() <= (1 << 20) + 1);
    }

    #[test]
    fn inflates_in_bounded_steps_to_the_same_bytes() {
        let message: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
        let mut compressor = Compressor::new(6, 15, 8, false);
        let data = compress_message(&mut compressor, &message);
        for cap in [1, 100, 4096, 1 << 20] {
            let mut decompressor = Decompressor::new(15, false);
            let mut whole = Vec::new();
            let mut rest = &data[..];
            loop {
                let mut out = Vec::new();
                let step = decompressor
                    .inflate_some(rest, &mut out, usize::MAX, cap)
                    .unwrap();
                assert!(out.len() <= cap);
                whole.extend_from_slice(&out);
                rest = &rest[step.consumed..];
                if !step.output_full && rest.is_empty() {
                    break;
                }
            }
            loop {
                let mut out = Vec::new();
                let done = decompressor.finish_some(&mut out, usize::MAX, cap).unwrap();
                assert!(out.len() <= cap);
                whole.extend_from_slice(&out);
                if done {
                    break;
                }
            }
            assert_eq!(whole, message, "cap {cap}");
            assert_eq!(decompressor.tail_taken, 0);
        }
    }

    #[test]
    fn reports_corrupt_data() {
        let mut decompressor = Decompressor::new(15, false);
        let mut out = Vec::new();
        assert_eq!(
            decompressor.inflate(&[0xff, 0xff, 0xff, 0xff], &mut out, 1000),
            Err(InflateFailure::Corrupt)
        );
    }
}
