//! The source of randomness for mask keys and `Sec-WebSocket-Key`.
//!
//! The engine owns no global random number generator: the caller hands it a
//! source. RFC 6455 §5.3 and §10.3 require mask keys that a script cannot
//! predict, so the source must be a cryptographically secure generator in
//! production; tests pass a seeded one to make runs repeatable.

use alloc::boxed::Box;

/// Fills buffers with random bytes.
///
/// Implemented for every [`rand::RngCore`], so any `rand` generator works:
///
/// ```
/// use rand::SeedableRng;
/// use sockeye::Entropy;
///
/// let mut seeded = rand::rngs::StdRng::seed_from_u64(7);
/// let mut key = [0u8; 4];
/// Entropy::fill(&mut seeded, &mut key);
/// ```
pub trait Entropy: Send {
    /// Fill `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

impl<R: rand::RngCore + Send> Entropy for R {
    fn fill(&mut self, dest: &mut [u8]) {
        self.fill_bytes(dest);
    }
}

/// A boxed, owned source of randomness as stored by a connection.
pub type BoxedEntropy = Box<dyn Entropy>;

/// The default source: a ChaCha-based generator seeded from the operating system.
#[cfg(feature = "os-rng")]
pub fn os_seeded() -> BoxedEntropy {
    use rand::SeedableRng;
    Box::new(rand::rngs::StdRng::from_os_rng())
}
