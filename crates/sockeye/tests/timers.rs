//! Timers driven by the fake clock: close timeout, keepalive, idle.

mod common;

use common::decode_frames;
use core::time::Duration;
use sockeye::testing::{Pair, take_output};
use sockeye::{CloseCode, Config, Event, ProtocolError, State};

const PING: u8 = 0x9;

#[test]
fn close_timeout_fails_the_connection_when_the_peer_never_answers() {
    let mut pair = Pair::new();
    pair.client
        .close(pair.now, CloseCode::NORMAL, "bye")
        .unwrap();
    take_output(&mut pair.client); // the close frame is lost
    assert_eq!(pair.client.poll_timeout(), Some(Duration::from_secs(5)));
    pair.advance(Duration::from_secs(4));
    assert_eq!(pair.client.state(), State::Closing);
    pair.advance(Duration::from_secs(1));
    assert_eq!(
        pair.client.poll_event(),
        Some(Event::Failed(ProtocolError::CloseTimeout))
    );
    let status = pair.client.close_status().unwrap();
    assert_eq!((status.code, status.was_clean), (1006, false));
    assert_eq!(pair.client.poll_timeout(), None);
}

#[test]
fn a_peer_that_takes_no_bytes_is_given_up_at_the_close_timeout_and_its_output_dropped() {
    let mut pair = Pair::new();
    // A server whose peer stopped reading: a megabyte it never takes, then
    // the close frame behind it.
    pair.server.send_binary(vec![7u8; 1 << 20]).unwrap();
    pair.server
        .close(pair.now, CloseCode::POLICY_VIOLATION, "too slow")
        .unwrap();
    assert!(pair.server.buffered_amount() > 1 << 20);
    assert!(!pair.server.should_close_transport());
    pair.now += Duration::from_secs(5);
    pair.server.handle_timeout(pair.now);
    assert_eq!(
        pair.server.poll_event(),
        Some(Event::Failed(ProtocolError::CloseTimeout))
    );
    // Nothing waits for a peer that takes nothing: the transport closes.
    assert_eq!(pair.server.buffered_amount(), 0);
    assert!(pair.server.should_close_transport());
}

#[test]
fn a_peer_that_neither_answers_pings_nor_reads_is_given_up_at_the_pong_deadline() {
    let mut server = Config::default();
    server.keepalive_interval = Some(Duration::from_secs(10));
    server.pong_timeout = Duration::from_secs(5);
    let mut pair = Pair::with_configs(Config::default(), server, 1);
    pair.server.send_binary(vec![7u8; 1 << 20]).unwrap();
    for _ in 0..2 {
        pair.now += Duration::from_secs(10);
        pair.server.handle_timeout(pair.now);
    }
    assert_eq!(
        pair.server.poll_event(),
        Some(Event::Failed(ProtocolError::KeepaliveTimeout))
    );
    assert_eq!(pair.server.buffered_amount(), 0);
    assert!(pair.server.should_close_transport());
}

#[test]
fn keepalive_keeps_a_responsive_peer_open() {
    let mut server = Config::default();
    server.keepalive_interval = Some(Duration::from_secs(10));
    server.pong_timeout = Duration::from_secs(5);
    let mut pair = Pair::with_configs(Config::default(), server, 1);
    for _ in 0..20 {
        assert!(pair.advance_to_next_timeout());
    }
    assert!(pair.now >= Duration::from_secs(100));
    assert_eq!(pair.server.state(), State::Open);
    let pings = pair
        .client_events
        .iter()
        .filter(|e| matches!(e, Event::Ping(_)))
        .count();
    assert!(pings >= 10, "{pings} pings");
}

#[test]
fn keepalive_declares_a_silent_peer_dead() {
    let mut server = Config::default();
    server.keepalive_interval = Some(Duration::from_secs(10));
    server.pong_timeout = Duration::from_secs(5);
    let mut pair = Pair::with_configs(Config::default(), server, 1);
    pair.advance(Duration::from_secs(10));
    assert_eq!(pair.server.state(), State::Open);
    // The ping never reaches the client.
    let pings = decode_frames(&take_output(&mut pair.server));
    assert_eq!(pings.len(), 1, "{pings:?}");
    assert_eq!(
        (pings[0].opcode, pings[0].fin, pings[0].masked),
        (PING, true, false)
    );
    pair.advance(Duration::from_secs(5));
    assert_eq!(
        pair.server.poll_event(),
        Some(Event::Failed(ProtocolError::KeepaliveTimeout))
    );
    assert_eq!(pair.server.state(), State::Closed);
    // A peer that stopped answering would not read a close frame: none is
    // sent (`ProtocolError::wire_code`), and the status says 1006.
    assert_eq!(ProtocolError::KeepaliveTimeout.wire_code(), None);
    let after = decode_frames(&take_output(&mut pair.server));
    assert!(after.is_empty(), "sent after the pong deadline: {after:?}");
    assert_eq!(pair.server.close_status().unwrap().code, 1006);
}

#[test]
fn idle_timeout_closes_with_1000() {
    let mut server = Config::default();
    server.idle_timeout = Some(Duration::from_secs(30));
    let mut pair = Pair::with_configs(Config::default(), server, 1);
    pair.advance(Duration::from_secs(20));
    pair.client.send_text("still here").unwrap();
    pair.drive();
    pair.advance(Duration::from_secs(10)); // activity seen: re-armed
    assert_eq!(pair.server.state(), State::Open);
    pair.advance(Duration::from_secs(30));
    pair.drive();
    assert!(pair.both_closed());
    assert_eq!(pair.client.close_status().unwrap().code, 1000);
}

#[test]
fn spurious_handle_timeout_does_nothing() {
    let mut server = Config::default();
    server.keepalive_interval = Some(Duration::from_secs(10));
    let mut pair = Pair::with_configs(Config::default(), server, 1);
    for second in 0..10 {
        pair.server.handle_timeout(Duration::from_secs(second));
    }
    assert_eq!(pair.server.buffered_amount(), 0);
    assert_eq!(pair.server.poll_timeout(), Some(Duration::from_secs(10)));
}

#[test]
fn server_closes_the_transport_first_once_its_output_is_written() {
    let mut pair = Pair::new();
    pair.client.close(pair.now, CloseCode::NORMAL, "").unwrap();
    pair.client_to_server();
    pair.poll_events();
    assert_eq!(pair.server.state(), State::Closed);
    assert!(
        !pair.server.should_close_transport(),
        "the reply is still queued"
    );
    take_output(&mut pair.server);
    assert!(pair.server.should_close_transport());
}

#[test]
fn client_waits_for_the_server_to_close_the_transport_up_to_the_close_timeout() {
    let mut pair = Pair::new();
    pair.client.close(pair.now, CloseCode::NORMAL, "").unwrap();
    pair.drive();
    assert!(pair.both_closed());
    assert!(!pair.client.should_close_transport());
    // The server's close arrived at 0 s: the client waits for the server to
    // close the transport until the close timeout (5 s) after that.
    assert_eq!(pair.client.poll_timeout(), Some(Duration::from_secs(5)));
    pair.advance(Duration::from_secs(4));
    assert!(!pair.client.should_close_transport());
    pair.advance(Duration::from_millis(999));
    assert!(!pair.client.should_close_transport());
    pair.advance(Duration::from_millis(1));
    assert!(pair.client.should_close_transport());
}

#[test]
fn a_client_waits_for_the_tcp_close_from_the_time_the_close_frame_arrived() {
    let mut client =
        sockeye::Connection::new(sockeye::Role::Client, Config::default(), Duration::ZERO);
    // The server's close frame (1000) arrives at 3 s; no timer was handled
    // before, so the time comes with the input itself.
    client.receive(Duration::from_secs(3), &[0x88, 0x02, 0x03, 0xe8]);
    assert!(matches!(client.poll_event(), Some(Event::Close(_))));
    assert_eq!(client.state(), State::Closed);
    take_output(&mut client); // the masked reply
    assert_eq!(client.poll_timeout(), Some(Duration::from_secs(8)));
    client.handle_timeout(Duration::from_millis(7_999));
    assert!(!client.should_close_transport());
    client.handle_timeout(Duration::from_secs(8));
    assert!(client.should_close_transport());
}

#[test]
fn client_closes_the_transport_when_the_server_already_did() {
    let mut pair = Pair::new();
    pair.server
        .close(pair.now, CloseCode::GOING_AWAY, "")
        .unwrap();
    pair.drive();
    assert!(!pair.client.should_close_transport());
    pair.client.receive_eof(pair.now);
    assert!(pair.client.should_close_transport());
}

#[test]
fn a_failed_connection_closes_the_transport_without_waiting() {
    let mut pair = Pair::new();
    pair.client.receive(pair.now, &[0x83, 0x00]); // reserved opcode from the server
    assert!(matches!(pair.client.poll_event(), Some(Event::Failed(_))));
    take_output(&mut pair.client);
    assert!(pair.client.should_close_transport());
}

#[test]
fn close_without_status_is_reported_as_1005() {
    let mut pair = Pair::new();
    pair.client.close_without_status(pair.now).unwrap();
    pair.drive();
    assert_eq!(pair.server_events, [Event::Close(None)]);
    assert_eq!(pair.server.close_status().unwrap().code, 1005);
    assert_eq!(pair.client.close_status().unwrap().code, 1005);
    assert_eq!(
        pair.client.close_without_status(pair.now),
        Err(sockeye::SendError::Closed)
    );
}

#[test]
fn has_buffered_event_tells_a_whole_frame_from_a_partial_one() {
    let mut pair = Pair::new();
    pair.client.send_text("hello").unwrap();
    pair.client.send_text("world").unwrap();
    let wire = take_output(&mut pair.client);
    let frame_len = wire.len() / 2;
    assert!(!pair.server.has_buffered_event());
    pair.server.receive(pair.now, &wire[..frame_len - 1]);
    assert!(!pair.server.has_buffered_event());
    pair.server
        .receive(pair.now, &wire[frame_len - 1..frame_len + 3]);
    assert!(pair.server.has_buffered_event());
    assert!(pair.server.poll_event().is_some());
    assert!(
        !pair.server.has_buffered_event(),
        "only a partial second frame is left"
    );
    pair.server.receive(pair.now, &wire[frame_len + 3..]);
    assert!(pair.server.has_buffered_event());
    assert!(pair.server.poll_event().is_some());
    assert!(!pair.server.has_buffered_event());
    // A header that breaks the protocol is an event too (the failure).
    pair.server.receive(pair.now, &[0x83, 0x80, 0, 0, 0, 0]);
    assert!(pair.server.has_buffered_event());
}

/// Found by the connection fuzz targets: a zero interval re-armed the
/// keepalive at the same instant, so every `handle_timeout` queued a ping.
#[test]
fn zero_keepalive_interval_does_not_rearm_at_the_same_instant() {
    let mut config = Config::default();
    config.keepalive_interval = Some(Duration::ZERO);
    let mut conn = sockeye::Connection::server(config, Duration::ZERO);
    for _ in 0..4 {
        conn.handle_timeout(Duration::ZERO);
    }
    assert!(conn.poll_timeout().is_none_or(|at| at > Duration::ZERO));
    assert_eq!(conn.buffered_amount(), 0);
}

/// Found by the connection fuzz targets: a whole non-final fragment counts as
/// progress but yields no event; afterwards the answer must be false.
#[test]
fn has_buffered_event_is_false_after_a_non_final_fragment_is_consumed() {
    let mut conn = sockeye::Connection::server(Config::default(), Duration::ZERO);
    conn.receive(Duration::ZERO, b"\x01\x80\x00\x00\x00\x00");
    assert!(conn.has_buffered_event());
    assert_eq!(conn.poll_event(), None);
    assert!(!conn.has_buffered_event());
}
