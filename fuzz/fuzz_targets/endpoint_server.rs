//! The server endpoint, from the first request byte through the open
//! connection, on arbitrary bytes cut into arbitrary pieces.
//!
//! Input: one byte choosing the limits and the answer, one byte seeding the
//! cuts, then the bytes the client sends. The endpoint answers the request
//! as a driver would (accept, or reject with 403, by a bit of the first
//! byte) and is told a time past the handshake deadline at the end.
//! Invariants:
//! * never a panic;
//! * the events form one story: at most one `Request`, then at most one of
//!   `Opened` and `Rejected`, connection events only after `Opened`,
//!   nothing after `Rejected`;
//! * the events and every byte the endpoint writes do not depend on the
//!   cuts;
//! * a refused handshake writes either nothing or one HTTP 4xx/5xx answer,
//!   and then the transport is to be closed;
//! * an opened endpoint's first bytes are a `101` response.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sockeye::handshake::Accept;
use sockeye::{Config, Endpoint, EndpointEvent};
use sockeye_fuzz::http::Cuts;

fn config(selector: u8) -> Config {
    let mut config = Config::default();
    if selector & 1 == 1 {
        // Small limits, so that the fuzzer reaches them.
        config.max_header_bytes = 64 + usize::from(selector >> 2) * 8;
        config.max_message_size = 256;
    }
    config
}

/// What one run produced: a summary of each event, and the bytes written.
fn run(
    config: &Config,
    reject: bool,
    data: &[u8],
    mut cuts: Option<Cuts>,
) -> (Vec<String>, Vec<u8>) {
    let now = Duration::ZERO;
    let mut server = Endpoint::server(config.clone(), now);
    let (mut events, mut written) = (Vec::new(), Vec::new());
    let mut at = 0;
    let mut drain = |server: &mut Endpoint, events: &mut Vec<String>| {
        while let Some(event) = server.poll_event() {
            events.push(match &event {
                EndpointEvent::Request => String::from("request"),
                EndpointEvent::Opened(opened) => format!("opened {:?}", opened.protocol),
                EndpointEvent::Rejected(error) => format!("rejected {error:?}"),
                EndpointEvent::Connection(event) => format!("{event:?}"),
            });
            if event == EndpointEvent::Request {
                let answered = if reject {
                    server.reject(403, &[], b"no")
                } else {
                    server.accept(Accept::new(now))
                };
                assert!(answered.is_ok() || !server.request().unwrap().is_websocket());
                if answered.is_err() {
                    server.decline().expect("a waiting request can be declined");
                }
            }
        }
        while let Some(bytes) = server.poll_transmit() {
            written.extend_from_slice(&bytes);
        }
    };
    loop {
        let len = cuts.as_mut().map_or(data.len(), |c| c.next(512));
        let end = (at + len).min(data.len());
        server.receive(now, &data[at..end]);
        at = end;
        drain(&mut server, &mut events);
        if at == data.len() {
            break;
        }
    }
    server.handle_timeout(Duration::from_secs(3600));
    drain(&mut server, &mut events);
    check_story(&events, &written, server.should_close_transport());
    (events, written)
}

fn check_story(events: &[String], written: &[u8], close: bool) {
    let requests = events.iter().filter(|e| *e == "request").count();
    assert!(requests <= 1, "{events:?}");
    let opened = events.iter().position(|e| e.starts_with("opened"));
    let rejected = events.iter().position(|e| e.starts_with("rejected"));
    assert!(opened.is_none() || rejected.is_none(), "{events:?}");
    if let Some(at) = rejected {
        assert_eq!(at, events.len() - 1, "events after a rejection: {events:?}");
    }
    let first_data = events
        .iter()
        .position(|e| e != "request" && !e.starts_with("opened") && !e.starts_with("rejected"));
    if let Some(first) = first_data {
        assert!(opened.is_some_and(|o| o < first), "{events:?}");
        return;
    }
    if opened.is_some() {
        assert!(
            written.starts_with(b"HTTP/1.1 101 "),
            "{:?}",
            String::from_utf8_lossy(written)
        );
    } else if rejected.is_some() || (requests == 1 && opened.is_none()) {
        if !written.is_empty() {
            let text = String::from_utf8_lossy(written);
            let status: u16 = text
                .strip_prefix("HTTP/1.1 ")
                .and_then(|rest| rest.get(..3))
                .and_then(|code| code.parse().ok())
                .unwrap_or_else(|| panic!("bad answer {text:?}"));
            assert!((400..600).contains(&status), "answered {status}");
        }
        assert!(close, "a refused handshake closes the transport");
    }
}

fuzz_target!(|input: &[u8]| {
    let [selector, seed, data @ ..] = input else {
        return;
    };
    let config = config(*selector);
    let reject = selector & 2 == 2;
    let whole = run(&config, reject, data, None);
    let pieces = run(&config, reject, data, Some(Cuts::new(*seed)));
    assert_eq!(whole, pieces, "the outcome depends on the cuts");
});
