//! Durability and concurrency: a 2xx means committed, across restarts,
//! `kill -9` and many concurrent writers (group commit).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::RngExt as _;
use serde_json::Value;
use tokio::sync::{Notify, Semaphore};

use crate::helper::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_envelopes_sessions_and_acks_survive_a_restart() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let kept = alice.seal("bob", "kept");
    let acked = alice.seal("bob", "acked");
    alice.put(&acked).await.assert_status(201);
    alice.put(&kept).await.assert_status(201);
    bob.ack(&[&acked.id]).await.assert_status(204);

    let relay = relay.restart().await;
    // The same token still works on the new relay (its port changed).
    let bob = relay.user_with_token("bob", &bob.token);
    let alice = relay.user_with_token("alice", &alice.token);
    bob.fetch("").await.assert_messages(&[&kept]);
    // The ack was durable too: a retry of the acked envelope is not redelivered.
    alice.put(&acked).await.assert_status(200);
    alice.put(&kept).await.assert_status(200);
    bob.fetch("").await.assert_messages(&[&kept]);
    bob.card_of("alice").await.assert_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_puts_all_arrive_exactly_once() {
    let relay = Relay::start().await;
    let senders = ["alice", "carol", "dave", "erin"];
    let recipients = ["bob", "frank"];
    let users = relay
        .register_all(&[&senders[..], &recipients[..]].concat())
        .await;

    // 200 real envelopes, sealed on the blocking pool.
    let sealing: Vec<_> = senders
        .iter()
        .map(|&from| {
            tokio::task::spawn_blocking(move || {
                (0..50)
                    .map(|i| Sealed::new(from, recipients[i % 2], &format!("{from} {i}"), now_ms()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut mails = Vec::new();
    for s in sealing {
        mails.extend(s.await.unwrap());
    }
    assert_eq!(mails.len(), 200);

    let by_name: HashMap<String, User> =
        users.iter().map(|u| (u.name.clone(), u.clone())).collect();
    let puts: Vec<_> = mails
        .iter()
        .cloned()
        .map(|mail| {
            let sender = by_name[&mail.envelope.from].clone();
            tokio::spawn(async move { sender.put(&mail).await.code() })
        })
        .collect();
    for put in puts {
        assert_eq!(put.await.unwrap(), 201);
    }

    for recipient in recipients {
        let reply = by_name[recipient].fetch("limit=1000").await;
        let got = reply.messages();
        let expected: HashMap<&str, &Sealed> = mails
            .iter()
            .filter(|m| m.envelope.to == recipient)
            .map(|m| (m.id.as_str(), m))
            .collect();
        assert_eq!(
            got.len(),
            expected.len(),
            "{recipient} got each exactly once"
        );
        let mut seen = HashSet::new();
        for envelope in got {
            let id = envelope["id"].as_str().unwrap();
            assert!(seen.insert(id.to_owned()), "{id} twice");
            let sent: Value = serde_json::from_str(&expected[id].json).unwrap();
            assert_eq!(envelope, sent);
        }
    }
}

/// The crash test: the relay binary takes 2,000 envelopes from
/// several concurrent clients and is `kill -9`ed at a random point. After a
/// restart on the same data dir every envelope that got a 2xx is there
/// exactly once, nothing else is, and SQLite's integrity check passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_every_acknowledged_envelope_is_there_exactly_once() {
    const PER_SENDER: usize = 500;
    const IN_FLIGHT_PER_SENDER: usize = 8;
    let senders = ["alice", "carol", "dave", "erin"];
    let recipients = ["bob", "frank"];
    let dir = tempfile::TempDir::new().unwrap();

    let relay = RelayProcess::serve(dir.path(), &[]).await;
    let users = relay
        .register_all(&[&senders[..], &recipients[..]].concat())
        .await;

    // Sealing 2,000 envelopes with 3072-bit RSA would take most of the test:
    // each sender seals one real envelope per recipient and reuses its
    // fields under fresh ids (the relay only checks shapes).
    let mut planned: Vec<Vec<Sealed>> = Vec::new();
    for &from in &senders {
        let templates: Vec<Sealed> = recipients
            .iter()
            .map(|to| Sealed::new(from, to, "load", now_ms()))
            .collect();
        planned.push(
            (0..PER_SENDER)
                .map(|i| templates[i % templates.len()].with_fresh_id())
                .collect(),
        );
    }
    let all: HashMap<(String, String), Sealed> = planned
        .iter()
        .flatten()
        .map(|m| ((m.envelope.from.clone(), m.id.clone()), m.clone()))
        .collect();
    assert_eq!(all.len(), senders.len() * PER_SENDER);

    let kill_after = rand::rng().random_range(200..1800);
    let acknowledged = Arc::new(Mutex::new(HashSet::<(String, String)>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let reached = Arc::new(Notify::new());
    let mut clients = Vec::new();
    for (i, mails) in planned.into_iter().enumerate() {
        let sender = users[i].clone();
        let (acknowledged, count, reached) = (acknowledged.clone(), count.clone(), reached.clone());
        clients.push(tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(IN_FLIGHT_PER_SENDER));
            let mut puts = Vec::new();
            for mail in mails {
                let permit = slots.clone().acquire_owned().await.unwrap();
                let sender = sender.clone();
                let (acknowledged, count, reached) =
                    (acknowledged.clone(), count.clone(), reached.clone());
                puts.push(tokio::spawn(async move {
                    let _permit = permit;
                    let url = format!("/v1/messages/{}", mail.id);
                    let Ok(response) = sender
                        .request(reqwest::Method::PUT, &url)
                        .body(mail.json.clone())
                        .send()
                        .await
                    else {
                        return; // the relay died mid-request: unknown outcome
                    };
                    if response.status().is_success() {
                        acknowledged
                            .lock()
                            .unwrap()
                            .insert((mail.envelope.from.clone(), mail.id.clone()));
                        if count.fetch_add(1, Ordering::SeqCst) + 1 == kill_after {
                            reached.notify_one();
                        }
                    }
                }));
            }
            for put in puts {
                put.await.unwrap();
            }
        }));
    }

    let killed = tokio::time::timeout(Duration::from_secs(60), reached.notified()).await;
    assert!(
        killed.is_ok(),
        "{kill_after} envelopes were acknowledged in time"
    );
    relay.signal("KILL");
    let (status, _) = relay.wait(Duration::from_secs(10)).await;
    assert!(!status.success(), "killed: {status:?}");
    for client in clients {
        client.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= kill_after);

    // SQLite's own check of its file (PostgreSQL has none to ask).
    if !on_postgres() {
        let db = rusqlite::Connection::open(dir.path().join("relay.db")).unwrap();
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    let relay = RelayProcess::serve(dir.path(), &[]).await;
    let mut found = HashSet::new();
    for recipient in recipients {
        let user = relay.log_in(recipient).await;
        loop {
            let reply = user.fetch("limit=1000").await;
            if reply.code() == 204 {
                break;
            }
            let envelopes = reply.messages();
            let mut ids = Vec::new();
            for envelope in envelopes {
                let key = (
                    envelope["from"].as_str().unwrap().to_owned(),
                    envelope["id"].as_str().unwrap().to_owned(),
                );
                let sent = all
                    .get(&key)
                    .unwrap_or_else(|| panic!("{key:?} was never sent"));
                assert_eq!(envelope, serde_json::from_str::<Value>(&sent.json).unwrap());
                assert_eq!(envelope["to"], recipient);
                assert!(found.insert(key.clone()), "{key:?} delivered twice");
                ids.push(key.1);
            }
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            user.ack(&ids).await.assert_status(204);
        }
    }
    println!(
        "killed after {kill_after} acknowledged; {} acknowledged in all, {} found after restart",
        acknowledged.len(),
        found.len()
    );
    let lost: Vec<_> = acknowledged.difference(&found).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged envelopes lost (of {}), e.g. {:?}",
        lost.len(),
        acknowledged.len(),
        lost.first()
    );

    relay.signal("TERM");
    let (status, _) = relay.wait(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
    if !on_postgres() {
        let db = rusqlite::Connection::open(dir.path().join("relay.db")).unwrap();
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
}
