//! What the browser's `WebSocket` shows, from our client over loopback: url,
//! protocol, extensions, ready state, buffered amount, and how it closed.

use std::time::Duration;

use sockeye_io::sockeye::handshake::{Accept, ServerHandshake};
use sockeye_tokio::{
    ClientOptions, CloseCode, Config, Decision, Error, Message, ReadyState, Role, from_raw,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/room?id=7", listener.local_addr().unwrap());
    (listener, url)
}

#[tokio::test]
async fn client_reports_url_protocol_and_extensions_from_the_handshake() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        // A server written against the engine, so that it can select an
        // extension: the client only checks that it offered it.
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut handshake = ServerHandshake::new(Config::default(), Duration::ZERO);
        let mut buf = [0u8; 4096];
        let request = loop {
            let n = tcp.read(&mut buf).await.unwrap();
            if let Some(request) = handshake.receive(&buf[..n]).unwrap() {
                break request;
            }
        };
        let seen = (
            request.headers().get("authorization").map(str::to_owned),
            request.origin().map(str::to_owned),
        );
        let accept = Accept::new(Duration::ZERO)
            .protocol("chat.v2")
            .extension("x-sockeye-test; level=2");
        let (response, _) = request.accept(accept).unwrap();
        tcp.write_all(&response).await.unwrap();
        let mut ws = from_raw(tcp, Role::Server, Config::default());
        while let Some(Ok(_)) = ws.recv().await {}
        seen
    });
    let options = ClientOptions::new()
        .protocol("chat.v1")
        .protocol("chat.v2")
        .extension("x-sockeye-test; level=2")
        .origin("https://example.test")
        .header("Authorization", "Bearer token-1");
    let (mut ws, response) = timeout(
        LIMIT,
        sockeye_tokio::connect_with(&url, options, Config::default()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(ws.url(), Some(url.as_str()));
    assert_eq!(ws.protocol(), Some("chat.v2"));
    assert_eq!(ws.extensions().len(), 1);
    assert_eq!(ws.extensions()[0].name(), "x-sockeye-test");
    assert_eq!(ws.extensions()[0].param("level"), Some(Some("2")));
    assert_eq!(
        ws.handshake_info().extensions_header(),
        "x-sockeye-test; level=2"
    );
    assert_eq!(response.extensions, ws.extensions());
    assert_eq!(ws.ready_state(), ReadyState::Open);
    timeout(LIMIT, ws.close(CloseCode::NORMAL, ""))
        .await
        .unwrap()
        .unwrap();
    let (authorization, origin) = server.await.unwrap();
    assert_eq!(authorization.as_deref(), Some("Bearer token-1"));
    assert_eq!(origin.as_deref(), Some("https://example.test"));
}

#[tokio::test]
async fn ready_state_goes_open_closing_closed_and_the_close_is_clean() {
    let (listener, url) = listener().await;
    let (go_on, wait) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = sockeye_tokio::accept(tcp).await.unwrap();
        // Not reading yet: the client's close frame stays unanswered.
        wait.await.unwrap();
        while let Some(Ok(_)) = ws.recv().await {}
        ws.close_status()
    });
    let (mut ws, _) = sockeye_tokio::connect(&url).await.unwrap();
    assert_eq!(ws.ready_state(), ReadyState::Open);
    assert_eq!(ws.close_status(), None);
    // The close frame goes out; the answer cannot come yet, so the
    // (cancel-safe) close is abandoned while it waits.
    let waiting = timeout(
        Duration::from_millis(100),
        ws.close(CloseCode::NORMAL, "done"),
    )
    .await;
    assert!(waiting.is_err(), "closed without the server's answer");
    assert_eq!(ws.ready_state(), ReadyState::Closing);
    assert_eq!(ws.close_status(), None);
    go_on.send(()).unwrap();
    timeout(LIMIT, ws.close(CloseCode::NORMAL, "done"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ws.ready_state(), ReadyState::Closed);
    let info = ws.close_status().unwrap();
    assert_eq!((info.code, info.reason.as_str()), (1000, "done"));
    assert!(info.was_clean);
    let server_info = server.await.unwrap().unwrap();
    assert_eq!(server_info.code, 1000);
    assert!(server_info.was_clean);
}

#[tokio::test]
async fn server_close_reports_code_reason_and_was_clean() {
    let (listener, url) = listener().await;
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = sockeye_tokio::accept(tcp).await.unwrap();
        ws.close(CloseCode::new(4001).unwrap(), "server says bye")
            .await
            .unwrap();
    });
    let (mut ws, _) = sockeye_tokio::connect(&url).await.unwrap();
    let message = timeout(LIMIT, ws.recv()).await.unwrap().unwrap().unwrap();
    assert!(matches!(message, Message::Close(Some(_))), "{message:?}");
    // Close frames exchanged, the TCP connection not closed yet.
    assert_eq!(ws.ready_state(), ReadyState::Closing);
    assert!(timeout(LIMIT, ws.recv()).await.unwrap().is_none());
    assert_eq!(ws.ready_state(), ReadyState::Closed);
    let info = ws.close_status().unwrap();
    assert_eq!(
        (info.code, info.reason.as_str(), info.was_clean),
        (4001, "server says bye", true)
    );
}

#[tokio::test]
async fn dropped_tcp_connection_closes_with_1006_not_clean() {
    let (listener, url) = listener().await;
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = sockeye_tokio::accept(tcp).await.unwrap();
        drop(ws);
    });
    let (mut ws, _) = sockeye_tokio::connect(&url).await.unwrap();
    let mut items = 0;
    while let Some(item) = timeout(LIMIT, ws.recv()).await.unwrap() {
        assert!(item.is_err(), "{item:?}");
        items += 1;
        assert!(items < 10);
    }
    assert_eq!(ws.ready_state(), ReadyState::Closed);
    let info = ws.close_status().unwrap();
    assert_eq!(info.code, 1006);
    assert!(!info.was_clean);
}

#[tokio::test]
async fn buffered_amount_grows_while_the_peer_does_not_read() {
    let (listener, url) = listener().await;
    let (done, held) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = sockeye_tokio::accept(tcp).await.unwrap();
        // Hold the connection without reading from it.
        let _ = held.await;
        drop(ws);
    });
    let (mut ws, _) = sockeye_tokio::connect(&url).await.unwrap();
    assert_eq!(ws.buffered_amount(), 0);
    let chunk = vec![7u8; 1 << 20];
    let mut blocked = false;
    // Bounded: loopback buffers hold far less than 256 MiB.
    for _ in 0..256 {
        if timeout(Duration::from_millis(200), ws.send(chunk.clone()))
            .await
            .is_err()
        {
            blocked = true;
            break;
        }
    }
    assert!(blocked, "the transport never pushed back");
    assert!(ws.buffered_amount() > 0);
    done.send(()).unwrap();
}

#[tokio::test]
async fn handshake_timeout_bounds_a_server_that_never_answers() {
    let (listener, url) = listener().await;
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        tokio::time::sleep(LIMIT).await;
        drop(tcp);
    });
    let mut config = Config::default();
    config.handshake_timeout = Some(Duration::from_millis(200));
    let result = timeout(
        LIMIT,
        sockeye_tokio::connect_with(&url, ClientOptions::new(), config),
    )
    .await
    .unwrap();
    assert!(
        matches!(result, Err(Error::HandshakeTimeout)),
        "{:?}",
        result.err()
    );
}

#[cfg(feature = "rustls")]
#[tokio::test]
async fn connect_timeout_bounds_a_tls_handshake_that_never_completes() {
    let (listener, url) = listener().await;
    let url = url.replacen("ws://", "wss://", 1);
    tokio::spawn(async move {
        // Accepts TCP, never speaks TLS.
        let (tcp, _) = listener.accept().await.unwrap();
        tokio::time::sleep(LIMIT).await;
        drop(tcp);
    });
    let options = ClientOptions::new().connect_timeout(Duration::from_millis(200));
    let result = timeout(
        LIMIT,
        sockeye_tokio::connect_with(&url, options, Config::default()),
    )
    .await
    .unwrap();
    match result {
        Err(Error::Connect(error)) => assert_eq!(error.kind(), std::io::ErrorKind::TimedOut),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("connected"),
    }
}

#[tokio::test]
async fn server_accepts_with_decision_and_info_stays_empty_on_the_server_side() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let (mut ws, _) = sockeye_tokio::accept_with(tcp, Config::default(), |request| {
            Decision::accept_first_of(request, &["chat.v2"])
        })
        .await
        .unwrap();
        let url = ws.url().map(str::to_owned);
        while let Some(Ok(_)) = ws.recv().await {}
        url
    });
    let options = ClientOptions::new().protocol("chat.v2");
    let (mut ws, _) = sockeye_tokio::connect_with(&url, options, Config::default())
        .await
        .unwrap();
    assert_eq!(ws.protocol(), Some("chat.v2"));
    assert!(ws.extensions().is_empty());
    timeout(LIMIT, ws.close(CloseCode::NORMAL, ""))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(server.await.unwrap(), None);
}
