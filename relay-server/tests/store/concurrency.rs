//! Two instances (two store objects on the same data, as two relays on one
//! database) writing at once: one mailbox filled to its quota, the same
//! envelopes acked by two devices, one name registered twice, the same
//! envelope put twice, logins at the device cap; and, for PostgreSQL, what
//! one instance writes reaching the other (wake-ups, revoked sessions).

use std::collections::HashMap;
use std::time::Duration;

use rand::seq::SliceRandom as _;

use crate::helper::*;

conformance!(
    two_instances_filling_one_mailbox_store_exactly_its_quota,
    two_devices_acking_through_two_instances_leave_nothing_behind,
    shared_bodies_whose_last_entries_are_acked_at_once_go,
    one_name_registered_through_both_instances_at_once_admits_one,
    one_invite_used_through_both_instances_at_once_admits_one,
    the_same_envelope_put_through_both_instances_is_stored_once,
    logins_through_both_instances_never_pass_the_device_cap,
);

postgres_only!(
    another_instance_hears_of_stored_mail_within_a_second,
    mail_stored_just_after_an_instance_opens_wakes_it,
    a_session_revoked_on_one_instance_is_gone_on_the_other,
    sessions_an_account_deletion_takes_are_forgotten_on_the_other_instance,
    a_lost_listen_connection_empties_the_session_cache,
);

/// Runs the futures as tasks, all at once, and returns their outputs in order.
async fn all<T: Send + 'static>(
    futures: impl IntoIterator<Item = impl Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.expect("a task of the test"));
    }
    out
}

async fn two_instances_filling_one_mailbox_store_exactly_its_quota(b: Backend) {
    const PUTS: usize = 400;
    const ROOM: u64 = 150;
    let instances = [b.open().await, b.open().await];
    let senders = ["alice", "carol", "dave", "erin"];
    for user in senders {
        register(&*instances[0], user).await;
    }
    let bob = register(&*instances[0], "bob").await;
    let quota = Quota {
        max_count: ROOM,
        max_bytes: 1 << 30,
    };

    let outcomes = all((0..PUTS).map(|i| {
        let s = instances[i % 2].clone();
        let m = mail(senders[(i / 2) % senders.len()], "bob");
        async move { (m.id.clone(), s.put_envelope(m, quota).await) }
    }))
    .await;

    let mut stored = Vec::new();
    let mut full = 0;
    for (id, outcome) in outcomes {
        match outcome {
            Ok(PutOutcome::Stored) => stored.push(id),
            Err(StoreError::QuotaExceeded) => full += 1,
            other => panic!("{id}: {other:?}"),
        }
    }
    assert_eq!(stored.len() as u64, ROOM, "exactly the quota is stored");
    assert_eq!(full, PUTS - ROOM as usize);
    assert_eq!(b.pending("bob").await, (ROOM as i64, ROOM as i64 * 200));
    let fetched = pending_ids(&*instances[1], "bob", &bob).await;
    assert_eq!(fetched.len() as u64, ROOM, "each once");
    assert_eq!(set(&fetched), set(&stored));
}

async fn two_devices_acking_through_two_instances_leave_nothing_behind(b: Backend) {
    const MAILS: usize = 80;
    let (one, two) = (b.open().await, b.open().await);
    register(&*one, "alice").await;
    let phone = register(&*one, "bob").await;
    let laptop = add_device(&*one, "bob", "laptop").await;
    let mails: Vec<NewEnvelope> = (0..MAILS).map(|_| mail("alice", "bob")).collect();
    for outcome in all(mails.iter().cloned().map(|m| {
        let s = one.clone();
        async move { s.put_envelope(m, ROOMY).await }
    }))
    .await
    {
        assert!(matches!(outcome, Ok(PutOutcome::Stored)), "{outcome:?}");
    }

    // The phone acks through both instances at once (a retried ack), the
    // laptop through the second: every copy of every envelope is acked by
    // two transactions racing.
    let mut acks = Vec::new();
    for (s, device) in [(&one, &phone), (&two, &laptop), (&two, &phone)] {
        let mut ids: Vec<String> = mails.iter().map(|m| m.id.clone()).collect();
        ids.shuffle(&mut rand::rng());
        for chunk in ids.chunks(4) {
            let (s, device, chunk) = (s.clone(), device.clone(), chunk.to_vec());
            acks.push(async move {
                let n = s.ack("bob", &device, chunk).await.expect("ack");
                (device, n)
            });
        }
    }
    acks.shuffle(&mut rand::rng());
    let mut counted: HashMap<String, usize> = HashMap::new();
    for (device, n) in all(acks).await {
        *counted.entry(device).or_default() += n;
    }

    assert_eq!(
        counted[&phone], MAILS,
        "each of the phone's copies counted once"
    );
    assert_eq!(counted[&laptop], MAILS);
    assert_eq!(b.pending("bob").await, (0, 0));
    assert_eq!(b.rows("mailbox", "1 = 1").await, 0);
    assert_eq!(b.rows("copies", "1 = 1").await, 0);
    assert!(
        one.fetch("bob", &phone, everything())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        two.fetch("bob", &laptop, everything())
            .await
            .unwrap()
            .is_empty()
    );
    for m in mails {
        assert_eq!(
            two.put_envelope(m, ROOMY).await.unwrap(),
            PutOutcome::Duplicate
        );
    }
}

async fn shared_bodies_whose_last_entries_are_acked_at_once_go(b: Backend) {
    const GROUPS: usize = 40;
    let (one, two) = (b.open().await, b.open().await);
    register(&*one, "alice").await;
    let bob = register(&*one, "bob").await;
    let carol = register(&*one, "carol").await;
    let envs: Vec<NewSharedEnvelope> = (0..GROUPS)
        .map(|_| shared("alice", "x", &["bob", "carol"], &random_id(), 0))
        .collect();
    for env in &envs {
        let out = one.put_shared_envelope(env.clone(), ROOMY).await.unwrap();
        assert_eq!(out.stored.len(), 2);
    }
    assert_eq!(b.rows("bodies", "1 = 1").await, GROUPS as i64);

    let acks = envs.iter().flat_map(|env| {
        [
            (one.clone(), "bob", bob.clone()),
            (two.clone(), "carol", carol.clone()),
        ]
        .map(|(s, user, device)| {
            let id = env.id.clone();
            async move { s.ack(user, &device, vec![id]).await.expect("ack") }
        })
    });
    let counts = all(acks.collect::<Vec<_>>()).await;

    assert!(counts.iter().all(|&n| n == 1), "{counts:?}");
    assert_eq!(
        b.rows("bodies", "1 = 1").await,
        0,
        "no body outlives its last entry"
    );
    assert_eq!(b.rows("mailbox", "1 = 1").await, 0);
    assert_eq!(b.pending("bob").await, (0, 0));
    assert_eq!(b.pending("carol").await, (0, 0));
}

async fn one_name_registered_through_both_instances_at_once_admits_one(b: Backend) {
    let instances = [b.open().await, b.open().await];
    let names: Vec<String> = (0..8).map(|i| format!("user{i}")).collect();

    let attempts = all(names.iter().flat_map(|name| {
        (0..6).map(|attempt| {
            let s = instances[attempt % 2].clone();
            let name = name.clone();
            async move {
                let hash = format!("hash:{attempt}");
                let outcome = s
                    .create_account(&name, &hash, "card", None, "default")
                    .await;
                (name, hash, outcome)
            }
        })
    }))
    .await;

    let mut winners: HashMap<String, String> = HashMap::new();
    for (name, hash, outcome) in attempts {
        match outcome {
            Ok(()) => assert!(
                winners.insert(name.clone(), hash).is_none(),
                "{name} registered twice"
            ),
            Err(StoreError::UsernameTaken) => {}
            other => panic!("{name}: {other:?}"),
        }
    }
    for name in &names {
        let hash = winners
            .get(name)
            .unwrap_or_else(|| panic!("nobody registered {name}"));
        let account = instances[1].account(name).await.unwrap().unwrap();
        assert_eq!(&account.password_hash, hash, "the winner's account");
        assert_eq!(
            instances[0].devices(name, 0).await.unwrap().len(),
            1,
            "the winner's device only"
        );
    }
}

async fn one_invite_used_through_both_instances_at_once_admits_one(b: Backend) {
    let instances = [b.open().await, b.open().await];
    instances[0]
        .create_invites(vec!["the-code".into()])
        .await
        .unwrap();

    let attempts = all((0..8).map(|i| {
        let s = instances[i % 2].clone();
        async move {
            let name = format!("user{i}");
            let outcome = s
                .create_account(&name, "h", "c", Some("the-code"), "default")
                .await;
            (name, outcome)
        }
    }))
    .await;

    let mut admitted = Vec::new();
    for (name, outcome) in attempts {
        match outcome {
            Ok(()) => admitted.push(name),
            Err(StoreError::InvalidInvite) => {}
            other => panic!("{name}: {other:?}"),
        }
    }
    assert_eq!(admitted.len(), 1, "{admitted:?}");
    assert_eq!(
        instances[1].list_users("", None, 100).await.unwrap(),
        admitted
    );
}

async fn the_same_envelope_put_through_both_instances_is_stored_once(b: Backend) {
    let (one, two) = (b.open().await, b.open().await);
    register(&*one, "alice").await;
    let bob = register(&*one, "bob").await;
    let carol = register(&*one, "carol").await;
    let same: Vec<NewEnvelope> = (0..20).map(|_| mail("alice", "bob")).collect();
    let clashing: Vec<NewEnvelope> = (0..20).map(|_| mail("alice", "bob")).collect();
    let groups: Vec<NewSharedEnvelope> = (0..10)
        .map(|_| shared("alice", "x", &["bob", "carol"], &random_id(), 0))
        .collect();

    let put = |s: &Instance, m: NewEnvelope| {
        let s = s.clone();
        async move { s.put_envelope(m, ROOMY).await }
    };
    let mut v1 = Vec::new();
    for m in &same {
        v1.push(put(&one, m.clone()));
        v1.push(put(&two, m.clone()));
    }
    for m in &clashing {
        v1.push(put(&one, m.clone()));
        v1.push(put(&two, altered(m)));
    }
    let v2 = groups.iter().flat_map(|env| {
        [one.clone(), two.clone()].map(|s| {
            let env = env.clone();
            async move { s.put_shared_envelope(env, ROOMY).await.expect("shared put") }
        })
    });
    let v2: Vec<_> = v2.map(tokio::spawn).collect();
    let v1 = all(v1).await;

    let mut expected: HashMap<String, Vec<u8>> = HashMap::new();
    for (pair, m) in v1[..40].chunks(2).zip(&same) {
        let answered = |want: PutOutcome| {
            pair.iter()
                .filter(|o| matches!(o, Ok(a) if *a == want))
                .count()
        };
        let once = (
            answered(PutOutcome::Stored),
            answered(PutOutcome::Duplicate),
        );
        assert_eq!(once, (1, 1), "{}: {pair:?}", m.id);
        expected.insert(m.id.clone(), m.body.clone());
    }
    for (pair, m) in v1[40..].chunks(2).zip(&clashing) {
        let winner = match (&pair[0], &pair[1]) {
            (Ok(PutOutcome::Stored), Err(StoreError::Conflict)) => m.body.clone(),
            (Err(StoreError::Conflict), Ok(PutOutcome::Stored)) => altered(m).body,
            other => panic!("{}: {other:?}", m.id),
        };
        expected.insert(m.id.clone(), winner);
    }
    for env in &groups {
        expected.insert(env.id.clone(), delivered_form(env, "bob"));
    }
    let mut shared_outcomes = Vec::new();
    for task in v2 {
        shared_outcomes.push(task.await.unwrap());
    }
    for (pair, env) in shared_outcomes.chunks(2).zip(&groups) {
        let mut stored: Vec<usize> = pair.iter().map(|o| o.stored.len()).collect();
        let mut duplicate: Vec<usize> = pair.iter().map(|o| o.duplicate).collect();
        stored.sort();
        duplicate.sort();
        assert_eq!(
            (stored, duplicate),
            (vec![0, 2], vec![0, 2]),
            "{}: {pair:?}",
            env.id
        );
    }

    let fetched = one.fetch("bob", &bob, everything()).await.unwrap();
    assert_eq!(fetched.len(), expected.len(), "each envelope once");
    for body in fetched {
        assert_eq!(
            Some(&body),
            expected.get(&id_of(&body)),
            "the winner's bytes"
        );
    }
    assert_eq!(
        pending_ids(&*two, "carol", &carol).await.len(),
        groups.len()
    );
    assert_eq!(b.rows("bodies", "1 = 1").await, groups.len() as i64);
}

async fn logins_through_both_instances_never_pass_the_device_cap(b: Backend) {
    let instances = [b.open().await, b.open().await];
    register(&*instances[0], "alice").await;
    for i in 2..MAX_DEVICES {
        add_device(&*instances[0], "alice", &format!("d{i}")).await;
    }

    for round in 0..3 {
        let logins = all((0..6).map(|i| {
            let s = instances[i % 2].clone();
            async move {
                let device = DeviceChoice::New(format!("r{round}n{i}"));
                s.create_session(&random_hash(), "alice", device, tomorrow(), 1000)
                    .await
            }
        }))
        .await;
        let mut added = Vec::new();
        for outcome in logins {
            match outcome {
                Ok((device, _)) => added.push(device.id),
                Err(StoreError::TooManyDevices) => {}
                other => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(added.len(), 1, "round {round}: one device fits");
        let active = instances[1].devices("alice", u64::MAX / 2).await.unwrap();
        assert_eq!(active.len(), MAX_DEVICES, "round {round}");
        instances[round % 2]
            .revoke_device("alice", &added[0], "h")
            .await
            .unwrap();
    }
}

async fn another_instance_hears_of_stored_mail_within_a_second(b: Backend) {
    let (one, two) = (b.open().await, b.open().await);
    register(&*one, "alice").await;
    let bob = register(&*one, "bob").await;
    register(&*one, "carol").await;
    // Each instance's listener connects in the background after `open`
    // (see `mail_stored_just_after_an_instance_opens_wakes_it`): wait until
    // the second one hears anything at all.
    let listening = async {
        loop {
            deliver(&*one, &mail("alice", "carol")).await;
            if two
                .woken
                .wait_for(&["carol"], Duration::from_millis(200))
                .await
            {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), listening)
        .await
        .expect("the second instance never heard of any mail");
    one.woken.take();
    let second = Duration::from_secs(1);

    let m = mail("alice", "bob");
    deliver(&*one, &m).await;
    assert_eq!(
        one.woken.take(),
        ["bob"],
        "the writing instance wakes its own at once"
    );
    assert!(
        two.woken.wait_for(&["bob"], second).await,
        "the other instance heard of bob's mail"
    );

    deliver(&*two, &mail("alice", "carol")).await;
    assert!(one.woken.wait_for(&["carol"], second).await);

    let group = shared("alice", "x", &["bob", "carol"], &random_id(), 0);
    one.put_shared_envelope(group, ROOMY).await.unwrap();
    assert!(two.woken.wait_for(&["bob", "carol"], second).await);

    // Nothing stored, nobody woken anywhere.
    two.woken.take();
    assert_eq!(
        one.put_envelope(m.clone(), ROOMY).await.unwrap(),
        PutOutcome::Duplicate
    );
    one.ack("bob", &bob, vec![m.id]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(two.woken.take().is_empty());
}

async fn mail_stored_just_after_an_instance_opens_wakes_it(b: Backend) {
    const TRIES: usize = 10;
    let one = b.open().await;
    register(&*one, "alice").await;
    register(&*one, "bob").await;
    let mut missed = 0;
    for _ in 0..TRIES {
        // A relay that has just started, with a long-poll waiting at once:
        // mail committed now must wake it.
        let fresh = b.open().await;
        deliver(&*one, &mail("alice", "bob")).await;
        if !fresh.woken.wait_for(&["bob"], Duration::from_secs(1)).await {
            missed += 1;
        }
    }
    assert_eq!(
        missed, 0,
        "{missed} of {TRIES} instances were never woken for mail committed just after \
         `PgStore::open` returned"
    );
}

async fn a_session_revoked_on_one_instance_is_gone_on_the_other(b: Backend) {
    let (one, two) = (b.open().await, b.open().await);
    register(&*one, "alice").await;
    let laptop = add_device(&*one, "alice", "laptop").await;
    let (phone_token, laptop_token) = (random_hash(), random_hash());
    one.create_session(&phone_token, "alice", DeviceChoice::Oldest, tomorrow(), 32)
        .await
        .unwrap();
    one.create_session(
        &laptop_token,
        "alice",
        DeviceChoice::Existing(laptop.clone()),
        tomorrow(),
        32,
    )
    .await
    .unwrap();
    // Both now in the other instance's session cache.
    assert!(two.session(&phone_token).await.unwrap().is_some());
    assert!(two.session(&laptop_token).await.unwrap().is_some());

    one.revoke_session(&phone_token).await.unwrap();
    assert!(
        one.session(&phone_token).await.unwrap().is_none(),
        "at once on the instance that revoked"
    );
    assert!(forgotten_within(&two, &phone_token, NOTICE).await);
    one.revoke_device("alice", &laptop, "h2").await.unwrap();
    assert!(forgotten_within(&two, &laptop_token, NOTICE).await);
}

/// Well within the session cache's lifetime of an entry: a revocation
/// forgotten this fast was heard, not aged out.
const NOTICE: Duration = Duration::from_secs(1);

/// Whether `s` stops knowing `token` within `within`.
async fn forgotten_within(s: &Instance, token: &str, within: Duration) -> bool {
    assert!(within * 3 < relay_server::store::postgres::SESSION_CACHE_TTL);
    let until = std::time::Instant::now() + within;
    loop {
        if s.session(token).await.unwrap().is_none() {
            return true;
        }
        if std::time::Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn sessions_an_account_deletion_takes_are_forgotten_on_the_other_instance(b: Backend) {
    let (one, two) = (b.open().await, b.open().await);
    register(&*one, "alice").await;
    let tokens: Vec<String> = (0..3).map(|_| random_hash()).collect();
    for token in &tokens {
        one.create_session(token, "alice", DeviceChoice::Oldest, tomorrow(), 32)
            .await
            .unwrap();
        assert!(two.session(token).await.unwrap().is_some());
    }
    // The sessions go by cascade (accounts → devices → sessions).
    one.delete_account("alice").await.unwrap();
    for token in &tokens {
        assert!(forgotten_within(&two, token, NOTICE).await);
    }
}

async fn a_lost_listen_connection_empties_the_session_cache(b: Backend) {
    let (one, two) = (b.open().await, b.open().await);
    register(&*one, "alice").await;
    let token = random_hash();
    one.create_session(&token, "alice", DeviceChoice::Oldest, tomorrow(), 32)
        .await
        .unwrap();
    assert!(two.session(&token).await.unwrap().is_some());
    // Every instance's LISTEN connection goes, and the revocation comes
    // while they are gone: nobody hears its notification. The other
    // instance still forgets the session long before an entry ages out,
    // because a lost connection empties its cache and keeps it unused
    // until it listens again.
    let ended = b
        .scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .await;
    assert_eq!(ended, 2, "one LISTEN connection per instance");
    one.revoke_session(&token).await.unwrap();
    assert!(forgotten_within(&two, &token, NOTICE).await);
}
