//! The message the async adapters' streaming tests send and what the server
//! checks of it, shared by `sockeye-tokio` and `sockeye-smol` (each includes
//! this file with `#[path]`): a 32 MiB binary message sent in 64 KiB
//! pieces, and a tally of the pieces received.

use sockeye_io::{DataKind, Fragment};

/// The message's size.
pub const MESSAGE: usize = 32 << 20;
/// The size of each piece the client sends.
pub const PIECE: usize = 64 << 10;
/// The largest piece the server may hand out: one read's worth (64 KiB and
/// a frame header), never the message.
pub const LARGEST_PIECE: usize = (64 << 10) + 14;

/// A running checksum over the bytes in order, so that pieces altered or
/// out of order show.
fn checksum(sum: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(sum, |sum, &byte| {
        sum.wrapping_mul(31).wrapping_add(u64::from(byte))
    })
}

/// The payload of piece `index`.
fn payload(index: usize) -> Vec<u8> {
    (0..PIECE).map(|i| (i * 7 + index) as u8).collect()
}

/// The pieces the client sends, in order, each made when it is sent.
pub fn pieces() -> impl Iterator<Item = Fragment> {
    let count = MESSAGE / PIECE;
    (0..count).map(move |index| Fragment {
        kind: DataKind::Binary,
        payload: payload(index).into(),
        is_first: index == 0,
        is_last: index + 1 == count,
    })
}

/// The checksum of the whole message.
pub fn expected_checksum() -> u64 {
    (0..MESSAGE / PIECE).fold(0, |sum, index| checksum(sum, &payload(index)))
}

/// What the server saw of the streamed message.
#[derive(Debug, Default)]
pub struct Tally {
    pub total: usize,
    pub pieces: usize,
    pub largest: usize,
    pub checksum: u64,
}

impl Tally {
    /// Count `piece`; true once it was the last.
    pub fn add(&mut self, piece: &Fragment) -> bool {
        assert_eq!(piece.kind, DataKind::Binary);
        self.largest = self.largest.max(piece.payload.len());
        self.checksum = checksum(self.checksum, &piece.payload);
        self.total += piece.payload.len();
        self.pieces += 1;
        piece.is_last
    }

    /// The whole message arrived unaltered, in pieces of one read at most.
    pub fn check(&self, expected_checksum: u64) {
        assert_eq!(self.total, MESSAGE);
        assert_eq!(
            self.checksum, expected_checksum,
            "the pieces arrived altered or out of order"
        );
        assert!(
            self.largest <= LARGEST_PIECE,
            "a piece of {} B: assembled",
            self.largest
        );
        assert!(
            self.pieces >= MESSAGE / LARGEST_PIECE,
            "{} pieces",
            self.pieces
        );
    }
}
