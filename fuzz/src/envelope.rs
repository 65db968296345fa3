//! `envelope_open`: bytes → envelope JSON parse → open, as bob (who knows
//! alice) and as alice (who knows bob).

use std::collections::HashMap;
use std::sync::OnceLock;

use chatd::crypto::{Card, Identity, Peers, open, open_json};
use ipc_schema::Envelope;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use crate::fixtures::people;

/// An id every recipient here has "already seen", so replays are reachable.
const SEEN_ID: &str = "00000000000000000000000000000000";

/// One recipient's view of the world: a single pinned contact.
struct Book {
    contacts: HashMap<String, Card>,
}

impl Book {
    fn of(card: &Card) -> Book {
        Book {
            contacts: HashMap::from([(card.user().to_owned(), card.clone())]),
        }
    }
}

impl Peers for Book {
    fn contact(&self, user: &str) -> Option<&Card> {
        self.contacts.get(user)
    }

    fn already_seen(&self, _from: &str, id: &str) -> bool {
        id == SEEN_ID
    }
}

fn books() -> &'static (Book, Book) {
    static BOOKS: OnceLock<(Book, Book)> = OnceLock::new();
    BOOKS.get_or_init(|| {
        let p = people();
        (Book::of(p.alice.card()), Book::of(p.bob.card()))
    })
}

/// Opens `data` as each recipient; never panics on any input.
pub fn envelope_open(data: &[u8]) {
    let p = people();
    let (knows_alice, knows_bob) = books();
    open_as(&p.bob.identity, data, knows_alice);
    open_as(&p.alice.identity, data, knows_bob);
}

fn open_as(me: &Identity, data: &[u8], book: &Book) {
    // A fixed seed keeps runs reproducible (the RNG only blinds the unwrap).
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let result = open_json(me, data, book, &mut rng);
    // Opening the parsed form must agree with opening the bytes.
    if let Ok(env) = Envelope::parse(data) {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let again = open(me, &env.to_wire(), book, &mut rng);
        assert_eq!(result, again, "open_json and open disagree");
    }
    if let Ok(opened) = result {
        assert_eq!(opened.id.len(), 32, "an opened id is 32 hex digits");
        assert!(
            book.contact(&opened.from).is_some(),
            "opened an envelope from a non-contact"
        );
        assert_ne!(opened.id, SEEN_ID, "a replay was accepted");
    }
}
