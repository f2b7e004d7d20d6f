//! The servers under test of the soak driver (`src/bin/soak`) share their
//! limits and their stats line from here.
//!
//! Every server flavour (`soak-server-tokio`, `soak-server-smol`,
//! `soak-server-std`, `soak-server-mio`, `soak-server-axum`) takes `ADDR`
//! (default `127.0.0.1:0`), prints
//! `listening on ADDR` on stdout once bound, then a [`stats_line`] every
//! [`STATS_EVERY`]. It echoes every data message on any path except
//! [`BROADCAST_PATH`], where each data message is broadcast to every client
//! instead (the async flavours; the blocking one has no broadcast and
//! echoes there too).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sockeye_io::driver::{Clock, Transport};
use sockeye_io::server::ServerClient;
use sockeye_std::Config;
use sockeye_std::server::ServerPolicy;

/// The path whose messages are broadcast to every client.
pub const BROADCAST_PATH: &str = "/broadcast";

/// How often the servers print their stats line.
pub const STATS_EVERY: Duration = Duration::from_millis(500);

/// Largest message and frame a soak client may send: 1 MiB.
pub const MAX_MESSAGE: u64 = 1 << 20;

/// Time a client gets to finish its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Heartbeat: a ping this often...
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// ...and a client that sends nothing this long after it is dropped.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);

/// Most clients at once: far above what the driver opens, so that a
/// refusal means a leaked slot.
pub const MAX_CONNECTIONS: usize = 4_000;

/// The engine configuration of every soak server: short timers so that
/// idle and stalled clients are dropped within seconds, 1 MiB messages.
pub fn config() -> Config {
    let mut config = Config::default();
    config.max_message_size = MAX_MESSAGE;
    config.max_frame_size = MAX_MESSAGE;
    config.handshake_timeout = Some(HANDSHAKE_TIMEOUT);
    config.keepalive_interval = Some(HEARTBEAT_INTERVAL);
    config.pong_timeout = HEARTBEAT_TIMEOUT;
    config.close_timeout = Some(Duration::from_secs(5));
    config
}

/// The server policy of every soak server: [`config`] and a connection cap.
pub fn policy() -> ServerPolicy {
    ServerPolicy::new()
        .config(config())
        .max_connections(MAX_CONNECTIONS)
}

/// The stats line the driver parses: `stats live=N tasks=M heap=B`, the
/// clients registered with the server, the connection handlers (or, in the
/// blocking server, threads) alive, and the heap bytes allocated and not
/// freed ([`heap_bytes`]).
///
/// When the server is idle (no client, no handler) it first hands the
/// memory glibc keeps for later back to the system ([`release_free_memory`]),
/// so that the resident set the driver compares shows what the server
/// holds.
pub fn stats_line(live: usize, tasks: usize) -> String {
    if live == 0 && tasks == 0 {
        release_free_memory();
    }
    format!("stats live={live} tasks={tasks} heap={}", heap_bytes())
}

/// Ask glibc to return the free memory of every arena to the system
/// (`malloc_trim(0)`). Its thresholds (see the driver's allocator settings)
/// only trim the top of the main arena: freed pages between live blocks,
/// and the other threads' arenas, stay resident until a trim. A server with
/// several threads (the blocking one's thread per connection, the event
/// loops) otherwise ends an hour of load with megabytes resident and not
/// one heap byte more in use. Does nothing off glibc.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes a plain integer and only rearranges the
    // allocator's own free memory; it is safe to call at any time, from
    // any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// What one stats line says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Clients registered with the server.
    pub live: usize,
    /// Connection handlers or threads alive.
    pub tasks: usize,
    /// Heap bytes in use.
    pub heap: usize,
}

/// Parses a [`stats_line`].
pub fn parse_stats_line(line: &str) -> Option<ServerStats> {
    let rest = line.strip_prefix("stats live=")?;
    let (live, rest) = rest.split_once(" tasks=")?;
    let (tasks, heap) = rest.split_once(" heap=")?;
    Some(ServerStats {
        live: live.parse().ok()?,
        tasks: tasks.parse().ok()?,
        heap: heap.trim().parse().ok()?,
    })
}

/// Heap bytes allocated and not yet freed through [`CountingAllocator`]
/// (0 in a program that does not install it).
pub fn heap_bytes() -> usize {
    HEAP.load(Ordering::Relaxed)
}

static HEAP: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting the bytes in use: a leak shows in this
/// count whatever the allocator keeps of freed memory (which the resident
/// set includes). The soak servers install it as their global allocator.
pub struct CountingAllocator;

// SAFETY: every method forwards to `System` with the caller's own layout and
// pointer, so `System`'s guarantees hold unchanged; the counter is only
// arithmetic on the sizes, which allocate nothing.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract (non-zero size).
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            HEAP.fetch_add(layout.size(), Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            HEAP.fetch_add(layout.size(), Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from this allocator (so from `System`)
        // with `layout`, as the caller guarantees.
        unsafe { System.dealloc(pointer, layout) };
        HEAP.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `pointer` and `layout` are as `dealloc` requires, and the
        // caller guarantees `new_size` is valid for `layout`'s alignment.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            HEAP.fetch_sub(layout.size(), Ordering::Relaxed);
            HEAP.fetch_add(new_size, Ordering::Relaxed);
        }
        moved
    }
}

/// The connection handler of the async servers (tokio, smol, axum): counts
/// itself in `handlers` while it runs, then echoes every data message, or
/// broadcasts it to every client when the client came on
/// [`BROADCAST_PATH`].
pub async fn echo_or_broadcast<T, C>(mut client: ServerClient<T, C>, handlers: Arc<AtomicUsize>)
where
    T: Transport,
    C: Clock,
{
    let _running = Running::enter(&handlers);
    let broadcast = client.request().path() == BROADCAST_PATH;
    while let Some(Ok(message)) = client.recv().await {
        if !message.is_data() {
            continue;
        }
        if broadcast {
            client.clients().broadcast(message);
        } else if client.send(message).await.is_err() {
            break;
        }
    }
}

/// One more running connection handler in `count`, until dropped (also
/// when the handler's future is dropped before it ends).
pub struct Running(Arc<AtomicUsize>);

impl Running {
    /// Count one more handler in `count`.
    pub fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trim's FFI call, exercised: memory freed in the middle of the
    /// heap stays usable and counted right across it.
    #[test]
    fn releasing_free_memory_keeps_what_is_in_use() {
        let mut blocks: Vec<Option<Vec<u8>>> =
            (0..64).map(|n| Some(vec![n as u8; 64 << 10])).collect();
        for block in blocks.iter_mut().skip(1).step_by(2) {
            *block = None;
        }
        release_free_memory();
        for (n, block) in blocks.iter().enumerate().step_by(2) {
            let block = block.as_ref().unwrap();
            assert!(block.iter().all(|&byte| byte == n as u8));
        }
    }

    #[test]
    fn stats_lines_parse_back() {
        let stats = parse_stats_line(&stats_line(3, 7)).unwrap();
        assert_eq!((stats.live, stats.tasks), (3, 7));
        assert_eq!(parse_stats_line("stats live=x tasks=1 heap=2"), None);
        assert_eq!(parse_stats_line("listening on 127.0.0.1:1"), None);
    }

    /// The allocator's unsafe forwarding, exercised by hand: what is
    /// allocated, grown and freed is counted, and the memory is usable.
    #[test]
    fn the_counting_allocator_counts_what_it_hands_out_and_takes_back() {
        let allocator = CountingAllocator;
        let layout = Layout::from_size_align(1000, 8).unwrap();
        let before = heap_bytes();
        // SAFETY: a non-zero layout; the pointer is written within its
        // size, grown with the same layout, and freed with the new one.
        unsafe {
            let pointer = allocator.alloc_zeroed(layout);
            assert!(!pointer.is_null());
            assert_eq!(*pointer.add(999), 0);
            pointer.write_bytes(7, 1000);
            assert_eq!(heap_bytes() - before, 1000);
            let grown = allocator.realloc(pointer, layout, 5000);
            assert!(!grown.is_null());
            assert_eq!(*grown.add(999), 7);
            assert_eq!(heap_bytes() - before, 5000);
            allocator.dealloc(grown, Layout::from_size_align(5000, 8).unwrap());
        }
        assert_eq!(heap_bytes(), before);
    }
}
