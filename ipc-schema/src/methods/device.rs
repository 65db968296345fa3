//! `device.*`, `account.password`, `backup.export` and `account.restore`:
//! the account's devices on the relay (docs/RELAY.md, "Devices") and
//! backups of the identity (docs/PROTOCOL.md §10).

use serde::{Deserialize, Serialize};

use super::account::RelayUrls;
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

/// Params of `backup.export`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupExportParams {
    /// The backup passphrase (not the relay password); at least 80 bits by
    /// the estimate of docs/PROTOCOL.md §10.4.
    pub passphrase: Secret,
}

/// Result of `backup.export`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupExportResult {
    /// The backup text (docs/PROTOCOL.md §10.2): the private keys, sealed.
    pub backup: Secret,
    /// How many contacts it holds.
    pub contacts: u32,
}

/// Params of `backup.enable`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupEnableParams {
    /// The backup passphrase (not the relay password), as for `backup.export`.
    pub passphrase: Secret,
}

/// Result of `backup.enable`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupEnableResult {
    /// How many contacts the backup on the relay holds now.
    pub contacts: u32,
}

/// Params of `backup.disable` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupDisableParams {}

/// Result of `backup.disable` (empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupDisableResult {}

/// Params of `account.restore`: like `account.register`, with a backup in
/// place of new keys; the machine joins the account as a new device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRestoreParams {
    /// Base URL of the relay, or its URLs (as for `account.register`).
    pub relay_url: RelayUrls,
    /// The account's username.
    pub username: String,
    /// The relay account's password.
    pub password: Secret,
    /// The backup text, as `backup.export` made it; absent to fetch the one
    /// the relay keeps (`backup.enable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Secret>,
    /// Its passphrase.
    pub passphrase: Secret,
    /// This machine's name among the account's devices; the host name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// As for `account.register`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_http: bool,
    /// As for `account.register`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_ca: Option<String>,
    /// As for `account.register`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_pin: Option<String>,
}

/// Result of `account.restore`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRestoreResult {
    /// The account's username.
    pub user: String,
    /// Its fingerprint: the same as on its other devices.
    pub fingerprint: String,
    /// The relay.
    pub relay_url: String,
    /// How many contacts came with the backup.
    pub contacts: u32,
    /// How many groups came with it.
    #[serde(default)]
    pub groups: u32,
}

/// Params of `device.rename`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRenameParams {
    /// The device's id, as `device.list` gives it.
    pub id: String,
    /// Its new name: 1 to 32 bytes, no control characters.
    pub name: String,
}

/// Result of `device.rename` (empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRenameResult {}

/// Params of `device.link`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceLinkParams {
    /// Also carry the message history (the newest that fits in the link).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub with_history: bool,
}

/// Result of `device.link`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceLinkResult {
    /// The one-time code for `account.join` on the new machine: 32
    /// characters in 8 groups of 4 (160 bits; docs/PROTOCOL.md §12.1).
    pub code: Secret,
    /// When the relay deletes the link unless it was used (ms).
    pub expires_at: u64,
    /// Contacts it carries.
    pub contacts: u32,
    /// Groups it carries.
    pub groups: u32,
    /// Messages of history it carries.
    pub messages: u32,
    /// Older messages left out because the link has a size cap.
    pub messages_left: u64,
    /// Size of the sealed link, bytes.
    pub bytes: u64,
}

/// Params of `account.join`: like `account.restore`, with a link code in
/// place of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountJoinParams {
    /// Base URL of the relay, or its URLs (as for `account.register`).
    pub relay_url: RelayUrls,
    /// The account's username.
    pub username: String,
    /// The relay account's password.
    pub password: Secret,
    /// The code `device.link` gave on a device of the account.
    pub code: Secret,
    /// This machine's name among the account's devices; the host name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// As for `account.register`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_http: bool,
    /// As for `account.register`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_ca: Option<String>,
    /// As for `account.register`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_pin: Option<String>,
}

/// Result of `account.join`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountJoinResult {
    /// The account's username.
    pub user: String,
    /// Its fingerprint: the same as on its other devices.
    pub fingerprint: String,
    /// The relay.
    pub relay_url: String,
    /// Contacts that came with the link.
    pub contacts: u32,
    /// Groups that came with it.
    pub groups: u32,
    /// Messages of history that came with it.
    pub messages: u32,
}
