//! `identity.*`: the own identity and card.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Params of `identity.show` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityShowParams {}

/// Result of `identity.show`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityShowResult {
    /// Own username.
    pub user: String,
    /// Own fingerprint, grouped hex.
    pub fingerprint: String,
    /// RSA modulus size of both key pairs.
    pub key_bits: u32,
}

/// Params of `identity.card` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityCardParams {}

/// Result of `identity.card`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityCardResult {
    /// The contact card: `{"v":1,"user":…,"enc":…,"sig":…}`.
    pub card: Value,
}

/// Params of `identity.rotate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRotateParams {
    /// The relay password: the directory's card is replaced.
    pub password: crate::secret::Secret,
}

/// Result of `identity.rotate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityRotateResult {
    /// The new fingerprint, grouped hex.
    pub fingerprint: String,
    /// The fingerprint left.
    pub old_fingerprint: String,
    /// Contacts a signed transition was queued for.
    pub contacts: u32,
    /// Groups a roster change carrying the transition was queued for.
    #[serde(default)]
    pub groups: u32,
    /// The rotation's counter (1 for the first).
    pub counter: u64,
    /// When the old private keys are destroyed (ms since the epoch; the
    /// grace period is `[keys] grace_days`).
    #[serde(default)]
    pub old_keys_until: u64,
}
