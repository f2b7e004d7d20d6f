//! Output borrowed for a vectored write, with the bookkeeping in the type.
//!
//! [`Connection::transmit`](crate::Connection::transmit) and
//! [`Endpoint::transmit`](crate::Endpoint::transmit) lend the queued runs of
//! bytes as a [`Transmit`]; the caller writes what the transport takes and
//! reports it with [`Transmit::written`], which drops exactly those bytes.
//! A `Transmit` dropped without that report drops nothing, so a write that
//! failed or would block loses no byte and sends none twice.

use bytes::{Buf, Bytes};

use crate::connection::TransmitQueue;

/// The runs of bytes an endpoint has queued for the transport, in order.
///
/// ```
/// use core::time::Duration;
/// use sockeye::{Config, Connection, Role};
///
/// let mut server = Connection::new(Role::Server, Config::default(), Duration::ZERO);
/// server.send_text("hello").unwrap();
/// server.send_binary(vec![7u8; 3]).unwrap();
///
/// let transmit = server.transmit();
/// let mut runs: [&[u8]; 8] = [&[]; 8];
/// let filled = transmit.chunks(&mut runs);
/// let wire: Vec<u8> = runs[..filled].concat();
/// assert_eq!(wire, b"\x81\x05hello\x82\x03\x07\x07\x07");
/// // A transport that took only 4 bytes:
/// transmit.written(4);
/// assert_eq!(server.buffered_amount(), wire.len() - 4);
/// ```
#[must_use = "nothing leaves the queue until `written` reports what the transport took"]
#[derive(Debug)]
pub struct Transmit<'a> {
    /// Bytes that go before the queue: the opening handshake's request or
    /// response, while an endpoint still holds it.
    preface: Option<&'a mut Bytes>,
    queue: Option<&'a mut TransmitQueue>,
}

impl<'a> Transmit<'a> {
    pub(crate) fn new(
        preface: Option<&'a mut Bytes>,
        queue: Option<&'a mut TransmitQueue>,
    ) -> Self {
        Self { preface, queue }
    }

    /// How many bytes are queued in all.
    pub fn len(&self) -> usize {
        self.preface.as_deref().map_or(0, Bytes::len)
            + self.queue.as_deref().map_or(0, TransmitQueue::len)
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `out` with the queued runs in order and returns how many it
    /// filled (never an empty run; fewer than `out` holds when the queue has
    /// fewer runs).
    pub fn chunks<'b>(&'b self, out: &mut [&'b [u8]]) -> usize {
        fill(self.preface.as_deref(), self.queue.as_deref(), out)
    }

    /// As [`chunks`](Self::chunks), with views that live as long as the
    /// borrow this `Transmit` was made from, for a caller that hands them
    /// across a boundary (a C API) and reports the write later through a
    /// new `Transmit`. Drops nothing from the queue.
    pub fn into_chunks(self, out: &mut [&'a [u8]]) -> usize {
        let preface: Option<&'a Bytes> = self.preface.map(|preface| &*preface);
        let queue: Option<&'a TransmitQueue> = self.queue.map(|queue| &*queue);
        fill(preface, queue, out)
    }

    /// As [`chunks`](Self::chunks), as `IoSlice`s for `write_vectored`.
    #[cfg(feature = "std")]
    pub fn io_slices<'b>(&'b self, out: &mut [std::io::IoSlice<'b>]) -> usize {
        const BATCH: usize = 64;
        let mut runs: [&[u8]; BATCH] = [&[]; BATCH];
        let limit = out.len().min(BATCH);
        let filled = self.chunks(&mut runs[..limit]);
        for (slot, run) in out.iter_mut().zip(&runs[..filled]) {
            *slot = std::io::IoSlice::new(run);
        }
        filled
    }

    /// The transport took the first `n` bytes: they leave the queue.
    ///
    ///
    /// # Panics
    /// If `n` is more than [`len`](Self::len): the transport cannot have
    /// taken bytes it was never given.
    pub fn written(self, n: usize) {
        assert!(
            n <= self.len(),
            "written({n}) past the {} bytes queued",
            self.len()
        );
        let mut rest = n;
        if let Some(preface) = self.preface {
            let from_preface = rest.min(preface.len());
            preface.advance(from_preface);
            rest -= from_preface;
        }
        if rest > 0
            && let Some(queue) = self.queue
        {
            queue.advance(rest);
        }
    }
}

/// Fills `out` with the preface, then the queue's runs; returns the count.
fn fill<'b>(
    preface: Option<&'b Bytes>,
    queue: Option<&'b TransmitQueue>,
    out: &mut [&'b [u8]],
) -> usize {
    let mut filled = 0;
    if let Some(preface) = preface
        && !preface.is_empty()
        && !out.is_empty()
    {
        out[0] = preface;
        filled = 1;
    }
    if let Some(queue) = queue {
        filled += queue.chunks(&mut out[filled..]);
    }
    filled
}
