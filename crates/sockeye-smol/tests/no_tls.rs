//! Without the `rustls` feature, `wss://` is refused with [`Error::Tls`]
//! naming the feature, as in every adapter.
#![cfg(not(feature = "rustls"))]

use sockeye_smol::Error;

#[test]
fn wss_without_the_rustls_feature_is_a_tls_error_naming_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://{}/", listener.local_addr().unwrap());
    let result = smol::block_on(sockeye_smol::connect(&url));
    let Err(error) = result else {
        panic!("wss:// connected without TLS support");
    };
    assert!(
        matches!(&error, Error::Tls(message) if message.to_string().contains("`rustls` feature")),
        "{error:?}"
    );
}
