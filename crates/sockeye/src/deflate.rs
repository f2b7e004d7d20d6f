//! permessage-deflate (RFC 7692): settings, negotiation, and the per-message
//! transform a connection runs once it is negotiated.
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
use crate::handshake::{Extension, HandshakeError};

mod codec;

pub(crate) use codec::{Compressor, Decompressor, InflateFailure};

/// The extension's name in `Sec-WebSocket-Extensions` (RFC 7692 §7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The largest LZ77 window, 32 KiB (RFC 7692 §7.1.2).
pub const MAX_WINDOW_BITS: u8 = 15;
/// The smallest LZ77 window RFC 7692 allows, 256 bytes (§7.1.2).
pub const MIN_WINDOW_BITS: u8 = 8;
/// The smallest window sockeye compresses with (see the module docs).
const MIN_COMPRESS_WINDOW_BITS: u8 = 9;

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
    fn own_window_bits(&self, role: Role) -> u8 {
        let bits = match role {
            Role::Server => self.server_max_window_bits,
            Role::Client => self.client_max_window_bits,
        };
        bits.clamp(MIN_COMPRESS_WINDOW_BITS, MAX_WINDOW_BITS)
    }

    /// The offers a client sends (RFC 7692 §7.1), in order of preference,
    /// one element of `Sec-WebSocket-Extensions` each. Every offer includes
    /// `client_max_window_bits`, so the server may limit the client's window.
    fn client_offers(&self) -> impl Iterator<Item = ClientOffer> + '_ {
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
struct ClientOffer {
    /// The offer carries the hint that the client drops its context.
    client_no_context_takeover: bool,
    /// The largest window the offer lets the server use.
    server_max_window_bits: u8,
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

/// The parameters of one offer or response, checked against RFC 7692 §7.1.
#[derive(Default)]
struct Parsed {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (allowed in an offer only).
    client_max_window_bits: Option<Option<u8>>,
}

/// A window-bits value: a decimal 8–15 without leading zeros (RFC 7692 §7.1.2).
fn window_bits(value: Option<&str>) -> Option<u8> {
    let value = value?;
    if value.is_empty() || value.len() > 2 || value.starts_with('0') {
        return None;
    }
    let bits: u8 = value.parse().ok()?;
    (MIN_WINDOW_BITS..=MAX_WINDOW_BITS)
        .contains(&bits)
        .then_some(bits)
}

/// Parses the parameters of `extension`; `None` for an unknown, repeated or
/// malformed parameter (RFC 7692 §7: such an offer is declined, such a
/// response fails the connection).
fn parse(extension: &Extension) -> Option<Parsed> {
    let mut parsed = Parsed::default();
    let mut seen = [false; 4];
    for (name, value) in extension.params() {
        let index = match name.to_ascii_lowercase().as_str() {
            "server_no_context_takeover" => {
                value.is_none().then_some(())?;
                parsed.server_no_context_takeover = true;
                0
            }
            "client_no_context_takeover" => {
                value.is_none().then_some(())?;
                parsed.client_no_context_takeover = true;
                1
            }
            "server_max_window_bits" => {
                parsed.server_max_window_bits = Some(window_bits(value)?);
                2
            }
            "client_max_window_bits" => {
                parsed.client_max_window_bits = Some(match value {
                    None => None,
                    value => Some(window_bits(value)?),
                });
                3
            }
            _ => return None,
        };
        if core::mem::replace(&mut seen[index], true) {
            return None;
        }
    }
    Some(parsed)
}

/// A server's choice among the client's offers (RFC 7692 §7.1): the first
/// offer it can honour, as the response value to send and the agreed
/// parameters; `None` when every offer is declined.
pub(crate) fn select(
    config: &DeflateConfig,
    offers: &[Extension],
) -> Option<(String, DeflateParams)> {
    offers
        .iter()
        .filter(|offer| offer.name().eq_ignore_ascii_case(EXTENSION_NAME))
        .find_map(|offer| accept_offer(config, offer))
}

fn accept_offer(config: &DeflateConfig, offer: &Extension) -> Option<(String, DeflateParams)> {
    let offer = parse(offer)?;
    let mut response = String::from(EXTENSION_NAME);
    // §7.1.1.1: the server may always choose not to take over its context.
    let server_no_context_takeover =
        offer.server_no_context_takeover || config.server_no_context_takeover;
    if server_no_context_takeover {
        response.push_str("; server_no_context_takeover");
    }
    // §7.1.1.2: and may always ask the client not to.
    let client_no_context_takeover =
        offer.client_no_context_takeover || config.client_no_context_takeover;
    if client_no_context_takeover {
        response.push_str("; client_no_context_takeover");
    }
    // §7.1.2.1: an offered limit is honoured with the same or a smaller value.
    let own_bits = config.own_window_bits(Role::Server);
    let server_max_window_bits = match offer.server_max_window_bits {
        // The compressor cannot honour a 256-byte window: decline.
        Some(MIN_WINDOW_BITS) => return None,
        Some(offered) => offered.min(own_bits),
        None => own_bits,
    };
    if offer.server_max_window_bits.is_some() || server_max_window_bits < MAX_WINDOW_BITS {
        response.push_str(&format!(
            "; server_max_window_bits={server_max_window_bits}"
        ));
    }
    // §7.1.2.2: the client's window may be limited only if it said it
    // supports that; its value is a hint we may pass back or lower.
    let wanted = config
        .client_max_window_bits
        .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
    let client_max_window_bits = match offer.client_max_window_bits {
        None => MAX_WINDOW_BITS,
        Some(hint) => {
            let bits = hint.unwrap_or(MAX_WINDOW_BITS).min(wanted);
            if bits < MAX_WINDOW_BITS {
                response.push_str(&format!("; client_max_window_bits={bits}"));
            }
            bits
        }
    };
    Some((
        response,
        DeflateParams {
            server_no_context_takeover,
            client_no_context_takeover,
            server_max_window_bits,
            client_max_window_bits,
        },
    ))
}

/// A client's check of the server's answer to its offers (RFC 7692 §7.1):
/// the agreed parameters, or the error that fails the handshake.
///
/// The response does not name the offer it accepts, so it is matched to the
/// first offer it is valid for. Offers differ only in the
/// `client_no_context_takeover` hint, and a server that acts on the hint
/// says so by answering `client_no_context_takeover` (§7.1.1.2), which the
/// client then follows whichever offer was taken.
pub(crate) fn accept_response(
    config: &DeflateConfig,
    response: &Extension,
) -> Result<DeflateParams, HandshakeError> {
    let invalid = || HandshakeError::InvalidExtensionResponse(String::from(EXTENSION_NAME));
    let parsed = parse(response).ok_or_else(invalid)?;
    let offer = config
        .client_offers()
        .find(|offer| {
            // §7.1.2.1: never more than the client asked for.
            parsed
                .server_max_window_bits
                .is_none_or(|bits| bits <= offer.server_max_window_bits)
        })
        .ok_or_else(invalid)?;
    // A server that ignored the limit compresses with at most 15 bits,
    // which the decompressor accepts.
    let server_max_window_bits = parsed.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS);
    let own_bits = config.own_window_bits(Role::Client);
    let client_max_window_bits = match parsed.client_max_window_bits {
        // §7.1.2.2: the response must carry a value.
        Some(None) => return Err(invalid()),
        Some(Some(bits)) => bits.min(own_bits),
        None => own_bits,
    };
    Ok(DeflateParams {
        server_no_context_takeover: parsed.server_no_context_takeover,
        client_no_context_takeover: parsed.client_no_context_takeover
            || offer.client_no_context_takeover,
        server_max_window_bits,
        client_max_window_bits,
    })
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
    use alloc::vec::Vec;

    fn offers(value: &str) -> Vec<Extension> {
        Extension::parse_list(value).unwrap()
    }

    fn server_select(value: &str) -> Option<(String, DeflateParams)> {
        select(&DeflateConfig::default(), &offers(value))
    }

    #[test]
    fn accepts_a_browser_offer_with_full_windows() {
        let (response, params) =
            server_select("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(response, "permessage-deflate");
        assert_eq!(params.server_max_window_bits, 15);
        assert_eq!(params.client_max_window_bits, 15);
        assert!(!params.server_no_context_takeover);
    }

    #[test]
    fn honours_the_offered_server_window_and_takeover() {
        let (response, params) = server_select(
            "permessage-deflate; server_max_window_bits=10; server_no_context_takeover",
        )
        .unwrap();
        assert_eq!(
            response,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"
        );
        assert_eq!(params.server_max_window_bits, 10);
        assert!(params.server_no_context_takeover);
    }

    #[test]
    fn declines_invalid_offers_and_takes_the_next() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=x",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; unknown",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; server_max_window_bits=9; server_max_window_bits=9",
        ] {
            assert_eq!(server_select(bad), None, "{bad}");
            let (_, params) = server_select(&format!("{bad}, permessage-deflate")).unwrap();
            assert_eq!(params.server_max_window_bits, 15, "{bad}");
        }
    }

    #[test]
    fn declines_a_server_window_of_8_it_cannot_compress_with() {
        assert_eq!(
            server_select("permessage-deflate; server_max_window_bits=8"),
            None
        );
        let (response, _) = server_select(
            "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9",
        )
        .unwrap();
        assert_eq!(response, "permessage-deflate; server_max_window_bits=9");
    }

    #[test]
    fn ignores_other_extensions() {
        assert_eq!(server_select("x-foo"), None);
        assert!(server_select("x-foo, permessage-deflate").is_some());
    }

    #[test]
    fn limits_the_client_window_only_when_offered() {
        let config = DeflateConfig {
            client_max_window_bits: 10,
            ..DeflateConfig::default()
        };
        let (response, params) = select(
            &config,
            &offers("permessage-deflate; client_max_window_bits"),
        )
        .unwrap();
        assert_eq!(response, "permessage-deflate; client_max_window_bits=10");
        assert_eq!(params.client_max_window_bits, 10);
        let (response, params) = select(&config, &offers("permessage-deflate")).unwrap();
        assert_eq!(response, "permessage-deflate");
        assert_eq!(params.client_max_window_bits, 15);
    }

    #[test]
    fn client_offer_lists_what_the_config_asks_for() {
        assert_eq!(
            DeflateConfig::default().client_offer(),
            "permessage-deflate; client_max_window_bits"
        );
        let config = DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 10,
            client_max_window_bits: 8,
            ..DeflateConfig::default()
        };
        assert_eq!(
            config.client_offer(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=9"
        );
    }

    #[test]
    fn client_offers_a_fallback_with_the_hint_when_asked() {
        let config = DeflateConfig {
            offer_no_context_takeover_fallback: true,
            ..DeflateConfig::default()
        };
        assert_eq!(
            config.client_offer(),
            "permessage-deflate; client_max_window_bits, \
             permessage-deflate; client_no_context_takeover; client_max_window_bits"
        );
        let list = offers(&config.client_offer());
        assert_eq!(list.len(), 2);
        // The first offer is the one a plain server takes.
        let (_, params) = select(&DeflateConfig::default(), &list).unwrap();
        assert!(!params.client_no_context_takeover);
        // Already without context takeover, there is nothing to fall back to.
        let config = DeflateConfig {
            client_no_context_takeover: true,
            ..config
        };
        assert_eq!(
            config.client_offer(),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits"
        );
    }

    #[test]
    fn client_with_a_fallback_offer_follows_the_response() {
        let config = DeflateConfig {
            offer_no_context_takeover_fallback: true,
            server_max_window_bits: 12,
            ..DeflateConfig::default()
        };
        // A server that took the hint says so; the client drops its context.
        let params =
            client_check(&config, "permessage-deflate; client_no_context_takeover").unwrap();
        assert!(params.client_no_context_takeover);
        // One that did not keeps the client's context as it is.
        let params =
            client_check(&config, "permessage-deflate; server_max_window_bits=12").unwrap();
        assert!(!params.client_no_context_takeover);
        assert_eq!(params.server_max_window_bits, 12);
        // A response valid for no offer still fails.
        assert_eq!(
            client_check(&config, "permessage-deflate; server_max_window_bits=13"),
            Err(HandshakeError::InvalidExtensionResponse(String::from(
                EXTENSION_NAME
            )))
        );
    }

    fn client_check(config: &DeflateConfig, value: &str) -> Result<DeflateParams, HandshakeError> {
        accept_response(config, &offers(value)[0])
    }

    #[test]
    fn client_accepts_valid_responses() {
        let config = DeflateConfig::default();
        let params = client_check(&config, "permessage-deflate").unwrap();
        assert_eq!(params.client_max_window_bits, 15);
        let params = client_check(
            &config,
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=8",
        )
        .unwrap();
        assert!(params.server_no_context_takeover);
        assert_eq!(params.client_max_window_bits, 8);
    }

    #[test]
    fn client_fails_invalid_responses() {
        let config = DeflateConfig {
            server_max_window_bits: 10,
            ..DeflateConfig::default()
        };
        for bad in [
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; server_max_window_bits=11",
            "permessage-deflate; server_max_window_bits=8x",
            "permessage-deflate; server_max_window_bits=10; foo",
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        ] {
            assert_eq!(
                client_check(&config, bad),
                Err(HandshakeError::InvalidExtensionResponse(String::from(
                    EXTENSION_NAME
                ))),
                "{bad}"
            );
        }
    }

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
