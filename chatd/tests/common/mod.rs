//! Helpers shared by chatd's crypto tests: the frozen vectors file and a
//! simple in-memory [`Peers`].

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chatd::crypto::{Card, Identity, Peers};
use serde_json::Value;

/// Where the frozen envelope v1 vectors live.
pub fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/envelope-v1.json")
}

/// The vectors file, parsed.
pub fn load_vectors() -> Value {
    let text = std::fs::read_to_string(vectors_path()).expect("vectors file is committed");
    serde_json::from_str(&text).expect("vectors file is JSON")
}

/// The frozen envelope v2 vectors (docs/PROTOCOL.md §8.7), parsed.
pub fn load_vectors_v2() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/envelope-v2.json");
    let text = std::fs::read_to_string(path).expect("v2 vectors file is committed");
    serde_json::from_str(&text).expect("v2 vectors file is JSON")
}

/// Rebuilds the private identity `name` from the vectors file's PKCS#8 keys.
pub fn identity(vectors: &Value, name: &str) -> Identity {
    let key = &vectors["keys"][name];
    let der = |field: &str| B64.decode(key[field].as_str().unwrap()).unwrap();
    Identity::from_pkcs8(name, &der("enc_private_pkcs8"), &der("sig_private_pkcs8")).unwrap()
}

/// A contact list plus a seen-ids set.
#[derive(Default)]
pub struct Book {
    /// Pinned cards by username.
    pub contacts: HashMap<String, Card>,
    /// Accepted (from, id) pairs.
    pub seen: HashSet<(String, String)>,
}

impl Book {
    /// A book that knows exactly these cards.
    pub fn with(cards: &[&Card]) -> Book {
        Book {
            contacts: cards
                .iter()
                .map(|c| (c.user().to_owned(), (*c).clone()))
                .collect(),
            seen: HashSet::new(),
        }
    }
}

impl Peers for Book {
    fn contact(&self, user: &str) -> Option<&Card> {
        self.contacts.get(user)
    }
    fn already_seen(&self, from: &str, id: &str) -> bool {
        self.seen.contains(&(from.to_owned(), id.to_owned()))
    }
}
