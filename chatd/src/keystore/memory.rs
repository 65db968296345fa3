//! Secrets in memory only, for chatd run in process by tests
//! (`chatd::run::run` with `KeystoreChoice::Memory`).

use std::collections::HashMap;
use std::sync::Mutex;

use super::{Keystore, KeystoreError};
use crate::crypto::SecretBytes;

/// A keystore that forgets everything when dropped.
#[derive(Default)]
pub struct MemoryStore(Mutex<HashMap<String, SecretBytes>>);

impl Keystore for MemoryStore {
    fn get(&self, name: &str) -> Result<Option<SecretBytes>, KeystoreError> {
        Ok(self.0.lock().expect("keystore lock").get(name).cloned())
    }

    fn set(&self, name: &str, value: &[u8]) -> Result<(), KeystoreError> {
        self.0
            .lock()
            .expect("keystore lock")
            .insert(name.to_owned(), SecretBytes::new(value.to_vec()));
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<(), KeystoreError> {
        self.0.lock().expect("keystore lock").remove(name);
        Ok(())
    }

    fn describe(&self) -> String {
        "in-memory keystore (tests only)".into()
    }
}
