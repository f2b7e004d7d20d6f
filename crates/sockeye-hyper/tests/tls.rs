//! HTTP/2 WebSockets over TLS: the server offers ALPN `h2` and `http/1.1`
//! (as `axum-echo --tls` does), hyper's own client asks for `h2` and opens
//! an extended CONNECT stream on the TLS connection.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::TestCertificate;
use hyper::StatusCode;
use rustls_pki_types::ServerName;
use sockeye_hyper::{Config, Message};
use sockeye_tokio::Role;

#[tokio::test]
async fn a_websocket_opens_over_http2_negotiated_by_alpn() {
    let certificate = TestCertificate::new(&[b"h2", b"http/1.1"]);
    let (addr, _) = common::serve_tls(common::app(), &certificate, true).await;

    tokio::time::timeout(Duration::from_secs(10), async {
        let mut client_config = (*certificate.client).clone();
        client_config.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let tls = connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        let mut sender = common::http2_connection(tls).await;
        let uri = format!("https://localhost:{}/form", addr.port());
        let mut response =
            common::send(&mut sender, common::extended_connect(&uri, "13", &[])).await;
        assert_eq!(response.status(), StatusCode::OK);
        let upgraded = common::upgraded(&mut response).await;
        let mut ws = sockeye_tokio::from_raw(upgraded, Role::Client, Config::default());
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("http2"));
        ws.send("over tls").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("over tls"));
    })
    .await
    .unwrap();
}
