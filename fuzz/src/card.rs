//! `card_parse`: bytes → contact card JSON, card JSON value, SPKI key and
//! typed fingerprint, with round-trip checks on whatever parses.

use chatd::crypto::card::{public_key_from_spki, public_key_to_spki};
use chatd::crypto::{Card, Fingerprint};

/// Parses `data` every way a card or fingerprint reaches chatd.
pub fn card_parse(data: &[u8]) {
    let from_json = Card::from_json(data);
    if let Ok(card) = &from_json {
        let again = Card::from_json(card.to_json().as_bytes()).expect("a written card parses");
        assert_eq!(&again, card, "card JSON round trip");
        assert_eq!(again.fingerprint(), card.fingerprint());
        let fp = card.fingerprint();
        assert_eq!(Fingerprint::parse(&fp.grouped()), Some(fp));
        assert_eq!(Fingerprint::parse(&fp.to_hex()), Some(fp));
    }

    // Cards also arrive inside other JSON documents (contact.add).
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let from_value = Card::from_value(&value);
        if let (Ok(a), Ok(b)) = (&from_json, &from_value) {
            assert_eq!(a, b, "from_json and from_value disagree");
        }
    }

    // DER SubjectPublicKeyInfo: only canonical encodings are accepted.
    if let Ok(key) = public_key_from_spki(data) {
        assert_eq!(
            public_key_to_spki(&key),
            data,
            "accepted a non-canonical SPKI"
        );
    }

    // What a person types as a fingerprint.
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(fp) = Fingerprint::parse(text)
    {
        assert_eq!(Fingerprint::parse(&fp.grouped()), Some(fp));
        assert_eq!(fp.to_hex().len(), 64);
    }
}
