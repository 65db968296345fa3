//! HTTPS with rustls, using a throw-away self-signed certificate.

use std::path::Path;
use std::time::Duration;

use relay_server::TlsFiles;

use crate::helper::*;

/// Writes a fresh self-signed certificate for localhost and 127.0.0.1 into
/// `dir`; returns the certificate and key paths.
pub fn self_signed(dir: &Path) -> TlsFiles {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("certificate generates");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    TlsFiles { cert, key }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_works_over_https_with_a_self_signed_certificate() {
    let certs = tempfile::TempDir::new().unwrap();
    let files = self_signed(certs.path());
    let mut relay = Relay::start_with(|c| c.tls = Some(files)).await;
    assert!(relay.base.starts_with("https://127.0.0.1:"));

    let health = relay.health().await;
    health.assert_status(200);
    assert_eq!(health.json()["status"], "ok");

    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let hello = alice.seal("bob", "over TLS");
    alice.put(&hello).await.assert_status(201);
    bob.fetch("").await.assert_messages(&[&hello]);

    let (result, took) = timed(Duration::from_secs(5), relay.shutdown()).await;
    result.expect("run returns Ok");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_the_tls_port_fails_and_untrusted_clients_are_refused() {
    let certs = tempfile::TempDir::new().unwrap();
    let files = self_signed(certs.path());
    let relay = Relay::start_with(|c| c.tls = Some(files)).await;
    let plain = relay.base.replacen("https://", "http://", 1);
    let answer = http_client().get(format!("{plain}/v1/health")).send().await;
    match answer {
        Err(_) => {}
        Ok(response) => panic!("plain HTTP answered {}", response.status()),
    }
    // A client that does not trust the certificate refuses the connection.
    assert!(
        http_client()
            .get(relay.url("/v1/health"))
            .send()
            .await
            .is_err()
    );
    // The relay is still fine afterwards.
    relay.health().await.assert_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_https_when_given_a_certificate() {
    let dir = tempfile::TempDir::new().unwrap();
    let files = self_signed(dir.path());
    let data = dir.path().join("data");
    let mut relay = RelayProcess::serve(
        &data,
        &[
            "--tls-cert",
            files.cert.to_str().unwrap(),
            "--tls-key",
            files.key.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        relay
            .announced
            .starts_with("listening on https://127.0.0.1:"),
        "{}",
        relay.announced
    );
    let pem = std::fs::read(&files.cert).unwrap();
    relay.endpoint.http = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    relay.health().await.assert_status(200);
    relay.signal("TERM");
    let (status, rest) = relay.wait(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
    assert!(rest.is_empty(), "{rest:?}");
}
