//! Receiving and sending small messages in steady state must not allocate
//! per message. A counting global allocator (counting only on the test's own
//! thread) measures it over an echo loop between a client and a server.

use bytes::Bytes;
use core::time::Duration;
use sockeye::testing::SeededEntropy;
use sockeye::{Config, Connection, Event, Role};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are thread-local cells that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours, forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as ours, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count() {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
    });
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Write what `from` has queued into `to` the way an adapter does: borrow
/// the queued run, then report what was "written".
fn shuttle(from: &mut Connection, to: &mut Connection) {
    loop {
        let transmit = from.transmit();
        let mut first: [&[u8]; 1] = [&[]];
        if transmit.chunks(&mut first) == 0 {
            return;
        }
        let n = first[0].len();
        to.receive(Duration::ZERO, first[0]);
        transmit.written(n);
    }
}

fn echo_round(client: &mut Connection, server: &mut Connection, payload: &Bytes, batch: usize) {
    for _ in 0..batch {
        client.send_binary(payload.clone()).unwrap();
    }
    shuttle(client, server);
    while let Some(event) = server.poll_event() {
        let Event::Binary(data) = event else {
            panic!("unexpected {event:?}")
        };
        server.send_binary(data).unwrap();
    }
    shuttle(server, client);
    let mut echoed = 0;
    while let Some(event) = client.poll_event() {
        assert!(matches!(&event, Event::Binary(data) if data == payload));
        echoed += 1;
    }
    assert_eq!(echoed, batch);
}

/// Allocations per echoed message (one message each way) in steady state.
fn allocations_per_message(payload_len: usize, batch: usize) -> f64 {
    let now = Duration::ZERO;
    let mut client = Connection::with_entropy(
        Role::Client,
        Config::default(),
        now,
        Box::new(SeededEntropy::new(1)),
    );
    let mut server = Connection::server(Config::default(), now);
    let payload = Bytes::from(vec![0x5a; payload_len]);
    for _ in 0..200 {
        echo_round(&mut client, &mut server, &payload, batch);
    }
    let rounds = 2_000;
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    for _ in 0..rounds {
        echo_round(&mut client, &mut server, &payload, batch);
    }
    COUNTING.with(|on| on.set(false));
    let allocations = ALLOCATIONS.with(Cell::get);
    let per_message = allocations as f64 / (rounds * batch) as f64;
    println!(
        "{payload_len} B x {batch} per batch: {allocations} allocations for {} messages = {per_message:.4} per message",
        rounds * batch
    );
    per_message
}

/// Stated bound: in steady state, small messages cost no allocation at all;
/// the bound leaves room for an occasional buffer regrowth.
const MAX_ALLOCATIONS_PER_MESSAGE: f64 = 0.01;

#[test]
fn the_counter_counts() {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    let boxed = std::hint::black_box(Box::new([0u8; 64]));
    COUNTING.with(|on| on.set(false));
    drop(boxed);
    assert_eq!(ALLOCATIONS.with(Cell::get), 1);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "thousands of echo rounds; measures the allocator, not unsafe code"
)]
fn small_messages_do_not_allocate_in_steady_state() {
    for (len, batch) in [(16, 1), (16, 64), (125, 8), (1000, 4)] {
        let per_message = allocations_per_message(len, batch);
        assert!(
            per_message <= MAX_ALLOCATIONS_PER_MESSAGE,
            "{len} B x {batch}: {per_message} allocations per message"
        );
    }
}
