//! The soak driver's blocking server under test: one thread per connection,
//! `sockeye_std::accept_with_policy` under the soak policy, echoing on
//! every path (the blocking adapter has no broadcast queue), with a stats
//! line every half second (see the `sockeye_soak` crate documentation).

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sockeye_soak::{STATS_EVERY, policy, stats_line};
use sockeye_std::server::{Clients, ServerPolicy};
use sockeye_std::{Error, accept_with_policy};

/// The read timeout that lets the engine's heartbeat timers run.
const TICK: Duration = Duration::from_millis(500);

#[global_allocator]
static ALLOCATOR: sockeye_soak::CountingAllocator = sockeye_soak::CountingAllocator;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr)?;
    println!("listening on {}", listener.local_addr()?);
    let policy = policy();
    let clients = Clients::new(&policy);
    let threads = Arc::new(AtomicUsize::new(0));
    {
        let (clients, threads) = (clients.clone(), threads.clone());
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(STATS_EVERY);
                let live = clients.len();
                println!("{}", stats_line(live, threads.load(Ordering::Relaxed)));
            }
        });
    }
    loop {
        let tcp = match listener.accept() {
            Ok((tcp, _)) => tcp,
            Err(_) => {
                // Out of descriptors and the like: keep serving the others.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let (policy, clients, threads) = (policy.clone(), clients.clone(), threads.clone());
        threads.fetch_add(1, Ordering::Relaxed);
        std::thread::spawn(move || {
            let _ = serve(tcp, &policy, &clients);
            threads.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

fn serve(tcp: TcpStream, policy: &ServerPolicy, clients: &Clients) -> Result<(), Error> {
    tcp.set_nodelay(true)?;
    let (mut ws, _slot, _request) = accept_with_policy(tcp.try_clone()?, policy, clients)?;
    tcp.set_read_timeout(Some(TICK))?;
    while let Some(message) = ws.recv() {
        let message = match message {
            Ok(message) => message,
            Err(Error::Timeout) => continue,
            Err(error) => return Err(error),
        };
        if message.is_data() {
            ws.send(message)?;
        }
    }
    Ok(())
}
