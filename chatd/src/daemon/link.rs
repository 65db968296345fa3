//! Device links (docs/PROTOCOL.md §12, docs/RELAY.md §5.3): a device of the
//! account seals its identity, contacts, groups and optionally its history
//! under a one-time code and leaves it on the relay; the new machine claims
//! it with the code and becomes another device with the same keys.

use std::sync::Arc;

use ipc_schema::Secret;

use super::backup::{Carried, NewDevice, Source};
use super::{Daemon, DaemonError, blocking};
use crate::crypto::Identity;
use crate::crypto::link::{self, LinkCode};
use crate::store::RelayTrust;

/// How much of a link the history may fill, as JSON: the relay keeps at
/// most 16 MiB, and base64 makes 12 of 9.
const HISTORY_BUDGET: usize = 11 * 1024 * 1024;

/// What `account.join` needs.
#[derive(Debug)]
pub struct Join {
    /// The relay's base URLs (its instances, the preferred first).
    pub relay_urls: Vec<String>,
    /// The account's username.
    pub username: String,
    /// The relay password.
    pub password: Secret,
    /// The code, as typed.
    pub code: Secret,
    /// This machine's device name (the host name when absent).
    pub device_name: Option<String>,
    /// How the relay's certificate is checked.
    pub trust: RelayTrust,
}

/// A link left on the relay.
pub struct LinkLeft {
    /// Its code, to type on the new machine.
    pub code: Secret,
    /// When the relay deletes it unless claimed (ms).
    pub expires_at: u64,
    /// What it carries.
    pub carried: Carried,
    /// Its size, sealed.
    pub bytes: usize,
}

impl Daemon {
    /// Seals what a new device needs under a new code and leaves it on the
    /// relay, replacing any link not yet claimed.
    pub async fn create_link(&self, with_history: bool) -> Result<LinkLeft, DaemonError> {
        let token = self.token().ok_or_else(|| {
            DaemonError::NotLoggedIn("not logged in: run `chat-ctl login` first".into())
        })?;
        let (contents, carried) = self
            .contents(with_history.then_some(HISTORY_BUDGET))
            .await?;
        let (code, text) = blocking(move || {
            let code = LinkCode::generate(&mut rand::rng());
            let text = link::seal(&code, &contents, &mut rand::rng());
            (code, text)
        })
        .await?;
        let bytes = text.len();
        let expires_at = self.relay()?.put_link(&token, &code.handle(), text).await?;
        tracing::info!(
            contacts = carried.contacts,
            groups = carried.groups,
            messages = carried.messages,
            bytes,
            "device link left on the relay"
        );
        Ok(LinkLeft {
            code: Secret::new(code.text()),
            expires_at,
            carried,
            bytes,
        })
    }

    /// On a machine with no account: claims the link `j.code` names and
    /// becomes a new device of the account with what it holds.
    pub async fn join(&self, j: Join) -> Result<(Arc<Identity>, Carried), DaemonError> {
        let setup = NewDevice {
            relay_urls: j.relay_urls,
            username: j.username,
            password: j.password,
            device_name: j.device_name,
            trust: j.trust,
        };
        self.become_device(setup, Source::Link { code: j.code })
            .await
    }

    /// Renames a device of the account on the relay.
    pub async fn rename_device(&self, id: &str, name: &str) -> Result<(), DaemonError> {
        if !ipc_schema::relay::is_valid_device_id(id) {
            return Err(DaemonError::Invalid(
                "a device id is 16 hex digits, as `device list` shows".into(),
            ));
        }
        if !ipc_schema::relay::is_valid_device_name(name) {
            return Err(DaemonError::Invalid(
                "a device name is 1 to 32 bytes with no control characters".into(),
            ));
        }
        let token = self.token().ok_or_else(|| {
            DaemonError::NotLoggedIn("not logged in: run `chat-ctl login` first".into())
        })?;
        self.relay()?.rename_device(&token, id, name).await?;
        Ok(())
    }
}
