//! Bodies of the relay's HTTP API v1 (docs/RELAY.md), shared by relay-server and chatd.
//!
//! Request bodies are strict (`deny_unknown_fields`); response bodies accept
//! extra fields so a newer relay can add some without breaking older daemons.
//! Bodies that are a single envelope (`PUT`/`GET /v1/messages/{id}`) or a
//! single card (`GET /v1/directory/{user}`) use [`Envelope`] and
//! `serde_json::Value` directly.
#![warn(missing_docs)]

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::envelope::Envelope;
use crate::secret::Secret;

/// Path prefix of every route of this API version.
pub const API_PREFIX: &str = "/v1";

/// Longest long-poll `wait` of `GET /v1/messages`, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;

/// Body of `POST /v1/accounts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    /// The username to claim; must match the card's `user`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9_.-]{2,31}$"))]
    pub username: String,
    /// The account password (Argon2id-hashed by the relay): at least 8
    /// characters, at most 1024 bytes of UTF-8.
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 8, max_length = 1024))]
    pub password: Secret,
    /// The public contact card, published in the directory:
    /// `{"v":1,"user":…,"enc":…,"sig":…}` with `user` the username and `enc`,
    /// `sig` base64 SPKI DER of 2048 to 4096-bit RSA keys.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub card: Value,
    /// Single-use invite code, for relays with the `invite` policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
    /// The name of the account's first device ([`is_valid_device_name`];
    /// "default" when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 32))]
    pub device_name: Option<String>,
}

/// Most devices an account has at once (docs/RELAY.md, "Devices").
pub const MAX_DEVICES: usize = 10;

/// Longest device name, in bytes.
pub const MAX_DEVICE_NAME: usize = 32;

/// A device name: 1 to 32 bytes of UTF-8, no control characters, not all
/// spaces.
pub fn is_valid_device_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_DEVICE_NAME
        && !name.chars().any(char::is_control)
        && !name.trim().is_empty()
}

/// A device id, as the relay assigns them: 16 lowercase hex digits.
pub fn is_valid_device_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Largest sealed device link the relay keeps (docs/RELAY.md §5.3).
pub const MAX_LINK_BYTES: usize = 16 * 1024 * 1024;

/// A link's handle (docs/PROTOCOL.md §12.2): 64 lowercase hex digits.
pub fn is_valid_link_handle(handle: &str) -> bool {
    handle.len() == 64
        && handle
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Answer to `PUT /v1/links/{handle}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkStored {
    /// When the relay deletes the link unless it was claimed (ms).
    pub expires_at: u64,
}

/// Most readers one blob may name (docs/RELAY.md §5.5).
pub const MAX_BLOB_READERS: usize = 1000;

/// Body of `POST /v1/blobs`: an upload, before its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobCreate {
    /// The uploader's random id: 32 lowercase hex digits.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub id: String,
    /// The blob's whole length in bytes, as it will be uploaded.
    pub size: u64,
    /// The accounts that may download it (1 to [`MAX_BLOB_READERS`]); the
    /// owner may name itself, for its other devices.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000))]
    pub readers: Vec<String>,
}

/// Answer to `POST` and `PUT /v1/blobs/{id}`: how far the upload is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobStatus {
    /// Bytes stored so far (durably), from the start.
    pub stored: u64,
    /// The declared length.
    pub size: u64,
    /// Whether every byte is stored, so readers may download it.
    pub complete: bool,
}

/// Body of `PATCH /v1/devices/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameDeviceRequest {
    /// The new name ([`is_valid_device_name`]).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 32))]
    pub name: String,
}

/// Which device a login is for (`device` of [`LoginRequest`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceLogin {
    /// An existing device of the account, to log in as it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{16}$"))]
    pub id: Option<String>,
    /// A new device to add under this name (when `id` is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 32))]
    pub name: Option<String>,
}

/// One device of an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceInfo {
    /// The relay-assigned id: 16 lowercase hex digits.
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it was added (ms since the Unix epoch).
    pub created_at: u64,
    /// When it last logged in or fetched (ms since the Unix epoch; updated
    /// at most every few minutes).
    pub last_seen: u64,
    /// When it was revoked or expired, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gone_at: Option<u64>,
    /// `revoked` or `expired`, if it is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gone: Option<String>,
}

/// Body of the answer to `GET /v1/devices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceList {
    /// The device the request's token belongs to.
    pub current: String,
    /// The account's devices, oldest first: the active ones, then those
    /// revoked or expired in the last 30 days.
    pub devices: Vec<DeviceInfo>,
}

/// Body of `DELETE /v1/devices/{id}`: revoking a device changes the account
/// password in the same step, because the revoked device knew the old one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeDeviceRequest {
    /// The current account password.
    pub password: Secret,
    /// The new account password (same rules as at registration).
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 8, max_length = 1024))]
    pub new_password: Secret,
}

/// Body of `PUT /v1/accounts/me/password`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    /// The current account password.
    pub password: Secret,
    /// The new one (same rules as at registration).
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 8, max_length = 1024))]
    pub new_password: Secret,
}

/// Body of `POST /v1/sessions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// The account's username.
    pub username: String,
    /// The account's password.
    pub password: Secret,
    /// The device to log in as, or to add. Without it, the login is for the
    /// account's oldest active device (what a one-device client wants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceLogin>,
}

/// Body of the 201 answer to `POST /v1/sessions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    /// The session token (256 random bits, encoded by the relay).
    pub token: Secret,
    /// When the token stops working (ms since the Unix epoch).
    pub expires_at: u64,
    /// The device the token belongs to (absent from relays before devices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceInfo>,
}

/// Body of `DELETE /v1/accounts/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteAccountRequest {
    /// The account's password, asked again on purpose.
    pub password: Secret,
}

/// Body of `PUT /v1/directory/me`: a new card for the account (new keys,
/// after the old ones were lost or exposed). The password is asked, as for
/// deleting the account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplaceCardRequest {
    /// The account's password.
    pub password: Secret,
    /// The new contact card; its `user` must be the account's.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub card: Value,
}

/// Body of the answer to `GET /v1/directory?prefix=&limit=`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryList {
    /// Usernames, in ascending order.
    pub users: Vec<String>,
    /// Where the next page starts, when there is one.
    pub next: Option<String>,
}

/// Body of the 200 answer to `GET /v1/messages`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagesResponse {
    /// The caller's pending envelopes, oldest first: v1 as they were put, v2
    /// in the caller's delivered form (docs/PROTOCOL.md §8.3).
    pub messages: Vec<PendingEnvelope>,
}

/// One pending envelope, of either version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PendingEnvelope {
    /// Envelope v1, to one recipient.
    V1(Envelope),
    /// Envelope v2, this recipient's delivered form.
    V2(crate::envelope_v2::DeliveredV2),
}

/// Body of the 2xx answer to a `PUT /v1/messages/{id}` of a sealed v2
/// envelope: who was stored for, and who was skipped and why. A skipped
/// recipient does not hold back the others; the sender PUTs the same bytes
/// again to retry them (those already stored answer as duplicates).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PutV2Response {
    /// Recipients stored by this request.
    pub stored: u32,
    /// Recipients already stored or delivered by an earlier PUT of the same bytes.
    pub duplicate: u32,
    /// Recipients not stored, each with why.
    pub skipped: Vec<SkippedRecipient>,
}

/// A recipient a v2 PUT did not store for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedRecipient {
    /// The recipient.
    pub user: String,
    /// `unknown_recipient` (no such account), `quota_exceeded` (mailbox
    /// full: try again later) or `conflict` (another sender used this id for
    /// this recipient: never).
    pub reason: String,
}

/// Body of `POST /v1/messages/ack`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AckRequest {
    /// Ids of the caller's envelopes to delete (32 lowercase hex digits each; at most 1000).
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    pub ids: Vec<String>,
}

/// Body of every error answer: `{"error":{"code":…,"message":…}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of an [`ErrorBody`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable snake_case code, one of [`error_code`].
    pub code: String,
    /// One human-readable sentence.
    pub message: String,
}

impl ErrorBody {
    /// An error body with a code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
            },
        }
    }
}

/// Error codes of [`ErrorDetail::code`], with the HTTP status each goes with.
pub mod error_code {
    /// 400: the body or query is malformed.
    pub const BAD_REQUEST: &str = "bad_request";
    /// 401: no, an expired, or a revoked token.
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// 401: unknown user or wrong password (the relay does not say which).
    pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
    /// 403: the token's user may not do this (e.g. put an envelope `from` someone else).
    pub const FORBIDDEN: &str = "forbidden";
    /// 403: registration is closed on this relay.
    pub const REGISTRATION_CLOSED: &str = "registration_closed";
    /// 403: an invite code is required, or the one given is unknown or used.
    pub const INVALID_INVITE: &str = "invalid_invite";
    /// 404: no such user, envelope, or route.
    pub const NOT_FOUND: &str = "not_found";
    /// 404: the envelope's recipient has no account.
    pub const UNKNOWN_RECIPIENT: &str = "unknown_recipient";
    /// 409: the username is taken.
    pub const USERNAME_TAKEN: &str = "username_taken";
    /// 409: the account already has [`super::MAX_DEVICES`] devices.
    pub const TOO_MANY_DEVICES: &str = "too_many_devices";
    /// 403: the device named at login was revoked or expired (add a new one).
    pub const DEVICE_GONE: &str = "device_gone";
    /// 404: the account has no such device.
    pub const UNKNOWN_DEVICE: &str = "unknown_device";
    /// 408: the request's body did not arrive within the relay's time for it.
    pub const REQUEST_TIMEOUT: &str = "request_timeout";
    /// 409: an envelope with this id but other bytes is already stored, or
    /// another sender used the id for the same recipient.
    pub const CONFLICT: &str = "conflict";
    /// 413: the body is over the cap.
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// 429: too many requests or failed logins, or the relay is busy
    /// checking passwords; see `Retry-After`.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// 500: a bug or a store failure.
    pub const INTERNAL: &str = "internal";
    /// 503: the relay's disk is full; nothing was stored, retry after `Retry-After`.
    pub const STORAGE_FULL: &str = "storage_full";
    /// 507: the recipient's mailbox is over its quota, or the account's
    /// blobs would be over theirs.
    pub const QUOTA_EXCEEDED: &str = "quota_exceeded";
    /// 413: a blob's declared size is over the relay's largest.
    pub const BLOB_TOO_LARGE: &str = "blob_too_large";
    /// 416: an upload's `Content-Range` does not continue the stored bytes
    /// (see `Upload-Offset`), or a download's `Range` is past the end.
    pub const RANGE_NOT_SATISFIABLE: &str = "range_not_satisfiable";
}

/// Whether a part of the relay works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HealthStatus {
    /// Working.
    Ok,
    /// Not working; the answer's HTTP status is 503.
    Error,
}

/// Body of the answer to `GET /v1/health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Overall: `ok` only when every check is `ok`.
    pub status: HealthStatus,
    /// The relay's version.
    pub version: String,
    /// Whether the store answers a trivial query.
    pub store: HealthStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let login = LoginRequest {
            username: "alice".into(),
            password: Secret::new("hunter2"),
            device: None,
        };
        assert!(!format!("{login:?}").contains("hunter2"));
        let session = LoginResponse {
            token: Secret::new("s3cr3t-token"),
            expires_at: 1,
            device: None,
        };
        assert!(!format!("{session:#?}").contains("s3cr3t"));
        assert_eq!(session.token.expose(), "s3cr3t-token");
    }

    #[test]
    fn request_bodies_refuse_unknown_fields() {
        let text = r#"{"username":"alice","password":"x","admin":true}"#;
        assert!(serde_json::from_str::<LoginRequest>(text).is_err());
        assert!(serde_json::from_str::<AckRequest>(r#"{"ids":[],"all":true}"#).is_err());
    }
}
