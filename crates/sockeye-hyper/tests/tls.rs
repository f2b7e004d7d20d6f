//! HTTP/2 WebSockets over TLS: the server offers ALPN `h2` and `http/1.1`
//! (as `axum-echo --tls` does), hyper's own client asks for `h2` and opens
//! an extended CONNECT stream on the TLS connection.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::TestCertificate;
use http_body_util::Empty;
use hyper::{Method, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
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
        let (mut sender, connection) =
            hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                .handshake::<_, Empty<Bytes>>(TokioIo::new(tls))
                .await
                .unwrap();
        tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(Method::CONNECT)
            .uri(format!("https://localhost:{}/form", addr.port()))
            .header("sec-websocket-version", "13")
            .body(Empty::new())
            .unwrap();
        request
            .extensions_mut()
            .insert(hyper::ext::Protocol::from_static("websocket"));
        sender.ready().await.unwrap();
        let mut response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let upgraded = hyper::upgrade::on(&mut response).await.unwrap();
        let mut ws =
            sockeye_tokio::from_raw(TokioIo::new(upgraded), Role::Client, Config::default());
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("http2"));
        ws.send("over tls").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("over tls"));
    })
    .await
    .unwrap();
}
