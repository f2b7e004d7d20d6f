//! What the fan-out tests share: real broker processes on free loopback
//! ports (stopped by PID), server instances with a fan-out, clients in
//! rooms, and a relay that can silently cut a subscription.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sockeye_tokio::fanout::{self, Fanout, FanoutOptions, PresenceOptions};
use sockeye_tokio::{MaybeTlsStream, Message, Server, ServerHandle, ServerPolicy, WebSocketStream};

pub mod broker;
pub mod scenarios;

pub use broker::{Broker, Kind};

/// A test client.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

/// Options that make the tests quick: short timeouts and probe.
pub fn quick_options() -> FanoutOptions {
    let mut options = FanoutOptions::default();
    options.probe_interval = Some(Duration::from_millis(250));
    options.probe_timeout = Duration::from_millis(1000);
    options.op_timeout = Duration::from_millis(1000);
    options.reconnect.initial_delay = Duration::from_millis(50);
    options.reconnect.max_delay = Duration::from_millis(500);
    options
}

/// The presence timing of the tests: refreshed every 200 ms, entries live
/// 600 ms without a refresh.
pub fn quick_presence() -> PresenceOptions {
    PresenceOptions::every(Duration::from_millis(200))
}

/// Presence on either broker.
#[derive(Clone)]
pub enum Presence {
    Redis(fanout::redis::RedisPresence),
    Nats(fanout::nats::NatsPresence),
}

impl Presence {
    pub fn set(&self, room: &str, names: &[&str]) {
        let names = names.iter().map(|n| n.to_string()).collect();
        match self {
            Presence::Redis(p) => p.set(room, names),
            Presence::Nats(p) => p.set(room, names),
        }
        .unwrap();
    }

    pub async fn online(&self, room: &str) -> Vec<String> {
        match self {
            Presence::Redis(p) => p.online(room).await,
            Presence::Nats(p) => p.online(room).await,
        }
        .unwrap_or_default()
    }

    /// Wait (at most `limit`) until `online(room)` sorted is `want` sorted;
    /// how long that took.
    pub async fn wait_for(&self, room: &str, want: &[&str], limit: Duration) -> Duration {
        let started = Instant::now();
        let mut want: Vec<String> = want.iter().map(|n| n.to_string()).collect();
        want.sort();
        loop {
            let mut online = self.online(room).await;
            online.sort();
            if online == want {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "online in {room}: {online:?}, expected {want:?} within {limit:?}"
            );
            sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A sockeye server whose clients join the room in `?room=` and publish
/// every data message they send to it; with presence on the same broker.
pub struct Instance {
    pub addr: SocketAddr,
    pub fanout: Fanout,
    pub presence: Presence,
    pub handle: ServerHandle,
    server: JoinHandle<()>,
}

impl Drop for Instance {
    /// Dies without a word: connections dropped, nothing cleaned up.
    fn drop(&mut self) {
        self.server.abort();
        self.handle.clients().abort_all();
    }
}

impl Instance {
    pub async fn start(kind: Kind, url: &str, options: FanoutOptions) -> Self {
        let server = Server::bind("127.0.0.1:0", ServerPolicy::new())
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.handle();
        let clients = handle.clients().clone();
        let prefix = options.prefix.clone();
        let (fanout, presence) = match kind {
            Kind::Redis => {
                let broker = fanout::redis::RedisBroker::open(url).unwrap();
                let fanout = fanout::spawn(clients, broker.clone(), options);
                let presence = fanout::redis::RedisPresence::spawn(
                    &broker,
                    fanout.instance(),
                    &prefix,
                    quick_presence(),
                );
                (fanout, Presence::Redis(presence))
            }
            Kind::Nats => {
                let broker = fanout::nats::NatsBroker::new(url);
                let fanout = fanout::spawn(clients, broker.clone(), options);
                let presence = fanout::nats::NatsPresence::spawn(
                    &broker,
                    fanout.instance(),
                    &prefix,
                    quick_presence(),
                );
                (fanout, Presence::Nats(presence))
            }
        };
        let for_handler = fanout.clone();
        let server = tokio::spawn(async move {
            let _ = server
                .run(move |mut client| {
                    let fanout = for_handler.clone();
                    async move {
                        let room = client
                            .request()
                            .query("room")
                            .map(|room| room.into_owned())
                            .unwrap_or_else(|| "lobby".into());
                        fanout.join(&room, client.id()).unwrap();
                        while let Some(Ok(message)) = client.recv().await {
                            if message.is_data() {
                                fanout.publish(&room, message).unwrap();
                            }
                        }
                        fanout.leave_all(client.id());
                    }
                })
                .await;
        });
        Instance {
            addr,
            fanout,
            presence,
            handle,
            server,
        }
    }

    /// A client in `room` on this instance.
    pub async fn client(&self, room: &str) -> Ws {
        let url = format!("ws://{}/?room={room}", self.addr);
        sockeye_tokio::connect(&url).await.unwrap().0
    }
}

/// Wait (polling, at most `limit`) until `done` holds.
pub async fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        sleep(Duration::from_millis(10)).await;
    }
}

/// Wait until `instances[i]` has `members[i]` clients in `room`, each
/// with the room subscribed at the broker when it has any.
pub async fn wait_for_room(instances: &[&Instance], room: &str, members: &[usize]) {
    wait_until(
        Duration::from_secs(10),
        "clients joined and subscribed",
        || {
            instances.iter().zip(members).all(|(instance, &n)| {
                instance.fanout.members(room).len() == n
                    && (n == 0 || instance.fanout.is_subscribed(room))
            })
        },
    )
    .await;
}

/// The next text within `limit`, or `None`.
pub async fn next_text(ws: &mut Ws, limit: Duration) -> Option<String> {
    loop {
        match timeout(limit, ws.recv()).await {
            Ok(Some(Ok(Message::Text(text)))) => return Some(text.to_string()),
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("connection ended: {other:?}"),
            Err(_) => return None,
        }
    }
}

/// Read `expected` texts of the form `SENDER:N` and check each sender's
/// arrive exactly once, in order from 0; returns the count per sender.
pub async fn receive_in_order(ws: &mut Ws, expected: usize) -> BTreeMap<String, u64> {
    let mut next: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..expected {
        let text = next_text(ws, Duration::from_secs(10))
            .await
            .expect("every message of the room arrives");
        let (sender, n) = text.split_once(':').expect("SENDER:N");
        let n: u64 = n.parse().unwrap();
        let want = next.entry(sender.to_owned()).or_default();
        assert_eq!(n, *want, "from {sender}: got {n}, expected {want}");
        *want += 1;
    }
    next
}

/// A TCP relay in front of the broker that can cut subscriptions silently:
/// after [`cut_subscribers`](Self::cut_subscribers), connections that
/// subscribed so far stay open but nothing more from the broker reaches
/// them (what a failover or a dropped subscriber looks like from the
/// client); new connections pass normally.
pub struct Relay {
    pub port: u16,
    epoch: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Relay {
    pub async fn start(broker_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let epoch = Arc::new(AtomicU64::new(0));
        let shared = epoch.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let epoch = shared.clone();
                connections.spawn(relay_one(client, broker_port, epoch));
            }
        });
        Relay { port, epoch, task }
    }

    pub fn cut_subscribers(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// Forward one connection; once it has subscribed and the epoch moved on
/// since, the broker's bytes are read and thrown away.
async fn relay_one(client: TcpStream, broker_port: u16, epoch: Arc<AtomicU64>) {
    let Ok(broker) = TcpStream::connect(("127.0.0.1", broker_port)).await else {
        return;
    };
    let born = epoch.load(Ordering::SeqCst);
    let subscribed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (mut client_read, mut client_write) = client.into_split();
    let (mut broker_read, mut broker_write) = broker.into_split();
    let seen = subscribed.clone();
    let upstream = async move {
        let mut buffer = vec![0; 16 << 10];
        loop {
            let n = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let bytes = &buffer[..n];
            // Redis SUBSCRIBE or a NATS SUB line.
            if contains(bytes, b"SUBSCRIBE") || contains(bytes, b"SUB ") {
                seen.store(true, Ordering::SeqCst);
            }
            if broker_write.write_all(bytes).await.is_err() {
                return;
            }
        }
    };
    let downstream = async move {
        let mut buffer = vec![0; 16 << 10];
        loop {
            let n = match broker_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let cut = subscribed.load(Ordering::SeqCst) && epoch.load(Ordering::SeqCst) > born;
            if !cut && client_write.write_all(&buffer[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::join!(upstream, downstream);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// This process's resident memory, in bytes (Linux).
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}
