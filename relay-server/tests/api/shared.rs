//! Envelope v2 on the relay (docs/RELAY.md "Envelope v2", docs/PROTOCOL.md
//! §8): one body stored once, one entry per recipient, a missing or full
//! recipient skipped without holding back the others.

use ipc_schema::envelope::Payload;
use relay_server::store::Quota;
use serde_json::{Value, json};

use crate::helper::*;

fn db_count(relay: &Relay, sql: &str) -> i64 {
    Db::of(relay).count(sql)
}

/// What the PUT answered, for comparison.
fn outcome(reply: &Reply) -> Value {
    reply.json()
}

#[tokio::test]
async fn a_v2_envelope_is_stored_once_and_each_recipient_fetches_its_own_entry() {
    let relay = Relay::start().await;
    let [alice, bob, carol, dave] =
        <[User; 4]>::try_from(relay.register_all(&["alice", "bob", "carol", "dave"]).await)
            .ok()
            .unwrap();
    let (sealed, json) = seal_v2("alice", &["dave", "bob", "carol"], "hello all");
    let put = alice.put_raw(&sealed.id, json.clone().into_bytes()).await;
    put.assert_status(201);
    assert_eq!(
        outcome(&put),
        json!({"stored": 3, "duplicate": 0, "skipped": []})
    );

    // Stored once: one shared body; each mailbox row holds one small entry.
    assert_eq!(db_count(&relay, "SELECT count(*) FROM bodies"), 1);
    assert_eq!(db_count(&relay, "SELECT count(*) FROM mailbox"), 3);
    assert!(db_count(&relay, "SELECT max(length(body)) FROM mailbox") < 1024);

    let split = sealed.split().unwrap();
    for user in [&bob, &carol, &dave] {
        let reply = user.fetch("").await;
        let messages = reply.messages();
        assert_eq!(messages.len(), 1, "{}", user.name);
        let mine = split.iter().find(|d| d.to.user == user.name).unwrap();
        assert_eq!(messages[0], serde_json::to_value(mine).unwrap());
        // GET of one gives the same form, and it opens with the user's key.
        let one = user.get_message(&sealed.id).await;
        one.assert_status(200);
        let opened = chatd::crypto::open_json(
            &identity(&user.name),
            &one.body,
            &Contacts(vec![card("alice")]),
            &mut rand::rng(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", user.name));
        assert_eq!(opened.payload, Payload::text("hello all"));
    }

    // The same bytes again: nothing new.
    let again = alice.put_raw(&sealed.id, json.into_bytes()).await;
    again.assert_status(200);
    assert_eq!(
        outcome(&again),
        json!({"stored": 0, "duplicate": 3, "skipped": []})
    );

    // The body goes with the last entry, whether acked or deleted with an account.
    bob.ack(&[&sealed.id]).await.assert_status(204);
    carol.ack(&[&sealed.id]).await.assert_status(204);
    assert_eq!(db_count(&relay, "SELECT count(*) FROM bodies"), 1);
    dave.delete_account(&password_of("dave"))
        .await
        .assert_status(204);
    assert_eq!(db_count(&relay, "SELECT count(*) FROM bodies"), 0);
    assert_eq!(db_count(&relay, "SELECT count(*) FROM mailbox"), 0);
    // Acked ids are still known: a late retry is a duplicate, not stored again.
    let late = alice
        .put_raw(&sealed.id, serde_json::to_vec(&sealed).unwrap())
        .await;
    late.assert_status(200);
    assert_eq!(late.json()["stored"], 0);
}

#[tokio::test]
async fn a_full_or_unknown_recipient_is_skipped_and_retried_alone() {
    let relay = Relay::start_with(|c| {
        c.quota = Quota {
            max_count: 1,
            max_bytes: 1 << 30,
        }
    })
    .await;
    let [alice, bob, carol] =
        <[User; 3]>::try_from(relay.register_all(&["alice", "bob", "carol"]).await)
            .ok()
            .unwrap();
    // bob's one slot is taken.
    let first = alice.seal("bob", "fills the mailbox");
    alice.put(&first).await.assert_status(201);

    let (sealed, json) = seal_v2("alice", &["bob", "carol", "zed"], "to the room");
    let put = alice.put_raw(&sealed.id, json.clone().into_bytes()).await;
    put.assert_status(201);
    assert_eq!(
        outcome(&put),
        json!({"stored": 1, "duplicate": 0, "skipped": [
            {"user": "bob", "reason": "quota_exceeded"},
            {"user": "zed", "reason": "unknown_recipient"},
        ]})
    );
    assert_eq!(carol.pending_ids().await, vec![sealed.id.clone()]);
    assert_eq!(bob.pending_ids().await, vec![first.id.clone()]);

    // bob drains his mailbox; the same bytes again store for him alone.
    bob.ack(&[&first.id]).await.assert_status(204);
    let retry = alice.put_raw(&sealed.id, json.into_bytes()).await;
    retry.assert_status(201);
    assert_eq!(
        outcome(&retry),
        json!({"stored": 1, "duplicate": 1, "skipped": [
            {"user": "zed", "reason": "unknown_recipient"},
        ]})
    );
    assert_eq!(bob.pending_ids().await, vec![sealed.id.clone()]);
    assert_eq!(carol.pending_ids().await, vec![sealed.id]);
}

#[tokio::test]
async fn v2_puts_that_conflict_forge_or_break_the_shape_are_refused() {
    let relay = Relay::start().await;
    let [alice, _bob, _carol, mallory] = <[User; 4]>::try_from(
        relay
            .register_all(&["alice", "bob", "carol", "mallory"])
            .await,
    )
    .ok()
    .unwrap();
    let (sealed, json) = seal_v2("alice", &["bob", "carol"], "once");
    alice
        .put_raw(&sealed.id, json.into_bytes())
        .await
        .assert_status(201);

    // Other bytes under the same id.
    let mut other = sealed.clone();
    other.ts += 1;
    alice
        .put_raw(&sealed.id, serde_json::to_vec(&other).unwrap())
        .await
        .assert_error(409, "conflict");
    // Under someone else's name.
    mallory
        .put_raw(&sealed.id, serde_json::to_vec(&sealed).unwrap())
        .await
        .assert_error(403, "forbidden");
    // An id mallory already used for bob (a fellow recipient who learned it
    // could do that): bob is skipped, carol still gets it.
    let taken = mallory.seal("bob", "first");
    mallory.put(&taken).await.assert_status(201);
    let mut clash = seal_v2("alice", &["bob", "carol"], "clash").0;
    clash.id = taken.id.clone();
    let reply = alice
        .put_raw(&taken.id, serde_json::to_vec(&clash).unwrap())
        .await;
    reply.assert_status(201);
    assert_eq!(
        outcome(&reply),
        json!({"stored": 1, "duplicate": 0, "skipped": [{"user": "bob", "reason": "conflict"}]})
    );

    // Shapes §8.2 refuses.
    let (base, _) = seal_v2("alice", &["bob", "carol"], "shape");
    let put = |v: Value| {
        let alice = &alice;
        let id = base.id.clone();
        async move { alice.put_raw(&id, serde_json::to_vec(&v).unwrap()).await }
    };
    let mut v = serde_json::to_value(&base).unwrap();
    v["to"].as_array_mut().unwrap().reverse();
    put(v).await.assert_error(400, "bad_request");
    let mut v = serde_json::to_value(&base).unwrap();
    let first = v["to"][0].clone();
    v["to"] = json!([first.clone(), first]);
    put(v).await.assert_error(400, "bad_request");
    let mut v = serde_json::to_value(&base).unwrap();
    let wk = v["to"][0]["wk"].clone();
    v["to"] = (0..=1000)
        .map(|i| json!({"user": format!("user{i:05}"), "wk": wk}))
        .collect();
    put(v).await.assert_error(400, "bad_request");
    let mut v = serde_json::to_value(&base).unwrap();
    v["v"] = json!(3);
    put(v).await.assert_error(400, "bad_request");
    // Over 7 MiB is refused before parsing.
    let big = vec![b' '; ipc_schema::envelope_v2::MAX_SEALED_V2_JSON + 1];
    alice
        .put_raw(&base.id, big)
        .await
        .assert_error(413, "payload_too_large");
    // Nothing of the refused ones was stored.
    assert_eq!(db_count(&relay, "SELECT count(*) FROM bodies"), 2);
}

/// Just enough of a contact list to open envelopes.
struct Contacts(Vec<chatd::crypto::Card>);

impl chatd::crypto::Peers for Contacts {
    fn contact(&self, user: &str) -> Option<&chatd::crypto::Card> {
        self.0.iter().find(|c| c.user() == user)
    }
    fn already_seen(&self, _: &str, _: &str) -> bool {
        false
    }
}
