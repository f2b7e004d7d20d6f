//! `Utf8Validator` against `core::str::from_utf8`, differentially.
//!
//! The input is cut into pieces at arbitrary points and fed piece by piece.
//! Invariants:
//! * on valid UTF-8 every `feed` and the `finish` succeed;
//! * on text that ends inside a code point every `feed` succeeds and
//!   `finish` fails;
//! * otherwise the validator fails exactly at the first piece after which
//!   the bytes seen can no longer begin valid UTF-8 (the shortest prefix for
//!   which `Utf8Error::error_len()` is `Some`): no later, and no earlier;
//! * after `finish` (or `reset`) the validator starts afresh.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sockeye::utf8::Utf8Validator;

#[derive(Arbitrary, Debug)]
struct Input {
    /// Piece lengths; the rest of the text is one last piece.
    cuts: Vec<u8>,
    text: Vec<u8>,
    /// A second text fed after `finish`, to check the reset.
    second: Vec<u8>,
}

/// Length of the shortest prefix of `bytes` that cannot begin valid UTF-8.
fn first_impossible_prefix(bytes: &[u8]) -> Option<usize> {
    let error = std::str::from_utf8(bytes).err()?;
    error.error_len()?;
    let start = error.valid_up_to();
    (start + 1..=bytes.len())
        .find(|&end| std::str::from_utf8(&bytes[..end]).is_err_and(|e| e.error_len().is_some()))
}

fn check(validator: &mut Utf8Validator, text: &[u8], cuts: &[u8]) {
    let impossible_at = first_impossible_prefix(text);
    let mut pieces = Vec::new();
    let mut at = 0;
    for &cut in cuts {
        let end = (at + usize::from(cut)).min(text.len());
        pieces.push(at..end);
        at = end;
    }
    pieces.push(at..text.len());
    for piece in pieces {
        let end = piece.end;
        let result = validator.feed(&text[piece]);
        let should_fail = impossible_at.is_some_and(|limit| end >= limit);
        match (result, should_fail) {
            (Ok(()), false) => {}
            (Err(_), true) => {
                validator.reset();
                return;
            }
            (Ok(()), true) => panic!(
                "{text:02x?}: still accepted after {end} bytes; impossible after {impossible_at:?}"
            ),
            (Err(_), false) => panic!("{text:02x?}: failed after {end} bytes, a valid prefix"),
        }
    }
    let complete = std::str::from_utf8(text).is_ok();
    assert_eq!(
        validator.finish().is_ok(),
        complete,
        "finish on {text:02x?}"
    );
}

fuzz_target!(|input: Input| {
    let mut validator = Utf8Validator::new();
    check(&mut validator, &input.text, &input.cuts);
    check(&mut validator, &input.second, &input.cuts);
    // Whole-text validation agrees too.
    assert_eq!(
        sockeye::utf8::validate(&input.text).is_ok(),
        std::str::from_utf8(&input.text).is_ok()
    );
});
