//! The socket's directory must be private before chatd listens in it. With
//! no `XDG_RUNTIME_DIR` (cron, ssh without logind, containers) the socket
//! lives under `/tmp/chat-UID`, where another local user could have made the
//! directory first and be waiting for `chat-ctl login` to send a password
//! (docs/SECURITY.md §2.4). So an existing directory is refused unless it
//! is a real directory (not a symlink), owned by us, with mode 0700; a
//! missing one is created that way.

use std::io;
use std::path::Path;

/// What the check needs to know about an existing directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirFacts {
    /// The path itself is a symbolic link.
    pub is_symlink: bool,
    /// It is a directory.
    pub is_dir: bool,
    /// Its owner.
    pub uid: u32,
    /// Its permission bits.
    pub mode: u32,
}

/// Why `facts` describe a directory chatd must not listen in, for a daemon
/// running as `euid`; one line that says how to fix it.
pub fn check(facts: DirFacts, euid: u32) -> Result<(), String> {
    if facts.is_symlink {
        return Err("it is a symbolic link; remove it and let chatd create the directory".into());
    }
    if !facts.is_dir {
        return Err("it is not a directory".into());
    }
    if facts.uid != euid {
        return Err(format!(
            "it belongs to uid {}, not to you (uid {euid}); someone else may be listening there, remove it",
            facts.uid
        ));
    }
    let mode = facts.mode & 0o7777;
    if mode != 0o700 {
        return Err(format!(
            "its mode is {mode:04o}, not 0700; `chmod 700` it, or remove it and let chatd create it"
        ));
    }
    Ok(())
}

/// Creates `dir` with mode 0700 if it does not exist, else checks it.
#[cfg(unix)]
pub fn ensure_private(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};

    let refuse = |why: String| {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("refusing the socket directory {}: {why}", dir.display()),
        )
    };
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent() {
                std::fs::create_dir_all(parent)?;
            }
            match std::fs::DirBuilder::new().mode(0o700).create(dir) {
                Ok(()) => {
                    // The umask can only take bits away; say exactly 0700.
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
                }
                // Someone made it between our look and our mkdir: check theirs.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            std::fs::symlink_metadata(dir)?
        }
        Err(e) => return Err(e),
    };
    let facts = DirFacts {
        is_symlink: meta.file_type().is_symlink(),
        is_dir: meta.is_dir(),
        uid: meta.uid(),
        mode: meta.mode(),
    };
    // SAFETY: geteuid has no preconditions.
    check(facts, unsafe { libc::geteuid() }).map_err(refuse)
}

/// Named pipes on Windows have no directory.
#[cfg(not(unix))]
pub fn ensure_private(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: DirFacts = DirFacts {
        is_symlink: false,
        is_dir: true,
        uid: 1000,
        mode: 0o40700,
    };

    #[test]
    fn only_a_real_private_directory_of_ours_passes() {
        assert_eq!(check(OURS, 1000), Ok(()));
        let symlink = DirFacts {
            is_symlink: true,
            ..OURS
        };
        assert!(check(symlink, 1000).unwrap_err().contains("symbolic link"));
        let theirs = check(OURS, 1001).unwrap_err();
        assert!(
            theirs.contains("uid 1000") && theirs.contains("uid 1001"),
            "{theirs}"
        );
        for mode in [0o40755, 0o40770, 0o40701, 0o41700, 0o40600] {
            let open = DirFacts { mode, ..OURS };
            assert!(
                check(open, 1000).unwrap_err().contains("not 0700"),
                "{mode:o}"
            );
        }
        let file = DirFacts {
            is_dir: false,
            ..OURS
        };
        assert!(check(file, 1000).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_missing_directory_is_created_private_and_an_open_or_linked_one_refused() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("a/run");
        ensure_private(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        ensure_private(&dir).unwrap();

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = ensure_private(&dir).unwrap_err();
        assert!(err.to_string().contains("0755"), "{err}");
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o755,
            "refused, not silently changed"
        );

        let link = base.path().join("link");
        let target = base.path().join("target");
        std::fs::create_dir(&target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = ensure_private(&link).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
}
