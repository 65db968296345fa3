//! Passphrase-encrypted PKCS#8 files in the data dir, for headless
//! machines, chosen explicitly (`--keystore file`).

use std::path::{Path, PathBuf};

use super::{Keystore, KeystoreError, create_private_dir, names, write_private_file};
use crate::crypto::SecretBytes;
use crate::crypto::passphrase;

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
        warn_if_others_can_read(passphrase_file);
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
        let store = FileStore {
            dir,
            passphrase: SecretBytes::new(text),
        };
        store.check_passphrase()?;
        Ok(store)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.p8"))
    }

    /// Proves the passphrase right before anything is read or written.
    /// PBES2 has no integrity check of its own: with a wrong passphrase,
    /// about one decryption in 256 ends in valid padding and returns
    /// garbage. So the keystore keeps a known text encrypted beside the
    /// keys and compares it. A keystore from before that file existed is
    /// checked against its encryption key, which must decode as PKCS#8.
    fn check_passphrase(&self) -> Result<(), KeystoreError> {
        let path = self.path(CHECK);
        match std::fs::read(&path) {
            Ok(der) => match passphrase::decrypt(self.passphrase.expose_secret(), &der) {
                Ok(opened) if opened.secret.expose_secret() == CHECK_TEXT => {
                    if opened.weak {
                        self.set(CHECK, CHECK_TEXT)?;
                    }
                    Ok(())
                }
                _ => Err(KeystoreError::Decrypt(path)),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Read the key file as it is, never through `get`: a weak
                // file would be rewritten under the passphrase before it is
                // known to be right, and garbage would replace the key.
                let key = self.path(names::ENC_KEY);
                match std::fs::read(&key) {
                    Ok(der) => {
                        let opened = passphrase::decrypt(self.passphrase.expose_secret(), &der)
                            .map_err(|_| KeystoreError::Decrypt(key.clone()))?;
                        if pkcs8::PrivateKeyInfoRef::try_from(opened.secret.expose_secret())
                            .is_err()
                        {
                            return Err(KeystoreError::Decrypt(key));
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => return Err(KeystoreError::Io { path: key, error }),
                }
                self.set(CHECK, CHECK_TEXT)
            }
            Err(error) => Err(KeystoreError::Io { path, error }),
        }
    }
}

fn remove(path: &Path) -> Result<(), KeystoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(KeystoreError::Io {
            path: path.to_owned(),
            error,
        }),
    }
}

/// The file that proves a passphrase (see `check_passphrase`), and its text.
const CHECK: &str = "passphrase_check";
const CHECK_TEXT: &[u8] = b"chat file keystore v1";

/// The permission bits of `path` when other users can read or write it.
fn open_to_others(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Logs a warning when the passphrase file is open to other users: the
/// passphrase guards the keys, and a copy anyone can read guards nothing.
fn warn_if_others_can_read(path: &Path) {
    if let Some(mode) = open_to_others(path) {
        tracing::warn!(
            file = %path.display(),
            mode = format!("{mode:o}"),
            "the passphrase file can be read by other users; chmod 600 it"
        );
    }
}

impl Keystore for FileStore {
    fn get(&self, name: &str) -> Result<Option<SecretBytes>, KeystoreError> {
        let path = self.path(name);
        let der = match std::fs::read(&path) {
            Ok(der) => der,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(KeystoreError::Io { path, error }),
        };
        let opened = passphrase::decrypt(self.passphrase.expose_secret(), &der)
            .map_err(|_| KeystoreError::Decrypt(path.clone()))?;
        if opened.weak {
            // Written by an older chatd with a cheaper KDF: rewrite it with
            // today's parameters now that the passphrase is known good.
            self.set(name, opened.secret.expose_secret())?;
            tracing::info!(file = %path.display(), "keystore file re-encrypted with the current KDF");
        }
        Ok(Some(opened.secret))
    }

    fn set(&self, name: &str, value: &[u8]) -> Result<(), KeystoreError> {
        let path = self.path(name);
        let der = passphrase::encrypt(self.passphrase.expose_secret(), value, &mut rand::rng())
            .map_err(|_| KeystoreError::Decrypt(path.clone()))?;
        write_private_file(&path, &der).map_err(|error| KeystoreError::Io { path, error })
    }

    fn delete(&self, name: &str) -> Result<(), KeystoreError> {
        remove(&self.path(name))?;
        // The last secret gone (the account deleted): the check goes too,
        // so a new account may choose a new passphrase.
        let others = std::fs::read_dir(&self.dir)
            .map_err(|error| KeystoreError::Io {
                path: self.dir.clone(),
                error,
            })?
            .filter_map(Result::ok)
            .any(|e| {
                e.path().extension().is_some_and(|x| x == "p8") && e.path() != self.path(CHECK)
            });
        if !others {
            remove(&self.path(CHECK))?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("encrypted PKCS#8 files in {}", self.dir.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_passphrase_file_others_can_read_is_noticed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let pass = dir.path().join("pass");
        std::fs::write(&pass, "pw").unwrap();
        for (mode, open) in [
            (0o600, false),
            (0o400, false),
            (0o644, true),
            (0o640, true),
            (0o602, true),
        ] {
            std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(open_to_others(&pass).is_some(), open, "{mode:o}");
        }
    }

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
        // A wrong passphrase is refused at open, every time (not only when
        // a decryption happens to fail its padding).
        for wrong in ["wrong", "correct horse batter", "Correct horse battery"] {
            std::fs::write(&pass, wrong).unwrap();
            assert!(matches!(
                FileStore::open(dir.path(), &pass),
                Err(KeystoreError::Decrypt(_))
            ));
        }
        std::fs::write(&pass, "correct horse battery\n").unwrap();
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
