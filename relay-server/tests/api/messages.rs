//! `PUT /v1/messages/{id}`, `GET /v1/messages`, `GET /v1/messages/{id}`,
//! `POST /v1/messages/ack`, plus health and the router's fallbacks.

use relay_server::store::Quota;
use reqwest::Method;
use serde_json::json;

use crate::helper::*;

#[tokio::test]
async fn a_put_envelope_is_delivered_byte_for_byte() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let hello = alice.seal("bob", "hello bob");
    alice.put(&hello).await.assert_status(201);

    let reply = bob.fetch("").await;
    reply.assert_messages(&[&hello]);
    assert_eq!(
        reply.headers.get("content-type").unwrap(),
        "application/json"
    );
    // Fetching does not consume: only an ack does.
    bob.fetch("").await.assert_messages(&[&hello]);

    let one = bob.get_message(&hello.id).await;
    one.assert_status(200);
    assert_eq!(one.body, hello.json.as_bytes());
    assert_eq!(one.headers.get("content-type").unwrap(), "application/json");
    // And it opens with bob's key.
    let opened = chatd::crypto::open_json(
        &identity("bob"),
        &one.body,
        &Contacts(vec![card("alice")]),
        &mut rand::rng(),
    )
    .expect("the envelope opens");
    assert_eq!(
        opened.payload,
        ipc_schema::envelope::Payload::text("hello bob")
    );

    // Nothing for the sender.
    assert_eq!(alice.fetch("").await.code(), 204);
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

#[tokio::test]
async fn envelopes_come_oldest_first_from_every_sender() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&users[0], &users[1], &users[2]);
    let first = alice.seal_at("bob", "1", 300);
    let second = carol.seal_at("bob", "2", 100);
    let third = alice.seal_at("bob", "3", 200);
    for (who, mail) in [(alice, &first), (carol, &second), (alice, &third)] {
        who.put(mail).await.assert_status(201);
    }
    // In arrival order, whatever the senders' clocks say.
    bob.fetch("")
        .await
        .assert_messages(&[&first, &second, &third]);
}

#[tokio::test]
async fn putting_the_same_bytes_again_is_200_and_stores_nothing_new() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let hello = alice.seal("bob", "hello");
    alice.put(&hello).await.assert_status(201);
    alice.put(&hello).await.assert_status(200);
    alice.put(&hello).await.assert_status(200);
    bob.fetch("").await.assert_messages(&[&hello]);
}

#[tokio::test]
async fn putting_other_bytes_under_a_used_id_is_409() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let hello = alice.seal("bob", "hello");
    alice.put(&hello).await.assert_status(201);

    let other = alice
        .seal("bob", "something else")
        .altered(|e| e.id = hello.id.clone());
    alice.put(&other).await.assert_error(409, "conflict");
    // Even the same envelope re-encoded differently is other bytes.
    let spaced = hello.json.replace(",\"", ", \"");
    alice
        .put_raw(&hello.id, spaced.into_bytes())
        .await
        .assert_error(409, "conflict");
    bob.fetch("").await.assert_messages(&[&hello]);
}

#[tokio::test]
async fn putting_an_envelope_from_someone_else_is_403() {
    let relay = Relay::start().await;
    let _alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let carol = relay.register("carol").await;
    let forged = Sealed::new("alice", "carol", "from alice, honest", now_ms());
    bob.put(&forged).await.assert_error(403, "forbidden");
    assert_eq!(carol.fetch("").await.code(), 204);
}

#[tokio::test]
async fn putting_to_an_unknown_recipient_is_404() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    alice
        .put(&alice.seal("nobody", "hello?"))
        .await
        .assert_error(404, "unknown_recipient");
}

#[tokio::test]
async fn putting_7_mib_is_413() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let hello = alice.seal("bob", "hello");
    // A well-formed envelope whose ciphertext makes it 7 MiB.
    let big = hello.altered(|e| e.ct = "A".repeat(7 << 20));
    let path = format!("/v1/messages/{}", big.id);
    let length = format!("Content-Length: {}", big.json.len());
    let head = raw_head("PUT", &path, Some(&alice.token), &[&length]);
    raw_http(&relay, &head, big.json.as_bytes())
        .await
        .assert_error(413, "payload_too_large");

    // Without a Content-Length (chunked), the cap holds while reading.
    let head = raw_head(
        "PUT",
        &path,
        Some(&alice.token),
        &["Transfer-Encoding: chunked"],
    );
    let mut chunked = Vec::new();
    for chunk in big.json.as_bytes().chunks(64 << 10) {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    raw_http(&relay, &head, &chunked)
        .await
        .assert_error(413, "payload_too_large");

    assert_eq!(bob.fetch("").await.code(), 204);
    alice.put(&hello).await.assert_status(201);
}

#[tokio::test]
async fn putting_over_the_recipients_count_quota_is_507_until_an_ack() {
    let relay = Relay::start_with(|c| {
        c.quota = Quota {
            max_count: 2,
            max_bytes: 1 << 30,
        }
    })
    .await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let carol = relay.register("carol").await;
    let mails: Vec<Sealed> = (0..3).map(|i| alice.seal("bob", &i.to_string())).collect();
    alice.put(&mails[0]).await.assert_status(201);
    alice.put(&mails[1]).await.assert_status(201);
    alice
        .put(&mails[2])
        .await
        .assert_error(507, "quota_exceeded");
    // The quota is the recipient's: carol still gets mail.
    alice
        .put(&alice.seal("carol", "hi"))
        .await
        .assert_status(201);
    assert_eq!(carol.pending_ids().await.len(), 1);
    // A retry of a stored envelope is still answered 200, not 507.
    alice.put(&mails[0]).await.assert_status(200);

    bob.ack(&[&mails[0].id]).await.assert_status(204);
    alice.put(&mails[2]).await.assert_status(201);
    bob.fetch("").await.assert_messages(&[&mails[1], &mails[2]]);
}

#[tokio::test]
async fn putting_over_the_recipients_byte_quota_is_507() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let first = alice.seal("bob", "first");
    let size = first.json.len() as u64;
    drop(relay);
    let relay = Relay::start_with(|c| {
        c.quota = Quota {
            max_count: 100,
            max_bytes: size * 3 / 2,
        }
    })
    .await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    alice.put(&first).await.assert_status(201);
    alice
        .put(&alice.seal("bob", "second"))
        .await
        .assert_error(507, "quota_exceeded");
    bob.ack(&[&first.id]).await.assert_status(204);
    alice
        .put(&alice.seal("bob", "third"))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn putting_under_a_path_id_other_than_the_envelopes_is_400() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let hello = alice.seal("bob", "hello");
    alice
        .put_raw(&random_id(), hello.json.clone().into_bytes())
        .await
        .assert_error(400, "bad_request");
    assert_eq!(bob.fetch("").await.code(), 204);
}

#[tokio::test]
async fn putting_garbage_is_400() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    relay.register("bob").await;
    let hello = alice.seal("bob", "hello");
    let id = hello.id.clone();
    let with = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&hello.json).unwrap();
        change(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"not json".to_vec(),
        b"{".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x01],
        with(&|v| v["v"] = json!(2)),
        with(&|v| v["ts"] = json!(-1)),
        with(&|v| v["ts"] = json!("now")),
        with(&|v| v["wk"] = json!("AAAA")),
        with(&|v| v["iv"] = json!("not base64")),
        with(&|v| v["to"] = json!("Bob")),
        with(&|v| v["extra"] = json!(1)),
        with(&|v| {
            v.as_object_mut().unwrap().remove("sig");
        }),
        // ts beyond what SQLite stores as a signed 64-bit integer.
        with(&|v| v["ts"] = json!(u64::MAX)),
    ];
    for body in bodies {
        let reply = alice.put_raw(&id, body.clone()).await;
        assert_eq!(
            reply.code(),
            400,
            "{}: {}",
            String::from_utf8_lossy(&body),
            reply.text()
        );
        reply.assert_error(400, "bad_request");
    }
    // Ids in the path that are not 32 lowercase hex digits.
    for bad in [
        "abc",
        &id.to_uppercase(),
        &format!("{id}0"),
        &"g".repeat(32),
    ] {
        alice
            .put_raw(bad, hello.json.clone().into_bytes())
            .await
            .assert_error(400, "bad_request");
    }
    alice.put(&hello).await.assert_status(201);
}

#[tokio::test]
async fn the_mailbox_needs_a_token() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    relay.register("bob").await;
    let hello = alice.seal("bob", "hello");
    let id = &hello.id;
    for (method, path) in [
        (Method::PUT, format!("/v1/messages/{id}")),
        (Method::GET, "/v1/messages".to_owned()),
        (Method::GET, format!("/v1/messages/{id}")),
        (Method::POST, "/v1/messages/ack".to_owned()),
    ] {
        send(
            relay
                .request(method, &path)
                .header("content-type", "application/json")
                .body(hello.json.clone()),
        )
        .await
        .assert_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn getting_one_envelope_by_id() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let hello = alice.seal("bob", "hello");
    alice.put(&hello).await.assert_status(201);
    assert_eq!(bob.get_message(&hello.id).await.body, hello.json.as_bytes());
    bob.get_message(&random_id())
        .await
        .assert_error(404, "not_found");
    for bad in ["abc", &hello.id.to_uppercase(), "%FF%FE"] {
        bob.get_message(bad).await.assert_error(400, "bad_request");
    }
    bob.ack(&[&hello.id]).await.assert_status(204);
    bob.get_message(&hello.id)
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn acking_deletes_only_the_callers_own_envelopes() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&users[0], &users[1], &users[2]);
    let to_alice = carol.seal("alice", "for alice");
    let to_bob = [carol.seal("bob", "b1"), carol.seal("bob", "b2")];
    carol.put(&to_alice).await.assert_status(201);
    for m in &to_bob {
        carol.put(m).await.assert_status(201);
    }

    // Bob acks alice's id along with one of his own: only his goes.
    bob.ack(&[&to_alice.id, &to_bob[0].id])
        .await
        .assert_status(204);
    bob.fetch("").await.assert_messages(&[&to_bob[1]]);
    alice.fetch("").await.assert_messages(&[&to_alice]);

    // Unknown ids and an empty list are fine.
    bob.ack(&[&random_id()]).await.assert_status(204);
    bob.ack(&[]).await.assert_status(204);
    bob.fetch("").await.assert_messages(&[&to_bob[1]]);
    bob.ack(&[&to_bob[1].id]).await.assert_status(204);
    assert_eq!(bob.fetch("").await.code(), 204);
}

#[tokio::test]
async fn acking_refuses_malformed_bodies_and_ids() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let hello = alice.seal("bob", "hello");
    alice.put(&hello).await.assert_status(201);
    let too_many: Vec<String> = (0..1001).map(|_| random_id()).collect();
    let bodies = [
        "".to_owned(),
        "{}".to_owned(),
        r#"{"ids":"x"}"#.to_owned(),
        r#"{"ids":[1]}"#.to_owned(),
        format!(r#"{{"ids":["{}"],"all":true}}"#, hello.id),
        format!(r#"{{"ids":["{}","nope"]}}"#, hello.id),
        format!(r#"{{"ids":["{}"]}}"#, hello.id.to_uppercase()),
        json!({ "ids": too_many }).to_string(),
    ];
    for body in bodies {
        send(
            bob.request(Method::POST, "/v1/messages/ack")
                .header("content-type", "application/json")
                .body(body),
        )
        .await
        .assert_error(400, "bad_request");
    }
    // A refused ack deleted nothing, not even its valid ids.
    bob.fetch("").await.assert_messages(&[&hello]);
}

#[tokio::test]
async fn a_retry_after_delivery_is_200_and_not_delivered_again() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let hello = alice.seal("bob", "hello");
    alice.put(&hello).await.assert_status(201);
    bob.ack(&[&hello.id]).await.assert_status(204);

    alice.put(&hello).await.assert_status(200);
    assert_eq!(bob.fetch("").await.code(), 204);
    bob.get_message(&hello.id)
        .await
        .assert_error(404, "not_found");
    // Other bytes under the delivered id are still a conflict.
    let other = alice
        .seal("bob", "other")
        .altered(|e| e.id = hello.id.clone());
    alice.put(&other).await.assert_error(409, "conflict");
    assert_eq!(bob.fetch("").await.code(), 204);
}

#[tokio::test]
async fn health_is_200_with_the_store_ok() {
    let relay = Relay::start().await;
    let reply = relay.health().await;
    reply.assert_status(200);
    let body = reply.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["store"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    for path in [
        "/",
        "/v1",
        "/v2/health",
        "/v1/nope",
        "/v1/messages/a/b",
        "/v1/health/",
    ] {
        let reply = send(relay.request(Method::GET, path)).await;
        reply.assert_error(404, "not_found");
        assert_eq!(reply.text(), NO_SUCH_ROUTE);
        send(alice.request(Method::POST, path))
            .await
            .assert_error(404, "not_found");
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let id = random_id();
    for (method, path) in [
        (Method::POST, "/v1/health".to_owned()),
        (Method::GET, "/v1/accounts".to_owned()),
        (Method::GET, "/v1/sessions".to_owned()),
        (Method::PUT, "/v1/directory/alice".to_owned()),
        (Method::DELETE, "/v1/messages".to_owned()),
        (Method::DELETE, format!("/v1/messages/{id}")),
        (Method::GET, "/v1/messages/ack".to_owned()),
        (Method::PATCH, "/v1/accounts/me".to_owned()),
    ] {
        let reply = send(alice.request(method.clone(), &path)).await;
        assert_eq!(reply.code(), 405, "{method} {path}: {}", reply.text());
        reply.assert_error(405, "method_not_allowed");
    }
}

#[tokio::test]
async fn health_is_503_when_the_store_does_not_answer() {
    let relay = Relay::start().await;
    // Once the relay answers, its store is open and migrated; this request
    // does not touch the store, so no reader connection is open yet.
    relay
        .try_register(json!({}))
        .await
        .assert_error(400, "bad_request");
    match Db::of(&relay) {
        // Put a directory where the database file was: the writer keeps its
        // open file, but a new reader connection cannot open the database.
        Db::Sqlite(db) => {
            std::fs::rename(&db, relay.data_dir().join("moved.db")).unwrap();
            std::fs::create_dir(&db).unwrap();
        }
        // The database goes away under the relay, its connections with it.
        Db::Postgres(url) => {
            let name = url.rsplit('/').next().unwrap();
            let admin = std::env::var("CHAT_TEST_PG").unwrap();
            Db::Postgres(admin).rows(&format!("DROP DATABASE {name} WITH (FORCE)"));
        }
    }
    let reply = relay.health().await;
    reply.assert_status(503);
    assert_eq!(reply.json()["status"], "error");
    assert_eq!(reply.json()["store"], "error");
}
