//! With bob's token, everything that could touch alice's mail or account is
//! refused or has no effect, and alice's data is intact afterwards.

use reqwest::Method;
use serde_json::json;

use crate::helper::*;

/// What alice has before bob tries anything.
struct AliceData {
    pending: Vec<Sealed>,
}

async fn alice_with_mail(relay: &Relay) -> (User, User, AliceData) {
    let users = relay.register_all(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (users[0].clone(), users[1].clone(), users[2].clone());
    let pending = vec![
        carol.seal("alice", "secret one"),
        carol.seal("alice", "secret two"),
    ];
    for mail in &pending {
        carol.put(mail).await.assert_status(201);
    }
    // Bob has mail of his own, so "empty" is not the only thing he can see.
    let for_bob = carol.seal("bob", "bob's own");
    carol.put(&for_bob).await.assert_status(201);
    (alice, bob, AliceData { pending })
}

/// Alice can still log in, her card is listed, and her pending envelopes are
/// exactly the ones put, byte for byte.
async fn assert_alice_intact(relay: &Relay, data: &AliceData) {
    let alice = relay.log_in("alice").await;
    let expected: Vec<&Sealed> = data.pending.iter().collect();
    alice.fetch("").await.assert_messages(&expected);
    for mail in &data.pending {
        assert_eq!(alice.get_message(&mail.id).await.body, mail.json.as_bytes());
    }
    assert_eq!(
        alice.card_of("alice").await.json(),
        card("alice").to_value()
    );
}

#[tokio::test]
async fn bob_cannot_read_alices_mail() {
    let relay = Relay::start().await;
    let (_alice, bob, data) = alice_with_mail(&relay).await;

    // The listing is always the caller's own, whatever the query says.
    for query in ["", "from=carol", "limit=1000", "wait=0&since=0"] {
        let ids = bob.fetch(query).await.ids();
        assert_eq!(ids.len(), 1, "{query}");
        assert!(data.pending.iter().all(|m| !ids.contains(&m.id)));
    }
    // There is no way to name another mailbox.
    for query in ["to=alice", "user=alice", "recipient=alice"] {
        bob.fetch(query).await.assert_error(400, "bad_request");
    }
    for mail in &data.pending {
        bob.get_message(&mail.id)
            .await
            .assert_error(404, "not_found");
    }
    assert_alice_intact(&relay, &data).await;
}

#[tokio::test]
async fn bob_cannot_ack_alices_mail() {
    let relay = Relay::start().await;
    let (_alice, bob, data) = alice_with_mail(&relay).await;
    let ids: Vec<&str> = data.pending.iter().map(|m| m.id.as_str()).collect();
    bob.ack(&ids).await.assert_status(204);
    assert_alice_intact(&relay, &data).await;
    // Bob's own mail is untouched too.
    assert_eq!(bob.pending_ids().await.len(), 1);
}

#[tokio::test]
async fn bob_cannot_delete_alices_account() {
    let relay = Relay::start().await;
    let (_alice, bob, data) = alice_with_mail(&relay).await;
    // The only account route is "me": alice's password does not make it hers.
    bob.delete_account(&password_of("alice"))
        .await
        .assert_error(401, "invalid_credentials");
    for path in [
        "/v1/accounts/alice",
        "/v1/accounts/bob",
        "/v1/sessions/alice",
    ] {
        let reply = send(
            bob.request(Method::DELETE, path)
                .json(&json!({"password": password_of("bob")})),
        )
        .await;
        assert_eq!(reply.text(), NO_SUCH_ROUTE, "DELETE {path}");
    }
    assert_alice_intact(&relay, &data).await;

    // With his own password it deletes bob, and only bob.
    bob.delete_account(&password_of("bob"))
        .await
        .assert_status(204);
    relay
        .login("bob", &password_of("bob"))
        .await
        .assert_error(401, "invalid_credentials");
    assert_alice_intact(&relay, &data).await;
}

#[tokio::test]
async fn bob_cannot_log_alice_out() {
    let relay = Relay::start().await;
    let (alice, bob, data) = alice_with_mail(&relay).await;
    bob.logout().await.assert_status(204);
    // Only bob's token was revoked.
    bob.fetch("").await.assert_error(401, "unauthorized");
    alice.fetch("").await.assert_status(200);
    assert_alice_intact(&relay, &data).await;
}

#[tokio::test]
async fn bob_cannot_put_an_envelope_from_alice() {
    let relay = Relay::start().await;
    let (alice, bob, data) = alice_with_mail(&relay).await;
    let carol = relay.log_in("carol").await;

    // A forgery in alice's name, and a replay of a real envelope of hers.
    let forged = Sealed::new("alice", "carol", "send bob money", now_ms());
    bob.put(&forged).await.assert_error(403, "forbidden");
    let real = alice.seal("carol", "real");
    alice.put(&real).await.assert_status(201);
    bob.put(&real).await.assert_error(403, "forbidden");
    // Not even to overwrite an id alice already used.
    let overwrite = real.altered(|e| e.ct = "AAAAAAAAAAAAAAAAAAAAAA==".into());
    bob.put(&overwrite).await.assert_error(403, "forbidden");

    carol.fetch("").await.assert_messages(&[&real]);
    assert_alice_intact(&relay, &data).await;
}

#[tokio::test]
async fn bobs_envelope_reusing_alices_id_never_replaces_hers() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&users[0], &users[1], &users[2]);
    let from_alice = alice.seal("carol", "from alice");
    alice.put(&from_alice).await.assert_status(201);
    // The id is pending for carol from alice: bob cannot put another
    // envelope to carol under it (it would make `GET /{id}` and ack ambiguous).
    let to_carol = bob
        .seal("carol", "from bob")
        .altered(|e| e.id = from_alice.id.clone());
    bob.put(&to_carol).await.assert_error(409, "conflict");
    carol.fetch("").await.assert_messages(&[&from_alice]);
    // Ids belong to their sender: the same id from bob to someone else is fine.
    let to_alice = bob
        .seal("alice", "from bob")
        .altered(|e| e.id = from_alice.id.clone());
    bob.put(&to_alice).await.assert_status(201);
    alice.fetch("").await.assert_messages(&[&to_alice]);
}

/// Ids are unique per sender, and the relay also keeps them unique among one
/// recipient's pending envelopes: a second sender's envelope under an id that
/// is pending for the same recipient is refused (409), so `GET /{id}` and ack
/// always name exactly one envelope, and acking alice's never touches bob's.
#[tokio::test]
async fn an_id_pending_for_a_recipient_cannot_be_reused_by_another_sender() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&users[0], &users[1], &users[2]);
    let from_alice = alice.seal("carol", "from alice");
    alice.put(&from_alice).await.assert_status(201);
    let from_bob = bob
        .seal("carol", "from bob")
        .altered(|e| e.id = from_alice.id.clone());
    bob.put(&from_bob).await.assert_error(409, "conflict");

    // Alice's envelope is untouched, and acking it acks only hers.
    carol.get_message(&from_alice.id).await.assert_status(200);
    assert_eq!(
        carol.get_message(&from_alice.id).await.body,
        from_alice.json.as_bytes()
    );
    carol.fetch("").await.assert_messages(&[&from_alice]);
    carol.ack(&[&from_alice.id]).await.assert_status(204);
    assert_eq!(carol.fetch("").await.code(), 204);
}

/// Another sender's clash on an id is answered the same before and after the
/// recipient acknowledged the envelope: 409 both times, so bob cannot learn
/// from the answer when carol fetched alice's message (no ack-timing oracle).
#[tokio::test]
async fn a_cross_sender_id_clash_is_409_whether_pending_or_acknowledged() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&users[0], &users[1], &users[2]);
    let from_alice = alice.seal("carol", "from alice");
    alice.put(&from_alice).await.assert_status(201);
    let from_bob = bob
        .seal("carol", "from bob")
        .altered(|e| e.id = from_alice.id.clone());

    let pending = bob.put(&from_bob).await;
    pending.assert_error(409, "conflict");
    carol.fetch("").await.assert_messages(&[&from_alice]);
    carol.ack(&[&from_alice.id]).await.assert_status(204);
    let acknowledged = bob.put(&from_bob).await;
    acknowledged.assert_error(409, "conflict");
    assert_eq!(acknowledged.body, pending.body, "the same answer");
    assert_eq!(carol.fetch("").await.code(), 204, "nothing was stored");

    // Alice's own retry after delivery is still a 200, and the id stays
    // free for bob towards anyone else.
    alice.put(&from_alice).await.assert_status(200);
    let to_alice = bob
        .seal("alice", "from bob")
        .altered(|e| e.id = from_alice.id.clone());
    bob.put(&to_alice).await.assert_status(201);
}
