//! The soak driver's smol server under test: `sockeye_smol::Server` on a
//! single-threaded smol executor under the soak policy, echoing (or
//! broadcasting on `/broadcast`), with a stats line every half second (see
//! the `sockeye_soak` crate documentation).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sockeye_smol::Server;
use sockeye_soak::{STATS_EVERY, echo_or_broadcast, policy, stats_line};

#[global_allocator]
static ALLOCATOR: sockeye_soak::CountingAllocator = sockeye_soak::CountingAllocator;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    // Leaked: the accept task spawns onto the executor that runs it.
    let executor: &'static smol::LocalExecutor<'static> =
        Box::leak(Box::new(smol::LocalExecutor::new()));
    let accepting = executor.spawn(async move {
        let server = Server::bind(addr.as_str(), policy()).await?;
        println!("listening on {}", server.local_addr()?);
        let handle = server.handle();
        let handlers = Arc::new(AtomicUsize::new(0));
        let running = handlers.clone();
        executor
            .spawn(async move {
                loop {
                    smol::Timer::after(STATS_EVERY).await;
                    let live = handle.clients().len();
                    println!("{}", stats_line(live, running.load(Ordering::Relaxed)));
                }
            })
            .detach();
        let spawn = |task| executor.spawn(task).detach();
        server
            .run(spawn, move |client| {
                echo_or_broadcast(client, handlers.clone())
            })
            .await
    });
    smol::block_on(executor.run(accepting))
}
