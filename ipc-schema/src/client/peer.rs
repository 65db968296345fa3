//! The client's half of the peer-uid check (docs/SECURITY.md §2.4): is the
//! process listening on the socket our own user's?
//!
//! Without `XDG_RUNTIME_DIR` (cron, ssh without logind) the socket falls back
//! to `/tmp/chat-<uid>/` (docs/IPC.md §1), a directory any local user can
//! create first. chatd checks who connects to it; this checks who listens,
//! before the first byte is written, so a socket planted there gets neither a
//! relay password (`chat-ctl login`) nor the chance to feed fake messages to
//! a frontend.

use std::path::Path;

use super::ClientError;

/// Refuses a daemon whose effective uid `theirs` is not `ours`.
pub fn check_peer(path: &Path, ours: u32, theirs: u32) -> Result<(), ClientError> {
    if ours == theirs {
        Ok(())
    } else {
        Err(ClientError::OtherUser {
            path: path.to_owned(),
            ours,
            theirs,
        })
    }
}

/// [`check_peer`] for a connected stream: the listener's uid from the kernel
/// (`SO_PEERCRED`, as it was at `listen`) against this process's effective
/// uid. Credentials that cannot be read count as a refusal.
#[cfg(unix)]
pub(super) fn check_stream(
    stream: &interprocess::local_socket::tokio::Stream,
    path: &Path,
) -> Result<(), ClientError> {
    use interprocess::local_socket::traits::StreamCommon as _;
    let unknown = |why: String| ClientError::Connect {
        path: path.to_owned(),
        source: std::io::Error::other(format!(
            "cannot tell which user the daemon runs as ({why}), so nothing was sent"
        )),
    };
    let creds = stream.peer_creds().map_err(|e| unknown(e.to_string()))?;
    let theirs = creds
        .euid()
        .ok_or_else(|| unknown("the system does not say".to_owned()))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let ours = unsafe { libc::geteuid() };
    check_peer(path, ours, theirs)
}

/// Named pipes carry their own access control; there is no uid to compare.
#[cfg(not(unix))]
pub(super) fn check_stream(
    _stream: &interprocess::local_socket::tokio::Stream,
    _path: &Path,
) -> Result<(), ClientError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_daemon_of_our_own_uid_is_talked_to() {
        let path = Path::new("/tmp/chat-1000/chatd.sock");
        assert!(check_peer(path, 1000, 1000).is_ok());
        let err = check_peer(path, 1000, 1001).unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::OtherUser {
                    ours: 1000,
                    theirs: 1001,
                    ..
                }
            ),
            "{err:?}"
        );
        let line = err.to_string();
        for part in ["/tmp/chat-1000/chatd.sock", "uid 1001", "uid 1000"] {
            assert!(line.contains(part), "{part} in {line}");
        }
        // Root is no exception: chatd refuses another uid, and so does the client.
        assert!(check_peer(path, 0, 1000).is_err());
        assert!(check_peer(path, 1000, 0).is_err());
    }
}
