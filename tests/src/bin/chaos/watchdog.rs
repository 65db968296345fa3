//! The hard timeout and Ctrl-C: whatever the run is doing, its children are
//! killed, the tmpfs unmounted and the temp dir removed.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the watchdog undoes when the run overstays its hard timeout.
#[derive(Default)]
pub struct Cleanup {
    /// The relay's tmpfs, to unmount.
    pub mount: Option<PathBuf>,
    /// The world's temp dir, to remove.
    pub dir: Option<PathBuf>,
}

/// Set by SIGINT/SIGTERM (Ctrl-C): the watchdog then cleans up at once.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Kills the run (and its direct children: relay, daemons, bus, keyring,
/// chat-ctl) after `limit` or on Ctrl-C/SIGTERM, unmounts the tmpfs and
/// removes the temp dir. (Handlers reset at exec: children keep the default
/// dispositions, so the harness's own SIGTERMs still stop them.)
pub fn watchdog(limit: Duration, cleanup: Arc<Mutex<Cleanup>>) {
    // SAFETY: installs a handler that only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_interrupt as *const () as libc::sighandler_t,
        );
    }
    let started = std::time::Instant::now();
    std::thread::spawn(move || {
        let interrupted = loop {
            if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
                break true;
            }
            if started.elapsed() >= limit {
                break false;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        if interrupted {
            eprintln!("chaos: interrupted; stopping everything and cleaning up");
        } else {
            eprintln!("chaos: hard timeout after {limit:?}; killing everything");
        }
        let me = std::process::id().to_string();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // pid (comm) state ppid …; comm may hold spaces, so split after ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1));
            if ppid == Some(me.as_str())
                && let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>()
            {
                // SAFETY: kill(2) on our own child.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
        let c = cleanup.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = &c.mount {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
        if let Some(d) = &c.dir {
            let _ = std::fs::remove_dir_all(d);
        }
        std::process::exit(if interrupted { 130 } else { 3 });
    });
}
