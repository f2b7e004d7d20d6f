//! permessage-deflate (RFC 7692): settings, the agreed parameters, and the
//! per-message transform a connection runs once it is negotiated (the
//! negotiation itself is part of the opening handshake).
//!
//! Turn it on by setting [`Config::deflate`](crate::Config::deflate). A
//! client then offers the extension in its opening handshake and checks the
//! server's answer; a server accepts the first offer it can honour. Both
//! sides end up with the same [`DeflateParams`], which the connection uses to
//! compress outgoing messages (setting RSV1 on their first frame) and to
//! inflate incoming ones.
//!
//! ```
//! use core::time::Duration;
//! use sockeye::deflate::DeflateConfig;
//! use sockeye::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
//! use sockeye::Config;
//!
//! # fn main() -> Result<(), sockeye::handshake::HandshakeError> {
//! let now = Duration::ZERO;
//! let mut config = Config::default();
//! config.deflate = Some(DeflateConfig::default());
//!
//! let request = ClientRequest::new("example.com", "/")?;
//! let mut client = ClientHandshake::new(request, config.clone(), now);
//! let mut server = ServerHandshake::new(config, now);
//! let request = server.receive(client.request_bytes())?.unwrap();
//! let (response, server_conn) = request.accept(Accept::new(now))?;
//! let client_conn = client.receive(&response)?.unwrap().into_connection(now);
//!
//! assert!(server_conn.deflate_params().is_some());
//! assert_eq!(server_conn.deflate_params(), client_conn.deflate_params());
//! # Ok(())
//! # }
//! ```
//!
//! # Memory
//!
//! A connection with the extension holds one compressor and one
//! decompressor (zlib-rs). The compressor takes `4 * 2^window_bits` bytes
//! (window and chain table), a fixed 128 KiB hash table, and `7 *
//! 2^(mem_level + 6)` bytes of block buffers: about 370 KiB at the defaults
//! (window 15, memory level 8), about 131 KiB at window 9 and memory
//! level 1. The decompressor takes a 32 KiB window whatever the window
//! bits, plus about 10 KiB of state. Without context takeover (`*_no_context_takeover`)
//! each is freed after every message and made again for the next one, so an
//! idle connection holds neither; the price is an allocation per message.
//! The inflated message itself is bounded by
//! [`Config::max_message_size`](crate::Config::max_message_size).
//!
//! # Streaming
//!
//! With [`Config::streaming`](crate::Config::streaming), each piece of a
//! compressed frame is inflated as it arrives and handed out as
//! [`Fragment`](crate::connection::Fragment)s of inflated bytes, each at
//! most 64 KiB (or [`Config::max_frame_size`](crate::Config::max_frame_size)
//! if smaller): a piece that inflates further is handed out in several steps,
//! so the memory one step takes does not grow with the message-size limit.
//! The sum of a message's pieces is bounded by that limit (1009 past it),
//! and text is validated across the pieces' boundaries.
//!
//! # Window bits 8
//!
//! zlib-compatible compressors cannot produce a raw deflate stream with a
//! 256-byte window: asked for 8 bits, they silently use 9, which a peer
//! inflating with 8 bits may reject. sockeye therefore never compresses with
//! a window of 8: a server declines an offer whose `server_max_window_bits`
//! is 8 (and moves on to the next offer), and a client whose server answers
//! `client_max_window_bits=8` keeps the extension but sends every message
//! uncompressed, which RFC 7692 §6 allows. Received data announced with 8
//! bits is inflated with a 9-bit window, which accepts both.

use alloc::format;
use alloc::string::String;

use crate::config::Role;

mod codec;

pub(crate) use codec::{Compressor, Decompressor, InflateFailure};

/// The extension's name in `Sec-WebSocket-Extensions` (RFC 7692 §7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The largest LZ77 window, 32 KiB (RFC 7692 §7.1.2).
pub const MAX_WINDOW_BITS: u8 = 15;
/// The smallest LZ77 window RFC 7692 allows, 256 bytes (§7.1.2).
pub const MIN_WINDOW_BITS: u8 = 8;
/// The smallest window sockeye compresses with (see the module docs).
pub(crate) const MIN_COMPRESS_WINDOW_BITS: u8 = 9;

/// Settings of permessage-deflate, set in [`Config::deflate`](crate::Config::deflate).
///
/// The `server_*` and `client_*` fields follow RFC 7692's names: for a
/// server, `server_*` describe its own compressor and `client_*` what it asks
/// of the client; for a client, `client_*` describe its own compressor and
/// `server_*` what it asks of the server.
///
/// ```
/// use sockeye::deflate::DeflateConfig;
///
/// // A server with many connections: small windows, no memory kept between messages.
/// let mut deflate = DeflateConfig::default();
/// deflate.server_no_context_takeover = true;
/// deflate.server_max_window_bits = 10;
/// deflate.mem_level = 4;
/// assert_eq!(deflate.threshold, 32);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// The server resets its compressor after every message, so no window is
    /// carried between messages (RFC 7692 §7.1.1.1). Default: `false`.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message (§7.1.1.2).
    /// Default: `false`.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with, 9 to 15 bits (a value
    /// of 8 is treated as 9; see the module docs). Default: 15.
    pub server_max_window_bits: u8,
    /// The largest window the client compresses with, 9 to 15 bits. Default: 15.
    pub client_max_window_bits: u8,
    /// Compression level, 0 (store) to 9 (smallest output). Default: 6.
    pub level: u8,
    /// zlib's memory level for this end's compressor, 1 to 9: more memory
    /// finds more matches. Default: 8.
    pub mem_level: u8,
    /// Whole messages shorter than this many bytes are sent uncompressed.
    /// Messages sent in pieces are always compressed. Default: 32.
    pub threshold: usize,
    /// A client that keeps its context (`client_no_context_takeover` off)
    /// follows its offer with a second one carrying the
    /// `client_no_context_takeover` hint (RFC 7692 §5 allows several offers
    /// in order of preference). A server that accepts a client only when it
    /// offers to drop its context takes the second; any other server takes
    /// the first, and the client keeps its context unless the response asks
    /// otherwise. The response does not say which offer it accepts, so this
    /// relies on a server that takes the second offer because of its hint
    /// answering `client_no_context_takeover` (as RFC 7692 §7.1.1.2 lets it);
    /// one that silently relies on the hint would misread the client's
    /// later messages. Default: `false` (one offer).
    pub offer_no_context_takeover_fallback: bool,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            level: 6,
            mem_level: 8,
            threshold: 32,
            offer_no_context_takeover_fallback: false,
        }
    }
}

impl DeflateConfig {
    pub(crate) fn own_window_bits(&self, role: Role) -> u8 {
        let bits = match role {
            Role::Server => self.server_max_window_bits,
            Role::Client => self.client_max_window_bits,
        };
        bits.clamp(MIN_COMPRESS_WINDOW_BITS, MAX_WINDOW_BITS)
    }

    /// The offers a client sends (RFC 7692 §7.1), in order of preference,
    /// one element of `Sec-WebSocket-Extensions` each. Every offer includes
    /// `client_max_window_bits`, so the server may limit the client's window.
    pub(crate) fn client_offers(&self) -> impl Iterator<Item = ClientOffer> + '_ {
        let first = ClientOffer {
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: self
                .server_max_window_bits
                .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS),
        };
        let fallback = (self.offer_no_context_takeover_fallback
            && !self.client_no_context_takeover)
            .then_some(ClientOffer {
                client_no_context_takeover: true,
                ..first
            });
        core::iter::once(first).chain(fallback)
    }

    /// The value of the `Sec-WebSocket-Extensions` header a client sends: its
    /// offers, comma-separated.
    pub fn client_offer(&self) -> String {
        let client_bits = self.own_window_bits(Role::Client);
        let mut header = String::new();
        for offer in self.client_offers() {
            if !header.is_empty() {
                header.push_str(", ");
            }
            header.push_str(EXTENSION_NAME);
            if self.server_no_context_takeover {
                header.push_str("; server_no_context_takeover");
            }
            if offer.client_no_context_takeover {
                header.push_str("; client_no_context_takeover");
            }
            if offer.server_max_window_bits < MAX_WINDOW_BITS {
                header.push_str(&format!(
                    "; server_max_window_bits={}",
                    offer.server_max_window_bits
                ));
            }
            if client_bits < MAX_WINDOW_BITS {
                header.push_str(&format!("; client_max_window_bits={client_bits}"));
            } else {
                header.push_str("; client_max_window_bits");
            }
        }
        header
    }
}

/// What distinguishes one of a client's offers from another, as far as the
/// server's response is checked against it.
#[derive(Clone, Copy)]
pub(crate) struct ClientOffer {
    /// The offer carries the hint that the client drops its context.
    pub(crate) client_no_context_takeover: bool,
    /// The largest window the offer lets the server use.
    pub(crate) server_max_window_bits: u8,
}

/// The parameters both ends agreed on (the _Extensions In Use_ of RFC 6455
/// §9.1, for permessage-deflate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with.
    pub server_max_window_bits: u8,
    /// The largest window the client compresses with.
    pub client_max_window_bits: u8,
}

impl DeflateParams {
    /// The window and context-takeover rule of `role`'s compressor.
    pub(crate) fn sender(&self, role: Role) -> (u8, bool) {
        match role {
            Role::Server => (self.server_max_window_bits, self.server_no_context_takeover),
            Role::Client => (self.client_max_window_bits, self.client_no_context_takeover),
        }
    }
}

/// What a connection runs once permessage-deflate is negotiated.
pub(crate) struct PerMessageDeflate {
    pub(crate) params: DeflateParams,
    /// `None` when the peer imposed a window this end cannot compress with:
    /// every message then leaves uncompressed.
    pub(crate) compressor: Option<Compressor>,
    pub(crate) decompressor: Decompressor,
    pub(crate) threshold: usize,
}

impl PerMessageDeflate {
    pub(crate) fn new(role: Role, params: DeflateParams, config: &DeflateConfig) -> Self {
        let (own_bits, own_reset) = params.sender(role);
        let peer = match role {
            Role::Server => Role::Client,
            Role::Client => Role::Server,
        };
        let (peer_bits, peer_reset) = params.sender(peer);
        let compressor = (own_bits >= MIN_COMPRESS_WINDOW_BITS).then(|| {
            Compressor::new(
                config.level.min(9),
                own_bits,
                config.mem_level.clamp(1, 9),
                own_reset,
            )
        });
        Self {
            params,
            compressor,
            decompressor: Decompressor::new(peer_bits.max(MIN_COMPRESS_WINDOW_BITS), peer_reset),
            threshold: config.threshold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_with_a_window_of_8_imposed_sends_uncompressed() {
        let params = DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 8,
        };
        let state = PerMessageDeflate::new(Role::Client, params, &DeflateConfig::default());
        assert!(state.compressor.is_none());
        let state = PerMessageDeflate::new(Role::Server, params, &DeflateConfig::default());
        assert!(state.compressor.is_some());
    }
}
