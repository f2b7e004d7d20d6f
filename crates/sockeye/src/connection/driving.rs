//! What a driver asks the connection between reads and writes: how to
//! read, when a read would block, and when to write (the batching rule).
//! The async and blocking drivers follow these answers instead of deciding
//! on their own.

use bytes::BytesMut;

use super::{Connection, Event, MAX_HEADER_LEN, READ_CHUNK_MAX};

impl Connection {
    /// The smallest [`read_size_hint`](Self::read_size_hint): the bytes read
    /// at a time when nothing bigger is expected.
    pub(crate) const MIN_READ_SIZE: usize = 8 << 10;

    /// How many bytes the next read should make room for, between
    /// [`MIN_READ_SIZE`](Self::MIN_READ_SIZE) (8 KiB) and 64 KiB plus the
    /// largest frame header (14 bytes): the rest of the frame being received
    /// or, between frames, the size of the last data frame, since a peer
    /// that sends large messages is likely to send more.
    /// [`receive_with`](Self::receive_with) reserves this much. A hint above
    /// the minimum means a large frame is expected: an adapter that reads
    /// small batches through a scratch buffer of its own can read straight
    /// into the engine's buffer instead and save the copy.
    pub(crate) fn read_size_hint(&self) -> usize {
        let expected = match self.receiving.frame() {
            Some(frame) => frame.remaining.saturating_sub(self.received.len() as u64),
            None => u64::from(self.last_data_frame_len) + MAX_HEADER_LEN as u64,
        };
        usize::try_from(expected)
            .unwrap_or(usize::MAX)
            .clamp(Self::MIN_READ_SIZE, READ_CHUNK_MAX)
    }

    /// Whether the next read should go straight into the engine's buffer
    /// with [`receive_with`](Self::receive_with): a frame is under way, or
    /// the peer's last data frame was large and another is likely. When
    /// not, the next read starts a new frame of ordinary size: a driver may
    /// read it into a scratch buffer that its connections share and hand the
    /// bytes to [`receive`](Self::receive), so that a connection waiting for
    /// input holds no read buffer of its own.
    ///
    /// ```
    /// # use sockeye::{Config, Connection, Role};
    /// # use core::time::Duration;
    /// let mut server = Connection::new(Role::Server, Config::default(), Duration::ZERO);
    /// assert!(!server.reads_in_place());
    /// // The header of a masked 1 MiB binary frame: the rest is awaited.
    /// server.receive(Duration::ZERO, &[0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4]);
    /// assert_eq!(server.poll_event(), None);
    /// assert!(server.reads_in_place());
    /// ```
    #[inline]
    pub fn reads_in_place(&self) -> bool {
        self.has_partial_frame() || self.read_size_hint() > Self::MIN_READ_SIZE
    }

    /// The transport has nothing more to read for now (a read would block).
    ///
    /// A connection with nothing queued to write and no event waiting
    /// releases its buffers, so that an idle connection costs only its fixed
    /// state whatever the largest message it has seen; a busy one keeps them
    /// for the next read. Never loses a byte received or queued.
    #[inline]
    pub fn read_blocked(&mut self) {
        if self.outgoing.len() == 0 && !self.has_buffered_event() {
            self.release_idle_buffers();
        }
    }

    /// Whether the output queued so far should be written now that `event`
    /// has been handed out, rather than by the next send or before the next
    /// read.
    ///
    /// The rule every driver follows: a close or a failure ends the batch,
    /// so its bytes leave at once; a ping or pong (and a streamed piece)
    /// leaves its output once no other event is waiting; after a whole text
    /// or binary message the application most likely replies, and that
    /// send (or the next read) writes the batch's output together with the
    /// reply in one write instead of two.
    #[inline]
    pub fn should_flush_after(&self, event: &Event) -> bool {
        match event {
            Event::Close(_) | Event::Failed(_) => true,
            Event::Text(_) | Event::Binary(_) => false,
            Event::Fragment(_) | Event::Ping(_) | Event::Pong(_) => !self.has_buffered_event(),
        }
    }

    /// Whether a message just queued may wait for the write that ends the
    /// current receive batch instead of being written at once: received
    /// events are still waiting (whose replies can share the write) and the
    /// queue is below [`Config::write_high_water_mark`].
    #[inline]
    pub fn can_defer_write(&self) -> bool {
        self.has_buffered_event() && !self.is_write_blocked()
    }

    /// Whether part of a frame has arrived and the rest is awaited.
    ///
    /// When not, the next read starts a new frame: an adapter may read it
    /// into a scratch buffer shared by its connections and hand the bytes to
    /// [`receive`](Self::receive), so that a connection waiting for input
    /// holds no read buffer of its own. When so, reading with
    /// [`receive_with`](Self::receive_with) sizes the buffer for the frame.
    pub(crate) fn has_partial_frame(&self) -> bool {
        !self.received.is_empty() || self.receiving.has_frame()
    }

    /// Release the receive and send buffers if they hold nothing, so an idle
    /// connection costs only its fixed state.
    ///
    /// Meant for the moment a read would block: a connection that keeps its
    /// buffers while busy and drops them while waiting costs its fixed state
    /// when idle, whatever the largest message it has seen.
    pub(crate) fn release_idle_buffers(&mut self) {
        if !self.has_partial_frame() {
            self.received = BytesMut::new();
        }
        self.receiving.release_idle();
        self.outgoing.release_idle();
    }
}
