//! The relay's disk: a small tmpfs, mounted at the relay's data dir before
//! the relay first starts, filled to the brim and freed by the monkey.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Size of the relay's tmpfs before the disk phase, and after it.
pub const TMPFS_SIZE: &str = "64m";
const TMPFS_FREED: &str = "512m";
/// Room left on the relay's disk when the filler is written.
const FILL_LEAVE: u64 = 256 * 1024;

/// The relay's tmpfs, unmounted (lazily) on drop.
pub struct Mount(pub PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Mounts a tmpfs of [`TMPFS_SIZE`] at `dir` (root only); why not, when it cannot.
pub fn mount(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o"])
        .arg(format!("size={TMPFS_SIZE},mode=0700"))
        .arg("tmpfs")
        .arg(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Fills the file system at `dir` up to [`FILL_LEAVE`] bytes; returns MB written.
pub fn fill(dir: &Path) -> u64 {
    let free = free_bytes(dir);
    let want = free.saturating_sub(FILL_LEAVE);
    let mut f = std::fs::File::create(dir.join("filler")).expect("filler");
    let chunk = vec![0x5au8; 1 << 20];
    let mut written = 0u64;
    while written < want {
        let n = chunk.len().min((want - written) as usize);
        if f.write_all(&chunk[..n]).is_err() {
            break;
        }
        written += n as u64;
    }
    written >> 20
}

/// Deletes the filler and makes the file system bigger.
pub fn free(dir: &Path) {
    let _ = std::fs::remove_file(dir.join("filler"));
    let _ = Command::new("mount")
        .args(["-o"])
        .arg(format!("remount,size={TMPFS_FREED}"))
        .arg(dir)
        .status();
}

/// Bytes an unprivileged writer may still write under `dir`.
fn free_bytes(dir: &Path) -> u64 {
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: statvfs(3) fills the zeroed struct we pass.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut s) != 0 {
            return 0;
        }
        s.f_bavail as u64 * s.f_frsize as u64
    }
}
