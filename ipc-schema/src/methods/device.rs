//! `device.*` and `account.password`: the account's devices on the relay
//! (docs/RELAY.md, "Devices").

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// Params of `device.list` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceListParams {}

/// One device of the account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    /// The relay's id for it: 16 hex digits.
    pub id: String,
    /// Its name (chosen by its user; sanitize before display).
    pub name: String,
    /// When it was added (ms).
    pub created_at: u64,
    /// When it last logged in or fetched (ms, to within a few minutes).
    pub last_seen: u64,
    /// Whether it is the device this chatd runs as.
    pub current: bool,
    /// `revoked` or `expired`, if it is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gone: Option<String>,
    /// When it went (ms), if it is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gone_at: Option<u64>,
}

/// Result of `device.list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceListResult {
    /// Active devices oldest first, then those gone in the last 30 days.
    pub devices: Vec<DeviceView>,
}

/// Params of `device.revoke`: the device, and the relay password's change
/// that revoking requires (the revoked device knew the old one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRevokeParams {
    /// The device's id, as `device.list` gives it.
    pub id: String,
    /// The current relay password.
    pub password: Secret,
    /// The new relay password (at least 8 characters).
    pub new_password: Secret,
}

/// Result of `device.revoke` (empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRevokeResult {}

/// Params of `account.password`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountPasswordParams {
    /// The current relay password.
    pub password: Secret,
    /// The new one (at least 8 characters).
    pub new_password: Secret,
}

/// Result of `account.password` (empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPasswordResult {}
