//! Slow clients are judged by bytes and by their own socket: a broadcast is
//! written out by the connection while its handler is busy, and only a
//! client whose socket stops taking bytes is closed (1008, `"too slow"`),
//! once its queue reaches the byte budget. Real sockets over loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sockeye_tokio::{Client, CloseCode, Message, Server, ServerHandle, ServerPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(60);

const TOO_SLOW: Option<(CloseCode, &str)> = Some((CloseCode::POLICY_VIOLATION, "too slow"));

/// Receive and drop everything the client sends.
async fn drain(mut client: Client) {
    while client.recv().await.is_some() {}
}

async fn start<F, Fut>(policy: ServerPolicy, handler: F) -> (SocketAddr, ServerHandle)
where
    F: Fn(Client) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let server = Server::bind("127.0.0.1:0", policy).await.unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.handle();
    tokio::spawn(server.run(handler));
    (addr, handle)
}

/// A policy whose engine queue is small, so that a stalled socket shows in
/// the broadcast queue soon.
fn policy(budget: usize) -> ServerPolicy {
    let mut config = ServerPolicy::new().engine_config();
    config.write_high_water_mark = 16 << 10;
    ServerPolicy::new().config(config).queue_budget(budget)
}

/// A raw client that completed the opening handshake. Its receive buffer is
/// small, so that one that never reads stops taking bytes after little.
async fn raw_client(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(addr).await.unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(tcp.read(&mut byte).await.unwrap(), 1, "hung up: {head:?}");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "));
    tcp
}

/// Read server frames (unmasked) until a close frame; its code.
async fn close_code_of(tcp: &mut TcpStream) -> u16 {
    loop {
        let mut head = [0u8; 2];
        tcp.read_exact(&mut head).await.unwrap();
        let len = match head[1] & 0x7f {
            126 => u64::from(tcp.read_u16().await.unwrap()),
            127 => tcp.read_u64().await.unwrap(),
            n => u64::from(n),
        };
        let mut payload = vec![0u8; usize::try_from(len).unwrap()];
        tcp.read_exact(&mut payload).await.unwrap();
        if head[0] & 0x0f == 0x8 {
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn raise_open_file_limit(needed: usize) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    let needed = needed as libc::rlim_t;
    if limit.rlim_cur < needed {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: setrlimit reads the struct we own.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    }
    assert!(limit.rlim_cur >= needed, "too few open files allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_sleeps_keeps_its_client_which_gets_every_broadcast_in_order() {
    const COUNT: usize = 1000;
    const BUDGET: usize = 64 << 10;
    let awake = Arc::new(AtomicBool::new(false));
    let woke = awake.clone();
    let (addr, handle) = start(policy(BUDGET), move |client| {
        let woke = woke.clone();
        async move {
            // Busy elsewhere for longer than the broadcast takes.
            tokio::time::sleep(Duration::from_secs(4)).await;
            woke.store(true, Ordering::SeqCst);
            drain(client).await;
        }
    })
    .await;
    let (mut ws, _) = sockeye_tokio::connect(&format!("ws://{addr}"))
        .await
        .unwrap();
    let clients = handle.clients().clone();
    wait_until("the client", || clients.len() == 1).await;
    let id = clients.ids()[0];

    let reader = tokio::spawn(async move {
        for n in 0..COUNT {
            let message = timeout(LIMIT, ws.recv()).await.unwrap().unwrap().unwrap();
            let text = message.as_text().expect("a text message").to_owned();
            assert_eq!(text[..6].parse::<usize>().unwrap(), n, "out of order");
        }
        ws
    });
    // 1 MB in all, 16 times the budget, in bursts well under it.
    let padding = "x".repeat(1018);
    let mut most = 0;
    for n in 0..COUNT {
        assert_eq!(
            clients.broadcast(Message::text(format!("{n:06}{padding}"))),
            1
        );
        most = most.max(clients.queued_bytes_of(id));
        if n % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let mut ws = timeout(LIMIT, reader).await.unwrap().unwrap();
    assert!(
        !awake.load(Ordering::SeqCst),
        "the broadcast outlasted the handler's sleep; the test proves nothing"
    );
    assert!(most <= BUDGET, "{most}");
    assert_eq!(clients.close_order(id), None);
    assert_eq!(clients.len(), 1);
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_with_1008_at_the_byte_budget() {
    const BUDGET: usize = 32 << 10;
    const SIZE: usize = 1024;
    let (addr, handle) = start(policy(BUDGET), drain).await;
    let mut stalled = raw_client(addr).await;
    let clients = handle.clients().clone();
    wait_until("the client", || clients.len() == 1).await;
    let id = clients.ids()[0];

    let payload = bytes::Bytes::from(vec![0u8; SIZE]);
    let mut most = 0;
    let start = Instant::now();
    while clients.broadcast(Message::binary(payload.clone())) == 1 {
        assert!(start.elapsed() < LIMIT, "never closed");
        most = most.max(clients.queued_bytes_of(id));
        // Give the connection its chance to write: only its socket may
        // hold the bytes back.
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    assert_eq!(clients.close_order(id), TOO_SLOW);
    // It was closed when the next message would have taken it over the
    // budget, and not before.
    assert!(most > BUDGET - SIZE && most <= BUDGET, "{most}");
    assert_eq!(clients.queued_bytes(), 0, "its queue is dropped");
    // Reading at last, it finds the close frame behind what was written.
    assert_eq!(
        timeout(LIMIT, close_code_of(&mut stalled)).await.unwrap(),
        1008
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_bytes_stay_within_the_budget_with_1000_clients_of_which_100_never_read() {
    const CLIENTS: usize = 1000;
    const BUDGET: usize = 64 << 10;
    const SIZE: usize = 4096;
    raise_open_file_limit(2 * CLIENTS + 64);
    let (addr, handle) = start(policy(BUDGET), drain).await;
    let clients = handle.clients().clone();

    // Every tenth client never reads; the others read and drop everything.
    let mut stalled = Vec::new();
    for n in 0..CLIENTS {
        let mut tcp = raw_client(addr).await;
        if n % 10 == 0 {
            stalled.push(tcp);
        } else {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 << 10];
                while matches!(tcp.read(&mut buf).await, Ok(1..)) {}
            });
        }
    }
    wait_until("every client", || clients.len() == CLIENTS).await;
    // Admitted one after another, so the ids are in connection order.
    let ids = clients.ids();
    let (silent, reading): (Vec<_>, Vec<_>) = ids
        .iter()
        .copied()
        .enumerate()
        .partition(|(n, _)| n % 10 == 0);

    let payload = bytes::Bytes::from(vec![0u8; SIZE]);
    let start = Instant::now();
    let mut broadcasts = 0;
    while silent
        .iter()
        .any(|(_, id)| clients.close_order(*id).is_none())
    {
        assert!(
            start.elapsed() < LIMIT,
            "the silent clients were never closed"
        );
        clients.broadcast(Message::binary(payload.clone()));
        broadcasts += 1;
        let queued = clients.queued_bytes();
        assert!(queued <= clients.len() * BUDGET, "{queued} bytes queued");
        // A sender that paces itself on the readers, so that only the
        // silent clients fall behind.
        wait_until("the readers' connections", || {
            reading
                .iter()
                .all(|(_, id)| clients.queued_bytes_of(*id) <= BUDGET / 2)
        })
        .await;
    }
    for (_, id) in &silent {
        assert_eq!(clients.close_order(*id), TOO_SLOW);
    }
    for (_, id) in &reading {
        assert_eq!(clients.close_order(*id), None, "a reader was closed");
    }
    assert!(clients.queued_bytes() <= reading.len() * BUDGET);
    println!(
        "{broadcasts} broadcasts of {SIZE} B closed the {} silent clients",
        silent.len()
    );
    drop(stalled);
}
