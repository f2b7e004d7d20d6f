//! The queue of bytes waiting to be written to the transport.
//!
//! Frames are appended in order. Headers, small payloads and every masked
//! (client) payload are copied into one contiguous coalescing buffer, so many
//! small messages leave in one write; a large server payload is queued as the
//! caller's own `Bytes`, so it is written without a copy (vectored write of
//! the coalesced header and the payload).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use bytes::{Buf, Bytes, BytesMut};

use crate::frame::{FrameHeader, MAX_HEADER_LEN};

/// Payloads at most this long are copied into the coalescing buffer; larger
/// ones travel as their own chunk.
const COALESCE_MAX: usize = 1024;

/// After the queue drains, a coalescing buffer that grew beyond this is
/// released, so one large masked message does not pin its memory.
pub(crate) const RETAIN_MAX: usize = 64 << 10;

/// The queue itself, boxed: an idle connection pays a pointer for it
/// instead of 64 bytes of empty buffers.
#[derive(Debug, Default)]
struct Queue {
    /// Chunks that come before `tail`, oldest first.
    chunks: VecDeque<Bytes>,
    /// The coalescing buffer: the newest bytes.
    tail: BytesMut,
}

#[derive(Debug, Default)]
pub(crate) struct TransmitQueue {
    /// Allocated by the first frame queued, freed by `release_idle`.
    queue: Option<Box<Queue>>,
    /// Total bytes queued.
    len: usize,
}

impl TransmitQueue {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Queue one frame. A client's frame carries its key in `header.mask`
    /// (`None` for a server) and is masked as it is copied in.
    pub(crate) fn push_frame(
        &mut self,
        header: FrameHeader,
        payload: &[u8],
        owned: Option<&Bytes>,
    ) {
        let mut encoded = [0u8; MAX_HEADER_LEN];
        let header_len = header.encode(&mut encoded);
        let queue = self.queue.get_or_insert_with(Box::default);
        queue
            .tail
            .reserve(header_len + payload.len().min(COALESCE_MAX));
        queue.tail.extend_from_slice(&encoded[..header_len]);
        match (header.mask, owned) {
            (Some(key), _) => crate::mask::extend_masked(&mut queue.tail, payload, key),
            (None, Some(bytes)) if payload.len() > COALESCE_MAX => {
                let coalesced = queue.tail.split().freeze();
                queue.chunks.push_back(coalesced);
                queue.chunks.push_back(bytes.clone());
            }
            (None, _) => queue.tail.extend_from_slice(payload),
        }
        self.len += header_len + payload.len();
    }

    /// Fill `out` with the queued runs in order; returns how many were filled.
    pub(crate) fn chunks<'a>(&'a self, out: &mut [&'a [u8]]) -> usize {
        let Some(queue) = &self.queue else {
            return 0;
        };
        let runs = queue
            .chunks
            .iter()
            .map(|chunk| &chunk[..])
            .chain(core::iter::once(&queue.tail[..]))
            .filter(|run| !run.is_empty());
        let mut filled = 0;
        for (slot, run) in out.iter_mut().zip(runs) {
            *slot = run;
            filled += 1;
        }
        filled
    }

    /// Remove the first `n` queued bytes (they were written).
    pub(crate) fn advance(&mut self, mut n: usize) {
        assert!(n <= self.len, "advance past the end of the queued output");
        let Some(queue) = &mut self.queue else {
            // Nothing queued, so `n` is 0.
            return;
        };
        self.len -= n;
        while n > 0 {
            match queue.chunks.front_mut() {
                Some(front) if front.len() <= n => {
                    n -= front.len();
                    queue.chunks.pop_front();
                }
                Some(front) => {
                    front.advance(n);
                    n = 0;
                }
                None => {
                    queue.tail.advance(n);
                    n = 0;
                }
            }
        }
        self.release_if_drained();
    }

    /// Take the next run as owned bytes.
    pub(crate) fn pop(&mut self) -> Option<Bytes> {
        let queue = self.queue.as_mut()?;
        let run = match queue.chunks.pop_front() {
            Some(chunk) => chunk,
            None if !queue.tail.is_empty() => queue.tail.split().freeze(),
            None => return None,
        };
        self.len -= run.len();
        self.release_if_drained();
        Some(run)
    }

    fn release_if_drained(&mut self) {
        if let Some(queue) = &mut self.queue
            && self.len == 0
            && queue.tail.capacity() > RETAIN_MAX
        {
            queue.tail = BytesMut::new();
        }
    }

    /// Bytes the coalescing buffer holds room for.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.queue.as_ref().map_or(0, |queue| queue.tail.capacity())
    }

    /// Whether the queue's box is allocated.
    #[cfg(test)]
    pub(crate) fn is_allocated(&self) -> bool {
        self.queue.is_some()
    }

    /// Drop everything queued and free the buffers: for a peer that stopped
    /// taking bytes and was given up on.
    pub(crate) fn discard(&mut self) {
        self.queue = None;
        self.len = 0;
    }

    /// Free the queue, buffers and box, if nothing is queued (idle
    /// connections).
    pub(crate) fn release_idle(&mut self) {
        if self.len == 0 {
            self.queue = None;
        }
    }
}
