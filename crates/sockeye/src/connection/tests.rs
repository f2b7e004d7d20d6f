//! The connection's buffers: what is kept, released and reserved.

use super::*;
use crate::config::Config;
use crate::testing::SeededEntropy;
use alloc::{boxed::Box, vec};

/// Move everything `from` queued into `to`, in reads of at most `read` bytes.
fn shuttle(from: &mut Connection, to: &mut Connection, read: usize) {
    while from.buffered_amount() > 0 {
        let transmit = from.transmit();
        let mut first: [&[u8]; 1] = [&[]];
        transmit.chunks(&mut first);
        let n = first[0].len().min(read);
        to.receive_with(Duration::ZERO, |buf| buf.extend_from_slice(&first[0][..n]));
        transmit.written(n);
    }
}

#[test]
fn after_a_64_kib_message_one_read_has_room_for_the_next_whole_frame() {
    let mut client = Connection::with_entropy(
        Role::Client,
        Config::default(),
        Duration::ZERO,
        Box::new(SeededEntropy::new(3)),
    );
    let mut server = Connection::server(Config::default(), Duration::ZERO);
    let message = Bytes::from(vec![7; 64 << 10]);
    client.send_binary(message.clone()).unwrap();
    let frame_len = client.buffered_amount();
    assert_eq!(frame_len, (64 << 10) + MAX_HEADER_LEN);
    shuttle(&mut client, &mut server, frame_len);
    assert_eq!(server.poll_event(), Some(Event::Binary(message)));
    // Room for the header too: one read per message, not a full read
    // and a second one for the last 14 bytes.
    assert!(server.read_size_hint() >= frame_len);
    server.receive_with(Duration::ZERO, |buf| assert!(buf.capacity() >= frame_len));
}

#[test]
fn buffers_shrink_back_after_a_large_message() {
    let mut client = Connection::with_entropy(
        Role::Client,
        Config::default(),
        Duration::ZERO,
        Box::new(SeededEntropy::new(7)),
    );
    let mut server = Connection::server(Config::default(), Duration::ZERO);
    let large = Bytes::from(vec![0x42; 1 << 20]);
    client.send_binary(large.clone()).unwrap();
    assert!(client.outgoing.capacity() >= 1 << 20);
    shuttle(&mut client, &mut server, 16 << 10);
    // The send side let go of its masked copy as soon as it was written.
    assert!(client.outgoing.capacity() <= super::transmit_queue::RETAIN_MAX);

    assert_eq!(server.poll_event(), Some(Event::Binary(large)));
    assert_eq!(server.poll_event(), None);
    // The receive side kept no more than the retention bound...
    assert!(server.received.capacity() <= RECEIVE_RETAIN_MAX);
    // ...and an idle connection keeps nothing.
    server.release_idle_buffers();
    client.release_idle_buffers();
    assert_eq!(server.received.capacity(), 0);
    assert_eq!(client.outgoing.capacity(), 0);
    assert!(!server.has_partial_frame());

    // Still usable afterwards.
    client.send_text("after").unwrap();
    shuttle(&mut client, &mut server, 16 << 10);
    assert_eq!(server.poll_event(), Some(Event::Text("after".into())));
}

#[test]
fn the_output_queue_is_allocated_while_bytes_wait_and_freed_when_idle() {
    let mut server = Connection::server(Config::default(), Duration::ZERO);
    assert!(!server.outgoing.is_allocated());
    server.send_text("one").unwrap();
    server.send_binary(Bytes::from(vec![7; 2000])).unwrap();
    assert!(server.outgoing.is_allocated());
    // Bytes still wait: a release keeps them.
    server.release_idle_buffers();
    assert_eq!(server.buffered_amount(), 5 + 4 + 2000);
    let mut wire = alloc::vec::Vec::new();
    while let Some(run) = server.poll_transmit() {
        wire.extend_from_slice(&run);
    }
    assert_eq!(
        &wire[..9],
        &[0x81, 3, b'o', b'n', b'e', 0x82, 126, 0x07, 0xd0]
    );
    assert_eq!(&wire[9..], &[7; 2000][..]);
    // Drained, the box outlives the write until the connection is idle.
    assert!(server.outgoing.is_allocated());
    server.release_idle_buffers();
    assert!(!server.outgoing.is_allocated());
    assert_eq!(server.poll_transmit(), None);
    server.send_text("two").unwrap();
    assert_eq!(
        server.poll_transmit().as_deref(),
        Some(&[0x81, 3, b't', b'w', b'o'][..])
    );
}

#[test]
fn idle_release_keeps_a_partial_frame() {
    let mut server = Connection::server(Config::default(), Duration::ZERO);
    // The first three bytes of a masked binary frame of 4 bytes.
    server.receive(Duration::ZERO, &[0x82, 0x84, 1]);
    assert_eq!(server.poll_event(), None);
    assert!(server.has_partial_frame());
    server.release_idle_buffers();
    server.receive(Duration::ZERO, &[2, 3, 4]);
    assert_eq!(server.poll_event(), None);
    // The header is in: the frame's state lives in the receive box,
    // which a release must keep while the payload is awaited.
    assert!(server.receiving.frame().is_some());
    server.release_idle_buffers();
    assert!(server.receiving.is_allocated());
    server.receive(Duration::ZERO, &[1 ^ 9, 2 ^ 9, 3 ^ 9, 4 ^ 9]);
    assert_eq!(
        server.poll_event(),
        Some(Event::Binary(Bytes::from_static(&[9, 9, 9, 9])))
    );
    server.release_idle_buffers();
    assert!(!server.receiving.is_allocated());
}

#[test]
fn idle_release_between_fragments_keeps_the_message_and_frees_its_box_after() {
    let mut server = Connection::server(Config::default(), Duration::ZERO);
    // A masked text frame "he" without FIN, with the key 1, 2, 3, 4.
    server.receive(
        Duration::ZERO,
        &[0x01, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'e' ^ 2],
    );
    assert_eq!(server.poll_event(), None);
    assert!(server.receiving.has_message());
    server.release_idle_buffers();
    // The continuation "y" with FIN.
    server.receive(Duration::ZERO, &[0x80, 0x81, 5, 6, 7, 8, b'y' ^ 5]);
    assert_eq!(server.poll_event(), Some(Event::Text("hey".into())));
    // Between messages the box is kept for the next one...
    assert!(server.receiving.is_allocated());
    // ...until the connection is idle.
    server.release_idle_buffers();
    assert!(!server.receiving.is_allocated());
    server.receive(
        Duration::ZERO,
        &[0x02, 0x81, 0, 0, 0, 0, 1, 0x80, 0x81, 0, 0, 0, 0, 2],
    );
    assert_eq!(
        server.poll_event(),
        Some(Event::Binary(Bytes::from_static(&[1, 2])))
    );
}

#[test]
fn a_closed_connection_keeps_no_receive_state_box() {
    let mut server = Connection::server(Config::default(), Duration::ZERO);
    // A masked text frame "he" without FIN, then a masked close frame
    // with no payload.
    server.receive(
        Duration::ZERO,
        &[0x01, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'e' ^ 2],
    );
    server.receive(Duration::ZERO, &[0x88, 0x80, 1, 2, 3, 4]);
    while server.poll_event().is_some() {}
    assert_eq!(server.state(), State::Closed);
    assert!(!server.receiving.is_allocated());
}
