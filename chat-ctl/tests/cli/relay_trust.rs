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
            "relay.urls" => vec![ok(
                req,
                fixture("results/relay.urls.json")["result"].clone(),
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

#[test]
fn relay_repeats_for_a_relay_with_several_urls() {
    let d = daemon();
    let register = |relays: &[&str]| {
        let mut args = vec!["register", "--user", "alice", "--password-stdin"];
        for r in relays {
            args.extend(["--relay", r]);
        }
        chat_ctl(d.socket(), &args, "correct horse battery staple\n").assert_ok();
    };
    register(&["https://relay.example.org"]);
    register(&["https://relay.example.org", "https://relay2.example.org"]);
    let sent = d.params_of("account.register");
    assert_eq!(
        sent[0]["relay_url"], "https://relay.example.org",
        "one: a string, as before"
    );
    assert_eq!(
        sent[1]["relay_url"],
        json!(["https://relay.example.org", "https://relay2.example.org"])
    );
    // No --relay at all is a usage error.
    let run = chat_ctl(
        d.socket(),
        &["register", "--user", "alice", "--password-stdin"],
        "pw\n",
    );
    assert_eq!(run.code, 2, "{run:?}");

    let out = chat_ctl(
        d.socket(),
        &[
            "relay",
            "urls",
            "https://relay.example.org",
            "https://relay2.example.org",
        ],
        "",
    )
    .assert_ok();
    assert_eq!(
        out,
        "1. https://relay.example.org\n2. https://relay2.example.org\n"
    );
    assert_eq!(
        d.params_of("relay.urls")[0],
        json!({"urls": ["https://relay.example.org", "https://relay2.example.org"]})
    );
    assert_eq!(chat_ctl(d.socket(), &["relay", "urls"], "").code, 2);

    let out = chat_ctl(d.socket(), &["status"], "").assert_ok();
    assert!(
        out.contains("relay urls   1. https://relay.example.org · in use\n"),
        "{out}"
    );
    assert!(
        out.contains("2. https://relay2.example.org · failed: relay unreachable"),
        "{out}"
    );
}
