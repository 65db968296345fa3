//! Starting and stopping the daemon: paths, the single-instance lock, the
//! keystore choice, the socket, readiness, and a clean shutdown.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::daemon::Daemon;
use crate::keystore::{FileStore, KeyringStore, Keystore, create_private_dir};
use crate::store::Store;

/// Which keystore to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeystoreKind {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    Keyring,
    /// Passphrase-encrypted PKCS#8 files in the data dir.
    File,
}

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Socket path.
    pub socket: PathBuf,
    /// Data directory (database, lock, file keystore).
    pub data_dir: PathBuf,
    /// Config file.
    pub config: PathBuf,
    /// Keystore choice; `None` means the keyring, failing with both remedies named.
    pub keystore: Option<KeystoreKind>,
    /// Passphrase file for the file keystore.
    pub passphrase_file: Option<PathBuf>,
}

/// `$XDG_DATA_HOME/chat` (or `~/.local/share/chat`).
pub fn default_data_dir() -> PathBuf {
    xdg("XDG_DATA_HOME", ".local/share").join("chat")
}

/// `$XDG_CONFIG_HOME/chat/config.toml` (or `~/.config/chat/config.toml`).
pub fn default_config() -> PathBuf {
    xdg("XDG_CONFIG_HOME", ".config").join("chat/config.toml")
}

fn xdg(var: &str, fallback: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/".into())).join(fallback),
    }
}

/// Holds the data dir's lock for the daemon's lifetime.
pub struct InstanceLock {
    _file: File,
}

/// Takes `data_dir/chatd.lock`, or says which daemon holds it.
pub fn lock(data_dir: &Path) -> Result<InstanceLock, String> {
    let path = data_dir.join("chatd.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a file descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(format!(
                "another chatd is already running with data dir {} (lock {} is held)",
                data_dir.display(),
                path.display()
            ));
        }
    }
    Ok(InstanceLock { _file: file })
}

fn open_keystore(opts: &Options) -> Result<Arc<dyn Keystore>, String> {
    match opts.keystore {
        Some(KeystoreKind::File) => {
            let pass = opts
                .passphrase_file
                .clone()
                .or_else(|| std::env::var_os("CREDENTIALS_DIRECTORY").map(|d| PathBuf::from(d).join("chatd-passphrase")))
                .ok_or("--keystore file needs --passphrase-file PATH (or $CREDENTIALS_DIRECTORY/chatd-passphrase)")?;
            Ok(Arc::new(
                FileStore::open(&opts.data_dir, &pass).map_err(|e| e.to_string())?,
            ))
        }
        Some(KeystoreKind::Keyring) | None => Ok(Arc::new(
            KeyringStore::open(&opts.data_dir).map_err(|e| e.to_string())?,
        )),
    }
}

/// Tells systemd we are ready (`Type=notify`), when it asked.
fn notify_ready() {
    #[cfg(target_os = "linux")]
    if let Some(path) = std::env::var_os("NOTIFY_SOCKET") {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{SocketAddr, UnixDatagram};
        let path = path.to_string_lossy().into_owned();
        let addr = match path.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
            None => SocketAddr::from_pathname(&path),
        };
        let sent = addr.and_then(|a| UnixDatagram::unbound()?.send_to_addr(b"READY=1", &a));
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not notify systemd");
        }
    }
}

/// Runs the daemon until SIGTERM/SIGINT or `daemon.shutdown`.
pub async fn run(opts: Options) -> Result<(), String> {
    create_private_dir(&opts.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", opts.data_dir.display()))?;
    let _lock = lock(&opts.data_dir)?;
    let config = Config::load(&opts.config)?;
    let keystore = {
        let opts = opts.clone();
        tokio::task::spawn_blocking(move || open_keystore(&opts))
            .await
            .map_err(|e| e.to_string())??
    };
    tracing::info!(keystore = %keystore.describe(), "keystore ready");
    let store = Store::open(&opts.data_dir.join("chatd.db")).map_err(|e| e.to_string())?;
    let daemon = Daemon::start(store, keystore, config)
        .await
        .map_err(|e| e.to_string())?;
    // Handlers first: a SIGTERM right after `listening on` must be a clean stop.
    let signals = Signals::new().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let listener = crate::ipc::bind(&opts.socket)
        .map_err(|e| format!("cannot listen on {}: {e}", opts.socket.display()))?;
    println!("listening on {}", opts.socket.display());
    notify_ready();

    let sync = tokio::spawn(daemon.clone().run_sync());
    let outbox = tokio::spawn(daemon.clone().run_outbox());
    let receipts = tokio::spawn(daemon.clone().run_receipts());
    let server = tokio::spawn(crate::ipc::serve(daemon.clone(), listener));
    let mut stop = daemon.shutdown.subscribe();
    tokio::select! {
        _ = signals.recv() => {}
        _ = stop.changed() => {}
    }
    tracing::info!("shutting down");
    let _ = daemon.shutdown.send(true);
    let _ = tokio::join!(sync, outbox, receipts, server);
    let _ = std::fs::remove_file(&opts.socket);
    Ok(())
}

/// SIGTERM and SIGINT, installed once at start.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn recv(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
