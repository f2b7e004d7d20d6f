//! `Sec-WebSocket-Key` and `Sec-WebSocket-Accept` (RFC 6455 §4.1 step 7,
//! §4.2.2 step 5.4).

use alloc::string::String;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest as _, Sha1};

use crate::entropy::Entropy;

/// The GUID appended to the key before hashing (RFC 6455 §1.3).
pub const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Number of random bytes in a `Sec-WebSocket-Key` (RFC 6455 §4.1 step 7).
const KEY_BYTES: usize = 16;

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`: the base64 of
/// the SHA-1 of the key (as sent, not decoded) followed by [`ACCEPT_GUID`].
///
/// ```
/// use sockeye::handshake::accept_key;
///
/// // The example of RFC 6455 §1.3.
/// assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(ACCEPT_GUID.as_bytes());
    STANDARD.encode(sha1.finalize())
}

/// A fresh `Sec-WebSocket-Key`: 16 bytes from `entropy`, base64-encoded
/// (24 characters).
pub fn generate_key(entropy: &mut dyn Entropy) -> String {
    let mut nonce = [0u8; KEY_BYTES];
    entropy.fill(&mut nonce);
    STANDARD.encode(nonce)
}

/// Whether a received `Sec-WebSocket-Key` is the base64 of exactly 16 bytes
/// (RFC 6455 §4.2.1 step 5).
pub(crate) fn is_valid_key(key: &[u8]) -> bool {
    // 16 bytes always encode to 22 characters plus "==".
    let mut decoded = [0u8; 18];
    key.len() == 24 && STANDARD.decode_slice(key, &mut decoded) == Ok(KEY_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u8);

    impl Entropy for Counter {
        fn fill(&mut self, dest: &mut [u8]) {
            for byte in dest {
                *byte = self.0;
                self.0 = self.0.wrapping_add(1);
            }
        }
    }

    #[test]
    fn accept_key_matches_rfc_6455_section_1_3() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn generated_key_is_16_bytes_of_base64_and_valid() {
        let key = generate_key(&mut Counter(0));
        assert_eq!(
            key,
            STANDARD.encode((0u8..16).collect::<alloc::vec::Vec<_>>())
        );
        assert_eq!(key.len(), 24);
        assert!(is_valid_key(key.as_bytes()));
    }

    #[test]
    fn consecutive_keys_differ() {
        let mut entropy = Counter(0);
        assert_ne!(generate_key(&mut entropy), generate_key(&mut entropy));
    }

    #[test]
    fn key_validation_rejects_wrong_lengths_and_alphabets() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        // 15 and 17 bytes.
        assert!(!is_valid_key(STANDARD.encode([0u8; 15]).as_bytes()));
        assert!(!is_valid_key(STANDARD.encode([0u8; 17]).as_bytes()));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZ*=="));
        assert!(!is_valid_key(b""));
    }
}
