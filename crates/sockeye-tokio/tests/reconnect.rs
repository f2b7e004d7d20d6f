//! The reconnecting client over loopback: a server that restarts, one that
//! never comes, one that says goodbye, and an application that closes.

#[path = "../../sockeye-io/tests/support/receive.rs"]
mod receive;

use std::time::Duration;

use sockeye_tokio::reconnect::{Event, Jitter, ReconnectPolicy, Schedule, SendError};
use sockeye_tokio::{
    ClientOptions, CloseCode, Config, Message, ReadyState, ReconnectingClient, reconnecting,
};
use tokio::net::TcpListener;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

fn policy() -> ReconnectPolicy {
    let mut policy = ReconnectPolicy::default();
    policy.initial_delay = Duration::from_millis(20);
    policy.max_delay = Duration::from_millis(200);
    policy.jitter = Jitter::Equal;
    policy.max_attempts = Some(50);
    policy.seed = Some(11);
    policy
}

async fn next(client: &mut ReconnectingClient) -> Option<Event> {
    timeout(LIMIT, client.recv()).await.expect("timed out")
}

/// Events until one `pick` accepts; every other must be one `skip` allows.
async fn until<T>(
    client: &mut ReconnectingClient,
    mut pick: impl FnMut(&Event) -> Option<T>,
    skip: impl Fn(&Event) -> bool,
) -> T {
    for _ in 0..200 {
        let event = next(client).await.expect("client stopped");
        if let Some(found) = pick(&event) {
            return found;
        }
        assert!(skip(&event), "unexpected {event:?}");
    }
    panic!("too many events")
}

async fn receive_texts(listener: &TcpListener, count: usize) -> Vec<String> {
    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = sockeye_tokio::accept(tcp).await.unwrap();
    receive::texts(&mut ws, count).await
}

#[tokio::test]
async fn reconnects_after_the_server_restarts_and_flushes_the_queue_in_order() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let url = format!("ws://{address}/feed");
    // The first server takes one message, then goes down without a closing
    // handshake: listener and connection dropped.
    let first = tokio::spawn(async move { receive_texts(&listener, 1).await });

    let mut client = reconnecting(&url, ClientOptions::new(), Config::default(), policy());
    assert_eq!(client.ready_state(), ReadyState::Connecting);
    let connection = until(
        &mut client,
        |e| match e {
            Event::Connected { connection, .. } => Some(*connection),
            _ => None,
        },
        |_| false,
    )
    .await;
    assert_eq!(connection, 1);
    assert_eq!(client.ready_state(), ReadyState::Open);
    assert_eq!(
        client.connection().unwrap().url(),
        Some(url.as_str()),
        "the open connection knows its url"
    );
    client.send("before").await.unwrap();
    assert_eq!(timeout(LIMIT, first).await.unwrap().unwrap(), ["before"]);

    let (code, was_clean, reconnect_in) = until(
        &mut client,
        |e| match e {
            Event::Disconnected {
                close,
                reconnect_in,
                ..
            } => Some((close.code, close.was_clean, *reconnect_in)),
            _ => None,
        },
        |e| matches!(e, Event::Message(_)),
    )
    .await;
    assert_eq!((code, was_clean), (1006, false));
    let delay = reconnect_in.expect("reconnects after an abnormal closure");
    assert!(delay <= Duration::from_millis(20), "{delay:?}");

    // Sent while the server is down: queued, in order.
    for text in ["q1", "q2", "q3"] {
        client.send(text).await.unwrap();
    }
    assert_eq!(client.queued(), 3);

    // The server comes back on the same port.
    let listener = TcpListener::bind(address).await.unwrap();
    let second = tokio::spawn(async move { receive_texts(&listener, 3).await });
    let connection = until(
        &mut client,
        |e| match e {
            Event::Connected { connection, .. } => Some(*connection),
            _ => None,
        },
        |e| {
            matches!(
                e,
                Event::AttemptFailed {
                    retry_in: Some(_),
                    ..
                }
            )
        },
    )
    .await;
    assert_eq!(connection, 2);
    assert_eq!(client.queued(), 0);
    assert_eq!(
        timeout(LIMIT, second).await.unwrap().unwrap(),
        ["q1", "q2", "q3"]
    );
}

#[tokio::test]
async fn gives_up_after_max_attempts_with_jittered_delays_from_the_seed() {
    // A port nobody listens on.
    let address = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("ws://{address}/");
    let mut policy = policy();
    policy.max_attempts = Some(4);
    let mut client = reconnecting(
        &url,
        ClientOptions::new(),
        Config::default(),
        policy.clone(),
    );
    client.send("kept").await.unwrap();

    // The same seed replays the same delays.
    let mut expected = Schedule::new(&policy);
    let overall = timeout(LIMIT, async {
        for attempt in 1..=4u32 {
            let event = client.recv().await.unwrap();
            let Event::AttemptFailed {
                attempt: reported,
                retry_in,
                ..
            } = event
            else {
                panic!("{event:?}")
            };
            assert_eq!(reported, attempt);
            assert_eq!(retry_in, expected.failed());
            if let Some(delay) = retry_in {
                let (low, high) = expected.backoff().bounds(attempt);
                assert!(low <= delay && delay <= high, "{delay:?}");
            }
        }
        let event = client.recv().await.unwrap();
        assert!(matches!(event, Event::GaveUp { attempts: 4 }), "{event:?}");
        assert!(client.recv().await.is_none());
    })
    .await;
    overall.expect("timed out");
    assert_eq!(client.ready_state(), ReadyState::Closed);
    let refused = client.send("late").await.unwrap_err();
    assert!(matches!(&refused, SendError::Closed(_)));
    assert_eq!(refused.into_message(), Some(Message::text("late")));
    assert_eq!(client.take_unsent(), [Message::text("kept")]);
}

#[tokio::test]
async fn no_reconnect_after_the_server_closes_with_1000() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = sockeye_tokio::accept(tcp).await.unwrap();
        ws.close(CloseCode::NORMAL, "done for today").await.unwrap();
        // Any reconnect would be accepted here.
        timeout(Duration::from_millis(500), listener.accept())
            .await
            .is_ok()
    });
    let mut client = reconnecting(&url, ClientOptions::new(), Config::default(), policy());
    let (close, reconnect_in) = until(
        &mut client,
        |e| match e {
            Event::Disconnected {
                close,
                reconnect_in,
                ..
            } => Some((close.clone(), *reconnect_in)),
            _ => None,
        },
        |e| {
            matches!(
                e,
                Event::Connected { .. } | Event::Message(Message::Close(_))
            )
        },
    )
    .await;
    assert_eq!(
        (close.code, close.reason.as_str(), close.was_clean),
        (1000, "done for today", true)
    );
    assert_eq!(reconnect_in, None);
    assert!(next(&mut client).await.is_none());
    assert!(!server.await.unwrap(), "the client reconnected");
}

#[tokio::test]
async fn no_reconnect_after_the_application_closes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = sockeye_tokio::accept(tcp).await.unwrap();
        while let Some(Ok(_)) = ws.recv().await {}
        let info = ws.close_status();
        let reconnected = timeout(Duration::from_millis(500), listener.accept())
            .await
            .is_ok();
        (info, reconnected)
    });
    let mut client = reconnecting(&url, ClientOptions::new(), Config::default(), policy());
    until(
        &mut client,
        |e| matches!(e, Event::Connected { .. }).then_some(()),
        |_| false,
    )
    .await;
    // 1001 would be reconnected after, were it the server's.
    timeout(LIMIT, client.close(CloseCode::GOING_AWAY, "leaving"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(client.ready_state(), ReadyState::Closed);
    let event = next(&mut client).await.unwrap();
    let Event::Disconnected {
        close,
        reconnect_in,
        ..
    } = event
    else {
        panic!("{event:?}")
    };
    assert_eq!((close.code, close.was_clean), (1001, true));
    assert_eq!(reconnect_in, None);
    assert!(next(&mut client).await.is_none());
    assert!(matches!(
        client.send("late").await,
        Err(SendError::Closed(_))
    ));
    let (info, reconnected) = server.await.unwrap();
    assert_eq!(info.unwrap().code, 1001);
    assert!(!reconnected, "the client reconnected");
}

#[allow(dead_code)]
#[path = "../examples/tokio-reconnecting-client.rs"]
mod example;

#[tokio::test]
async fn example_reconnecting_client_survives_its_server_restarting() {
    let echoed = timeout(LIMIT, example::run()).await.unwrap().unwrap();
    assert_eq!(echoed, ["hello 1", "hello 2", "hello 3"]);
}

#[tokio::test]
async fn recv_raced_against_a_ticker_still_reconnects_and_flushes_in_order() {
    // Nobody listens yet: the client waits and retries while `recv` is
    // cancelled every few milliseconds by the ticker.
    let address = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let mut client = reconnecting(
        &format!("ws://{address}/"),
        ClientOptions::new(),
        Config::default(),
        policy(),
    );
    for text in ["a", "b", "c"] {
        client.send(text).await.unwrap();
    }
    let mut ticker = tokio::time::interval(Duration::from_millis(3));
    let mut ticks = 0u32;
    let mut server = None;
    let connected = timeout(LIMIT, async {
        loop {
            tokio::select! {
                event = client.recv() => match event.expect("client stopped") {
                    Event::Connected { connection, .. } => break connection,
                    Event::AttemptFailed { retry_in: Some(_), .. } => {}
                    other => panic!("{other:?}"),
                },
                _ = ticker.tick() => {
                    ticks += 1;
                    if ticks == 20 {
                        let listener = TcpListener::bind(address).await.unwrap();
                        server = Some(tokio::spawn(async move {
                            receive_texts(&listener, 3).await
                        }));
                    }
                }
            }
        }
    })
    .await
    .expect("timed out");
    assert_eq!(connected, 1);
    assert!(ticks >= 20);
    let server = server.expect("connected before the server started");
    assert_eq!(
        timeout(LIMIT, server).await.unwrap().unwrap(),
        ["a", "b", "c"]
    );
}
