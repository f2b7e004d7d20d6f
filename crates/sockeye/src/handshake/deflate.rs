//! permessage-deflate in the opening handshake (RFC 7692 §7): a server's
//! choice among a client's offers, and a client's check of the server's
//! answer. What is agreed is a [`DeflateParams`].

use alloc::format;
use alloc::string::String;

use super::{Extension, HandshakeError};
use crate::config::Role;
use crate::deflate::{
    DeflateConfig, DeflateParams, EXTENSION_NAME, MAX_WINDOW_BITS, MIN_WINDOW_BITS,
};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::{DeflateConfig, DeflateParams};
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
}
