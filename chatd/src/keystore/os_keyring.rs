//! The OS keyring through the `keyring` crate's real platform backends
//! (Secret Service on Linux, Keychain, Credential Manager).

use std::path::Path;

use super::{Keystore, KeystoreError, names};
use crate::crypto::SecretBytes;

/// The OS keyring. Entries are namespaced by a service name derived from the
/// data dir, so several daemons of one OS user (alice and bob in the demo)
/// never see each other's keys.
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// Connects to the platform keyring, failing with both remedies named
    /// when none is reachable.
    pub fn open(data_dir: &Path) -> Result<KeyringStore, KeystoreError> {
        if let Err(e) = keyring::Entry::store_status() {
            return Err(KeystoreError::Unavailable(e.to_string()));
        }
        let store = KeyringStore {
            service: format!("chat:{}", data_dir.display()),
        };
        // A read proves the service answers (a missing entry is fine).
        store.get(names::TOKEN)?;
        Ok(store)
    }

    fn entry(&self, name: &str) -> Result<keyring::Entry, KeystoreError> {
        keyring::Entry::new(&self.service, name).map_err(|e| match e {
            keyring::Error::NoDefaultStore => KeystoreError::Unavailable(e.to_string()),
            other => KeystoreError::Keyring(other.to_string()),
        })
    }
}

impl Keystore for KeyringStore {
    fn get(&self, name: &str) -> Result<Option<SecretBytes>, KeystoreError> {
        match self.entry(name)?.get_secret() {
            Ok(bytes) => Ok(Some(SecretBytes::new(bytes))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(KeystoreError::Keyring(e.to_string())),
        }
    }

    fn set(&self, name: &str, value: &[u8]) -> Result<(), KeystoreError> {
        self.entry(name)?
            .set_secret(value)
            .map_err(|e| KeystoreError::Keyring(e.to_string()))
    }

    fn delete(&self, name: &str) -> Result<(), KeystoreError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(KeystoreError::Keyring(e.to_string())),
        }
    }

    fn describe(&self) -> String {
        format!("OS keyring (service \"{}\")", self.service)
    }
}
