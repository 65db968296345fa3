//! chatd and a relay with a self-hosted certificate, through the real
//! binaries: trusted through the account's CA, pinned, or refused with a
//! line that says what to do (docs/SECURITY.md §2.1).

use std::path::Path;
use std::time::Duration;

use e2e::{Setup, World, eventually};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, PublicKeyData};
use sha2::{Digest, Sha256};

/// Writes a CA (`ca.pem`) and a relay certificate it signed for localhost
/// and 127.0.0.1 (`relay.pem`, `relay.key`) into `dir`; returns the SHA-256
/// of the relay's key, as hex.
fn self_hosted_ca(dir: &Path) -> String {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    std::fs::write(dir.join("ca.pem"), ca.self_signed(&ca_key).unwrap().pem()).unwrap();
    let relay =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = relay
        .signed_by(&key, &Issuer::from_params(&ca, &ca_key))
        .unwrap();
    std::fs::write(dir.join("relay.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("relay.key"), key.serialize_pem()).unwrap();
    Sha256::digest(key.subject_public_key_info())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_self_hosted_relay_is_trusted_by_its_ca_or_its_pin_and_refused_otherwise() {
    let certs = tempfile::tempdir().unwrap();
    let pin = self_hosted_ca(certs.path());
    let arg = |name: &str| certs.path().join(name).to_str().unwrap().to_owned();
    let world = World::start_with(Setup {
        relay_args: vec![
            "--tls-cert".into(),
            arg("relay.pem"),
            "--tls-key".into(),
            arg("relay.key"),
        ],
        ..Setup::default()
    });
    assert!(
        world.relay.url.starts_with("https://"),
        "{}",
        world.relay.url
    );
    let url = world.relay.url.replace("127.0.0.1", "localhost");

    // No trust settings: refused before anything is stored, with the fix.
    let carol = world.daemon("carol");
    let refused = carol.try_register_at(&url, 2048, &[]);
    let line = refused.fails_with(5);
    assert!(line.contains("relay trust --ca"), "{line}");
    assert!(!line.contains("error sending request"), "{line}");

    // alice trusts the relay's own CA, bob pins its key.
    let alice = world.daemon("alice");
    let bob = world.daemon("bob");
    alice
        .try_register_at(&url, 2048, &["--relay-ca", &arg("ca.pem")])
        .success();
    bob.try_register_at(&url, 2048, &["--relay-pin", &pin])
        .success();
    let status = alice.ctl(&["status"]).success().to_owned();
    assert!(
        status.contains("system roots and the account's CA certificate sha256"),
        "{status}"
    );
    assert!(bob.ctl(&["status"]).success().contains(&pin));

    alice.add_contact(&bob);
    bob.add_contact(&alice);
    alice.ctl(&["send", "bob", "over our own TLS"]).success();
    eventually(Duration::from_secs(20), "bob has it", || {
        bob.log("alice")
            .iter()
            .any(|m| m["body"] == "over our own TLS")
            .then_some(())
    });
}
