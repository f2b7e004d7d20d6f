//! The smol reconnecting client over loopback: a server that restarts and
//! one that never comes.

#[path = "../../sockeye-io/tests/support/receive.rs"]
mod receive;

use std::pin::pin;
use std::time::Duration;

use async_net::TcpListener;
use futures_util::future::{Either, select};
use sockeye_smol::reconnect::{Event, Jitter, ReconnectPolicy, Schedule};
use sockeye_smol::{ClientOptions, CloseCode, Config, ReadyState, reconnecting};

const LIMIT: Duration = Duration::from_secs(20);

/// `future`, or a panic after [`LIMIT`].
async fn bounded<F: std::future::Future>(future: F) -> F::Output {
    match select(pin!(future), async_io::Timer::after(LIMIT)).await {
        Either::Left((output, _)) => output,
        Either::Right(_) => panic!("timed out"),
    }
}

fn policy() -> ReconnectPolicy {
    let mut policy = ReconnectPolicy::default();
    policy.initial_delay = Duration::from_millis(20);
    policy.max_delay = Duration::from_millis(200);
    policy.jitter = Jitter::Full;
    policy.max_attempts = Some(50);
    policy.seed = Some(5);
    policy
}

async fn receive_texts(listener: &TcpListener, count: usize) -> Vec<String> {
    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = sockeye_smol::accept(tcp).await.unwrap();
    receive::texts(&mut ws, count).await
}

#[test]
fn reconnects_after_the_server_restarts_and_flushes_the_queue_in_order() {
    smol::block_on(bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let first = smol::spawn(async move { receive_texts(&listener, 1).await });
        let mut client = reconnecting(
            &format!("ws://{address}/"),
            ClientOptions::new(),
            Config::default(),
            policy(),
        );
        assert_eq!(client.ready_state(), ReadyState::Connecting);
        let event = client.recv().await.unwrap();
        assert!(
            matches!(event, Event::Connected { connection: 1, .. }),
            "{event:?}"
        );
        assert_eq!(client.ready_state(), ReadyState::Open);
        client.send("before").await.unwrap();
        assert_eq!(first.await, ["before"]);
        loop {
            match client.recv().await.unwrap() {
                Event::Disconnected {
                    close,
                    reconnect_in,
                    ..
                } => {
                    assert_eq!((close.code, close.was_clean), (1006, false));
                    assert!(reconnect_in.is_some());
                    break;
                }
                Event::Message(_) => {}
                other => panic!("{other:?}"),
            }
        }
        for text in ["q1", "q2", "q3"] {
            client.send(text).await.unwrap();
        }
        let listener = TcpListener::bind(address).await.unwrap();
        let second = smol::spawn(async move { receive_texts(&listener, 3).await });
        loop {
            match client.recv().await.unwrap() {
                Event::Connected { connection, .. } => {
                    assert_eq!(connection, 2);
                    break;
                }
                Event::AttemptFailed {
                    retry_in: Some(_), ..
                } => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(second.await, ["q1", "q2", "q3"]);
        client.close(CloseCode::NORMAL, "").await.ok();
        assert_eq!(client.ready_state(), ReadyState::Closed);
    }));
}

#[test]
fn gives_up_after_max_attempts_with_jittered_delays_from_the_seed() {
    smol::block_on(bounded(async {
        let address = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let mut policy = policy();
        policy.max_attempts = Some(3);
        let mut client = reconnecting(
            &format!("ws://{address}/"),
            ClientOptions::new(),
            Config::default(),
            policy.clone(),
        );
        let mut expected = Schedule::new(&policy);
        for attempt in 1..=3u32 {
            match client.recv().await.unwrap() {
                Event::AttemptFailed {
                    attempt: reported,
                    retry_in,
                    ..
                } => {
                    assert_eq!(reported, attempt);
                    assert_eq!(retry_in, expected.failed());
                }
                other => panic!("{other:?}"),
            }
        }
        let event = client.recv().await.unwrap();
        assert!(matches!(event, Event::GaveUp { attempts: 3 }), "{event:?}");
        assert!(client.recv().await.is_none());
    }));
}
