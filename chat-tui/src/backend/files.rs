//! Files, for the worker: asking chatd for one (`file.download`), reading
//! a kept one back (`file.read`, a piece at a time) and writing it where
//! the user said, or into the private cache and then handing it to the
//! desktop's opener.
//!
//! A save never replaces a file. The bytes go to `<path>.part`, created
//! new; once whole, it becomes the path by a hard link, which fails if the
//! path came to exist meanwhile (a rename checked just before, on file
//! systems without hard links). Anything that goes wrong removes the
//! `.part`, so a failed save leaves nothing behind. Files are written 0600:
//! they are someone's private messages.

use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use ipc_schema::client::ClientError;
use tokio::io::AsyncWriteExt;

use super::{Daemon, base64, is_connection_error};
use crate::app::files::{FileWrite, WriteTo, Written, default_opener};
use crate::app::{Action, MessageKey};

/// The private cache files are opened from: `$XDG_CACHE_HOME/chat/open`,
/// else `~/.cache/chat/open` (either must be an absolute path).
pub fn open_cache_dir() -> Option<PathBuf> {
    let absolute = |v: OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let base = std::env::var_os("XDG_CACHE_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".cache"))
        })?;
    Some(base.join("chat").join("open"))
}

/// The program that opens files: `$CHAT_TUI_OPENER` when set (a program,
/// run without a shell), else the desktop's (`xdg-open`, `open`).
pub fn opener_from_env() -> OsString {
    std::env::var_os("CHAT_TUI_OPENER")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(default_opener)
}

/// `file.download` for job `job`: where the file is now, or chatd's
/// refusal; a lost connection stays an error.
pub async fn download<D: Daemon>(
    daemon: &mut D,
    job: u64,
    peer: String,
    id: String,
) -> Result<Action, ClientError> {
    let result = match daemon.file_download(Some(peer), id).await {
        Ok(r) => Ok(r.state),
        Err(e) if !is_connection_error(&e) => Err(e.to_string()),
        Err(e) => return Err(e),
    };
    Ok(Action::FileFetched { job, result })
}

/// Reads `w`'s file back from chatd and writes it out (then starts the
/// opener, for an open); every failure, a lost connection included, is
/// the answer's.
pub async fn write<D: Daemon>(daemon: &mut D, w: FileWrite) -> Action {
    let result = match &w.to {
        WriteTo::Path(typed) => save(daemon, &w, typed).await,
        WriteTo::Open { cache, opener } => open(daemon, &w, cache, opener).await,
    };
    Action::FileWritten { job: w.job, result }
}

/// Saves `w`'s file at the path the user typed.
async fn save<D: Daemon>(daemon: &mut D, w: &FileWrite, typed: &str) -> Result<Written, String> {
    let dest = destination(typed, &w.name).await?;
    let part = part_of(&dest)?;
    if tokio::fs::symlink_metadata(&dest).await.is_ok() {
        return Err(format!("{} exists", dest.display()));
    }
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&part)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::AlreadyExists => format!("{} exists", part.display()),
            _ => format!("cannot write {}: {e}", dest.display()),
        })?;
    let done = match copy(daemon, w, file).await {
        Ok(()) => place(&part, &dest).await,
        Err(e) => Err(e),
    };
    if done.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    done.map(|()| Written {
        path: dest,
        opened: false,
    })
}

/// Writes `w`'s file into the private cache, in a directory of its
/// message's own (an older copy is replaced, whole: each job writes a
/// `.part` of its own), and starts the opener on it.
async fn open<D: Daemon>(
    daemon: &mut D,
    w: &FileWrite,
    cache: &Path,
    opener: &OsStr,
) -> Result<Written, String> {
    if !cache.is_absolute() {
        return Err(format!(
            "the cache {} is not an absolute path",
            cache.display()
        ));
    }
    let dir = cache.join(message_dir(&w.key));
    private_dir(cache).await?;
    private_dir(&dir).await?;
    let dest = dir.join(&w.name);
    let part = dir.join(format!("{}.{}.part", w.name, w.job));
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&part)
        .await
        .map_err(|e| format!("cannot write {}: {e}", part.display()))?;
    let done = match copy(daemon, w, file).await {
        Ok(()) => tokio::fs::rename(&part, &dest)
            .await
            .map_err(|e| format!("cannot write {}: {e}", dest.display())),
        Err(e) => Err(e),
    };
    if done.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    done?;
    run_opener(opener, &dest)?;
    Ok(Written {
        path: dest,
        opened: true,
    })
}

/// Starts `opener PATH` on its own: no shell, nothing of the terminal
/// (stdin, stdout and stderr are /dev/null, its own process group, so the
/// terminal's signals are not its), and not waited for (tokio reaps it).
fn run_opener(opener: &OsStr, path: &Path) -> Result<(), String> {
    tokio::process::Command::new(opener)
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(drop)
        .map_err(|e| format!("cannot run {}: {e}", opener.to_string_lossy()))
}

/// Reads the kept file of `w`'s message from chatd, a piece at a time, the
/// offset going on by what each piece holds until it is the file's size,
/// into `file`.
async fn copy<D: Daemon>(
    daemon: &mut D,
    w: &FileWrite,
    mut file: tokio::fs::File,
) -> Result<(), String> {
    let failed = |e: std::io::Error| format!("cannot write {}: {e}", w.name);
    let mut offset = 0u64;
    let mut size = None;
    loop {
        let piece = daemon
            .file_read(Some(w.peer.clone()), w.key.id.clone(), offset)
            .await
            .map_err(|e| e.to_string())?;
        if size.is_some_and(|s| s != piece.size) {
            return Err("the file changed while it was read".into());
        }
        size = Some(piece.size);
        let data =
            base64::decode(&piece.data).map_err(|e| format!("chatd sent a piece that is {e}"))?;
        if data.is_empty() && offset < piece.size {
            return Err(format!("chatd stopped at byte {offset} of {}", piece.size));
        }
        offset += data.len() as u64;
        if offset > piece.size {
            return Err("chatd sent more than the file's size".into());
        }
        file.write_all(&data).await.map_err(failed)?;
        if offset == piece.size {
            break;
        }
    }
    file.flush().await.map_err(failed)?;
    file.sync_all().await.map_err(failed)
}

/// Makes a whole `.part` the file at `dest`, unless something is there.
async fn place(part: &Path, dest: &Path) -> Result<(), String> {
    let exists = || format!("{} exists", dest.display());
    match tokio::fs::hard_link(part, dest).await {
        Ok(()) => {
            let _ = tokio::fs::remove_file(part).await;
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(exists()),
        // A file system without hard links: checked, then renamed.
        Err(_) => {
            if tokio::fs::symlink_metadata(dest).await.is_ok() {
                return Err(exists());
            }
            tokio::fs::rename(part, dest)
                .await
                .map_err(|e| format!("cannot write {}: {e}", dest.display()))
        }
    }
}

/// The path a save goes to: the typed one with a leading `~/` made the
/// home directory, and the shown name added when it is a directory.
async fn destination(typed: &str, name: &str) -> Result<PathBuf, String> {
    let path = expand_home(typed)?;
    if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) {
        return Ok(path.join(name));
    }
    if typed.ends_with('/') {
        return Err(format!("{typed}: no such directory"));
    }
    Ok(path)
}

/// The path the user typed, a leading `~/` (or a lone `~`) being the home
/// directory.
pub(super) fn expand_home(typed: &str) -> Result<PathBuf, String> {
    let home = || {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| "$HOME is not set: type the whole path".to_owned())
    };
    Ok(match typed.strip_prefix("~/") {
        Some(rest) => home()?.join(rest),
        None if typed == "~" => home()?,
        None => PathBuf::from(typed),
    })
}

/// `<dest>.part`, beside it.
fn part_of(dest: &Path) -> Result<PathBuf, String> {
    let name = dest
        .file_name()
        .ok_or_else(|| format!("{}: not a file's path", dest.display()))?;
    let mut part = name.to_os_string();
    part.push(".part");
    Ok(dest.with_file_name(part))
}

/// The cache directory of one message: its sender and id, with nothing
/// but letters, digits, `-` and `_`.
fn message_dir(key: &MessageKey) -> String {
    format!("{}-{}", key.from, key.id)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Makes `dir` (and what is missing above it) and leaves it 0700.
async fn private_dir(dir: &Path) -> Result<(), String> {
    let failed = |e: std::io::Error| format!("cannot make {}: {e}", dir.display());
    tokio::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .await
        .map_err(failed)?;
    tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .await
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_dir_is_one_plain_name() {
        let key = MessageKey {
            id: "ab12".into(),
            from: "../bob".into(),
        };
        assert_eq!(message_dir(&key), "___bob-ab12");
        assert_eq!(
            part_of(Path::new("/tmp/x/build.log")).unwrap(),
            Path::new("/tmp/x/build.log.part")
        );
        assert!(part_of(Path::new("/")).is_err());
    }

    #[tokio::test]
    async fn a_directory_gets_the_shown_name_and_a_missing_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let typed = dir.path().display().to_string();
        assert_eq!(
            destination(&typed, "build.log").await.unwrap(),
            dir.path().join("build.log")
        );
        let file = format!("{typed}/notes.txt");
        assert_eq!(
            destination(&file, "build.log").await.unwrap(),
            dir.path().join("notes.txt")
        );
        let missing = format!("{typed}/nope/");
        assert!(destination(&missing, "build.log").await.is_err());
    }
}
