//! Where chatd keeps its secrets: the two private keys (PKCS#8 DER), the relay
//! session token and the relay password (kept so chatd can renew the 24-hour
//! session by itself). Behind a trait with three implementations:
//!
//! - [`KeyringStore`]: the OS keyring through the `keyring` crate's real
//!   platform backends (Secret Service on Linux, Keychain, Credential Manager);
//! - [`FileStore`]: encrypted PKCS#8 files in the data dir, unlocked by a
//!   passphrase, for headless machines, chosen explicitly;
//! - [`MemoryStore`]: nothing leaves memory; for tests that run chatd in
//!   process (never selectable from the command line).

mod file;
mod memory;
mod os_keyring;

use std::path::{Path, PathBuf};

pub use file::FileStore;
pub use memory::MemoryStore;
pub use os_keyring::KeyringStore;

use crate::crypto::SecretBytes;

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
    /// The key the relay's key backup is sealed with (docs/PROTOCOL.md §10.2's
    /// `K`, with its salt and Argon2 parameters), kept so the backup can be
    /// sealed again when contacts change without asking for the passphrase.
    pub const BACKUP_KEY: &str = "backup_key";
    /// The encryption private key before this account's last rotation,
    /// kept for a grace period so what was sealed to it still opens.
    pub const OLD_ENC_KEY: &str = "old_enc_key";
    /// The signing private key before the last rotation (the grace period's
    /// transitions are signed with it).
    pub const OLD_SIG_KEY: &str = "old_sig_key";
    /// All of them, for deletion.
    pub const ALL: [&str; 7] = [
        ENC_KEY,
        SIG_KEY,
        TOKEN,
        PASSWORD,
        BACKUP_KEY,
        OLD_ENC_KEY,
        OLD_SIG_KEY,
    ];
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
