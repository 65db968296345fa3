//! The quarantine's caps, expiry and key decisions.

use super::*;
use crate::crypto::{Identity, KeyBits};

fn card(user: &str, seed: u8) -> Card {
    use rand_core::SeedableRng;
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([seed; 32]);
    Identity::generate(user, KeyBits::B2048, &mut rng)
        .unwrap()
        .card()
        .clone()
}

fn store_with_bob() -> (tempfile::TempDir, Store, Card) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("chatd.db")).unwrap();
    let bob = card("bob", 1);
    let _ = store.add_contact(&bob).unwrap();
    (dir, store, bob)
}

fn held(n: usize, from: &str, size: usize) -> Vec<(String, String, String)> {
    (0..n)
        .map(|i| (from.to_owned(), format!("{i:032x}"), "x".repeat(size)))
        .collect()
}

fn bob(store: &Store) -> Contact {
    store
        .contacts()
        .unwrap()
        .into_iter()
        .find(|c| c.user == "bob")
        .unwrap()
}

#[test]
fn the_caps_hold_per_contact_and_in_bytes_and_what_goes_is_counted() {
    let (_d, store, _) = store_with_bob();
    let limits = QuarantineLimits {
        per_contact: 5,
        max_bytes: 10_000,
        max_age_ms: u64::MAX,
    };
    store.hold(&limits, &held(8, "bob", 100)).unwrap();
    assert_eq!((bob(&store).quarantined, bob(&store).dropped), (5, 3));
    // The newest stay: ids 3..8.
    let left: Vec<String> = store
        .with(|c| {
            Ok(c.prepare("SELECT id FROM quarantine ORDER BY seq")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?)
        })
        .unwrap();
    assert_eq!(left.first().unwrap(), &format!("{:032x}", 3));
    // Bytes: three big ones push the oldest out.
    let big: Vec<_> = (10..13)
        .map(|i| ("bob".to_owned(), format!("{i:032x}"), "y".repeat(4_000)))
        .collect();
    store.hold(&limits, &big).unwrap();
    let total: i64 = store
        .with(|c| Ok(c.query_row("SELECT sum(bytes) FROM quarantine", [], |r| r.get(0))?))
        .unwrap();
    assert!(total <= 10_000, "{total}");
    assert_eq!(bob(&store).quarantined + bob(&store).dropped, 11);
}

#[test]
fn one_contact_s_flood_pushes_out_its_own_mail_not_another_s() {
    let (_d, store, _) = store_with_bob();
    let _ = store.add_contact(&card("mallory", 2)).unwrap();
    let limits = QuarantineLimits {
        per_contact: 1000,
        max_bytes: 10_000,
        max_age_ms: u64::MAX,
    };
    // bob's two wait first; then mallory sends 40 of 1,000 bytes.
    store.hold(&limits, &held(2, "bob", 1_000)).unwrap();
    store.hold(&limits, &held(40, "mallory", 1_000)).unwrap();
    assert_eq!((bob(&store).quarantined, bob(&store).dropped), (2, 0));
    let mallory = store
        .contacts()
        .unwrap()
        .into_iter()
        .find(|c| c.user == "mallory")
        .unwrap();
    assert_eq!((mallory.quarantined, mallory.dropped), (8, 32));
    // The newest of mallory's stay.
    let newest: String = store
        .with(|c| {
            Ok(c.query_row(
                "SELECT min(id) FROM quarantine WHERE sender = 'mallory'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(newest, format!("{:032x}", 32));
}

#[test]
fn an_envelope_held_twice_is_kept_once() {
    let (_d, store, _) = store_with_bob();
    let limits = QuarantineLimits::default();
    store.hold(&limits, &held(2, "bob", 10)).unwrap();
    store.hold(&limits, &held(2, "bob", 10)).unwrap();
    assert_eq!((bob(&store).quarantined, bob(&store).dropped), (2, 0));
}

#[test]
fn a_directory_with_the_pinned_key_means_forged_and_another_key_is_only_pending() {
    let (_d, store, bob_card) = store_with_bob();
    let limits = QuarantineLimits::default();
    store.hold(&limits, &held(2, "bob", 50)).unwrap();
    let seen = store.key_seen("me", "bob", &bob_card).unwrap();
    assert_eq!(seen.events().len(), 0);
    assert_eq!(
        seen.publish(&super::super::EventBus::default()),
        KeySeen::Same
    );
    // The daemon tries them again with the pinned key; none opens.
    let last = store.quarantined("bob").unwrap().last().unwrap().0;
    store.release_quarantine("bob", last, 2, true).unwrap();
    assert_eq!((bob(&store).quarantined, bob(&store).dropped), (0, 2));

    store.hold(&limits, &held(3, "bob", 50)).unwrap();
    let new = card("bob", 2);
    let seen = store.key_seen("me", "bob", &new).unwrap();
    assert!(seen.events().iter().any(|e| matches!(
        &e.event,
        Event::ContactChanged(c) if c.change == ContactChange::KeyChanged
            && c.new_fingerprint.as_deref() == Some(new.fingerprint().grouped().as_str())
    )));
    assert!(matches!(
        seen.publish(&super::super::EventBus::default()),
        KeySeen::Changed { .. }
    ));
    let c = bob(&store);
    assert_eq!(
        c.fingerprint,
        bob_card.fingerprint().grouped(),
        "still the old key"
    );
    assert_eq!(c.pending_fingerprint, Some(new.fingerprint().grouped()));
    // Told once per key.
    let again = store.key_seen("me", "bob", &new).unwrap();
    assert!(again.events().is_empty());
    // Refused: the waiting ones go, counted; the old key stays.
    let (c, deleted) = store
        .refuse_key("me", "bob")
        .unwrap()
        .publish(&super::super::EventBus::default());
    assert_eq!(deleted, 3);
    assert_eq!(
        (c.quarantined, c.dropped, c.pending_fingerprint),
        (0, 5, None)
    );
}

#[test]
fn accepting_pins_the_new_key_unverified_and_hands_back_the_waiting_in_order() {
    let (_d, store, _) = store_with_bob();
    let _ = store
        .verify_contact("bob", &card("bob", 1).fingerprint())
        .unwrap();
    store
        .hold(&QuarantineLimits::default(), &held(3, "bob", 10))
        .unwrap();
    let new = card("bob", 2);
    let (c, waiting) = store
        .accept_key("me", "bob", &new)
        .unwrap()
        .publish(&super::super::EventBus::default());
    assert_eq!(c.fingerprint, new.fingerprint().grouped());
    assert!(!c.verified, "a new key starts unverified");
    assert_eq!(waiting.len(), 3);
    assert!(waiting.windows(2).all(|w| w[0].0 < w[1].0));
    store
        .release_quarantine("bob", waiting[2].0, 1, false)
        .unwrap();
    assert_eq!((bob(&store).quarantined, bob(&store).dropped), (0, 1));
}

#[test]
fn what_waited_too_long_is_deleted_and_counted() {
    let (_d, store, _) = store_with_bob();
    store
        .hold(&QuarantineLimits::default(), &held(2, "bob", 10))
        .unwrap();
    store
        .with(|c| Ok(c.execute("UPDATE quarantine SET received_at = 0", [])?))
        .unwrap();
    store
        .hold(&QuarantineLimits::default(), &held(3, "bob", 10)[2..])
        .unwrap();
    let n = store
        .expire_quarantine(&QuarantineLimits::default())
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!((bob(&store).quarantined, bob(&store).dropped), (1, 2));
}
