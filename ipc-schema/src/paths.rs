//! Where chatd's socket lives when nobody says otherwise (docs/IPC.md §1).
//!
//! Pure `std`, so chatd (which listens) and every frontend (which connects)
//! share one rule without pulling in the IPC client.
#![warn(missing_docs)]

use std::ffi::OsString;
use std::path::PathBuf;

/// Environment variable that names the socket outright.
pub const SOCKET_ENV: &str = "CHAT_SOCKET";

/// The socket chatd listens on and frontends connect to by default:
///
/// 1. `$CHAT_SOCKET`, when set and not empty;
/// 2. else `$XDG_RUNTIME_DIR/chat/chatd.sock`, when `XDG_RUNTIME_DIR` is an absolute path;
/// 3. else `/tmp/chat-<uid>/chatd.sock`, with the process's real uid read from
///    `/proc/self/status` (or the owner of `/proc/self`), so the result does
///    not depend on `$USER`. Where no uid can be found (no `/proc`) it is
///    `$TMPDIR/chat/chatd.sock`, since such systems give each user their own `TMPDIR`.
///
/// On Windows the socket is the named pipe `\\.\pipe\chat-<USERNAME>-chatd`
/// unless `$CHAT_SOCKET` says otherwise.
pub fn default_socket_path() -> PathBuf {
    let chat_socket = std::env::var_os(SOCKET_ENV);
    if cfg!(windows) {
        if let Some(path) = chat_socket.filter(|p| !p.is_empty()) {
            return PathBuf::from(path);
        }
        let user = std::env::var("USERNAME").unwrap_or_else(|_| "user".to_owned());
        return PathBuf::from(format!(r"\\.\pipe\chat-{user}-chatd"));
    }
    socket_path_from(
        chat_socket,
        std::env::var_os("XDG_RUNTIME_DIR"),
        current_uid(),
    )
}

/// [`default_socket_path`] with its inputs given, for tests.
fn socket_path_from(
    chat_socket: Option<OsString>,
    runtime_dir: Option<OsString>,
    uid: Option<u32>,
) -> PathBuf {
    if let Some(path) = chat_socket.filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    // The XDG base directory spec says relative paths are invalid and must be ignored.
    if let Some(dir) = runtime_dir.map(PathBuf::from).filter(|d| d.is_absolute()) {
        return dir.join("chat").join("chatd.sock");
    }
    match uid {
        Some(uid) => PathBuf::from(format!("/tmp/chat-{uid}/chatd.sock")),
        None => std::env::temp_dir().join("chat").join("chatd.sock"),
    }
}

/// The real uid of this process, without libc: the first field of the `Uid:`
/// line of `/proc/self/status`, else the owner of `/proc/self`.
fn current_uid() -> Option<u32> {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(uid) = parse_status_uid(&status)
    {
        return Some(uid);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            return Some(meta.uid());
        }
    }
    None
}

/// Reads the real uid from the text of `/proc/self/status` (`Uid:\treal\teffective\t…`).
fn parse_status_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|real| real.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_socket_wins_over_everything() {
        let p = socket_path_from(
            Some("/srv/x.sock".into()),
            Some("/run/user/1000".into()),
            Some(1000),
        );
        assert_eq!(p, PathBuf::from("/srv/x.sock"));
    }

    #[test]
    fn the_runtime_dir_comes_next_and_must_be_absolute() {
        let p = socket_path_from(Some("".into()), Some("/run/user/1000".into()), Some(7));
        assert_eq!(p, PathBuf::from("/run/user/1000/chat/chatd.sock"));
        let p = socket_path_from(None, Some("relative/dir".into()), Some(7));
        assert_eq!(p, PathBuf::from("/tmp/chat-7/chatd.sock"));
        let p = socket_path_from(None, Some("".into()), Some(7));
        assert_eq!(p, PathBuf::from("/tmp/chat-7/chatd.sock"));
    }

    #[test]
    fn the_uid_comes_from_the_real_uid_field() {
        let status =
            "Name:\tcat\nUmask:\t0022\nUid:\t1000\t0\t1000\t1000\nGid:\t100\t100\t100\t100\n";
        assert_eq!(parse_status_uid(status), Some(1000));
        assert_eq!(parse_status_uid("Name:\tcat\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn on_linux_the_uid_is_found_and_matches_proc_self() {
        use std::os::unix::fs::MetadataExt;
        let uid = current_uid().expect("a uid on Linux");
        assert_eq!(uid, std::fs::metadata("/proc/self").unwrap().uid());
    }
}
