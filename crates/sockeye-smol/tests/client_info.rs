//! What the browser's `WebSocket` shows, from the smol client over loopback.

use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, select};

use async_net::TcpListener;
use sockeye_smol::{ClientOptions, CloseCode, Config, Decision, Message, ReadyState};

const LIMIT: Duration = Duration::from_secs(10);

/// `future`, or a panic after [`LIMIT`].
async fn bounded<F: std::future::Future>(future: F) -> F::Output {
    let expired = async_io::Timer::after(LIMIT);
    match select(pin!(future), expired).await {
        Either::Left((output, _)) => output,
        Either::Right(_) => panic!("timed out"),
    }
}

#[test]
fn client_reports_url_protocol_ready_state_and_clean_close() {
    smol::block_on(bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/chat", listener.local_addr().unwrap());
        let server = smol::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let (mut ws, _) = sockeye_smol::accept_with(tcp, Config::default(), |request| {
                Decision::accept_first_of(request, &["chat.v2"])
            })
            .await
            .unwrap();
            ws.close(CloseCode::new(4002).unwrap(), "bye from smol")
                .await
                .unwrap();
        });
        let options = ClientOptions::new().protocol("chat.v2");
        let (mut ws, _) = sockeye_smol::connect_with(&url, options, Config::default())
            .await
            .unwrap();
        assert_eq!(ws.url(), Some(url.as_str()));
        assert_eq!(ws.protocol(), Some("chat.v2"));
        assert!(ws.extensions().is_empty());
        assert_eq!(ws.ready_state(), ReadyState::Open);
        let message = ws.recv().await.unwrap().unwrap();
        assert!(matches!(message, Message::Close(Some(_))), "{message:?}");
        assert_eq!(ws.ready_state(), ReadyState::Closing);
        assert!(ws.recv().await.is_none());
        assert_eq!(ws.ready_state(), ReadyState::Closed);
        let info = ws.close_status().unwrap();
        assert_eq!(
            (info.code, info.reason.as_str(), info.was_clean),
            (4002, "bye from smol", true)
        );
        server.await;
    }));
}

#[test]
fn dropped_tcp_connection_closes_with_1006_not_clean() {
    smol::block_on(bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let server = smol::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            drop(sockeye_smol::accept(tcp).await.unwrap());
        });
        let (mut ws, _) = sockeye_smol::connect(&url).await.unwrap();
        server.await;
        let mut items = 0;
        while let Some(item) = ws.recv().await {
            assert!(item.is_err(), "{item:?}");
            items += 1;
            assert!(items < 10);
        }
        assert_eq!(ws.ready_state(), ReadyState::Closed);
        let info = ws.close_status().unwrap();
        assert_eq!(info.code, 1006);
        assert!(!info.was_clean);
    }));
}
