//! `account.*`: register, log in and out, delete.

use serde::{Deserialize, Serialize};

use super::views::{RelayTrustView, RelayUrlView};
use crate::secret::Secret;

/// The base URLs of one relay: instances of it that share its accounts
/// and mailboxes, tried in this order (chatd stays on the one that answers
/// and moves on when it cannot be reached; docs/IPC.md `status`).
///
/// On the wire a string when there is one, as before a relay could have
/// several, else a list of strings; both are read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayUrls(Vec<String>);

impl RelayUrls {
    /// The URLs in the order given.
    pub fn new(urls: Vec<String>) -> RelayUrls {
        RelayUrls(urls)
    }

    /// The URLs, first the preferred one.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The URLs, first the preferred one.
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

impl From<String> for RelayUrls {
    fn from(url: String) -> RelayUrls {
        RelayUrls(vec![url])
    }
}

impl From<&str> for RelayUrls {
    fn from(url: &str) -> RelayUrls {
        RelayUrls(vec![url.to_owned()])
    }
}

impl From<Vec<String>> for RelayUrls {
    fn from(urls: Vec<String>) -> RelayUrls {
        RelayUrls(urls)
    }
}

impl Serialize for RelayUrls {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for RelayUrls {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RelayUrls, D::Error> {
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "a relay URL, or a list of URLs of the same relay"
        )]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(url) => RelayUrls(vec![url]),
            OneOrMany::Many(urls) => RelayUrls(urls),
        })
    }
}

/// Params of `account.register`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRegisterParams {
    /// Base URL of the relay, e.g. `https://relay.example.org`, or the
    /// URLs of its instances in the order to try them.
    pub relay_url: RelayUrls,
    /// The username to claim.
    pub username: String,
    /// The relay account's password.
    pub password: Secret,
    /// Invite code, for relays that require one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
    /// RSA modulus size for the new keys: 2048, 3072 (default) or 4096.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_bits: Option<u32>,
    /// Allow plain `http://` to a host that is not this machine (a TLS
    /// proxy on this machine forwards it). Stored with the account.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_http: bool,
    /// An extra CA certificate (PEM text, not a path: chatd's sandbox may
    /// not see the caller's files) trusted for this relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_ca: Option<String>,
    /// SHA-256 of the relay certificate's SubjectPublicKeyInfo, 64 hex
    /// digits: only a certificate with that key is accepted (its dates are
    /// checked, its issuer and names are not). Excludes `relay_ca`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_pin: Option<String>,
    /// This machine's name among the account's devices (1 to 32 bytes, no
    /// control characters); the host name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// The account exists and its keys are lost (a reinstall without a
    /// backup) or exposed: log in with the password as a new device and
    /// replace the account's card in the directory with new keys. Contacts
    /// are told their key changed, and accept the new one only after
    /// comparing fingerprints.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replace_keys: bool,
}

/// Params of `relay.trust`: how the relay's certificate is checked from now
/// on. `ca` and `pin` exclude each other; with neither, only the system's
/// roots are trusted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayTrustParams {
    /// An extra CA certificate, PEM text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// SHA-256 of the relay certificate's SubjectPublicKeyInfo (64 hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// Change whether plain `http://` off loopback is allowed; unchanged
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_http: Option<bool>,
}

/// Result of `relay.trust`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayTrustResult {
    /// The account's relay (its first URL).
    pub relay_url: String,
    /// How its certificate is checked now.
    pub trust: RelayTrustView,
}

/// Params of `relay.urls`: the account's relay is reached at these URLs
/// from now on, in this order. They must be instances of the same relay
/// (the same accounts behind them); the trust settings apply to each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayUrlsParams {
    /// The URLs, the preferred one first.
    pub urls: Vec<String>,
}

/// Result of `relay.urls`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayUrlsResult {
    /// The URL requests go to first now.
    pub relay_url: String,
    /// Every URL, as `status` shows them.
    pub relays: Vec<RelayUrlView>,
}

/// Result of `account.register`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRegisterResult {
    /// The registered username.
    pub user: String,
    /// The new identity's fingerprint.
    pub fingerprint: String,
    /// The relay it lives on.
    pub relay_url: String,
}

/// Params of `account.login`; user and relay are the registered ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountLoginParams {
    /// The relay account's password.
    pub password: Secret,
}

/// Result of `account.login`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLoginResult {
    /// The logged-in user.
    pub user: String,
    /// When the relay session expires (ms).
    pub expires_at: u64,
}

/// Params of `account.logout` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountLogoutParams {}

/// Result of `account.logout` (empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLogoutResult {}

/// Params of `account.delete`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountDeleteParams {
    /// The relay account's password, asked again on purpose.
    pub password: Secret,
}

/// Result of `account.delete` (empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDeleteResult {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::{Id, Request};

    #[test]
    fn passwords_never_show_in_debug_output() {
        let req = Request::new(
            Id::Number(1),
            AccountLoginParams {
                password: Secret::new("hunter2"),
            },
        );
        let dbg = format!("{req:?} {req:#?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        // It still travels: the daemon needs it.
        let wire = serde_json::to_string(&req).unwrap();
        assert!(
            wire.contains(r#""params":{"password":"hunter2"}"#),
            "{wire}"
        );
    }
}
