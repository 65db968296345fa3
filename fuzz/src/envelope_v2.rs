//! `envelope_v2`: bytes → the envelope v2 parsers (docs/PROTOCOL.md §8),
//! the relay's split, and opening.
//!
//! - `Incoming::parse` agrees with the parser of the version it answers
//!   (`Envelope::parse`, `DeliveredV2::parse`), and refuses what both refuse;
//!   a delivered form it accepts parses the same once re-serialized, and its
//!   root can be recomputed.
//! - A sealed form (`SealedV2::parse`) is never taken for a received
//!   envelope. It splits (`SealedV2::split`, §8.4) into one delivered form per
//!   entry, and each of them parses, as `DeliveredV2` and as `Incoming`, with
//!   the shared members, its own entry, its index and `n`, and a path that
//!   leads to the root of the tree over the sealed entries
//!   (`CheckedDeliveredV2::root` = `tree::root`).
//! - Every delivered form, the input or one split from it, addressed to alice,
//!   bob or carol of the v2 vectors is opened with `open_json` by them (each
//!   knows the two others). A signature check is a public-key operation, so
//!   this stays cheap: only a form that verifies costs an unwrap. All the
//!   forms of one sealed envelope that open give the same message (the key
//!   commitment's promise).

use std::collections::HashMap;
use std::sync::OnceLock;

use chatd::crypto::{Card, Identity, Opened, Peers, open_json};
use ipc_schema::envelope_v2::tree;
use ipc_schema::{DeliveredV2, Envelope, Incoming, SealedV2};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use crate::fixtures::{Keys, people};

/// An id every recipient here has "already seen", so replays are reachable.
const SEEN_ID: &str = "00000000000000000000000000000000";

/// One recipient's view of the world: the other two as pinned contacts.
struct Book {
    contacts: HashMap<String, Card>,
}

impl Peers for Book {
    fn contact(&self, user: &str) -> Option<&Card> {
        self.contacts.get(user)
    }

    fn already_seen(&self, _from: &str, id: &str) -> bool {
        id == SEEN_ID
    }
}

/// alice, bob and carol, each with a book of the other two.
fn world() -> &'static [(&'static Identity, Book); 3] {
    static WORLD: OnceLock<[(&'static Identity, Book); 3]> = OnceLock::new();
    WORLD.get_or_init(|| {
        let p = people();
        let all: [&'static Keys; 3] = [&p.alice, &p.bob, &p.carol];
        all.map(|me| {
            let contacts = all
                .iter()
                .filter(|k| k.identity.user() != me.identity.user())
                .map(|k| (k.identity.user().to_owned(), k.card().clone()))
                .collect();
            (&me.identity, Book { contacts })
        })
    })
}

/// Checks every parser on `data`; never panics on any input.
pub fn envelope_v2(data: &[u8]) {
    let incoming = Incoming::parse(data);
    match &incoming {
        Ok(Incoming::V1(env)) => {
            assert_eq!(
                Envelope::parse(data).as_ref(),
                Ok(env),
                "Incoming V1 != Envelope::parse"
            );
        }
        Ok(Incoming::V2(env)) => {
            assert!(Envelope::parse(data).is_err(), "v1 and v2 both parse");
            assert_eq!(
                DeliveredV2::parse(data).as_ref(),
                Ok(env),
                "Incoming V2 != DeliveredV2::parse"
            );
            let wire: DeliveredV2 = serde_json::from_slice(data).expect("it parsed once");
            let again = serde_json::to_vec(&wire).expect("a delivered form serializes");
            assert_eq!(
                DeliveredV2::parse(&again).as_ref(),
                Ok(env),
                "re-serialized, it parses otherwise"
            );
            // The path length was checked against `i` and `n`: this must not panic.
            let _ = env.root();
            open_as_recipient(data, &env.user);
        }
        Err(_) => {
            assert!(
                Envelope::parse(data).is_err(),
                "Incoming refused a v1 envelope"
            );
            assert!(
                DeliveredV2::parse(data).is_err(),
                "Incoming refused a delivered v2 envelope"
            );
        }
    }

    let Ok(checked) = SealedV2::parse(data) else {
        return;
    };
    assert!(
        incoming.is_err(),
        "a sealed form was taken for a received envelope"
    );
    let sealed: SealedV2 = serde_json::from_slice(data).expect("it parsed once");
    let leaves: Vec<[u8; 32]> = checked.to.iter().map(|(u, wk)| tree::leaf(u, wk)).collect();
    let root = tree::root(&leaves);
    let forms = sealed.split().expect("a sealed form that parses splits");
    assert_eq!(
        forms.len(),
        checked.to.len(),
        "one delivered form per entry"
    );
    let mut message: Option<Opened> = None;
    for (i, form) in forms.iter().enumerate() {
        let json = serde_json::to_vec(form).expect("a delivered form serializes");
        let env = DeliveredV2::parse(&json)
            .unwrap_or_else(|e| panic!("delivered form {i} of a sealed form does not parse: {e}"));
        assert_eq!(
            Incoming::parse(&json),
            Ok(Incoming::V2(env.clone())),
            "Incoming disagrees on delivered form {i}"
        );
        let (user, wk) = &checked.to[i];
        assert_eq!(
            (env.i as usize, env.n as usize, &env.user, &env.wk),
            (i, checked.to.len(), user, wk),
            "delivered form {i} does not carry entry {i}"
        );
        assert_eq!(
            env.common, checked.common,
            "delivered form {i} changed a shared member"
        );
        assert_eq!(
            env.root(),
            root,
            "delivered form {i}'s path does not lead to the root"
        );
        if let Some(opened) = open_as_recipient(&json, user) {
            match &message {
                Some(first) => assert_eq!(
                    first, &opened,
                    "two recipients of one envelope read different messages"
                ),
                None => message = Some(opened),
            }
        }
    }
}

/// Opens a delivered form as `user` if that is alice, bob or carol.
fn open_as_recipient(json: &[u8], user: &str) -> Option<Opened> {
    let (me, book) = world().iter().find(|(me, _)| me.user() == user)?;
    // A fixed seed keeps runs reproducible (the RNG only blinds the unwrap).
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let opened = open_json(me, json, book, &mut rng).ok()?;
    assert!(
        book.contact(&opened.from).is_some(),
        "opened an envelope from a non-contact"
    );
    assert_ne!(opened.id, SEEN_ID, "a replay was accepted");
    Some(opened)
}
