//! The `contact` payload's reader (docs/PROTOCOL.md §11.4).

use serde::Deserialize;

use super::{ContactSyncState, Payload, PayloadError, is_valid_username};

/// Reads a `contact` payload (docs/PROTOCOL.md §11.4), keeping the card's
/// text as it came, so the payload reads back byte for byte.
pub(super) fn contact_from_json(bytes: &[u8]) -> Result<Payload, PayloadError> {
    #[derive(Deserialize)]
    struct ContactIn {
        user: String,
        state: ContactSyncState,
        #[serde(default)]
        card: Option<Box<serde_json::value::RawValue>>,
        at: u64,
        device: String,
    }
    let bad = || PayloadError::BadFields("contact".into());
    let c: ContactIn = serde_json::from_slice(bytes).map_err(|_| bad())?;
    let card_ok = match (&c.card, c.state) {
        (None, ContactSyncState::Removed) => true,
        (Some(card), ContactSyncState::Pinned | ContactSyncState::Verified) => {
            card.get().starts_with('{')
        }
        _ => false,
    };
    if !is_valid_username(&c.user) || !crate::relay::is_valid_device_id(&c.device) || !card_ok {
        return Err(bad());
    }
    Ok(Payload::Contact {
        user: c.user,
        state: c.state,
        card: c.card.map(|card| card.get().to_owned()),
        at: c.at,
        device: c.device,
    })
}
