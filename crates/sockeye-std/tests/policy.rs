//! `accept_with_policy` over loopback: the shared accept-time policy and
//! per-address limit in a blocking server.

use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use sockeye_std::server::{Clients, ServerPolicy};
use sockeye_std::{Decision, Message, accept_with_policy};

#[test]
fn path_token_and_per_address_limit_in_a_blocking_server() {
    let policy = ServerPolicy::new()
        .path("/ws")
        .max_connections_per_ip(1)
        .verify(|request| match request.query("token").as_deref() {
            Some("t") => Decision::accept(),
            _ => Decision::reject(401),
        });
    let clients = Clients::new(&policy);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server_clients = clients.clone();
    thread::spawn(move || {
        for tcp in listener.incoming() {
            let (policy, clients) = (policy.clone(), server_clients.clone());
            thread::spawn(move || {
                let tcp = tcp.unwrap();
                tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                if let Ok((mut ws, _slot, _)) = accept_with_policy(tcp, &policy, &clients) {
                    while let Some(Ok(message)) = ws.recv() {
                        if message.is_data() && ws.send(message).is_err() {
                            break;
                        }
                    }
                }
            });
        }
    });
    let status = |url: &str| match sockeye_std::connect(url) {
        Ok(_) => Some(101),
        Err(error) => error.http_status(),
    };
    assert_eq!(status(&format!("ws://{addr}/ws")), Some(401));
    assert_eq!(status(&format!("ws://{addr}/elsewhere?token=t")), Some(404));
    let url = format!("ws://{addr}/ws?token=t");
    let (mut ws, _) = sockeye_std::connect(&url).unwrap();
    ws.send("hi").unwrap();
    assert_eq!(ws.recv().unwrap().unwrap(), Message::text("hi"));
    assert_eq!(status(&url), Some(503));
    ws.close(sockeye_std::CloseCode::NORMAL, "").unwrap();
    for _ in 0..1000 {
        if clients.is_empty() {
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
    assert!(clients.is_empty());
    assert_eq!(status(&url), Some(101));
}
