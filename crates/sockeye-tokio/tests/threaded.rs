//! `ThreadedServer` over loopback with clients spread over its threads:
//! broadcast, global per-address limits, rate and size limits, heartbeat
//! and graceful shutdown, each asserted on what clients on every thread
//! observe. Every served client is first told the name of the thread that
//! serves it, so a test knows where its clients landed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sockeye_tokio::{
    Client, CloseCode, Decision, Error, Message, RateLimit, ServerHandle, ServerPolicy,
    ThreadedServer, WebSocketStream,
};
use tokio::net::TcpStream;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);
const THREADS: usize = 2;
/// Connections tried before giving up on reaching every thread (the kernel
/// picks a thread by a hash of the connection's ports).
const ATTEMPTS: usize = 64;

type Ws = WebSocketStream<sockeye_tokio::MaybeTlsStream<TcpStream>>;

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("?").to_string()
}

/// Tell the client which thread serves it, then echo its data messages.
async fn echo(mut client: Client) {
    if client.send(thread_name()).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = client.recv().await {
        if message.is_data() && client.send(message).await.is_err() {
            break;
        }
    }
}

/// Tell the client which thread serves it, then broadcast its data
/// messages to everyone else.
async fn relay(mut client: Client) {
    if client.send(thread_name()).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = client.recv().await {
        if message.is_data() {
            client.clients().broadcast_except(client.id(), message);
        }
    }
}

struct Running {
    url: String,
    addr: std::net::SocketAddr,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

fn start<F, Fut>(policy: ServerPolicy, handler: F) -> Running
where
    F: Fn(Client) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let server = ThreadedServer::bind_threads("127.0.0.1:0", policy, THREADS).unwrap();
    assert_eq!(server.threads(), THREADS);
    let addr = server.local_addr();
    let handle = server.handle();
    let task = tokio::spawn(server.run(handler));
    Running {
        url: format!("ws://{addr}"),
        addr,
        handle,
        task,
    }
}

async fn next(ws: &mut Ws) -> Message {
    timeout(LIMIT, ws.recv())
        .await
        .expect("timed out")
        .expect("stream ended")
        .expect("error")
}

/// Receive until the close frame; its code and reason.
async fn close_frame(ws: &mut Ws) -> (u16, String) {
    loop {
        match next(ws).await {
            Message::Close(Some(frame)) => {
                return (frame.code.get(), frame.reason.as_str().to_string());
            }
            Message::Close(None) => return (1005, String::new()),
            _ => {}
        }
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Connect until `per_thread` clients are served by each thread; the other
/// connections are closed. Returns the clients, thread by thread.
async fn clients_on_every_thread(url: &str, per_thread: usize) -> BTreeMap<String, Vec<Ws>> {
    let mut by_thread: BTreeMap<String, Vec<Ws>> = BTreeMap::new();
    for _ in 0..ATTEMPTS {
        let (mut ws, _) = sockeye_tokio::connect(url).await.unwrap();
        let Message::Text(name) = next(&mut ws).await else {
            panic!("the server did not name its thread");
        };
        let clients = by_thread.entry(name.to_string()).or_default();
        if clients.len() < per_thread {
            clients.push(ws);
        } else {
            ws.close(CloseCode::NORMAL, "").await.unwrap();
        }
        if by_thread.len() == THREADS && by_thread.values().all(|c| c.len() == per_thread) {
            return by_thread;
        }
    }
    let counts: BTreeMap<&String, usize> = by_thread.iter().map(|(t, c)| (t, c.len())).collect();
    panic!("{ATTEMPTS} connections did not reach every thread: {counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_clients_on_every_thread() {
    let server = start(ServerPolicy::new(), relay);
    let by_thread = clients_on_every_thread(&server.url, 2).await;
    let mut clients: Vec<Ws> = by_thread.into_values().flatten().collect();
    let clients_len = clients.len();
    wait_until("every client registered", || {
        server.handle.clients().len() == clients_len
    })
    .await;

    // A client's message reaches the others on both threads, not itself.
    clients[0].send("from the first thread").await.unwrap();
    for other in &mut clients[1..] {
        assert_eq!(next(other).await, Message::text("from the first thread"));
    }
    // The handle's broadcast reaches everyone; the sender sees it next.
    let reached = server
        .handle
        .clients()
        .broadcast(Message::binary(vec![1u8, 2, 3]));
    assert_eq!(reached, clients_len);
    for ws in &mut clients {
        assert_eq!(next(ws).await, Message::binary(vec![1u8, 2, 3]));
    }
    // So does one client's message to one id on the other thread.
    let ids = server.handle.clients().ids();
    assert_eq!(ids.len(), clients_len);
    for id in ids {
        assert!(server.handle.clients().send_to(id, Message::text("direct")));
    }
    for ws in &mut clients {
        assert_eq!(next(ws).await, Message::text("direct"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_address_limit_counts_every_thread() {
    // The verify hook runs on the thread that accepted, before admission:
    // it notes which thread answered each request.
    let answered_on = Arc::new(Mutex::new(Vec::new()));
    let noted = answered_on.clone();
    let policy = ServerPolicy::new()
        .max_connections_per_ip(3)
        .verify(move |_| {
            noted.lock().unwrap().push(thread_name());
            Decision::accept()
        });
    let server = start(policy, echo);
    let mut admitted = Vec::new();
    for _ in 0..3 {
        admitted.push(sockeye_tokio::connect(&server.url).await.unwrap().0);
    }
    assert_eq!(server.handle.clients().len(), 3);
    assert_eq!(
        server
            .handle
            .clients()
            .connections_from([127, 0, 0, 1].into()),
        3
    );

    // Every further connection is refused with 503, on whichever thread
    // it lands, until refusals were seen on every thread.
    let mut refused_on = std::collections::BTreeSet::new();
    for _ in 0..ATTEMPTS {
        let attempt = sockeye_tokio::connect(&server.url).await;
        let status = match attempt {
            Err(Error::Rejected { status, .. }) => status,
            other => panic!("expected 503, got {:?}", other.map(|_| ())),
        };
        assert_eq!(status, 503);
        refused_on.insert(answered_on.lock().unwrap().last().unwrap().clone());
        if refused_on.len() == THREADS {
            break;
        }
    }
    assert_eq!(refused_on.len(), THREADS, "refusals on {refused_on:?}");
    assert_eq!(server.handle.clients().len(), 3);

    // A freed place is free on every thread.
    admitted
        .pop()
        .unwrap()
        .close(CloseCode::NORMAL, "")
        .await
        .unwrap();
    let clients = server.handle.clients().clone();
    wait_until("the place to be freed", || clients.len() == 2).await;
    assert!(sockeye_tokio::connect(&server.url).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_and_size_limits_apply_on_every_thread() {
    let policy = ServerPolicy::new()
        .rate_limit(RateLimit::new(3, Duration::from_secs(60)))
        .max_message_size(1024);
    let server = start(policy, echo);
    let by_thread = clients_on_every_thread(&server.url, 2).await;
    for (thread, mut clients) in by_thread {
        let mut flooding = clients.pop().unwrap();
        for n in 0..3 {
            flooding.send(n.to_string()).await.unwrap();
            assert_eq!(next(&mut flooding).await, Message::text(n.to_string()));
        }
        flooding.send("one too many").await.unwrap();
        let closed = close_frame(&mut flooding).await;
        assert_eq!(closed, (1008, "rate limit".into()), "on {thread}");

        let mut oversized = clients.pop().unwrap();
        oversized.send(vec![0u8; 2048]).await.unwrap();
        assert_eq!(close_frame(&mut oversized).await.0, 1009, "on {thread}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_drops_silent_clients_on_every_thread() {
    let interval = Duration::from_millis(100);
    let grace = Duration::from_millis(200);
    let server = start(ServerPolicy::new().heartbeat(interval, grace), echo);
    let by_thread = clients_on_every_thread(&server.url, 1).await;
    // From here on no client reads, so none answers a ping.
    let clients = server.handle.clients().clone();
    assert_eq!(clients.len(), THREADS);
    let start = Instant::now();
    wait_until("the silent clients to be dropped", || clients.is_empty()).await;
    assert!(start.elapsed() >= grace, "{:?}", start.elapsed());
    for (thread, mut silent) in by_thread {
        let mut silent = silent.pop().unwrap();
        // Reading at last: the server's pings, then the end.
        let mut pinged = false;
        loop {
            match timeout(LIMIT, silent.recv()).await.expect("timed out") {
                Some(Ok(Message::Ping(_))) => pinged = true,
                Some(Ok(other)) => panic!("on {thread}: unexpected {other:?}"),
                Some(Err(_)) | None => break,
            }
        }
        assert!(pinged, "no ping on {thread}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_1001_on_every_thread_and_ends_them_all() {
    let server = start(ServerPolicy::new(), relay);
    let by_thread = clients_on_every_thread(&server.url, 2).await;
    let clients_len = by_thread.values().map(Vec::len).sum::<usize>();
    let mut watchers = Vec::new();
    for (thread, clients) in by_thread {
        for mut ws in clients {
            let thread = thread.clone();
            watchers.push(tokio::spawn(async move {
                let code = close_frame(&mut ws).await.0;
                // The closing handshake completes and the stream ends.
                assert!(timeout(LIMIT, ws.recv()).await.unwrap().is_none());
                (thread, code)
            }));
        }
    }
    wait_until("every client registered", || {
        server.handle.clients().len() == clients_len
    })
    .await;
    let report = timeout(LIMIT, server.handle.shutdown(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!((report.told, report.dropped), (clients_len, 0));
    for watcher in watchers {
        let (thread, code) = watcher.await.unwrap();
        assert_eq!(code, 1001, "on {thread}");
    }
    // Every thread ended, and with them every listening socket.
    timeout(LIMIT, server.task).await.unwrap().unwrap().unwrap();
    for _ in 0..8 {
        assert!(TcpStream::connect(server.addr).await.is_err());
    }
}

/// What the server writes to a connection that sends `request` and then
/// nothing, up to the server's close.
async fn answer_to(addr: std::net::SocketAddr, request: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let read = timeout(LIMIT, tcp.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server never closed");
    answer
}

fn status_line(answer: &[u8]) -> String {
    let line = answer.split(|&b| b == b'\r').next().unwrap_or_default();
    String::from_utf8_lossy(line).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_handshakes_get_the_same_answers_as_from_the_one_thread_server() {
    let mut config = ServerPolicy::new().engine_config();
    config.handshake_timeout = Some(Duration::from_millis(300));
    let policy = || ServerPolicy::new().config(config.clone());
    let single = sockeye_tokio::Server::bind("127.0.0.1:0", policy())
        .await
        .unwrap();
    let single_addr = single.local_addr().unwrap();
    tokio::spawn(single.run(echo));
    let threaded = start(policy(), echo);
    for case in sockeye::testing::hostile_handshakes(&config) {
        let expected = status_line(&answer_to(single_addr, &case.request).await);
        if let Some(answer) = case.answer {
            assert!(
                expected.starts_with(&answer[..12]),
                "{}: {expected}",
                case.name
            );
        }
        // Eight connections: the kernel puts them on both threads.
        for _ in 0..8 {
            let got = status_line(&answer_to(threaded.addr, &case.request).await);
            assert_eq!(got, expected, "{}", case.name);
        }
    }
    assert!(threaded.handle.clients().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_at_the_handshake_deadline_while_clients_are_served() {
    let mut config = ServerPolicy::new().engine_config();
    config.handshake_timeout = Some(Duration::from_millis(500));
    let server = start(ServerPolicy::new().config(config), echo);
    // 500 connections that never send a byte, spread over both threads.
    let mut silent = Vec::new();
    for _ in 0..500 {
        silent.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // Meanwhile a client on each thread is served.
    let mut by_thread = clients_on_every_thread(&server.url, 1).await;
    for (thread, clients) in &mut by_thread {
        let ws = &mut clients[0];
        ws.send("still served").await.unwrap();
        assert_eq!(next(ws).await, Message::text("still served"), "on {thread}");
    }
    // Every silent connection is closed without an answer.
    for tcp in silent.iter_mut() {
        use tokio::io::AsyncReadExt;
        let mut answer = Vec::new();
        let read = timeout(LIMIT, tcp.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "a silent connection was never closed");
        assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));
    }
    assert_eq!(server.handle.clients().len(), THREADS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protocol_violation_is_closed_with_1002_on_every_thread() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start(ServerPolicy::new(), echo);
    let mut closed_on = BTreeMap::new();
    for _ in 0..ATTEMPTS {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        let request = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Sec-WebSocket-Version: 13\r\n\r\n";
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(timeout(LIMIT, tcp.read_u8()).await.unwrap().unwrap());
        }
        assert!(head.starts_with(b"HTTP/1.1 101 "));
        // The announcement: a short unmasked text frame with the thread's name.
        let mut header = [0u8; 2];
        timeout(LIMIT, tcp.read_exact(&mut header))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(header[0], 0x81);
        let mut name = vec![0u8; usize::from(header[1])];
        timeout(LIMIT, tcp.read_exact(&mut name))
            .await
            .unwrap()
            .unwrap();
        // A client frame without a mask breaks RFC 6455 §5.1.
        tcp.write_all(&[0x81, 0x02, b'h', b'i']).await.unwrap();
        let mut close = [0u8; 4];
        timeout(LIMIT, tcp.read_exact(&mut close))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(close[0], 0x88, "a close frame");
        let code = u16::from_be_bytes([close[2], close[3]]);
        closed_on.insert(String::from_utf8(name).unwrap(), code);
        if closed_on.len() == THREADS {
            break;
        }
    }
    assert_eq!(closed_on.len(), THREADS, "{closed_on:?}");
    assert!(
        closed_on.values().all(|&code| code == 1002),
        "{closed_on:?}"
    );
}

/// The CPUs the calling thread may run on, from `/proc/thread-self/status`.
#[cfg(target_os = "linux")]
fn allowed_cpus() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string();
    list.split(',')
        .flat_map(|range| match range.split_once('-') {
            Some((low, high)) => (low.parse().unwrap()..=high.parse().unwrap()).collect(),
            None => vec![range.parse().unwrap()],
        })
        .collect()
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_threads_each_run_on_their_own_cpu() {
    // Each client is told its thread's name and the CPUs that thread may
    // run on.
    let server = ThreadedServer::bind_threads("127.0.0.1:0", ServerPolicy::new(), THREADS)
        .unwrap()
        .pin_threads(true);
    let url = format!("ws://{}", server.local_addr());
    tokio::spawn(server.run(|mut client: Client| async move {
        let cpus = format!("{}:{:?}", thread_name(), allowed_cpus());
        let _ = client.send(cpus).await;
        while client.recv().await.is_some() {}
    }));
    let process = allowed_cpus();
    let mut seen = BTreeMap::new();
    for _ in 0..ATTEMPTS {
        let (mut ws, _) = sockeye_tokio::connect(&url).await.unwrap();
        let Message::Text(text) = next(&mut ws).await else {
            panic!("no announcement");
        };
        let (thread, cpus) = text.as_str().split_once(':').unwrap();
        seen.insert(thread.to_string(), cpus.to_string());
        if seen.len() == THREADS {
            break;
        }
    }
    assert_eq!(seen.len(), THREADS, "{seen:?}");
    for (index, (thread, cpus)) in seen.iter().enumerate() {
        assert_eq!(thread, &format!("sockeye-loop-{index}"));
        assert_eq!(cpus, &format!("{:?}", [process[index % process.len()]]));
    }
}

#[test]
fn zero_threads_is_an_error() {
    let error = ThreadedServer::bind_threads("127.0.0.1:0", ServerPolicy::new(), 0)
        .err()
        .expect("zero threads refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}
