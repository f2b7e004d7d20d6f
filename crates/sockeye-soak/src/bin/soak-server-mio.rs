//! The soak driver's event-loop server under test: `sockeye_mio::Server` on
//! two threads under the soak policy, echoing (or broadcasting on
//! `/broadcast`), with a stats line every half second (see the
//! `sockeye_soak` crate documentation). It has no task per connection: the
//! stats line's task count is its open connections.

use std::collections::HashSet;
use std::sync::Mutex;

use sockeye_mio::{Client, ClientId, CloseStatus, Handler, Message, Request, Server};
use sockeye_soak::{BROADCAST_PATH, STATS_EVERY, policy, stats_line};

#[global_allocator]
static ALLOCATOR: sockeye_soak::CountingAllocator = sockeye_soak::CountingAllocator;

/// Echoes, except for the clients that came to broadcast.
#[derive(Default)]
struct Soak {
    broadcasters: Mutex<HashSet<ClientId>>,
}

impl Handler for Soak {
    fn on_open(&self, client: &mut Client<'_>, request: &Request) {
        if request.path() == BROADCAST_PATH {
            self.broadcasters.lock().unwrap().insert(client.id());
        }
    }

    fn on_message(&self, client: &mut Client<'_>, message: Message) {
        if !message.is_data() {
            return;
        }
        if self.broadcasters.lock().unwrap().contains(&client.id()) {
            client.handle().broadcast(message);
        } else {
            let _ = client.send(message);
        }
    }

    fn on_close(&self, id: ClientId, _: &CloseStatus) {
        self.broadcasters.lock().unwrap().remove(&id);
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let server = Server::bind_threads(&addr, policy(), 2)?;
    println!("listening on {}", server.local_addr());
    let running = server.start(Soak::default())?;
    let handle = running.handle().clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(STATS_EVERY);
            let live = handle.clients();
            println!("{}", stats_line(live, live));
        }
    });
    running.join()
}
