//! The smol `Server` over loopback: the shared policy (path, verify hook),
//! broadcast to all but the sender, and graceful shutdown with 1001.

use std::time::{Duration, Instant};

use futures_util::FutureExt;
use sockeye_smol::{Client, Decision, Message, Server, ServerPolicy};

const LIMIT: Duration = Duration::from_secs(10);

fn with_limit<T>(future: impl std::future::Future<Output = T>) -> T {
    smol::block_on(async {
        futures_util::select! {
            value = future.fuse() => value,
            _ = smol::Timer::after(LIMIT).fuse() => panic!("timed out"),
        }
    })
}

async fn relay(mut client: Client) {
    while let Some(Ok(message)) = client.recv().await {
        if message.is_data() {
            client.clients().broadcast_except(client.id(), message);
        }
    }
}

async fn wait_until(mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < LIMIT);
        smol::Timer::after(Duration::from_millis(5)).await;
    }
}

#[test]
fn policy_broadcast_and_shutdown_on_smol() {
    with_limit(async {
        let policy = ServerPolicy::new().path("/chat").verify(|request| {
            match request.query("token").as_deref() {
                Some("t") => Decision::accept(),
                _ => Decision::reject(401),
            }
        });
        let server = Server::bind("127.0.0.1:0", policy).await.unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.handle();
        let running = smol::spawn(server.run(|task| smol::spawn(task).detach(), relay));

        let denied = sockeye_smol::connect(&format!("ws://{addr}/chat")).await;
        assert_eq!(denied.err().and_then(|e| e.http_status()), Some(401));
        let wrong_path = sockeye_smol::connect(&format!("ws://{addr}/other?token=t")).await;
        assert_eq!(wrong_path.err().and_then(|e| e.http_status()), Some(404));

        let url = format!("ws://{addr}/chat?token=t");
        let (mut a, _) = sockeye_smol::connect(&url).await.unwrap();
        let (mut b, _) = sockeye_smol::connect(&url).await.unwrap();
        let (mut c, _) = sockeye_smol::connect(&url).await.unwrap();
        wait_until(|| handle.clients().len() == 3).await;

        a.send("from a").await.unwrap();
        assert_eq!(b.recv().await.unwrap().unwrap(), Message::text("from a"));
        assert_eq!(c.recv().await.unwrap().unwrap(), Message::text("from a"));

        let shutdown = {
            let handle = handle.clone();
            smol::spawn(async move { handle.shutdown(Duration::from_secs(5)).await })
        };
        for ws in [&mut a, &mut b, &mut c] {
            // `a` never got its own message: the close frame comes first.
            let Some(Ok(Message::Close(Some(frame)))) = ws.recv().await else {
                panic!("expected a close frame");
            };
            assert_eq!(frame.code.get(), 1001);
            assert!(ws.recv().await.is_none());
        }
        let report = shutdown.await;
        assert_eq!((report.told, report.dropped), (3, 0));
        running.await.unwrap();
        assert!(handle.clients().is_empty());
    });
}
