//! `register --relay-ca / --relay-pin / --insecure-http`, `relay trust`, and
//! a TLS refusal's exit code (docs/IPC.md, `relay_tls`).

use ipc_schema::jsonrpc::code;
use serde_json::{Value, json};

use crate::helper::{FakeDaemon, Subscribers, chat_ctl, error, fake_chatd, fixture, ok};

const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

fn daemon() -> FakeDaemon {
    fake_chatd(
        |req: &Value, _: &Subscribers| match req["method"].as_str().unwrap() {
            "account.register" if req["params"]["relay_url"] == "https://expired.example" => {
                vec![error(
                    req,
                    code::RELAY_TLS,
                    "the relay expired.example's certificate is expired or not yet valid: ask its operator to renew it",
                    Some(json!({"reason": "expired"})),
                )]
            }
            "account.register" => vec![ok(
                req,
                fixture("results/account.register.json")["result"].clone(),
            )],
            "status" => vec![ok(req, fixture("results/status.json")["result"].clone())],
            "relay.trust" => vec![ok(
                req,
                fixture("results/relay.trust.json")["result"].clone(),
            )],
            other => panic!("unexpected {other}"),
        },
    )
}

#[test]
fn register_sends_the_ca_file_contents_not_its_path() {
    let d = daemon();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, PEM).unwrap();
    let args = [
        "register",
        "--relay",
        "https://relay.example.org",
        "--user",
        "alice",
        "--password-stdin",
        "--relay-ca",
        ca.to_str().unwrap(),
    ];
    chat_ctl(d.socket(), &args, "correct horse battery staple\n").assert_ok();
    let sent = &d.params_of("account.register")[0];
    assert_eq!(sent["relay_ca"], PEM);
    assert!(sent.get("relay_pin").is_none());
    assert!(sent.get("insecure_http").is_none(), "false is left out");

    // A CA and a pin exclude each other: refused before chatd is asked.
    let mut both = args.to_vec();
    both.extend(["--relay-pin", "ab"]);
    let run = chat_ctl(d.socket(), &both, "pw\n");
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(d.params_of("account.register").len(), 1);
}

#[test]
fn a_refused_certificate_is_exit_5_with_the_reason_in_one_line() {
    let d = daemon();
    let run = chat_ctl(
        d.socket(),
        &[
            "register",
            "--relay",
            "https://expired.example",
            "--user",
            "alice",
            "--password-stdin",
        ],
        "pw-pw-pw-pw\n",
    );
    let line = run.assert_failed_with(5);
    assert!(line.contains("expired"), "{line}");
}

#[test]
fn relay_trust_takes_a_ca_a_pin_or_the_system_roots_and_shows_the_result() {
    let d = daemon();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, PEM).unwrap();
    let out = chat_ctl(
        d.socket(),
        &["relay", "trust", "--ca", ca.to_str().unwrap()],
        "",
    )
    .assert_ok();
    assert!(
        out.contains("system roots and the account's CA certificate sha256"),
        "{out}"
    );
    let pin = "5f1c".repeat(16);
    chat_ctl(d.socket(), &["relay", "trust", "--pin", &pin], "").assert_ok();
    chat_ctl(d.socket(), &["relay", "trust", "--system"], "").assert_ok();
    let sent = d.params_of("relay.trust");
    assert_eq!(sent[0], json!({"ca": PEM}));
    assert_eq!(sent[1], json!({"pin": pin}));
    assert_eq!(sent[2], json!({}));
    // Nothing said: a usage error, chatd not asked.
    chat_ctl(d.socket(), &["relay", "trust"], "").assert_failed_with(2);
    chat_ctl(
        d.socket(),
        &["relay", "trust", "--ca", "/nonexistent.pem"],
        "",
    )
    .assert_failed_with(1);
    assert_eq!(d.params_of("relay.trust").len(), 3);
}
