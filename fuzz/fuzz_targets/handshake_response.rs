//! The client handshake parser on arbitrary server responses, cut into
//! arbitrary pieces.
//!
//! Input: one byte choosing the limits, one byte seeding the cuts, then the
//! bytes the server sends; the text `{ACCEPT}` in them is replaced by the
//! `Sec-WebSocket-Accept` this handshake expects, so that the fuzzer can
//! reach past the accept check. Invariants:
//! * never a panic; while waiting, the bytes the handshake holds (measured
//!   by a counting allocator) stay within the header and rejection-body
//!   limits plus the piece just fed;
//! * the outcome does not depend on the cuts, except for `trailing`;
//! * an accepted response is `101` with `Upgrade: websocket`,
//!   `Connection: upgrade`, exactly one `Sec-WebSocket-Accept` equal to
//!   base64(SHA-1(key + GUID)) (RFC 6455 §4.1; the function is pinned to the
//!   RFC's §1.3 example), a subprotocol and extensions only from those
//!   offered;
//! * a rejection keeps at most `max_rejection_body` bytes of body.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sockeye::Config;
use sockeye::handshake::{ClientHandshake, ClientRequest, Established, HandshakeError, accept_key};
use sockeye::testing::SeededEntropy;
use sockeye_fuzz::http::{Cuts, Head};

/// Counts live heap bytes, to bound what the parser holds.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to `System`, only counting sizes on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const OFFERED_PROTOCOLS: [&str; 2] = ["chat", "superchat"];
const OFFERED_EXTENSION: &str = "permessage-deflate";

fn config(selector: u8) -> Config {
    let mut config = Config::default();
    if selector & 1 == 1 {
        config.max_header_bytes = 64 + usize::from(selector >> 1) * 8;
        config.max_headers = usize::from(selector >> 4);
        config.max_rejection_body = usize::from(selector >> 2);
    }
    config
}

fn handshake(config: &Config) -> ClientHandshake {
    let mut request = ClientRequest::new("server.example.com", "/chat").expect("request");
    for protocol in OFFERED_PROTOCOLS {
        request = request.protocol(protocol).expect("protocol");
    }
    request = request.extension(OFFERED_EXTENSION).expect("extension");
    ClientHandshake::with_entropy(
        request,
        config.clone(),
        Duration::ZERO,
        Box::new(SeededEntropy::new(7)),
    )
}

/// The key the request carries, read back from its bytes.
fn request_key(client: &ClientHandshake) -> String {
    let head = Head::parse(client.request_bytes()).expect("request head");
    head.values("Sec-WebSocket-Key")[0].to_string()
}

type Outcome = Result<Option<Established>, HandshakeError>;

fn feed(config: &Config, data: &[u8], cuts: &mut Option<Cuts>) -> (Outcome, Vec<u8>) {
    let mut client = handshake(config);
    let baseline = LIVE.load(Ordering::Relaxed);
    let mut at = 0;
    loop {
        let len = cuts.as_mut().map_or(data.len(), |c| c.next(512));
        let end = (at + len).min(data.len());
        let piece = &data[at..end];
        at = end;
        let outcome = client.receive(piece);
        if let Ok(None) = outcome {
            // Vec growth may double a buffer; the rest is small bookkeeping.
            let held = LIVE.load(Ordering::Relaxed).saturating_sub(baseline);
            let bound = 2 * (config.max_header_bytes + piece.len() + config.max_rejection_body)
                + 64 * config.max_headers
                + 4096;
            assert!(held <= bound, "handshake holds {held} bytes > {bound}");
            if at == data.len() {
                let eof = client.receive_eof();
                return (Err(eof), Vec::new());
            }
        } else {
            assert!(matches!(
                client.receive(b"x"),
                Err(HandshakeError::Finished)
            ));
            return (outcome, data[at..].to_vec());
        }
    }
}

fn check_established(data: &[u8], established: &Established, expected_accept: &str) {
    let head = Head::parse(data).expect("accepted response has a header block");
    let mut start = head.start_line.split(' ');
    assert!(
        matches!(start.next(), Some("HTTP/1.1" | "HTTP/1.0")),
        "{:?}",
        head.start_line
    );
    assert_eq!(start.next(), Some("101"), "{:?}", head.start_line);
    assert!(
        head.has_token("Upgrade", "websocket"),
        "no Upgrade: websocket"
    );
    assert!(
        head.has_token("Connection", "upgrade"),
        "no Connection: upgrade"
    );
    assert_eq!(head.values("Sec-WebSocket-Accept"), [expected_accept]);
    if let Some(protocol) = established.protocol() {
        assert!(
            OFFERED_PROTOCOLS.contains(&protocol),
            "server picked {protocol:?}"
        );
        assert_eq!(head.values("Sec-WebSocket-Protocol"), [protocol]);
    } else {
        assert!(
            head.values("Sec-WebSocket-Protocol")
                .iter()
                .all(|v| v.is_empty())
        );
    }
    for extension in established.extensions() {
        // Extension names are tokens, compared without regard to case.
        assert!(
            extension.name().eq_ignore_ascii_case(OFFERED_EXTENSION),
            "{:?}",
            extension.name()
        );
    }
    assert_eq!(established.trailing(), &head.trailing[..]);
}

fuzz_target!(|input: &[u8]| {
    let [selector, seed, data @ ..] = input else {
        return;
    };
    let config = config(*selector);
    // Pin the accept function to RFC 6455 §1.3 before trusting it.
    assert_eq!(
        accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    let expected_accept = accept_key(request_key(&handshake(&config)).as_bytes());
    let mut data = data.to_vec();
    while let Some(at) = data.windows(8).position(|w| w == b"{ACCEPT}") {
        data.splice(at..at + 8, expected_accept.bytes());
        if data.len() > 1 << 16 {
            return;
        }
    }
    let (whole, _) = feed(&config, &data, &mut None);
    let (pieces, after) = feed(&config, &data, &mut Some(Cuts::new(*seed)));
    match (&whole, &pieces) {
        (Ok(Some(a)), Ok(Some(b))) => {
            check_established(&data, a, &expected_accept);
            assert_eq!(a.protocol(), b.protocol());
            let mut rest = b.trailing().to_vec();
            rest.extend_from_slice(&after);
            assert_eq!(a.trailing(), &rest[..], "trailing bytes depend on the cuts");
        }
        (
            Err(HandshakeError::Rejected {
                body: a,
                status: sa,
                ..
            }),
            Err(HandshakeError::Rejected {
                body: b,
                status: sb,
                ..
            }),
        ) => {
            assert_eq!(sa, sb);
            assert!(
                a.len() <= config.max_rejection_body,
                "kept {} body bytes",
                a.len()
            );
            assert_eq!(a, b, "rejection body depends on the cuts");
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "the error depends on the cuts"),
        (a, b) => panic!("whole input gave {a:?}, pieces gave {b:?}"),
    }
});
