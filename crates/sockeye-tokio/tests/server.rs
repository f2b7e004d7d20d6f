//! `Server` over loopback: accept-time policy, broadcast, slow clients,
//! heartbeat, limits, rate limit and graceful shutdown, each asserted on
//! what a client observes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sockeye_tokio::{
    Client, ClientOptions, CloseCode, Config, Decision, Error, Message, RateLimit, Server,
    ServerHandle, ServerPolicy,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

/// Broadcast every data message to everyone but its sender.
async fn relay(mut client: Client) {
    while let Some(Ok(message)) = client.recv().await {
        if message.is_data() {
            client.clients().broadcast_except(client.id(), message);
        }
    }
}

/// Echo every data message.
async fn echo(mut client: Client) {
    while let Some(Ok(message)) = client.recv().await {
        if message.is_data() && client.send(message).await.is_err() {
            break;
        }
    }
}

struct Running {
    url: String,
    addr: std::net::SocketAddr,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start<F, Fut>(policy: ServerPolicy, handler: F) -> Running
where
    F: Fn(Client) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let server = Server::bind("127.0.0.1:0", policy).await.unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.handle();
    let task = tokio::spawn(server.run(handler));
    Running {
        url: format!("ws://{addr}"),
        addr,
        handle,
        task,
    }
}

/// Send a raw HTTP request and return the response up to the end of its head
/// (or everything, if the server closes first).
async fn raw_request(addr: std::net::SocketAddr, request: &str) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match timeout(LIMIT, tcp.read(&mut byte)).await.unwrap().unwrap() {
            0 => break,
            _ => head.push(byte[0]),
        }
    }
    (tcp, String::from_utf8_lossy(&head).into_owned())
}

fn upgrade_request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

fn status_of(result: Result<impl Sized, Error>) -> Option<u16> {
    match result {
        Ok(_) => Some(101),
        Err(error) => error.http_status(),
    }
}

async fn next(ws: &mut sockeye_tokio::WebSocketStream<impl Io>) -> Message {
    timeout(LIMIT, ws.recv())
        .await
        .expect("timed out")
        .expect("stream ended")
        .expect("error")
}

/// The streams a client WebSocket runs over.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> Io for T {}

/// Receive until the close frame; its code.
async fn close_code(ws: &mut sockeye_tokio::WebSocketStream<impl Io>) -> u16 {
    loop {
        match next(ws).await {
            Message::Close(Some(frame)) => return frame.code.get(),
            Message::Close(None) => return 1005,
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

fn auth_policy() -> ServerPolicy {
    ServerPolicy::new().path("/ws").verify(|request| {
        let by_query = request.query("token").as_deref() == Some("s3cret");
        let by_header = request.header("authorization") == Some("Bearer s3cret");
        if by_query || by_header {
            Decision::accept()
        } else {
            Decision::reject(401)
                .header("WWW-Authenticate", "Bearer")
                .body("token required\n")
        }
    })
}

#[tokio::test]
async fn auth_server_answers_401_without_a_token_and_101_with_one() {
    let server = start(auth_policy(), echo).await;
    let url = format!("{}/ws", server.url);
    let without = sockeye_tokio::connect(&url).await;
    assert_eq!(status_of(without), Some(401));
    let wrong = sockeye_tokio::connect(&format!("{url}?token=nope")).await;
    assert_eq!(status_of(wrong), Some(401));

    let (mut by_query, _) = sockeye_tokio::connect(&format!("{url}?token=s3cret"))
        .await
        .unwrap();
    by_query.send("hi").await.unwrap();
    assert_eq!(next(&mut by_query).await, Message::text("hi"));
    let options = ClientOptions::new().header("Authorization", "Bearer s3cret");
    let by_header = sockeye_tokio::connect_with(&url, options, Config::default()).await;
    assert_eq!(status_of(by_header), Some(101));

    let (_, head) = raw_request(server.addr, &upgrade_request("/ws")).await;
    assert!(head.starts_with("HTTP/1.1 401 "), "{head}");
    assert!(head.contains("\r\nWWW-Authenticate: Bearer\r\n"), "{head}");
}

#[tokio::test]
async fn another_path_gets_404() {
    let server = start(auth_policy(), echo).await;
    let (_, head) = raw_request(server.addr, &upgrade_request("/other?token=s3cret")).await;
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
}

#[tokio::test]
async fn a_plain_get_gets_426_or_the_pages_handler() {
    let server = start(ServerPolicy::new(), echo).await;
    let plain = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let (_, head) = raw_request(server.addr, plain).await;
    assert!(head.starts_with("HTTP/1.1 426 "), "{head}");
    assert!(head.contains("\r\nUpgrade: websocket\r\n"), "{head}");

    let page = ServerPolicy::new()
        .path("/ws")
        .http(|request| match request.path() {
            "/" => Decision::respond(200)
                .header("Content-Type", "text/html")
                .body("<h1>hello</h1>"),
            _ => Decision::respond(404),
        });
    let server = start(page, echo).await;
    let (mut tcp, head) = raw_request(server.addr, plain).await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let mut body = String::new();
    timeout(LIMIT, tcp.read_to_string(&mut body))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(body, "<h1>hello</h1>");
    // The WebSocket still answers on the same port.
    let (mut ws, _) = sockeye_tokio::connect(&format!("{}/ws", server.url))
        .await
        .unwrap();
    ws.send("same port").await.unwrap();
    assert_eq!(next(&mut ws).await, Message::text("same port"));
}

#[tokio::test]
async fn the_server_chooses_the_first_subprotocol_it_supports() {
    let policy = ServerPolicy::new()
        .protocols(&["chat.v2", "chat.v1"])
        .header("Set-Cookie", "seen=1");
    let server = start(policy, |mut client: Client| async move {
        let protocol = client.protocol().unwrap_or("none").to_owned();
        let _ = client.send(protocol).await;
        echo(client).await;
    })
    .await;
    // The server lists chat.v2 first, the client chat.v1: the answer is the
    // client's first supported one (`Request::select_protocol`), and going
    // by the server's list instead would pick chat.v2.
    let options = ClientOptions::new()
        .protocol("chat.v3")
        .protocol("chat.v1")
        .protocol("chat.v2");
    let (mut ws, response) = sockeye_tokio::connect_with(&server.url, options, Config::default())
        .await
        .unwrap();
    assert_eq!(response.protocol.as_deref(), Some("chat.v1"));
    assert_eq!(response.headers.get("set-cookie"), Some("seen=1"));
    assert_eq!(next(&mut ws).await, Message::text("chat.v1"));

    let options = ClientOptions::new().protocol("other");
    let (mut ws, response) = sockeye_tokio::connect_with(&server.url, options, Config::default())
        .await
        .unwrap();
    assert_eq!(response.protocol, None);
    assert_eq!(next(&mut ws).await, Message::text("none"));
}

#[tokio::test]
async fn broadcast_reaches_everyone_but_the_sender() {
    let server = start(ServerPolicy::new(), relay).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(sockeye_tokio::connect(&server.url).await.unwrap().0);
    }
    wait_until("three clients", || server.handle.clients().len() == 3).await;
    clients[0].send("from zero").await.unwrap();
    assert_eq!(next(&mut clients[1]).await, Message::text("from zero"));
    assert_eq!(next(&mut clients[2]).await, Message::text("from zero"));
    // The sender got nothing: the next thing it sees is the server's broadcast.
    server
        .handle
        .clients()
        .broadcast(Message::binary(vec![7u8]));
    assert_eq!(next(&mut clients[0]).await, Message::binary(vec![7u8]));
}

#[tokio::test]
async fn a_slow_client_is_closed_with_1008_and_the_others_are_unaffected() {
    let mut config = ServerPolicy::new().engine_config();
    config.write_high_water_mark = 16 << 10;
    let policy = ServerPolicy::new().config(config).queue_budget(64 << 10);
    let server = start(policy, relay).await;
    let (mut slow, _) = sockeye_tokio::connect(&server.url).await.unwrap();
    let (mut fast, _) = sockeye_tokio::connect(&server.url).await.unwrap();
    let clients = server.handle.clients().clone();
    wait_until("two clients", || clients.len() == 2).await;

    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let fast_task = tokio::spawn(async move {
        while let Some(Ok(message)) = fast.recv().await {
            if message.is_data() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });

    // The slow client never reads: the socket buffers fill, then its queue.
    let payload = vec![0u8; 16 << 10];
    let mut sent = 0;
    let mut evicted = false;
    for _ in 0..20_000 {
        let reached = clients.broadcast(Message::binary(payload.clone()));
        sent += 1;
        // Pace the broadcast on the fast client, so only the slow one lags.
        wait_until("the fast client", || {
            received.load(Ordering::SeqCst) >= sent
        })
        .await;
        if reached == 1 {
            evicted = true;
            break;
        }
    }
    assert!(evicted, "the slow client was never closed");
    assert_eq!(received.load(Ordering::SeqCst), sent);
    assert_eq!(clients.broadcast(Message::text("still here")), 1);
    wait_until("the fast client", || {
        received.load(Ordering::SeqCst) == sent + 1
    })
    .await;

    // Reading at last, the slow client finds the close frame behind the backlog.
    assert_eq!(close_code(&mut slow).await, 1008);
    wait_until("the slow client to leave", || clients.len() == 1).await;
    assert!(!fast_task.is_finished());
}

#[tokio::test]
async fn a_client_that_stops_answering_pings_is_dropped_within_the_heartbeat() {
    let interval = Duration::from_millis(100);
    let grace = Duration::from_millis(200);
    let server = start(ServerPolicy::new().heartbeat(interval, grace), echo).await;
    // A raw TCP client that completes the handshake and then neither reads
    // nor answers anything.
    let (mut tcp, head) = raw_request(server.addr, &upgrade_request("/")).await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let clients = server.handle.clients().clone();
    assert_eq!(clients.len(), 1);
    let start = Instant::now();
    wait_until("the dead client to be dropped", || clients.is_empty()).await;
    // Dropped no sooner than a ping plus the grace period, and well within
    // a few heartbeats (the bound is loose: the machine may be busy).
    let took = start.elapsed();
    assert!(took >= grace, "{took:?}");
    assert!(took < interval + grace + Duration::from_secs(3), "{took:?}");
    // Its socket saw pings, then the end.
    let mut rest = Vec::new();
    timeout(LIMIT, tcp.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rest.first(), Some(&0x89), "a ping frame first");
}

#[tokio::test]
async fn a_live_client_survives_the_heartbeat() {
    let policy =
        ServerPolicy::new().heartbeat(Duration::from_millis(50), Duration::from_millis(200));
    let server = start(policy, echo).await;
    let (mut ws, _) = sockeye_tokio::connect(&server.url).await.unwrap();
    // Keep receiving (which answers pings) for several intervals.
    let _ = timeout(Duration::from_millis(500), ws.recv()).await;
    ws.send("alive").await.unwrap();
    assert_eq!(next(&mut ws).await, Message::text("alive"));
    assert_eq!(server.handle.clients().len(), 1);
}

#[tokio::test]
async fn shutdown_closes_every_client_with_1001_and_stops_the_server() {
    let server = start(ServerPolicy::new(), relay).await;
    let (a, _) = sockeye_tokio::connect(&server.url).await.unwrap();
    let (b, _) = sockeye_tokio::connect(&server.url).await.unwrap();
    wait_until("two clients", || server.handle.clients().len() == 2).await;
    let watch = |mut ws: sockeye_tokio::WebSocketStream<_>| {
        tokio::spawn(async move {
            let code = close_code(&mut ws).await;
            // The closing handshake completes and the stream ends.
            assert!(timeout(LIMIT, ws.recv()).await.unwrap().is_none());
            code
        })
    };
    let (a_task, b_task) = (watch(a), watch(b));
    let deadline = Duration::from_secs(5);
    let report = timeout(LIMIT, server.handle.shutdown(deadline))
        .await
        .unwrap();
    assert_eq!((report.told, report.dropped), (2, 0));
    assert_eq!(a_task.await.unwrap(), 1001);
    assert_eq!(b_task.await.unwrap(), 1001);
    timeout(LIMIT, server.task).await.unwrap().unwrap().unwrap();
    // The listener is closed.
    assert!(TcpStream::connect(server.addr).await.is_err());
}

#[tokio::test]
async fn shutdown_drops_a_client_that_does_not_answer_at_the_deadline() {
    let server = start(ServerPolicy::new(), echo).await;
    let (mut silent, head) = raw_request(server.addr, &upgrade_request("/")).await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let deadline = Duration::from_millis(300);
    let start = Instant::now();
    let report = timeout(LIMIT, server.handle.shutdown(deadline))
        .await
        .unwrap();
    assert!(start.elapsed() >= deadline);
    assert_eq!((report.told, report.dropped), (1, 1));
    wait_until("the dropped client to go", || {
        server.handle.clients().is_empty()
    })
    .await;
    // It got the close frame (1001), then the end of the stream.
    let mut rest = Vec::new();
    timeout(LIMIT, silent.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&rest[..4], [0x88, 22, 0x03, 0xe9]);
}

#[tokio::test]
async fn connection_limits_are_answered_with_503() {
    let server = start(ServerPolicy::new().max_connections_per_ip(1), echo).await;
    let (mut first, _) = sockeye_tokio::connect(&server.url).await.unwrap();
    let second = sockeye_tokio::connect(&server.url).await;
    assert_eq!(status_of(second), Some(503));
    first.close(CloseCode::NORMAL, "").await.unwrap();
    let clients = server.handle.clients().clone();
    wait_until("the slot to be freed", || clients.is_empty()).await;
    assert_eq!(
        status_of(sockeye_tokio::connect(&server.url).await),
        Some(101)
    );

    let server = start(ServerPolicy::new().max_connections(2), echo).await;
    let _a = sockeye_tokio::connect(&server.url).await.unwrap();
    let _b = sockeye_tokio::connect(&server.url).await.unwrap();
    let (_, head) = raw_request(server.addr, &upgrade_request("/")).await;
    assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
    assert!(head.contains("\r\nRetry-After: 1\r\n"), "{head}");
}

#[tokio::test]
async fn exceeding_the_rate_limit_closes_with_1008() {
    let policy = ServerPolicy::new().rate_limit(RateLimit::new(3, Duration::from_secs(60)));
    let server = start(policy, echo).await;
    let (mut ws, _) = sockeye_tokio::connect(&server.url).await.unwrap();
    for n in 0..3 {
        ws.send(n.to_string()).await.unwrap();
        assert_eq!(next(&mut ws).await, Message::text(n.to_string()));
    }
    ws.send("one too many").await.unwrap();
    let Message::Close(Some(frame)) = next(&mut ws).await else {
        panic!("expected a close frame");
    };
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (CloseCode::POLICY_VIOLATION, "rate limit")
    );
}

#[tokio::test]
async fn a_message_over_the_size_limit_closes_with_1009() {
    let server = start(ServerPolicy::new().max_message_size(1024), echo).await;
    let (mut ws, _) = sockeye_tokio::connect(&server.url).await.unwrap();
    ws.send(vec![0u8; 2048]).await.unwrap();
    assert_eq!(close_code(&mut ws).await, 1009);
}

/// The handler sees the real connection: the peer's address and port as
/// the client's socket has them, and the request's path, query, header
/// fields and origin as they were sent.
#[tokio::test]
async fn the_handler_sees_the_peers_address_and_the_request_it_sent() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message as TMessage;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let running = start(ServerPolicy::new(), |mut client: Client| async move {
        let request = client.request();
        let report = format!(
            "{} {} {} {:?} {:?} {:?}",
            client.peer_addr(),
            request.method(),
            request.path(),
            request.query("room").as_deref(),
            request.headers().get("X-Trace"),
            request.origin(),
        );
        let _ = client.send(Message::text(report)).await;
        while let Some(Ok(_)) = client.recv().await {}
    })
    .await;
    let tcp = TcpStream::connect(running.addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    let mut request = format!("{}/chat/lobby?room=blue%20sky&x=1", running.url)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("X-Trace", "trace-4711".parse().unwrap());
    request
        .headers_mut()
        .insert("Origin", "https://app.example".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::client_async(request, tcp).await.unwrap();
    let report = timeout(LIMIT, ws.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(
        report,
        TMessage::text(format!(
            "{local} GET /chat/lobby Some(\"blue sky\") Some(\"trace-4711\") Some(\"https://app.example\")"
        ))
    );
    ws.close(None).await.unwrap();
}
