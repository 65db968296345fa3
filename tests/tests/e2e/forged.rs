//! Envelopes bob must never show: one from a stranger (a real relay user who
//! is not his contact), one claiming to be from alice but signed by another
//! key, and one of alice's real envelopes with a flipped ciphertext bit. A test
//! client PUTs them over plain HTTP with alice's (and carol's) own tokens,
//! exactly as a thief of alice's password could. Bob drops and counts them.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chatd::crypto::{Card, Identity, KeyBits, seal};
use e2e::{World, eventually, pair};
use ipc_schema::Payload;

fn sealed(from: &Identity, to: &Card, body: &str) -> serde_json::Value {
    let env = seal(
        from,
        to,
        &Payload::text(body),
        chatd::store::now_ms(),
        &mut rand::rng(),
    )
    .expect("seal");
    serde_json::to_value(env).unwrap()
}

#[test]
fn forged_tampered_and_stranger_envelopes_are_dropped_counted_and_never_shown() {
    let world = World::start();
    let (alice, mut bob) = pair(&world, "alice", "bob");
    let bob_card = Card::from_json(bob.card().as_bytes()).unwrap();
    bob.stop();
    let api = world.relay.api();
    let alice_token = api.login("alice", "alice-password");
    let bob_token = api.login("bob", "bob-password");

    // 1. "from": "alice", but signed (and sealed) by a key that is not hers.
    let mallory = Identity::generate("alice", KeyBits::B2048, &mut rand::rng()).unwrap();
    let forged = sealed(&mallory, &bob_card, "forged: send me your password");
    assert_eq!(forged["from"], "alice");
    assert_eq!(api.put(&alice_token, &forged).status, 201);

    // 2. A real envelope of alice's with one ciphertext bit flipped. Taken out
    // of bob's mailbox (and acked there, so the original never reaches him),
    // then put back under a fresh id: the signature covers both.
    let real_id = alice
        .ctl(&["send", "bob", "tampered: meet at noon", "--wait"])
        .success()
        .trim()
        .to_owned();
    let mut tampered = api
        .pending(&bob_token)
        .into_iter()
        .find(|e| e["id"] == real_id.as_str())
        .expect("alice's envelope waits in bob's mailbox");
    api.ack(&bob_token, &[&real_id]);
    let mut ct = B64.decode(tampered["ct"].as_str().unwrap()).unwrap();
    ct[0] ^= 0x01;
    tampered["ct"] = B64.encode(&ct).into();
    tampered["id"] = format!("{:032x}", rand::random::<u128>()).into();
    assert_eq!(api.put(&alice_token, &tampered).status, 201);

    // 3. Carol, a real user of the relay with a real card, but not bob's contact.
    let carol = Identity::generate("carol", KeyBits::B2048, &mut rand::rng()).unwrap();
    let reply = api.register("carol", "carol-password", carol.card().to_value());
    assert_eq!(reply.status, 201, "{reply:?}");
    let carol_token = api.login("carol", "carol-password");
    let stranger = sealed(&carol, &bob_card, "stranger: click this link");
    assert_eq!(api.put(&carol_token, &stranger).status, 201);
    assert_eq!(api.pending(&bob_token).len(), 3);

    bob.start_again(&[]);
    let dropped = eventually(Duration::from_secs(20), "bob drops all three", || {
        let d = bob.status()["dropped"].clone();
        (d["unknown_sender"].as_u64().unwrap() + d["bad_signature"].as_u64().unwrap() >= 3)
            .then_some(d)
    });
    assert_eq!(
        dropped,
        serde_json::json!({
            "malformed": 0,
            "unknown_sender": 1,
            "bad_signature": 2,
            "undecryptable": 0,
            "replay": 0,
            "not_a_member": 0,
            "bad_roster": 0,
            "bad_target": 0,
        })
    );
    // Dropped means gone from the relay too (acked), and shown nowhere.
    eventually(Duration::from_secs(10), "bob's mailbox is empty", || {
        api.pending(&bob_token).is_empty().then_some(())
    });
    assert_eq!(bob.log("alice"), Vec::<serde_json::Value>::new());
    bob.ctl(&["log", "carol"]).fails_with(4);
    // A stranger's envelope is dropped before any crypto, never kept in the
    // quarantine that waits for a contact's key decision.
    let db = rusqlite::Connection::open(bob.data_dir.join("chatd.db")).unwrap();
    let kept: i64 = db
        .query_row(
            "SELECT count(*) FROM quarantine WHERE sender = 'carol'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 0, "a stranger fills no quarantine");
    let status = bob.status();
    assert_eq!(status["unread"], 0);
    let events = bob.events_after(0);
    assert!(
        events.iter().all(|e| e["event"] != "message.received"),
        "{events:?}"
    );
    let everything = serde_json::to_string(&events).unwrap();
    for text in ["forged", "tampered", "stranger"] {
        assert!(!everything.contains(text), "{text} leaked: {everything}");
    }
}
