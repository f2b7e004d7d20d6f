//! The smol adapter: the shared driver over futures-io and async-io timers.

use std::time::Duration;

use futures_util::FutureExt;
use sockeye_smol::{CloseCode, Config, Decision, Error, Message};

fn with_limit<T>(future: impl std::future::Future<Output = T>) -> T {
    smol::block_on(async {
        futures_util::select! {
            value = future.fuse() => value,
            _ = smol::Timer::after(Duration::from_secs(10)).fuse() => panic!("timed out"),
        }
    })
}

#[test]
fn echo_over_tcp_then_close() {
    with_limit(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = smol::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let (mut ws, request) = sockeye_smol::accept_with(tcp, Config::default(), |r| {
                Decision::accept_first_of(r, &["p"])
            })
            .await
            .unwrap();
            assert_eq!(request.path(), "/echo");
            while let Some(Ok(message)) = ws.recv().await {
                if message.is_data() {
                    ws.send(message).await.unwrap();
                }
            }
            ws.close_status().unwrap()
        });
        let options = sockeye_smol::ClientOptions::new().protocol("p");
        let (mut ws, response) =
            sockeye_smol::connect_with(&format!("ws://{addr}/echo"), options, Config::default())
                .await
                .unwrap();
        assert_eq!(response.protocol.as_deref(), Some("p"));
        ws.send("hi").await.unwrap();
        ws.send(vec![0u8; 1 << 20]).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("hi"));
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::binary(vec![0u8; 1 << 20])
        );
        ws.close(CloseCode::new(4001).unwrap(), "done")
            .await
            .unwrap();
        let status = server.await;
        assert_eq!(
            (status.code, status.reason.as_str(), status.was_clean),
            (4001, "done", true)
        );
    });
}

#[test]
fn recv_raced_against_a_timer_loses_no_message() {
    with_limit(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sender = smol::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = sockeye_smol::accept(tcp).await.unwrap();
            for i in 0..100u32 {
                ws.send(i.to_string()).await.unwrap();
                if i % 10 == 0 {
                    smol::Timer::after(Duration::from_millis(2)).await;
                }
            }
            ws
        });
        let (mut ws, _) = sockeye_smol::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        let mut received = Vec::new();
        while received.len() < 100 {
            futures_util::select! {
                message = ws.recv().fuse() => received.push(message.unwrap().unwrap()),
                _ = smol::Timer::after(Duration::from_micros(300)).fuse() => {}
            }
        }
        let expected: Vec<Message> = (0..100u32).map(|i| Message::from(i.to_string())).collect();
        assert_eq!(received, expected);
        drop(sender.await);
    });
}

#[test]
fn handshake_timeout_and_rejection() {
    with_limit(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = smol::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let result =
                sockeye_smol::accept_with(tcp, Config::default(), |_| Decision::reject(401)).await;
            assert!(matches!(result, Err(Error::Rejected { status: 401, .. })));
            // The second client never speaks.
            let (tcp, _) = listener.accept().await.unwrap();
            let mut config = Config::default();
            config.handshake_timeout = Some(Duration::from_millis(200));
            let result = sockeye_smol::accept_with(tcp, config, |_| Decision::accept()).await;
            assert!(matches!(result, Err(Error::HandshakeTimeout)));
        });
        let error = sockeye_smol::connect(&format!("ws://{addr}/"))
            .await
            .err()
            .unwrap();
        assert_eq!(error.http_status(), Some(401));
        let _silent = smol::net::TcpStream::connect(addr).await.unwrap();
        server.await;
    });
}
