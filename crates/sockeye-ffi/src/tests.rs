//! The ABI called the way C calls it: through the `extern "C"` functions,
//! with raw pointers, null ones included.

use core::ffi::c_char;
use core::ptr::{null, null_mut};

use crate::config::*;
use crate::conn::*;
use crate::event::*;
use crate::sockeye_status_describe;
use crate::status::*;

/// A handle freed on drop.
struct Handle(*mut sockeye_conn);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from a constructor and is freed once.
        assert_eq!(unsafe { sockeye_conn_free(self.0) }, sockeye_status::Ok);
    }
}

/// An event copied out of the handle.
#[derive(Debug, PartialEq)]
struct Owned {
    kind: sockeye_event_kind,
    data: Vec<u8>,
    close_code: u16,
    error: sockeye_error,
}

fn upgraded(role: sockeye_role, config: *const sockeye_config) -> Handle {
    let mut conn = null_mut();
    // SAFETY: `conn` is a valid place for one pointer; `config` is null or live.
    let status = unsafe { sockeye_conn_new_upgraded(role as u32, config, 0, &mut conn) };
    assert_eq!(status, sockeye_status::Ok);
    Handle(conn)
}

/// Move every queued byte from `from` to `to`, in chunks.
fn pump(from: &Handle, to: &Handle) -> usize {
    let mut moved = 0;
    loop {
        let (mut data, mut len) = (null(), 0usize);
        // SAFETY: live handle, valid out pointers.
        let status = unsafe { sockeye_conn_transmit(from.0, &mut data, &mut len) };
        assert_eq!(status, sockeye_status::Ok);
        if len == 0 {
            return moved;
        }
        // SAFETY: `data` is valid for `len` bytes until the next mutating call on `from`.
        let status = unsafe { sockeye_conn_receive(to.0, data, len) };
        assert_eq!(status, sockeye_status::Ok);
        // SAFETY: live handle.
        let status = unsafe { sockeye_conn_consume(from.0, len) };
        assert_eq!(status, sockeye_status::Ok);
        moved += len;
    }
}

fn events(handle: &Handle) -> Vec<Owned> {
    let mut out = Vec::new();
    loop {
        let mut event = core::mem::MaybeUninit::<sockeye_event>::uninit();
        // SAFETY: live handle; `event` is writable.
        match unsafe { sockeye_conn_poll_event(handle.0, event.as_mut_ptr()) } {
            sockeye_status::NoEvent => return out,
            sockeye_status::Ok => {}
            other => panic!("poll_event: {other:?}"),
        }
        // SAFETY: `Ok` means the event was written.
        let event = unsafe { event.assume_init() };
        assert!(!event.data.is_null());
        // SAFETY: `data` is valid for `len` bytes until the next poll.
        let data = unsafe { core::slice::from_raw_parts(event.data, event.len) }.to_vec();
        out.push(Owned {
            kind: event.kind,
            data,
            close_code: event.close_code,
            error: event.error,
        });
    }
}

fn state(handle: &Handle) -> sockeye_state {
    let mut state = sockeye_state::Connecting;
    // SAFETY: live handle, valid out pointer.
    let status = unsafe { sockeye_conn_state(handle.0, &mut state) };
    assert_eq!(status, sockeye_status::Ok);
    state
}

fn event(kind: sockeye_event_kind, data: &[u8]) -> Owned {
    Owned {
        kind,
        data: data.to_vec(),
        close_code: 0,
        error: sockeye_error::None,
    }
}

#[test]
fn upgraded_pair_exchanges_text_binary_ping_and_close() {
    let client = upgraded(sockeye_role::Client, null());
    let server = upgraded(sockeye_role::Server, null());
    assert_eq!(state(&client), sockeye_state::Open);

    let text = "héllo";
    // SAFETY: live handles; each pointer is valid for its length.
    unsafe {
        assert_eq!(
            sockeye_conn_send_text(client.0, text.as_ptr().cast(), text.len()),
            sockeye_status::Ok
        );
        assert_eq!(
            sockeye_conn_send_binary(client.0, [0u8, 1, 2].as_ptr(), 3),
            sockeye_status::Ok
        );
        assert_eq!(
            sockeye_conn_ping(client.0, b"p".as_ptr(), 1),
            sockeye_status::Ok
        );
        assert_eq!(
            sockeye_conn_send_binary(client.0, null(), 0),
            sockeye_status::Ok
        );
    }
    pump(&client, &server);
    assert_eq!(
        events(&server),
        [
            event(sockeye_event_kind::Text, text.as_bytes()),
            event(sockeye_event_kind::Binary, &[0, 1, 2]),
            event(sockeye_event_kind::Ping, b"p"),
            event(sockeye_event_kind::Binary, b""),
        ]
    );
    // The automatic pong.
    pump(&server, &client);
    assert_eq!(events(&client), [event(sockeye_event_kind::Pong, b"p")]);

    let reason = "done";
    // SAFETY: live handle; `reason` is valid for its length.
    let status =
        unsafe { sockeye_conn_close(server.0, 5, 4001, reason.as_ptr().cast(), reason.len()) };
    assert_eq!(status, sockeye_status::Ok);
    assert_eq!(state(&server), sockeye_state::Closing);
    pump(&server, &client);
    let close = Owned {
        close_code: 4001,
        ..event(sockeye_event_kind::Close, b"done")
    };
    assert_eq!(events(&client), [close]);
    assert_eq!(state(&client), sockeye_state::Closed);
    pump(&client, &server);
    let echoed = Owned {
        close_code: 4001,
        ..event(sockeye_event_kind::Close, b"done")
    };
    assert_eq!(events(&server), [echoed]);
    assert_eq!(state(&server), sockeye_state::Closed);
}

#[test]
fn protocol_violation_reports_error_event_with_close_code() {
    let server = upgraded(sockeye_role::Server, null());
    // An unmasked text frame from a client breaks RFC 6455 §5.1.
    // SAFETY: live handle; the array is valid for its length.
    unsafe {
        assert_eq!(
            sockeye_conn_receive(server.0, [0x81, 0x00].as_ptr(), 2),
            sockeye_status::Ok
        )
    };
    let got = events(&server);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].kind, sockeye_event_kind::Error);
    assert_eq!(got[0].error, sockeye_error::UnmaskedFrame);
    assert_eq!(got[0].close_code, 1002);
    assert!(!got[0].data.is_empty());
    assert_eq!(state(&server), sockeye_state::Closed);
    let mut queued = 0;
    // SAFETY: live handle, valid out pointer.
    unsafe {
        assert_eq!(
            sockeye_conn_buffered_amount(server.0, &mut queued),
            sockeye_status::Ok
        )
    };
    assert!(queued > 0, "the close frame is queued");
}

#[test]
fn eof_before_closing_handshake_reports_1006() {
    let server = upgraded(sockeye_role::Server, null());
    // SAFETY: live handle.
    unsafe { assert_eq!(sockeye_conn_receive_eof(server.0), sockeye_status::Ok) };
    let got = events(&server);
    assert_eq!(
        (got[0].kind, got[0].error, got[0].close_code),
        (
            sockeye_event_kind::Error,
            sockeye_error::UnexpectedEof,
            1006
        )
    );
}

#[test]
fn every_function_rejects_a_null_handle() {
    let (mut ptr, mut len, mut deadline, mut flag) = (null(), 0usize, 0u64, false);
    let mut state = sockeye_state::Open;
    let mut event = core::mem::MaybeUninit::<sockeye_event>::uninit();
    let null_conn = null_mut::<sockeye_conn>();
    // SAFETY: null handles are allowed arguments; out pointers are valid.
    unsafe {
        let statuses = [
            sockeye_conn_receive(null_conn, null(), 0),
            sockeye_conn_receive_eof(null_conn),
            sockeye_conn_handle_timeout(null_conn, 0),
            sockeye_conn_next_timeout_ms(null_conn, &mut deadline),
            sockeye_conn_poll_event(null_conn, event.as_mut_ptr()),
            sockeye_conn_transmit(null_conn, &mut ptr, &mut len),
            sockeye_conn_transmit_chunks(null_conn, null_mut(), 0, &mut len),
            sockeye_conn_consume(null_conn, 0),
            sockeye_conn_send_text(null_conn, null(), 0),
            sockeye_conn_send_binary(null_conn, null(), 0),
            sockeye_conn_send_fragment(null_conn, true, null(), 0, true),
            sockeye_conn_ping(null_conn, null(), 0),
            sockeye_conn_pong(null_conn, null(), 0),
            sockeye_conn_close(null_conn, 0, 1000, null(), 0),
            sockeye_conn_state(null_conn, &mut state),
            sockeye_conn_buffered_amount(null_conn, &mut len),
            sockeye_conn_is_write_blocked(null_conn, &mut flag),
        ];
        for (index, status) in statuses.into_iter().enumerate() {
            assert_eq!(status, sockeye_status::ErrNull, "function {index}");
        }
        assert_eq!(sockeye_conn_free(null_conn), sockeye_status::Ok);
    }
}

#[test]
fn rejects_null_out_pointers_and_null_data_with_length() {
    let conn = upgraded(sockeye_role::Server, null());
    let mut len = 0usize;
    // SAFETY: live handle; null out pointers are allowed arguments.
    unsafe {
        assert_eq!(
            sockeye_conn_poll_event(conn.0, null_mut()),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_transmit(conn.0, null_mut(), &mut len),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_state(conn.0, null_mut()),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_buffered_amount(conn.0, null_mut()),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_next_timeout_ms(conn.0, null_mut()),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_receive(conn.0, null(), 5),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_send_text(conn.0, null(), 5),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_transmit_chunks(conn.0, null_mut(), 4, &mut len),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_receive(conn.0, [0u8].as_ptr(), usize::MAX),
            sockeye_status::ErrInvalidArgument
        );
        assert_eq!(
            sockeye_conn_new_upgraded(2, null(), 0, null_mut()),
            sockeye_status::ErrNull
        );
    }
}

#[test]
fn rejects_invalid_arguments_without_changing_anything() {
    let conn = upgraded(sockeye_role::Server, null());
    let bad_utf8: &[u8] = b"\xff";
    let long = [b'x'; 126];
    let mut out = null_mut();
    // SAFETY: live handle; every pointer is valid for its length.
    unsafe {
        assert_eq!(
            sockeye_conn_new_upgraded(7, null(), 0, &mut out),
            sockeye_status::ErrInvalidArgument
        );
        assert!(out.is_null());
        let bad: *const c_char = bad_utf8.as_ptr().cast();
        assert_eq!(
            sockeye_conn_send_text(conn.0, bad, 1),
            sockeye_status::ErrInvalidUtf8
        );
        assert_eq!(
            sockeye_conn_close(conn.0, 0, 1000, bad, 1),
            sockeye_status::ErrInvalidUtf8
        );
        assert_eq!(
            sockeye_conn_close(conn.0, 0, 1005, null(), 0),
            sockeye_status::ErrInvalidCloseCode
        );
        assert_eq!(
            sockeye_conn_close(conn.0, 0, 999, null(), 0),
            sockeye_status::ErrInvalidCloseCode
        );
        assert_eq!(
            sockeye_conn_close(conn.0, 0, 1000, long.as_ptr().cast(), 124),
            sockeye_status::ErrTooLong
        );
        assert_eq!(
            sockeye_conn_ping(conn.0, long.as_ptr(), 126),
            sockeye_status::ErrTooLong
        );
        assert_eq!(
            sockeye_conn_pong(conn.0, long.as_ptr(), 126),
            sockeye_status::ErrTooLong
        );
        assert_eq!(
            sockeye_conn_consume(conn.0, 1),
            sockeye_status::ErrOutOfRange
        );
        assert_eq!(
            sockeye_conn_send_fragment(conn.0, true, b"a".as_ptr(), 1, false),
            sockeye_status::Ok
        );
        assert_eq!(
            sockeye_conn_send_fragment(conn.0, false, b"b".as_ptr(), 1, true),
            sockeye_status::ErrFragmentOrder
        );
        assert_eq!(
            sockeye_conn_send_binary(conn.0, b"b".as_ptr(), 1),
            sockeye_status::ErrFragmentOrder
        );
        assert_eq!(
            sockeye_conn_send_fragment(conn.0, true, b"c".as_ptr(), 1, true),
            sockeye_status::Ok
        );
        assert_eq!(state(&conn), sockeye_state::Open);
        assert_eq!(
            sockeye_conn_close(conn.0, 0, 1000, null(), 0),
            sockeye_status::Ok
        );
        assert_eq!(
            sockeye_conn_close(conn.0, 0, 1000, null(), 0),
            sockeye_status::ErrClosed
        );
        assert_eq!(
            sockeye_conn_send_text(conn.0, b"x".as_ptr().cast(), 1),
            sockeye_status::ErrClosed
        );
    }
}

#[test]
fn transmit_chunks_and_partial_consume_hand_out_every_byte_once() {
    let server = upgraded(sockeye_role::Server, null());
    let big = vec![7u8; 5000];
    // SAFETY: live handle; pointers valid for their lengths.
    unsafe {
        assert_eq!(
            sockeye_conn_send_binary(server.0, b"ab".as_ptr(), 2),
            sockeye_status::Ok
        );
        assert_eq!(
            sockeye_conn_send_binary(server.0, big.as_ptr(), big.len()),
            sockeye_status::Ok
        );
    }
    let mut total = 0usize;
    // SAFETY: live handle, valid out pointer.
    unsafe {
        assert_eq!(
            sockeye_conn_buffered_amount(server.0, &mut total),
            sockeye_status::Ok
        )
    };
    assert_eq!(total, 4 + 4 + 5000);
    let mut slices = [sockeye_slice {
        data: null(),
        len: 0,
    }; 8];
    let mut filled = 0;
    // SAFETY: live handle; `slices` is writable for 8 entries.
    unsafe {
        assert_eq!(
            sockeye_conn_transmit_chunks(server.0, slices.as_mut_ptr(), 8, &mut filled),
            sockeye_status::Ok
        )
    };
    assert!(filled >= 1);
    let mut wire = Vec::new();
    for slice in &slices[..filled] {
        // SAFETY: each filled slice is valid until the next mutating call.
        wire.extend_from_slice(unsafe { core::slice::from_raw_parts(slice.data, slice.len) });
    }
    assert_eq!(wire.len(), total);
    assert_eq!(&wire[..4], b"\x82\x02ab");
    // SAFETY: live handle.
    unsafe {
        assert_eq!(sockeye_conn_consume(server.0, 3), sockeye_status::Ok);
        assert_eq!(
            sockeye_conn_consume(server.0, total),
            sockeye_status::ErrOutOfRange
        );
        assert_eq!(
            sockeye_conn_consume(server.0, total - 3),
            sockeye_status::Ok
        );
        assert_eq!(
            sockeye_conn_buffered_amount(server.0, &mut total),
            sockeye_status::Ok
        );
    }
    assert_eq!(total, 0);
}

#[test]
fn next_timeout_follows_the_close_timer_and_fires() {
    let server = upgraded(sockeye_role::Server, null());
    let mut deadline = 0;
    // SAFETY: live handle, valid pointers.
    unsafe {
        assert_eq!(
            sockeye_conn_next_timeout_ms(server.0, &mut deadline),
            sockeye_status::Ok
        );
        assert_eq!(deadline, SOCKEYE_NO_TIMEOUT);
        assert_eq!(
            sockeye_conn_close(server.0, 1000, 1000, null(), 0),
            sockeye_status::Ok
        );
        assert_eq!(
            sockeye_conn_next_timeout_ms(server.0, &mut deadline),
            sockeye_status::Ok
        );
        assert_eq!(deadline, 6000, "the default close timeout is 5 s");
        assert_eq!(
            sockeye_conn_handle_timeout(server.0, 5999),
            sockeye_status::Ok
        );
    }
    assert!(events(&server).is_empty());
    // SAFETY: live handle.
    unsafe {
        assert_eq!(
            sockeye_conn_handle_timeout(server.0, deadline),
            sockeye_status::Ok
        )
    };
    let got = events(&server);
    assert_eq!(
        (got[0].kind, got[0].error, got[0].close_code),
        (sockeye_event_kind::Error, sockeye_error::CloseTimeout, 1006)
    );
}

#[test]
fn configuration_limits_apply_to_the_handle() {
    let mut config = null_mut();
    // SAFETY: valid out pointer; `config` is live until freed below.
    unsafe {
        assert_eq!(sockeye_config_new(&mut config), sockeye_status::Ok);
        assert_eq!(
            sockeye_config_set(config, sockeye_option::MaxMessageSize as u32, 4),
            sockeye_status::Ok
        );
    }
    let server = upgraded(sockeye_role::Server, config);
    // SAFETY: the handle copied the configuration.
    unsafe { assert_eq!(sockeye_config_free(config), sockeye_status::Ok) };
    let client = upgraded(sockeye_role::Client, null());
    // SAFETY: live handle; pointer valid for its length.
    unsafe {
        assert_eq!(
            sockeye_conn_send_binary(client.0, b"12345".as_ptr(), 5),
            sockeye_status::Ok
        )
    };
    pump(&client, &server);
    let got = events(&server);
    assert_eq!(
        (got[0].error, got[0].close_code),
        (sockeye_error::MessageTooLarge, 1009)
    );
}

#[test]
fn streaming_mode_reports_fragments() {
    let mut config = null_mut();
    // SAFETY: valid out pointer; `config` is live until freed below.
    unsafe {
        assert_eq!(sockeye_config_new(&mut config), sockeye_status::Ok);
        assert_eq!(
            sockeye_config_set(config, sockeye_option::Streaming as u32, 1),
            sockeye_status::Ok
        );
    }
    let server = upgraded(sockeye_role::Server, config);
    // SAFETY: the handle copied the configuration.
    unsafe { assert_eq!(sockeye_config_free(config), sockeye_status::Ok) };
    let client = upgraded(sockeye_role::Client, null());
    // SAFETY: live handle; pointers valid for their lengths.
    unsafe {
        assert_eq!(
            sockeye_conn_send_fragment(client.0, true, b"ab".as_ptr(), 2, false),
            sockeye_status::Ok
        );
        assert_eq!(
            sockeye_conn_send_fragment(client.0, true, b"cd".as_ptr(), 2, true),
            sockeye_status::Ok
        );
    }
    pump(&client, &server);
    let mut pieces = Vec::new();
    loop {
        let mut event = core::mem::MaybeUninit::<sockeye_event>::uninit();
        // SAFETY: live handle; `event` is writable.
        if unsafe { sockeye_conn_poll_event(server.0, event.as_mut_ptr()) } != sockeye_status::Ok {
            break;
        }
        // SAFETY: `Ok` means the event was written.
        let event = unsafe { event.assume_init() };
        assert_eq!(event.kind, sockeye_event_kind::Fragment);
        // SAFETY: valid until the next poll.
        let data = unsafe { core::slice::from_raw_parts(event.data, event.len) }.to_vec();
        pieces.push((data, event.is_text, event.is_first, event.is_last));
    }
    assert_eq!(
        pieces,
        [
            (b"ab".to_vec(), true, true, false),
            (b"cd".to_vec(), true, false, true)
        ]
    );
}

#[test]
fn status_descriptions_are_static_strings() {
    let mut text = null();
    // SAFETY: valid out pointers; null is an allowed argument.
    unsafe {
        assert_eq!(
            sockeye_status_describe(sockeye_status::ErrClosed as i32, &mut text),
            sockeye_status::Ok
        );
        assert!(
            core::ffi::CStr::from_ptr(text)
                .to_str()
                .unwrap()
                .contains("clos")
        );
        assert_eq!(
            sockeye_status_describe(12345, &mut text),
            sockeye_status::ErrInvalidArgument
        );
        assert_eq!(
            sockeye_status_describe(0, null_mut()),
            sockeye_status::ErrNull
        );
    }
}

fn server_with(protocols: &[&core::ffi::CStr]) -> Handle {
    let pointers: Vec<*const c_char> = protocols.iter().map(|p| p.as_ptr()).collect();
    let mut conn = null_mut();
    // SAFETY: `pointers` holds NUL-terminated strings; `conn` is writable.
    let status =
        unsafe { sockeye_conn_new_server(null(), pointers.as_ptr(), pointers.len(), 0, &mut conn) };
    assert_eq!(status, sockeye_status::Ok);
    Handle(conn)
}

fn client_with(protocols: &[&core::ffi::CStr], headers: &[sockeye_header]) -> Handle {
    let pointers: Vec<*const c_char> = protocols.iter().map(|p| p.as_ptr()).collect();
    let mut conn = null_mut();
    // SAFETY: every pointer is a NUL-terminated string or an array of the given length.
    let status = unsafe {
        sockeye_conn_new_client(
            null(),
            c"example.com:80".as_ptr(),
            c"/chat".as_ptr(),
            pointers.as_ptr(),
            pointers.len(),
            headers.as_ptr(),
            headers.len(),
            0,
            &mut conn,
        )
    };
    assert_eq!(status, sockeye_status::Ok);
    Handle(conn)
}

#[test]
fn client_and_server_handshake_then_open_with_the_clients_preferred_protocol() {
    let origin = sockeye_header {
        name: c"Origin".as_ptr(),
        value: c"http://example.com".as_ptr(),
    };
    let client = client_with(&[c"b", c"a"], &[origin]);
    let server = server_with(&[c"a", c"b"]);
    assert_eq!(state(&client), sockeye_state::Connecting);
    // SAFETY: live handle; pointer valid for its length.
    let early = unsafe { sockeye_conn_send_text(client.0, c"x".as_ptr(), 1) };
    assert_eq!(early, sockeye_status::ErrNotOpen);
    pump(&client, &server);
    assert_eq!(events(&server), [event(sockeye_event_kind::Open, b"b")]);
    assert_eq!(state(&server), sockeye_state::Open);
    pump(&server, &client);
    assert_eq!(events(&client), [event(sockeye_event_kind::Open, b"b")]);
    // SAFETY: live handle; pointer valid for its length.
    let status = unsafe { sockeye_conn_send_text(client.0, c"hi".as_ptr(), 2) };
    assert_eq!(status, sockeye_status::Ok);
    pump(&client, &server);
    assert_eq!(events(&server), [event(sockeye_event_kind::Text, b"hi")]);
}

#[test]
fn invalid_request_queues_the_http_answer_and_reports_a_handshake_error() {
    let server = server_with(&[]);
    let request =
        b"POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    // SAFETY: live handle; pointer valid for its length.
    unsafe {
        assert_eq!(
            sockeye_conn_receive(server.0, request.as_ptr(), request.len()),
            sockeye_status::Ok
        )
    };
    let got = events(&server);
    assert_eq!(
        (got[0].kind, got[0].error, got[0].close_code),
        (sockeye_event_kind::Error, sockeye_error::Handshake, 1006)
    );
    assert_eq!(state(&server), sockeye_state::Closed);
    let (mut data, mut len) = (null(), 0usize);
    // SAFETY: live handle, valid out pointers.
    unsafe {
        assert_eq!(
            sockeye_conn_transmit(server.0, &mut data, &mut len),
            sockeye_status::Ok
        )
    };
    // SAFETY: valid until the next mutating call.
    let answer = unsafe { core::slice::from_raw_parts(data, len) };
    assert!(
        answer.starts_with(b"HTTP/1.1 405"),
        "{}",
        String::from_utf8_lossy(answer)
    );
    // SAFETY: live handle; pointer valid for its length.
    let late = unsafe { sockeye_conn_send_text(server.0, c"x".as_ptr(), 1) };
    assert_eq!(late, sockeye_status::ErrClosed);
}

#[test]
fn handshake_deadline_fails_the_handle() {
    let client = client_with(&[], &[]);
    let mut deadline = 0;
    // SAFETY: live handle; valid out pointer.
    unsafe {
        assert_eq!(
            sockeye_conn_next_timeout_ms(client.0, &mut deadline),
            sockeye_status::Ok
        );
        assert_eq!(deadline, 10_000);
        assert_eq!(
            sockeye_conn_handle_timeout(client.0, deadline),
            sockeye_status::Ok
        );
    }
    let got = events(&client);
    assert_eq!(
        (got[0].kind, got[0].error),
        (sockeye_event_kind::Error, sockeye_error::Handshake)
    );
    assert_eq!(state(&client), sockeye_state::Closed);
}

#[test]
fn constructors_reject_null_and_invalid_strings() {
    let mut out = null_mut();
    let bad = [0xffu8, 0];
    // SAFETY: every pointer is null or a NUL-terminated string; `out` is writable.
    unsafe {
        let host = c"h".as_ptr();
        let path = c"/".as_ptr();
        assert_eq!(
            sockeye_conn_new_client(null(), null(), path, null(), 0, null(), 0, 0, &mut out),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_new_client(null(), host, null(), null(), 0, null(), 0, 0, &mut out),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_new_client(null(), host, path, null(), 1, null(), 0, 0, &mut out),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_new_client(null(), host, path, null(), 0, null(), 2, 0, &mut out),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_new_client(
                null(),
                bad.as_ptr().cast(),
                path,
                null(),
                0,
                null(),
                0,
                0,
                &mut out
            ),
            sockeye_status::ErrInvalidUtf8
        );
        assert_eq!(
            sockeye_conn_new_client(
                null(),
                host,
                c"no-slash".as_ptr(),
                null(),
                0,
                null(),
                0,
                0,
                &mut out
            ),
            sockeye_status::ErrInvalidArgument
        );
        let reserved = sockeye_header {
            name: c"Sec-WebSocket-Key".as_ptr(),
            value: c"x".as_ptr(),
        };
        assert_eq!(
            sockeye_conn_new_client(null(), host, path, null(), 0, &reserved, 1, 0, &mut out),
            sockeye_status::ErrInvalidArgument
        );
        assert_eq!(
            sockeye_conn_new_client(null(), host, path, null(), 0, null(), 0, 0, null_mut()),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_new_server(null(), null(), 3, 0, &mut out),
            sockeye_status::ErrNull
        );
        assert_eq!(
            sockeye_conn_new_server(null(), null(), 0, 0, null_mut()),
            sockeye_status::ErrNull
        );
    }
    assert!(out.is_null());
}

/// Everything the handle has queued for the transport, consumed.
fn drain_output(handle: &Handle) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let (mut data, mut len) = (null(), 0usize);
        // SAFETY: live handle, valid out pointers.
        unsafe {
            assert_eq!(
                sockeye_conn_transmit(handle.0, &mut data, &mut len),
                sockeye_status::Ok
            )
        };
        if len == 0 {
            return out;
        }
        // SAFETY: `data` is valid for `len` bytes until the next mutating call.
        out.extend_from_slice(unsafe { core::slice::from_raw_parts(data, len) });
        // SAFETY: live handle.
        unsafe { assert_eq!(sockeye_conn_consume(handle.0, len), sockeye_status::Ok) };
    }
}

/// The hostile handshakes the engine's endpoint answers get the same answer
/// through the C ABI: the status line, a handshake error with 1006, CLOSED.
#[test]
fn hostile_handshakes_get_the_engines_answer() {
    for case in sockeye::testing::hostile_handshakes(&sockeye::Config::default()) {
        let server = server_with(&[]);
        // SAFETY: live handle; pointer valid for its length.
        unsafe {
            assert_eq!(
                sockeye_conn_receive(server.0, case.request.as_ptr(), case.request.len()),
                sockeye_status::Ok
            )
        };
        if case.answer.is_none() {
            assert!(events(&server).is_empty(), "{}", case.name);
            let mut deadline = 0;
            // SAFETY: live handle; valid out pointer.
            unsafe {
                assert_eq!(
                    sockeye_conn_next_timeout_ms(server.0, &mut deadline),
                    sockeye_status::Ok
                );
                assert_eq!(
                    sockeye_conn_handle_timeout(server.0, deadline),
                    sockeye_status::Ok
                );
            }
        }
        let got = events(&server);
        assert_eq!(
            got.iter()
                .map(|e| (e.kind, e.error, e.close_code))
                .collect::<Vec<_>>(),
            [(sockeye_event_kind::Error, sockeye_error::Handshake, 1006)],
            "{}",
            case.name
        );
        assert_eq!(state(&server), sockeye_state::Closed, "{}", case.name);
        let answer = drain_output(&server);
        let status_line = answer.split(|&b| b == b'\r').next().unwrap_or_default();
        let expected = case.answer.map(str::as_bytes).unwrap_or_default();
        assert_eq!(status_line, expected, "{}", case.name);
    }
}
