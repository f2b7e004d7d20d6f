//! The server handshake parser on arbitrary bytes, cut into arbitrary pieces.
//!
//! Input: one byte choosing the limits, one byte seeding the cuts, then the
//! bytes the client sends. Invariants:
//! * never a panic; while waiting, `buffered()` never exceeds
//!   `max_header_bytes` plus the piece just fed, and a finished handshake
//!   buffers nothing;
//! * the outcome does not depend on the cuts (same request, or the same
//!   error), except that bytes after the header block go to `trailing`;
//! * an accepted request satisfies every rule of RFC 6455 §4.2.1, checked
//!   again from the raw bytes by `sockeye_fuzz::http`: method GET,
//!   HTTP/1.1, one non-empty Host, Upgrade listing `websocket`, Connection
//!   listing `upgrade`, one Sec-WebSocket-Key that decodes to 16 bytes,
//!   Sec-WebSocket-Version 13; and it can be accepted with a 101;
//! * a refusal comes with an HTTP error response (4xx/5xx).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sockeye::Config;
use sockeye::handshake::{Accept, HandshakeError, Request, ServerHandshake};
use sockeye_fuzz::http::{Cuts, Head, base64_decode};

fn config(selector: u8) -> Config {
    let mut config = Config::default();
    if selector & 1 == 1 {
        // Small limits, so that the fuzzer reaches them.
        config.max_header_bytes = 64 + usize::from(selector >> 1) * 8;
        config.max_headers = usize::from(selector >> 4);
    }
    config
}

type Outcome = Result<Option<Request>, HandshakeError>;

/// Feed `data` in pieces; returns the outcome and the bytes fed after it.
fn feed(config: &Config, data: &[u8], cuts: &mut Option<Cuts>) -> (Outcome, Vec<u8>) {
    let mut server = ServerHandshake::new(config.clone(), Duration::ZERO);
    let mut at = 0;
    loop {
        let len = cuts.as_mut().map_or(data.len(), |c| c.next(512));
        let end = (at + len).min(data.len());
        let piece = &data[at..end];
        at = end;
        let outcome = server.receive(piece);
        match &outcome {
            Ok(None) => {
                let bound = config.max_header_bytes + piece.len();
                assert!(
                    server.buffered() <= bound,
                    "buffered {} > {bound}",
                    server.buffered()
                );
                if at == data.len() {
                    return (outcome, Vec::new());
                }
            }
            _ => {
                assert_eq!(server.buffered(), 0, "finished handshake still buffers");
                assert!(matches!(
                    server.receive(b"x"),
                    Err(HandshakeError::Finished)
                ));
                return (outcome, data[at..].to_vec());
            }
        }
    }
}

fn check_accepted(data: &[u8], request: &Request) {
    let head = Head::parse(data).expect("accepted request has a header block");
    let mut start = head.start_line.split(' ');
    let (method, target, version) = (start.next(), start.next(), start.next());
    assert_eq!(method, Some("GET"), "{:?}", head.start_line);
    assert_eq!(version, Some("HTTP/1.1"), "{:?}", head.start_line);
    assert_eq!(request.method(), "GET");
    assert_eq!(Some(request.target()), target);
    let hosts = head.values("Host");
    assert!(
        hosts.len() == 1 && !hosts[0].is_empty(),
        "Host fields {hosts:?}"
    );
    assert!(
        head.has_token("Upgrade", "websocket"),
        "no Upgrade: websocket"
    );
    assert!(
        head.has_token("Connection", "upgrade"),
        "no Connection: upgrade"
    );
    let keys = head.values("Sec-WebSocket-Key");
    assert_eq!(keys.len(), 1, "Sec-WebSocket-Key fields {keys:?}");
    let nonce = base64_decode(keys[0]).expect("key is base64");
    assert_eq!(nonce.len(), 16, "key decodes to {} bytes", nonce.len());
    assert_eq!(request.key(), Some(keys[0]));
    // One version, 13. The field is read as a list (RFC 9110 §5.6.1: empty
    // elements are ignored), so `,13` counts as the single version 13.
    let versions: Vec<&str> = head
        .values("Sec-WebSocket-Version")
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(|v| v.trim_matches([' ', '\t']))
        .filter(|v| !v.is_empty())
        .collect();
    assert_eq!(versions, ["13"], "Sec-WebSocket-Version");
    assert!(request.is_websocket());
    let (response, _connection) = request
        .accept(Accept::new(Duration::ZERO))
        .expect("an accepted request can be answered");
    assert!(
        response.starts_with(b"HTTP/1.1 101 "),
        "{:?}",
        String::from_utf8_lossy(&response)
    );
}

fn check_refused(error: &HandshakeError) {
    match error {
        HandshakeError::Finished | HandshakeError::Timeout => panic!("unexpected {error:?}"),
        _ => {
            if let Some(response) = error.response() {
                let text = String::from_utf8_lossy(&response);
                let status: u16 = text
                    .strip_prefix("HTTP/1.1 ")
                    .and_then(|rest| rest.get(..3))
                    .and_then(|code| code.parse().ok())
                    .unwrap_or_else(|| panic!("bad response {text:?}"));
                assert!(
                    (400..600).contains(&status),
                    "{error:?} answered with {status}"
                );
            }
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let [selector, seed, data @ ..] = input else {
        return;
    };
    let config = config(*selector);
    let (whole, _) = feed(&config, data, &mut None);
    let (pieces, after) = feed(&config, data, &mut Some(Cuts::new(*seed)));
    match (&whole, &pieces) {
        (Ok(None), Ok(None)) => {}
        (Ok(Some(a)), Ok(Some(b))) => {
            check_accepted(data, a);
            assert_eq!((a.method(), a.target()), (b.method(), b.target()));
            let mut rest = b.trailing().to_vec();
            rest.extend_from_slice(&after);
            assert_eq!(a.trailing(), &rest[..], "trailing bytes depend on the cuts");
            let head = Head::parse(data).expect("header block");
            assert_eq!(a.trailing(), &head.trailing[..], "trailing bytes");
        }
        (Err(HandshakeError::NotWebSocket(_)), Err(HandshakeError::NotWebSocket(_))) => {
            check_refused(whole.as_ref().unwrap_err());
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "the error depends on the cuts");
            check_refused(a);
        }
        (a, b) => panic!("whole input gave {a:?}, pieces gave {b:?}"),
    }
});
