//! The soak driver's tokio server under test: `sockeye_tokio::Server` under
//! the soak policy, echoing (or broadcasting on `/broadcast`), with a stats
//! line every half second (see the `sockeye_soak` crate documentation).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sockeye_soak::{STATS_EVERY, echo_or_broadcast, policy, stats_line};
use sockeye_tokio::Server;

#[global_allocator]
static ALLOCATOR: sockeye_soak::CountingAllocator = sockeye_soak::CountingAllocator;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = Server::bind(&addr, policy()).await?;
        println!("listening on {}", server.local_addr()?);
        let handle = server.handle();
        let handlers = Arc::new(AtomicUsize::new(0));
        let running = handlers.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(STATS_EVERY).await;
                let live = handle.clients().len();
                println!("{}", stats_line(live, running.load(Ordering::Relaxed)));
            }
        });
        server
            .run(move |client| echo_or_broadcast(client, handlers.clone()))
            .await
    })
}
