//! The relay over TLS with a self-hosted certificate: trusted through the
//! account's CA, or pinned; refused, each with its own reason, when it is
//! expired, for another name, from an unknown CA, or not the pinned key.

use chatd::relay_client::cert_facts;
use ipc_schema::client::ClientError;
use ipc_schema::jsonrpc::code;
use ipc_schema::methods::{ConnectionState, RelayTrustParams, RelayUrlsParams, StatusParams};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, PublicKeyData};
use sha2::{Digest, Sha256};

use crate::helper::{Chatd, Relay, SOON, eventually};

/// A CA that signs relay certificates.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn ca() -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    Ca { params, key, pem }
}

/// A relay certificate for `names`, valid over `years`, signed by `ca` or
/// by itself; returns (cert PEM, key PEM, pin).
fn relay_cert(names: &[&str], years: (i32, i32), ca: Option<&Ca>) -> (String, String, String) {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.not_before = rcgen::date_time_ymd(years.0, 1, 1);
    params.not_after = rcgen::date_time_ymd(years.1, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = match ca {
        Some(ca) => params
            .signed_by(&key, &Issuer::from_params(&ca.params, &ca.key))
            .unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    let pin = hex(&Sha256::digest(key.subject_public_key_info()));
    // chatd's own reading of the certificate finds the same key.
    let facts = cert_facts(cert.der()).unwrap();
    assert_eq!(hex(&Sha256::digest(&facts.spki)), pin);
    (cert.pem(), key.serialize_pem(), pin)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const NOW: (i32, i32) = (2020, 2100);

/// The `relay_tls` reason of a refused registration.
fn tls_reason(result: Result<impl std::fmt::Debug, ClientError>) -> (String, String) {
    let err = result.expect_err("refused");
    let ClientError::Rpc {
        code: c,
        data,
        message,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*c, code::RELAY_TLS, "{message}");
    assert!(!message.contains("error sending request"), "{message}");
    (
        data.as_ref().unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_owned(),
        message.clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_with_its_own_ca_is_trusted_through_relay_ca() {
    let ca = ca();
    let (cert, key, _) = relay_cert(&["localhost"], NOW, Some(&ca));
    let relay = Relay::with_tls(&cert, &key).await;
    let alice = Chatd::start("alice", "").await;
    let (reason, message) = tls_reason(alice.try_register(&relay.url, |_| {}).await);
    assert_eq!(reason, "unknown_ca", "{message}");
    assert!(message.contains("relay trust --ca"), "{message}");

    alice
        .try_register(&relay.url, |p| p.relay_ca = Some(ca.pem.clone()))
        .await
        .unwrap();
    let status = alice.status().await;
    assert!(
        status
            .relay_trust
            .unwrap()
            .ca
            .unwrap()
            .starts_with("CA certificate sha256 ")
    );
    eventually(SOON, "online over TLS", || async {
        (alice.status().await.connection == ConnectionState::Online).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_key_is_trusted_whatever_names_and_issuer_its_certificate_has() {
    // Self-signed, and for another name: a pin checks neither.
    let (cert, key, pin) = relay_cert(&["relay.internal"], NOW, None);
    let relay = Relay::with_tls(&cert, &key).await;
    let alice = Chatd::start("alice", "").await;
    let grouped: String = pin
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase();
    alice
        .try_register(&relay.url, |p| p.relay_pin = Some(grouped))
        .await
        .unwrap();
    let status = alice.client().await.call(StatusParams {}).await.unwrap();
    assert_eq!(
        status.relay_trust.unwrap().pin.as_deref(),
        Some(pin.as_str())
    );
    eventually(SOON, "online over the pinned TLS", || async {
        (alice.status().await.connection == ConnectionState::Online).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_an_expired_certificate_and_a_wrong_name_each_say_why() {
    let alice = Chatd::start("alice", "").await;
    let ca = ca();

    let (cert, key, _) = relay_cert(&["localhost"], NOW, None);
    let relay = Relay::with_tls(&cert, &key).await;
    let (reason, message) = tls_reason(
        alice
            .try_register(&relay.url, |p| p.relay_pin = Some("ab".repeat(32)))
            .await,
    );
    assert_eq!(reason, "pin_mismatch", "{message}");
    drop(relay);

    let (cert, key, pin) = relay_cert(&["localhost"], (2001, 2002), Some(&ca));
    let relay = Relay::with_tls(&cert, &key).await;
    let (reason, message) = tls_reason(
        alice
            .try_register(&relay.url, |p| p.relay_ca = Some(ca.pem.clone()))
            .await,
    );
    assert_eq!(reason, "expired", "{message}");
    let (reason, _) = tls_reason(
        alice
            .try_register(&relay.url, |p| p.relay_pin = Some(pin))
            .await,
    );
    assert_eq!(reason, "expired", "a pin still checks the dates");
    drop(relay);

    let (cert, key, _) = relay_cert(&["relay.example.org"], NOW, Some(&ca));
    let relay = Relay::with_tls(&cert, &key).await;
    let (reason, message) = tls_reason(
        alice
            .try_register(&relay.url, |p| p.relay_ca = Some(ca.pem.clone()))
            .await,
    );
    assert_eq!(reason, "wrong_host", "{message}");
    assert!(message.contains("localhost"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_trust_updates_a_pin_after_the_relay_changes_its_key() {
    let (cert, key, pin) = relay_cert(&["localhost"], NOW, None);
    let mut relay = Relay::with_tls(&cert, &key).await;
    let alice = Chatd::start("alice", "").await;
    alice
        .try_register(&relay.url, |p| p.relay_pin = Some(pin))
        .await
        .unwrap();
    // The relay comes back with a new key: refused, and the connection
    // event says why.
    let mut events = alice.events(None).await;
    let (cert, key, new_pin) = relay_cert(&["localhost"], NOW, None);
    relay.restart_tls(&cert, &key).await;
    let why = loop {
        let e = tokio::time::timeout(SOON * 3, events.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let ipc_schema::methods::Event::ConnectionChanged(c) = e.event
            && c.connection == ConnectionState::Offline
            && let Some(why) = c.error
            && why.contains("pinned")
        {
            break why;
        }
    };
    assert!(why.contains("relay trust --pin"), "{why}");
    let trusted = alice
        .client()
        .await
        .call(RelayTrustParams {
            pin: Some(new_pin.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(trusted.trust.pin.as_deref(), Some(new_pin.as_str()));
    eventually(SOON * 3, "online with the new pin", || async {
        (alice.status().await.connection == ConnectionState::Online).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_off_loopback_is_refused_before_any_request() {
    let alice = Chatd::start("alice", "").await;
    // `relay.invalid` never resolves: the refusal must come first.
    let err = alice
        .try_register("http://relay.invalid:8443", |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.rpc_code(), Some(code::INVALID_PARAMS), "{err}");
    assert!(
        err.to_string().contains("use https://, or --insecure-http"),
        "{err}"
    );
    for bad in [
        "https://u:p@relay.invalid",
        "https://relay.invalid/?x=1",
        "https://relay.invalid/#f",
    ] {
        let err = alice.try_register(bad, |_| {}).await.unwrap_err();
        assert_eq!(err.rpc_code(), Some(code::INVALID_PARAMS), "{bad}: {err}");
    }
}

/// A loopback URL that counts the connections made to it (and answers
/// none): where a request routed around a refused certificate would go.
async fn counting_url() -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(AtomicU64::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(conn);
        }
    });
    (url, seen)
}

/// docs/SECURITY.md §2.1: whoever answers at a relay URL without the
/// pinned key (or a certificate a trusted CA signed) is not the relay;
/// chatd says so and stops there, and never tries the relay's next URL,
/// where an attacker who made the first one fail would want it to go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_certificate_on_the_first_url_is_never_routed_around() {
    use std::sync::atomic::Ordering;
    let alice = Chatd::start("alice", "").await;
    let (next, asked) = counting_url().await;

    let (cert, key, _) = relay_cert(&["localhost"], NOW, None);
    let impostor = Relay::with_tls(&cert, &key).await;
    let (_, _, pin) = relay_cert(&["localhost"], NOW, None);
    let (reason, message) = tls_reason(
        alice
            .try_register(&impostor.url, |p| {
                p.relay_url = vec![impostor.url.clone(), next.clone()].into();
                p.relay_pin = Some(pin.clone());
            })
            .await,
    );
    assert_eq!(reason, "pin_mismatch", "{message}");

    // The system's roots, and a certificate no CA they hold signed.
    let (reason, message) = tls_reason(
        alice
            .try_register(&impostor.url, |p| {
                p.relay_url = vec![impostor.url.clone(), next.clone()].into();
            })
            .await,
    );
    assert_eq!(reason, "unknown_ca", "{message}");
    assert_eq!(
        asked.load(Ordering::SeqCst),
        0,
        "the next URL was never tried"
    );
}

/// The same while the account runs: with a first URL that fails the pin,
/// chatd stays offline on it, saying why, and what alice sends waits; it
/// goes out once the user drops that URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_failure_on_the_url_in_use_keeps_chatd_there_until_the_user_acts() {
    let (cert, key, pin) = relay_cert(&["localhost"], NOW, None);
    let relay = Relay::with_tls(&cert, &key).await;
    let (cert, key, _) = relay_cert(&["localhost"], NOW, None);
    let impostor = Relay::with_tls(&cert, &key).await;
    let alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    for d in [&alice, &bob] {
        d.try_register(&relay.url, |p| p.relay_pin = Some(pin.clone()))
            .await
            .unwrap();
    }
    alice.add(&bob).await;
    bob.add(&alice).await;

    let mut client = alice.client().await;
    client
        .call(RelayUrlsParams {
            urls: vec![impostor.url.clone(), relay.url.clone()],
        })
        .await
        .unwrap();
    alice.send("bob", "waits for the user").await;
    let status = eventually(SOON, "offline on the impostor", || async {
        let s = alice.status().await;
        (s.connection == ConnectionState::Offline && s.relays[0].failure.is_some()).then_some(s)
    })
    .await;
    assert!(status.relays[0].in_use, "still on the first URL");
    let why = status.relays[0].failure.as_deref().unwrap();
    assert!(why.contains("pinned"), "{why}");
    assert_eq!(status.relays[1].failure, None);
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(alice.status().await.outbox_pending, 1);
    assert!(bob.received("alice").await.is_empty());

    client
        .call(RelayUrlsParams {
            urls: vec![relay.url.clone()],
        })
        .await
        .unwrap();
    eventually(SOON, "bob has it once the impostor is dropped", || async {
        (bob.received("alice").await == ["waits for the user"]).then_some(())
    })
    .await;
}
