//! UTF-8 validation of text messages and close reasons (RFC 6455 §8.1).
//!
//! [`validate`] checks a complete text. [`Utf8Validator`] checks a text that
//! arrives in pieces (fragments, or payload chunks in streaming mode): it
//! fails on the first piece after which the text can no longer be valid, as
//! §8.1 asks ("MUST _Fail the WebSocket Connection_" once invalid), without
//! waiting for the end of the message.
//!
//! Both run `simdutf8` over each byte once. The validator keeps at most the
//! three bytes of a code point cut by a piece boundary, in a fixed array: it
//! never allocates.

use core::fmt;

/// The bytes are not, and can no longer become, valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

impl fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for InvalidUtf8 {}

/// Texts shorter than this are checked for plain ASCII before anything else.
const SHORT_TEXT: usize = 64;

/// Validate a complete text at once.
///
/// # Errors
/// [`InvalidUtf8`] if `bytes` is not valid UTF-8.
#[inline]
pub fn validate(bytes: &[u8]) -> Result<(), InvalidUtf8> {
    // Below one SIMD block simdutf8 hands short input to the standard
    // library's validator, which walks unaligned bytes one at a time; the
    // word-wise ASCII check settles most short texts first.
    if bytes.len() < SHORT_TEXT && bytes.is_ascii() {
        return Ok(());
    }
    simdutf8::basic::from_utf8(bytes)
        .map(|_| ())
        .map_err(|_| InvalidUtf8)
}

/// Validates a text that arrives in pieces, failing as soon as the bytes
/// seen so far cannot be the start of valid UTF-8.
///
/// ```
/// use sockeye::utf8::Utf8Validator;
///
/// let mut text = Utf8Validator::new();
/// text.feed(b"caf\xC3").unwrap(); // "é" cut in two
/// assert!(!text.is_at_boundary());
/// text.feed(b"\xA9!").unwrap();
/// text.finish().unwrap();
///
/// // Above U+10FFFF: fails on the second byte, before the message ends.
/// assert!(text.feed(b"\xF4\x90").is_err());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    /// The start of a code point cut by the end of the last piece.
    pending: [u8; 3],
    /// How many bytes of `pending` are in use (0 to 3).
    pending_len: u8,
    /// An earlier piece was invalid; stays set until `finish` or `reset`.
    failed: bool,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub const fn new() -> Self {
        Self {
            pending: [0; 3],
            pending_len: 0,
            failed: false,
        }
    }

    /// Validate the next piece of the text.
    ///
    /// # Errors
    /// [`InvalidUtf8`] once the text seen so far cannot be the start of
    /// valid UTF-8; every later call fails too, until [`finish`] or
    /// [`reset`].
    ///
    /// [`finish`]: Utf8Validator::finish
    /// [`reset`]: Utf8Validator::reset
    #[inline]
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), InvalidUtf8> {
        // The common case, kept small enough to inline: nothing carried
        // over and the piece ends in ASCII, so no code point is cut and the
        // piece is valid exactly when it is valid on its own.
        if self.pending_len == 0 && !self.failed && chunk.last().is_none_or(u8::is_ascii) {
            let result = validate(chunk);
            self.failed = result.is_err();
            return result;
        }
        self.feed_carried(chunk)
    }

    /// [`feed`](Utf8Validator::feed) when a code point may be cut at
    /// either end of the piece, or an earlier piece failed.
    #[inline(never)]
    fn feed_carried(&mut self, chunk: &[u8]) -> Result<(), InvalidUtf8> {
        if self.failed {
            return Err(InvalidUtf8);
        }
        let result = self.feed_inner(chunk);
        self.failed = result.is_err();
        result
    }

    fn feed_inner(&mut self, chunk: &[u8]) -> Result<(), InvalidUtf8> {
        let mut rest = chunk;
        if self.pending_len > 0 {
            // Complete the cut code point from the front of this piece.
            let have = usize::from(self.pending_len);
            let take = (sequence_len(self.pending[0]) - have).min(rest.len());
            let mut joined = [0; 4];
            joined[..have].copy_from_slice(&self.pending[..have]);
            joined[have..have + take].copy_from_slice(&rest[..take]);
            let joined = &joined[..have + take];
            match simdutf8::compat::from_utf8(joined) {
                Ok(_) => {
                    self.pending_len = 0;
                    rest = &rest[take..];
                }
                // Still cut: this piece was too short to complete it.
                Err(e) if e.error_len().is_none() => return self.keep(joined),
                Err(_) => return Err(InvalidUtf8),
            }
        }
        let (whole, cut) = rest.split_at(cut_at(rest));
        validate(whole)?;
        if cut.is_empty() {
            return Ok(());
        }
        // A lead byte and too few bytes after it: keep it if it can still
        // become a code point (`error_len() == None`: ended early).
        match simdutf8::compat::from_utf8(cut) {
            Err(e) if e.error_len().is_none() && e.valid_up_to() == 0 => self.keep(cut),
            _ => Err(InvalidUtf8),
        }
    }

    fn keep(&mut self, cut: &[u8]) -> Result<(), InvalidUtf8> {
        self.pending[..cut.len()].copy_from_slice(cut);
        // At most 3 bytes: `cut` is shorter than the code point it starts.
        self.pending_len = cut.len() as u8;
        Ok(())
    }

    /// End of the text: fails if it stopped inside a code point (or an
    /// earlier piece failed). Resets the validator for the next text either
    /// way.
    ///
    /// # Errors
    /// [`InvalidUtf8`] if the text as a whole is not valid UTF-8.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = !self.failed && self.pending_len == 0;
        self.reset();
        if complete { Ok(()) } else { Err(InvalidUtf8) }
    }

    /// Forget everything, ready for a new text.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Whether no code point is cut: the text seen so far would be complete
    /// if it ended here (unless an earlier piece failed).
    pub fn is_at_boundary(&self) -> bool {
        self.pending_len == 0
    }
}

/// How many bytes the code point starting with `lead` has, or 1 for bytes
/// that cannot start a multi-byte code point (left for `validate` to judge).
#[inline]
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

/// Where the code point cut by the end of `bytes` starts, or `bytes.len()`
/// if the last code point is not cut. Only the last three bytes are looked
/// at: a longer cut code point does not exist.
#[inline]
fn cut_at(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(3) {
        let byte = bytes[len - back];
        let is_continuation = byte & 0xC0 == 0x80;
        if !is_continuation {
            return if sequence_len(byte) > back {
                len - back
            } else {
                len
            };
        }
    }
    len
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// Feed `pieces` one after another; the index of the first piece that
    /// fails, or `None`, and then the result of `finish`.
    fn run(pieces: &[&[u8]]) -> (Option<usize>, Result<(), InvalidUtf8>) {
        let mut validator = Utf8Validator::new();
        let failed_at = pieces.iter().position(|p| validator.feed(p).is_err());
        (failed_at, validator.finish())
    }

    #[test]
    fn accepts_and_rejects_whole_texts_like_std() {
        let table: &[&[u8]] = &[
            b"",
            b"Hello-\xC2\xB5@\xC3\x9F\xC3\xB6\xC3\xA4\xC3\xBC\xC3\xA0\xC3\xA1-UTF-8!!",
            b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", // κόσμε
            b"\xF4\x8F\xBF\xBF",                             // U+10FFFF
            b"\xEF\xBF\xBF",                                 // U+FFFF
            b"\xF4\x90\x80\x80",                             // above U+10FFFF
            b"\xED\xA0\x80",                                 // a surrogate
            b"\xED\xBF\xBF",                                 // a surrogate
            b"\xC0\xAF",                                     // overlong '/'
            b"\xE0\x80\xAF",                                 // overlong '/'
            b"\xF0\x80\x80\xAF",                             // overlong '/'
            b"\xC1\xBF",                                     // overlong
            b"\x80",                                         // lone continuation
            b"\xFE",
            b"\xFF",
            b"\xF8\x88\x80\x80\x80", // five-byte form
            b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80edited",
            b"\xE1\xBD",     // truncated
            b"\xF0\x9F\x98", // truncated
        ];
        for bytes in table {
            let expected = core::str::from_utf8(bytes).is_ok();
            assert_eq!(validate(bytes).is_ok(), expected, "{bytes:02X?}");
            assert_eq!(run(&[bytes]).1.is_ok(), expected, "{bytes:02X?}");
            let singles: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(run(&singles).1.is_ok(), expected, "{bytes:02X?}");
        }
    }

    #[test]
    fn fails_on_the_first_impossible_byte_without_waiting_for_the_end() {
        let fail_fast: &[&[u8]] = &[
            b"\xF4\x90",       // above U+10FFFF
            b"\xED\xA0",       // a surrogate
            b"\xC0",           // can only be overlong
            b"\xC1",           // can only be overlong
            b"\xE0\x80",       // overlong
            b"\xF0\x8F",       // overlong
            b"\xF5",           // above U+10FFFF
            b"ok\xE2\x82\x41", // cut short by ASCII
        ];
        for bytes in fail_fast {
            assert_eq!(
                Utf8Validator::new().feed(bytes),
                Err(InvalidUtf8),
                "{bytes:02X?}"
            );
            let singles: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(run(&singles).0, Some(bytes.len() - 1), "{bytes:02X?}");
        }
    }

    #[test]
    fn keeps_a_cut_code_point_and_completes_it_later() {
        let mut validator = Utf8Validator::new();
        assert_eq!(validator.feed(b"\xF0"), Ok(()));
        assert_eq!(validator.feed(b"\x9F"), Ok(()));
        assert_eq!(validator.feed(b""), Ok(()));
        assert!(!validator.is_at_boundary());
        assert_eq!(validator.feed(b"\x98\x80 and more \xF4\x8F"), Ok(()));
        assert!(!validator.is_at_boundary());
        assert_eq!(validator.feed(b"\xBF\xBF"), Ok(()));
        assert!(validator.is_at_boundary());
        assert_eq!(validator.finish(), Ok(()));
    }

    #[test]
    fn finish_fails_on_a_cut_code_point_and_resets() {
        let mut validator = Utf8Validator::new();
        validator.feed(b"abc\xE2\x82").unwrap();
        assert_eq!(validator.finish(), Err(InvalidUtf8));
        assert!(validator.is_at_boundary());
        assert_eq!(validator.feed(b"fresh text"), Ok(()));
        assert_eq!(validator.finish(), Ok(()));
    }

    #[test]
    fn a_piece_ending_in_ascii_still_completes_or_rejects_a_carried_code_point() {
        let mut validator = Utf8Validator::new();
        assert_eq!(validator.feed(b"\xE2\x82"), Ok(()));
        assert_eq!(validator.feed(b"\xAC costs"), Ok(())); // "€"
        assert!(validator.is_at_boundary());
        assert_eq!(validator.feed(b"\xE2"), Ok(()));
        assert_eq!(validator.feed(b"abc"), Err(InvalidUtf8));
        assert_eq!(validator.feed(b"abc"), Err(InvalidUtf8));
        assert_eq!(validator.finish(), Err(InvalidUtf8));
        // Cut inside the piece, ending in ASCII: invalid on its own.
        assert_eq!(validator.feed(b"ab\xE2\x82c"), Err(InvalidUtf8));
        validator.reset();
        assert_eq!(validator.feed(b""), Ok(()));
        assert_eq!(validator.feed(b"\xC3\xA9t\xC3\xA9"), Ok(()));
        assert_eq!(validator.finish(), Ok(()));
    }

    #[test]
    fn stays_failed_until_reset() {
        let mut validator = Utf8Validator::new();
        assert!(validator.feed(b"\xFF").is_err());
        assert!(validator.feed(b"fine").is_err());
        validator.reset();
        assert_eq!(validator.feed(b"fine"), Ok(()));
        assert_eq!(validator.finish(), Ok(()));
    }

    /// The index of the first piece after which the text so far can no
    /// longer be valid, computed with std.
    fn first_impossible(bytes: &[u8], ends: &[usize]) -> Option<usize> {
        ends.iter().position(
            |&end| matches!(core::str::from_utf8(&bytes[..end]), Err(e) if e.error_len().is_some()),
        )
    }

    fn check_against_std(bytes: &[u8], cuts: &[usize]) -> Result<(), TestCaseError> {
        let mut ends: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        ends.push(bytes.len());
        ends.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for &end in &ends {
            pieces.push(&bytes[start..end]);
            start = end;
        }
        let (failed_at, finished) = run(&pieces);
        prop_assert_eq!(failed_at, first_impossible(bytes, &ends));
        prop_assert_eq!(finished.is_ok(), core::str::from_utf8(bytes).is_ok());
        Ok(())
    }

    /// Mostly UTF-8, sometimes damaged, sometimes noise.
    fn text() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            any::<String>().prop_map(String::into_bytes),
            (any::<String>(), any::<prop::sample::Index>(), any::<u8>()).prop_map(
                |(s, at, byte)| {
                    let mut bytes = s.into_bytes();
                    if !bytes.is_empty() {
                        let at = at.index(bytes.len());
                        bytes[at] = byte;
                    }
                    bytes
                }
            ),
            prop::collection::vec(any::<u8>(), 0..40),
            prop::collection::vec(
                prop::sample::select(
                    &[
                        0x41u8, 0x80, 0x9F, 0xA0, 0xBF, 0xC2, 0xE0, 0xED, 0xEF, 0xF0, 0xF4
                    ][..]
                ),
                0..24
            ),
        ]
    }

    use std::string::String;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: if cfg!(miri) { 16 } else { 2048 },
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn fails_exactly_where_std_says_the_prefix_becomes_impossible(
            bytes in text(),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            check_against_std(&bytes, &cuts)?;
        }

        #[test]
        fn whole_text_validation_agrees_with_std(bytes in text()) {
            // Short texts take the ASCII check first, longer ones go to simdutf8.
            prop_assert_eq!(validate(&bytes).is_ok(), core::str::from_utf8(&bytes).is_ok());
        }

        #[test]
        fn one_byte_at_a_time_agrees_with_std(bytes in text()) {
            let cuts: Vec<usize> = (0..bytes.len()).collect();
            check_against_std(&bytes, &cuts)?;
        }
    }
}
