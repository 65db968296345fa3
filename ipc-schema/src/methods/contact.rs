//! `contact.*`: pin, list, forget and verify contacts.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::views::Contact;

/// Params of `contact.add`: one of two forms, told apart by the `card` member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ContactAddParams {
    /// `{card}`: a card received in person, by file or QR code.
    Card {
        /// The contact card JSON.
        card: Value,
    },
    /// `{user, fingerprint}`: fetch the card from the relay directory and pin it
    /// only if its fingerprint matches the one the user got out of band.
    Directory {
        /// The username to look up.
        user: String,
        /// The fingerprint the card must have.
        fingerprint: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactAddCard {
    card: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactAddDirectory {
    user: String,
    fingerprint: String,
}

impl<'de> Deserialize<'de> for ContactAddParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        let form = if map.contains_key("card") {
            serde_json::from_value::<ContactAddCard>(Value::Object(map))
                .map(|f| ContactAddParams::Card { card: f.card })
        } else if map.contains_key("user") || map.contains_key("fingerprint") {
            serde_json::from_value::<ContactAddDirectory>(Value::Object(map)).map(|f| {
                ContactAddParams::Directory {
                    user: f.user,
                    fingerprint: f.fingerprint,
                }
            })
        } else {
            return Err(de::Error::custom(
                "expected `card`, or `user` and `fingerprint`",
            ));
        };
        form.map_err(de::Error::custom)
    }
}

/// Result of `contact.add`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactAddResult {
    /// The new contact.
    pub contact: Contact,
}

/// Params of `contact.list` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactListParams {}

/// Result of `contact.list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactListResult {
    /// All contacts, by username.
    pub contacts: Vec<Contact>,
}

/// Params of `contact.remove`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactRemoveParams {
    /// The contact to forget; history is kept.
    pub user: String,
}

/// Result of `contact.remove` (empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRemoveResult {}

/// Params of `contact.verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactVerifyParams {
    /// The contact to mark verified.
    pub user: String,
    /// The fingerprint the user compared; must equal the pinned one, so a
    /// frontend verifies exactly what it showed.
    pub fingerprint: String,
}

/// Result of `contact.verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactVerifyResult {
    /// The contact, now verified.
    pub contact: Contact,
}

/// Params of `contact.accept_key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactAcceptKeyParams {
    /// The contact whose key changed.
    pub user: String,
    /// The new fingerprint the user compared out of band; must equal the
    /// directory's, so a frontend accepts exactly what it showed.
    pub fingerprint: String,
}

/// Result of `contact.accept_key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactAcceptKeyResult {
    /// The contact, pinned to the new key (not verified).
    pub contact: Contact,
    /// Envelopes that waited in quarantine and opened with it, now filed.
    pub opened: u64,
    /// Envelopes that waited and still did not open (dropped).
    pub dropped: u64,
}

/// Params of `contact.refuse_key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactRefuseKeyParams {
    /// The contact whose key changed.
    pub user: String,
}

/// Result of `contact.refuse_key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRefuseKeyResult {
    /// The contact, still pinned to the old key.
    pub contact: Contact,
    /// Envelopes that waited in quarantine, now deleted.
    pub deleted: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contact_add_takes_exactly_one_of_two_forms() {
        let parse = |v: Value| serde_json::from_value::<ContactAddParams>(v);
        assert!(matches!(
            parse(json!({"card": {"v": 1}})).unwrap(),
            ContactAddParams::Card { .. }
        ));
        assert!(matches!(
            parse(json!({"user": "bob", "fingerprint": "ab"})).unwrap(),
            ContactAddParams::Directory { .. }
        ));
        for bad in [
            json!({}),
            json!({"user": "bob"}),
            json!({"card": {}, "user": "bob"}),
            json!({"user": "bob", "fingerprint": "ab", "verified": true}),
            json!({"name": "bob"}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }
}
