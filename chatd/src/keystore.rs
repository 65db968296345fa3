//! Where chatd keeps its secrets: the two private keys (PKCS#8 DER), the relay
//! session token and the relay password (kept so chatd can renew the 24-hour
//! session by itself). Behind a trait with two implementations:
//!
//! - [`KeyringStore`]: the OS keyring through the `keyring` crate's real
//!   platform backends (Secret Service on Linux, Keychain, Credential Manager);
//! - [`FileStore`]: encrypted PKCS#8 files in the data dir, unlocked by a
//!   passphrase, for headless machines, chosen explicitly.

use std::path::{Path, PathBuf};

use crate::crypto::SecretBytes;
use crate::crypto::passphrase;

/// Names of the secrets chatd keeps.
pub mod names {
    /// PKCS#8 DER of the encryption private key.
    pub const ENC_KEY: &str = "enc_key";
    /// PKCS#8 DER of the signing private key.
    pub const SIG_KEY: &str = "sig_key";
    /// The relay session token.
    pub const TOKEN: &str = "relay_token";
    /// The relay account password.
    pub const PASSWORD: &str = "relay_password";
    /// All of them, for deletion.
    pub const ALL: [&str; 4] = [ENC_KEY, SIG_KEY, TOKEN, PASSWORD];
}

/// Why the keystore failed.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// No keyring could be reached.
    #[error(
        "no OS keyring is reachable ({0}). Start a Secret Service (e.g. gnome-keyring) in this session, \
         or choose the encrypted file keystore explicitly: --keystore file --passphrase-file PATH"
    )]
    Unavailable(String),
    /// The keyring refused a read or write.
    #[error("keyring error: {0}")]
    Keyring(String),
    /// File keystore I/O.
    #[error("keystore file {path}: {error}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// What happened.
        error: std::io::Error,
    },
    /// Wrong passphrase or damaged file.
    #[error("keystore file {0}: wrong passphrase, or the file is damaged")]
    Decrypt(PathBuf),
    /// No passphrase available for the file keystore.
    #[error(
        "the file keystore needs a passphrase: --passphrase-file PATH, or $CREDENTIALS_DIRECTORY/chatd-passphrase"
    )]
    NoPassphrase,
}

/// A place for secrets. Calls block: use them from `spawn_blocking`.
pub trait Keystore: Send + Sync {
    /// Reads a secret; `None` when it was never stored.
    fn get(&self, name: &str) -> Result<Option<SecretBytes>, KeystoreError>;
    /// Stores or replaces a secret.
    fn set(&self, name: &str, value: &[u8]) -> Result<(), KeystoreError>;
    /// Deletes a secret (no error when absent).
    fn delete(&self, name: &str) -> Result<(), KeystoreError>;
    /// One line for logs: which backend, where.
    fn describe(&self) -> String;
}

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

/// Encrypted PKCS#8 files in `<data dir>/keys/`, mode 0600.
pub struct FileStore {
    dir: PathBuf,
    passphrase: SecretBytes,
}

impl FileStore {
    /// Opens the file keystore with the passphrase read from `passphrase_file`
    /// (one line; a trailing newline is ignored).
    pub fn open(data_dir: &Path, passphrase_file: &Path) -> Result<FileStore, KeystoreError> {
        let io = |error| KeystoreError::Io {
            path: passphrase_file.to_owned(),
            error,
        };
        let mut text = std::fs::read(passphrase_file).map_err(io)?;
        while text.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            text.pop();
        }
        if text.is_empty() {
            return Err(KeystoreError::NoPassphrase);
        }
        let dir = data_dir.join("keys");
        create_private_dir(&dir).map_err(|error| KeystoreError::Io {
            path: dir.clone(),
            error,
        })?;
        Ok(FileStore {
            dir,
            passphrase: SecretBytes::new(text),
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.p8"))
    }
}

/// Creates `dir` (and parents) and sets it to 0700.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

impl Keystore for FileStore {
    fn get(&self, name: &str) -> Result<Option<SecretBytes>, KeystoreError> {
        let path = self.path(name);
        let der = match std::fs::read(&path) {
            Ok(der) => der,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(KeystoreError::Io { path, error }),
        };
        passphrase::decrypt(self.passphrase.expose_secret(), &der)
            .map(Some)
            .map_err(|_| KeystoreError::Decrypt(path))
    }

    fn set(&self, name: &str, value: &[u8]) -> Result<(), KeystoreError> {
        let path = self.path(name);
        let der = passphrase::encrypt(self.passphrase.expose_secret(), value, &mut rand::rng())
            .map_err(|_| KeystoreError::Decrypt(path.clone()))?;
        write_private_file(&path, &der).map_err(|error| KeystoreError::Io { path, error })
    }

    fn delete(&self, name: &str) -> Result<(), KeystoreError> {
        let path = self.path(name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(KeystoreError::Io { path, error }),
        }
    }

    fn describe(&self) -> String {
        format!("encrypted PKCS#8 files in {}", self.dir.display())
    }
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename), mode 0600.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_round_trips_and_refuses_a_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let pass = dir.path().join("pass");
        std::fs::write(&pass, "correct horse battery\n").unwrap();
        let store = FileStore::open(dir.path(), &pass).unwrap();
        assert!(store.get(names::TOKEN).unwrap().is_none());
        store.set(names::TOKEN, b"tok").unwrap();
        assert_eq!(
            store.get(names::TOKEN).unwrap().unwrap().expose_secret(),
            b"tok"
        );
        std::fs::write(&pass, "wrong").unwrap();
        let wrong = FileStore::open(dir.path(), &pass).unwrap();
        assert!(matches!(
            wrong.get(names::TOKEN),
            Err(KeystoreError::Decrypt(_))
        ));
        store.delete(names::TOKEN).unwrap();
        assert!(store.get(names::TOKEN).unwrap().is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("keys"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }
}
