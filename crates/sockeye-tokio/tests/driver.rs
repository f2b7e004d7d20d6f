//! The tokio adapter over in-memory pipes: messages, closing, cancel safety,
//! backpressure, batching, timers and a vanishing peer.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sockeye_io::sockeye::ProtocolError;
use sockeye_tokio::{CloseCode, Config, Error, Message, Role, WebSocketStream, from_raw};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

fn pair(
    client: Config,
    server: Config,
) -> (WebSocketStream<DuplexStream>, WebSocketStream<DuplexStream>) {
    let (a, b) = tokio::io::duplex(64 << 10);
    (
        from_raw(a, Role::Client, client),
        from_raw(b, Role::Server, server),
    )
}

async fn next(ws: &mut WebSocketStream<impl AsyncRead + AsyncWrite + Unpin>) -> Message {
    timeout(LIMIT, ws.recv())
        .await
        .expect("timed out")
        .expect("stream ended")
        .expect("error")
}

#[tokio::test]
async fn text_binary_ping_and_close_round_trip() {
    let (mut client, mut server) = pair(Config::default(), Config::default());
    client.send("héllo").await.unwrap();
    client.send(vec![1u8, 2, 3]).await.unwrap();
    client.send(Message::Ping("p".into())).await.unwrap();
    assert_eq!(next(&mut server).await, Message::text("héllo"));
    assert_eq!(next(&mut server).await, Message::binary(vec![1u8, 2, 3]));
    assert_eq!(next(&mut server).await, Message::Ping("p".into()));
    assert_eq!(next(&mut client).await, Message::Pong("p".into()));

    let server_task = tokio::spawn(async move {
        let message = next(&mut server).await;
        assert!(timeout(LIMIT, server.recv()).await.unwrap().is_none());
        (message, server.close_status())
    });
    timeout(LIMIT, client.close(CloseCode::new(4000).unwrap(), "bye"))
        .await
        .unwrap()
        .unwrap();
    let (message, status) = server_task.await.unwrap();
    let Message::Close(Some(frame)) = message else {
        panic!("{message:?}")
    };
    assert_eq!((frame.code.get(), frame.reason.as_str()), (4000, "bye"));
    let status = status.unwrap();
    assert!(status.was_clean);
    assert_eq!(client.close_status().unwrap().code, 4000);
    assert!(matches!(client.send("late").await, Err(Error::Closed)));
}

#[tokio::test]
async fn recv_raced_against_a_timer_loses_no_message() {
    let (mut client, mut server) = pair(Config::default(), Config::default());
    let sender = tokio::spawn(async move {
        for i in 0..200u32 {
            client.send(i.to_string()).await.unwrap();
            if i % 7 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        client
    });
    let mut received = Vec::new();
    let mut cancelled = 0;
    while received.len() < 200 {
        tokio::select! {
            message = server.recv() => received.push(message.unwrap().unwrap()),
            _ = tokio::time::sleep(Duration::from_micros(200)) => cancelled += 1,
        }
    }
    let expected: Vec<Message> = (0..200u32).map(|i| Message::from(i.to_string())).collect();
    assert_eq!(received, expected);
    assert!(cancelled > 0, "the race never cancelled a recv");
    drop(sender.await.unwrap());
}

#[tokio::test]
async fn send_waits_above_the_high_water_mark_and_cancelling_it_loses_nothing_queued() {
    let mut config = Config::default();
    config.write_high_water_mark = 32 << 10;
    let (a, b) = tokio::io::duplex(4 << 10);
    let mut client = from_raw(a, Role::Client, config);
    let mut server = from_raw(b, Role::Server, Config::default());
    let chunk = vec![7u8; 16 << 10];
    // Nobody reads and the pipe holds 4 KiB: every send times out, but those
    // that found room below the mark have queued their message entirely.
    let mut sent = 0;
    loop {
        let before = client.buffered_amount();
        let result = timeout(Duration::from_millis(20), client.send(chunk.clone())).await;
        assert!(result.is_err(), "the pipe cannot take 16 KiB");
        if client.buffered_amount() == before {
            break; // waited for room: not queued
        }
        sent += 1;
        assert!(sent < 10, "send never waited for room");
    }
    assert!(client.buffered_amount() >= 32 << 10);
    assert_eq!(sent, 3);
    let reader = tokio::spawn(async move {
        let mut count = 0;
        while count < sent {
            assert_eq!(
                next(&mut server).await,
                Message::binary(vec![7u8; 16 << 10])
            );
            count += 1;
        }
        server
    });
    timeout(LIMIT, client.flush()).await.unwrap().unwrap();
    reader.await.unwrap();
}

#[tokio::test]
async fn send_queues_at_the_call_unless_it_must_wait_for_room() {
    let mut config = Config::default();
    config.write_high_water_mark = 16 << 10;
    let (a, b) = tokio::io::duplex(4 << 10);
    let mut client = from_raw(a, Role::Client, config);
    let mut server = from_raw(b, Role::Server, Config::default());
    // Never polled, yet queued: there was room below the mark.
    drop(client.send(vec![1u8; 20 << 10]));
    let queued = client.buffered_amount();
    assert!(queued > 20 << 10, "{queued} bytes queued");
    // Above the mark now: this one waits for room, and dropping it unsends it.
    drop(client.send(vec![2u8; 10]));
    assert_eq!(client.buffered_amount(), queued);
    let reader = tokio::spawn(async move {
        let first = next(&mut server).await;
        let second = next(&mut server).await;
        (first, second)
    });
    client.send(vec![3u8; 10]).await.unwrap();
    timeout(LIMIT, client.flush()).await.unwrap().unwrap();
    let (first, second) = reader.await.unwrap();
    assert_eq!(first, Message::binary(vec![1u8; 20 << 10]));
    assert_eq!(second, Message::binary(vec![3u8; 10]));
}

#[test]
fn the_futures_a_task_awaits_stay_small() {
    use std::mem::size_of;
    type Sending<'a> =
        sockeye_tokio::Sending<'a, sockeye_tokio::TokioIo<DuplexStream>, sockeye_tokio::TokioClock>;
    // What a connection's task keeps across its awaits: a `send` future of
    // three words, and an error that fits beside a message in the `Option`
    // that `recv` yields.
    assert_eq!(size_of::<Sending<'_>>(), 3 * size_of::<usize>());
    assert!(size_of::<Error>() <= 32, "{} B", size_of::<Error>());
    assert_eq!(
        size_of::<Option<Result<Message, Error>>>(),
        size_of::<Message>()
    );
}

#[tokio::test]
async fn split_halves_work_from_two_tasks() {
    let (client, mut server) = pair(Config::default(), Config::default());
    let (mut rx, mut tx) = client.split();
    let writer = tokio::spawn(async move {
        for i in 0..100u32 {
            tx.send(Message::binary(i.to_be_bytes().to_vec()))
                .await
                .unwrap();
        }
        tx
    });
    let echo = tokio::spawn(async move {
        for _ in 0..100 {
            let message = next(&mut server).await;
            server.send(message).await.unwrap();
        }
        server
    });
    for i in 0..100u32 {
        let message = timeout(LIMIT, rx.recv()).await.unwrap().unwrap().unwrap();
        assert_eq!(message, Message::binary(i.to_be_bytes().to_vec()));
    }
    let tx = writer.await.unwrap();
    let mut client = rx.reunite(tx).ok().unwrap();
    let mut server = echo.await.unwrap();
    let closing = tokio::spawn(async move { while let Some(Ok(_)) = server.recv().await {} });
    timeout(LIMIT, client.close(CloseCode::NORMAL, ""))
        .await
        .unwrap()
        .unwrap();
    closing.await.unwrap();
}

#[tokio::test]
async fn stream_and_sink_interfaces() {
    let (mut client, mut server) = pair(Config::default(), Config::default());
    client.feed(Message::text("a")).await.unwrap();
    client.feed(Message::text("b")).await.unwrap();
    SinkExt::flush(&mut client).await.unwrap();
    assert_eq!(server.next().await.unwrap().unwrap(), Message::text("a"));
    assert_eq!(server.next().await.unwrap().unwrap(), Message::text("b"));
    SinkExt::close(&mut client).await.unwrap();
    assert!(matches!(
        server.next().await,
        Some(Ok(Message::Close(Some(_))))
    ));
    assert!(server.next().await.is_none());
}

/// A pipe end that counts the writes made on it, and the reads that
/// returned data.
struct Counting {
    inner: DuplexStream,
    writes: Arc<AtomicUsize>,
    reads: Arc<AtomicUsize>,
}

impl AsyncRead for Counting {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.reads.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

impl AsyncWrite for Counting {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A client and a server over a 1 MiB pipe whose server end is counted:
/// the client, the server, its writes and its reads.
fn counted_pair() -> (
    WebSocketStream<DuplexStream>,
    WebSocketStream<Counting>,
    Arc<AtomicUsize>,
    Arc<AtomicUsize>,
) {
    let (a, b) = tokio::io::duplex(1 << 20);
    let (writes, reads) = (Arc::default(), Arc::default());
    let server = Counting {
        inner: b,
        writes: Arc::clone(&writes),
        reads: Arc::clone(&reads),
    };
    (
        from_raw(a, Role::Client, Config::default()),
        from_raw(server, Role::Server, Config::default()),
        writes,
        reads,
    )
}

#[tokio::test]
async fn echo_of_a_burst_is_written_in_a_few_writes_and_a_lone_message_at_once() {
    let (mut client, mut server, writes, _) = counted_pair();
    for i in 0..100u32 {
        client.feed(Message::text(i.to_string())).await.unwrap();
    }
    SinkExt::flush(&mut client).await.unwrap();
    // Give the pipe all 100 frames before the server starts reading.
    tokio::task::yield_now().await;
    for _ in 0..100 {
        let message = next(&mut server).await;
        server.send(message).await.unwrap();
    }
    for i in 0..100u32 {
        assert_eq!(next(&mut client).await, Message::text(i.to_string()));
    }
    let burst_writes = writes.load(Ordering::Relaxed);
    assert!(
        burst_writes <= 10,
        "{burst_writes} writes for 100 echoed messages"
    );

    // A lone message is written before its send completes.
    let before = writes.load(Ordering::Relaxed);
    server.send("lone").await.unwrap();
    assert!(writes.load(Ordering::Relaxed) > before);
    assert_eq!(next(&mut client).await, Message::text("lone"));
}

#[tokio::test]
async fn echo_of_a_burst_read_at_once_is_one_write() {
    let (mut client, mut server, writes, _) = counted_pair();
    for i in 0..20u32 {
        client.feed(Message::text(i.to_string())).await.unwrap();
    }
    SinkExt::flush(&mut client).await.unwrap();
    tokio::task::yield_now().await;
    // The natural echo loop: the replies to all 20 leave with the last send.
    for _ in 0..20 {
        let message = next(&mut server).await;
        server.send(message).await.unwrap();
    }
    assert_eq!(writes.load(Ordering::Relaxed), 1);
    for i in 0..20u32 {
        assert_eq!(next(&mut client).await, Message::text(i.to_string()));
    }
}

#[tokio::test]
async fn a_burst_of_small_messages_is_read_in_one_read() {
    const COUNT: usize = 16;
    let (mut client, mut server, _, reads) = counted_pair();
    let text = "x".repeat(1 << 10);
    for _ in 0..COUNT {
        client.feed(Message::text(text.clone())).await.unwrap();
    }
    SinkExt::flush(&mut client).await.unwrap();
    tokio::task::yield_now().await;
    for _ in 0..COUNT {
        assert_eq!(next(&mut server).await, Message::text(text.clone()));
    }
    // 16.5 KiB arrived at once: one read takes all of it.
    assert_eq!(reads.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn large_messages_are_read_in_about_one_read_each() {
    const SIZE: usize = 60 << 10;
    const COUNT: usize = 8;
    let (mut client, mut server, _, reads) = counted_pair();
    for i in 0..COUNT {
        client
            .feed(Message::binary(vec![i as u8; SIZE]))
            .await
            .unwrap();
    }
    SinkExt::flush(&mut client).await.unwrap();
    tokio::task::yield_now().await;
    for i in 0..COUNT {
        assert_eq!(
            next(&mut server).await,
            Message::binary(vec![i as u8; SIZE])
        );
    }
    // After the first frame, reads are sized by the last frame's length
    // rather than a small scratch buffer: about one read per message, not
    // one small read plus the rest.
    let reads = reads.load(Ordering::Relaxed);
    assert!(reads <= COUNT + 2, "{reads} reads for {COUNT} messages");
}

#[tokio::test(start_paused = true)]
async fn keepalive_fails_a_silent_peer_on_tokio_time() {
    let mut config = Config::default();
    config.keepalive_interval = Some(Duration::from_secs(30));
    config.pong_timeout = Duration::from_secs(10);
    let (a, b) = tokio::io::duplex(64 << 10);
    let mut server = from_raw(b, Role::Server, config);
    // The peer never answers: it does not read, so never pongs.
    let _silent = a;
    let result = timeout(Duration::from_secs(60), server.recv())
        .await
        .unwrap();
    assert!(
        matches!(
            result,
            Some(Err(Error::Protocol(ProtocolError::KeepaliveTimeout)))
        ),
        "{result:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn client_close_times_out_when_the_server_never_answers() {
    let mut config = Config::default();
    config.close_timeout = Some(Duration::from_secs(5));
    let (a, _b) = tokio::io::duplex(64 << 10);
    let mut client = from_raw(a, Role::Client, config);
    let result = timeout(Duration::from_secs(30), client.close(CloseCode::NORMAL, ""))
        .await
        .unwrap();
    assert!(
        matches!(result, Err(Error::Protocol(ProtocolError::CloseTimeout))),
        "{result:?}"
    );
}

#[tokio::test]
async fn peer_vanishing_mid_frame_is_an_unexpected_eof() {
    let (mut a, b) = tokio::io::duplex(64 << 10);
    let mut server = from_raw(b, Role::Server, Config::default());
    // Header of a masked 10-byte binary frame, mask key, then 3 of the 10 bytes.
    a.write_all(&[0x82, 0x8a, 1, 2, 3, 4, 9, 9, 9])
        .await
        .unwrap();
    drop(a);
    let result = timeout(LIMIT, server.recv()).await.unwrap();
    assert!(
        matches!(
            result,
            Some(Err(Error::Protocol(ProtocolError::UnexpectedEof)))
        ),
        "{result:?}"
    );
    assert!(timeout(LIMIT, server.recv()).await.unwrap().is_none());
}

#[tokio::test]
async fn protocol_violation_sends_its_close_code() {
    let (mut client, b) = pair_raw_server();
    // An unmasked frame from a client breaks RFC 6455 §5.1.
    tokio::io::AsyncWriteExt::write_all(&mut client, &[0x81, 0x01, b'x'])
        .await
        .unwrap();
    let mut server = b;
    let result = timeout(LIMIT, server.recv()).await.unwrap().unwrap();
    let error = result.unwrap_err();
    assert_eq!(error.close_code(), Some(CloseCode::PROTOCOL_ERROR));
    let mut reply = [0u8; 4];
    tokio::io::AsyncReadExt::read_exact(&mut client, &mut reply)
        .await
        .unwrap();
    assert_eq!(&reply[..2], &[0x88, reply[1]]);
    assert_eq!(u16::from_be_bytes([reply[2], reply[3]]), 1002);
}

fn pair_raw_server() -> (DuplexStream, WebSocketStream<DuplexStream>) {
    let (a, b) = tokio::io::duplex(64 << 10);
    (a, from_raw(b, Role::Server, Config::default()))
}

#[tokio::test]
async fn handshake_over_tcp_with_subprotocol_and_rejection() {
    use sockeye_tokio::{ClientOptions, Decision};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..2 {
            let (tcp, _) = listener.accept().await.unwrap();
            let result = sockeye_tokio::accept_with(tcp, Config::default(), |request| {
                if request.path() == "/forbidden" {
                    return Decision::reject(403).body("no");
                }
                Decision::accept_first_of(request, &["v2", "v1"])
            })
            .await;
            if let Ok((mut ws, request)) = result {
                assert_eq!(request.query("x").as_deref(), Some("1"));
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() {
                        ws.send(message).await.unwrap();
                    }
                }
            }
        }
    });
    let url = format!("ws://{addr}/forbidden");
    let error = sockeye_tokio::connect(&url).await.err().unwrap();
    assert_eq!(error.http_status(), Some(403), "{error}");

    let url = format!("ws://{addr}/chat?x=1");
    let options = ClientOptions::new().protocol("v1").protocol("v2");
    let (mut ws, response) = sockeye_tokio::connect_with(&url, options, Config::default())
        .await
        .unwrap();
    assert_eq!(response.protocol.as_deref(), Some("v1"));
    ws.send("hi").await.unwrap();
    assert_eq!(next(&mut ws).await, Message::text("hi"));
    timeout(LIMIT, ws.close(CloseCode::NORMAL, "done"))
        .await
        .unwrap()
        .unwrap();
    timeout(LIMIT, server).await.unwrap().unwrap();
}

#[tokio::test]
async fn connection_refused_dns_failure_and_bad_urls_are_distinct_errors() {
    // Bind then drop to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = sockeye_tokio::connect(&format!("ws://127.0.0.1:{port}/"))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(refused, Error::Connect(ref e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
        "{refused}"
    );
    let dns = sockeye_tokio::connect("ws://no-such-host.invalid/")
        .await
        .err()
        .unwrap();
    assert!(matches!(dns, Error::Resolve(_)), "{dns}");
    let url = sockeye_tokio::connect("http://example.com/")
        .await
        .err()
        .unwrap();
    assert!(matches!(url, Error::Url(_)), "{url}");
}

#[tokio::test(start_paused = true)]
async fn handshake_that_never_completes_times_out() {
    let mut config = Config::default();
    config.handshake_timeout = Some(Duration::from_secs(3));
    // A server that never answers.
    let (a, _silent) = tokio::io::duplex(1024);
    let result = timeout(
        Duration::from_secs(30),
        sockeye_tokio::accept_with(a, config, |_| sockeye_tokio::Decision::accept()),
    )
    .await
    .unwrap();
    assert!(matches!(result, Err(Error::HandshakeTimeout)));
}

#[tokio::test]
async fn client_vanishing_mid_handshake_is_a_handshake_error() {
    let (mut a, b) = tokio::io::duplex(1024);
    a.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    drop(a);
    let result = timeout(LIMIT, sockeye_tokio::accept(b)).await.unwrap();
    match result {
        Err(Error::Handshake(error)) => assert!(
            matches!(
                *error,
                sockeye_io::sockeye::handshake::HandshakeError::Incomplete
            ),
            "{error:?}"
        ),
        other => panic!("{:?}", other.err()),
    }
}

/// A clock that counts the times a timer is asked for and never fires.
#[derive(Clone, Default)]
struct TimerCount(Arc<AtomicUsize>);

impl sockeye_io::driver::Clock for TimerCount {
    fn now(&self) -> Duration {
        Duration::ZERO
    }

    fn poll_deadline(&mut self, _: &mut Context<'_>, _: Duration) -> Poll<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Poll::Pending
    }
}

const UPGRADE_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

#[tokio::test]
async fn server_handshake_with_its_request_already_there_arms_no_timer() {
    let (mut client, server) = tokio::io::duplex(4096);
    client.write_all(UPGRADE_REQUEST).await.unwrap();
    let timers = TimerCount::default();
    let accepted = sockeye_io::driver::handshake::server(
        sockeye_tokio::TokioIo(server),
        timers.clone(),
        Config::default(),
        |_| sockeye_tokio::Decision::accept(),
    );
    assert!(timeout(LIMIT, accepted).await.unwrap().is_ok());
    assert_eq!(timers.0.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn server_handshake_that_has_to_wait_arms_its_timer() {
    let (mut client, server) = tokio::io::duplex(4096);
    let timers = TimerCount::default();
    let accepted = tokio::spawn(sockeye_io::driver::handshake::server(
        sockeye_tokio::TokioIo(server),
        timers.clone(),
        Config::default(),
        |_| sockeye_tokio::Decision::accept(),
    ));
    // The request arrives in two parts: the handshake waits before each.
    tokio::task::yield_now().await;
    let (head, rest) = UPGRADE_REQUEST.split_at(20);
    client.write_all(head).await.unwrap();
    tokio::task::yield_now().await;
    client.write_all(rest).await.unwrap();
    assert!(timeout(LIMIT, accepted).await.unwrap().unwrap().is_ok());
    assert!(timers.0.load(Ordering::SeqCst) >= 1);
}
