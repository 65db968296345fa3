//! Starting and stopping the daemon: paths, the single-instance lock, the
//! keystore choice, the socket, readiness, and a clean shutdown.

use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use interprocess::local_socket::tokio::Listener;

use crate::config::Config;
use crate::daemon::Daemon;
use crate::keystore::{FileStore, KeyringStore, Keystore, MemoryStore, create_private_dir};
use crate::store::Store;

/// Which keystore to use, as the command line says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeystoreKind {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    Keyring,
    /// Passphrase-encrypted PKCS#8 files in the data dir.
    File,
}

/// Where the daemon keeps its secrets.
#[derive(Clone)]
pub enum KeystoreChoice {
    /// The OS keyring; fails with both remedies named when there is none.
    Keyring,
    /// Encrypted files unlocked by the passphrase in this file (`None`:
    /// `$CREDENTIALS_DIRECTORY/chatd-passphrase`).
    File(Option<PathBuf>),
    /// In memory only: tests that run chatd in process.
    Memory(Arc<MemoryStore>),
}

impl std::fmt::Debug for KeystoreChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeystoreChoice::Keyring => f.write_str("Keyring"),
            KeystoreChoice::File(p) => f.debug_tuple("File").field(p).finish(),
            KeystoreChoice::Memory(_) => f.write_str("Memory"),
        }
    }
}

/// Everything `run` needs besides its listener.
#[derive(Debug, Clone)]
pub struct Options {
    /// Data directory (database, file keystore).
    pub data_dir: PathBuf,
    /// Config file.
    pub config: PathBuf,
    /// Keystore.
    pub keystore: KeystoreChoice,
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
    match &opts.keystore {
        KeystoreChoice::File(passphrase_file) => {
            let pass = passphrase_file
                .clone()
                .or_else(|| std::env::var_os("CREDENTIALS_DIRECTORY").map(|d| PathBuf::from(d).join("chatd-passphrase")))
                .ok_or("--keystore file needs --passphrase-file PATH (or $CREDENTIALS_DIRECTORY/chatd-passphrase)")?;
            Ok(Arc::new(
                FileStore::open(&opts.data_dir, &pass).map_err(|e| e.to_string())?,
            ))
        }
        KeystoreChoice::Keyring => Ok(Arc::new(
            KeyringStore::open(&opts.data_dir).map_err(|e| e.to_string())?,
        )),
        KeystoreChoice::Memory(store) => Ok(store.clone()),
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

/// The `chatd` binary: takes the single-instance lock, listens on
/// `socket`, runs until SIGTERM/SIGINT or `daemon.shutdown`, and removes
/// the socket.
pub async fn main(socket: &Path, opts: Options) -> Result<(), String> {
    create_private_dir(&opts.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", opts.data_dir.display()))?;
    // Locked before the socket is touched: a second chatd must not replace
    // the first one's socket.
    let _lock = lock(&opts.data_dir)?;
    // Handlers first: a SIGTERM right after `listening on` must be a clean stop.
    let signals = Signals::new().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let listener = crate::ipc::bind(socket)
        .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
    let result = run_announced(listener, opts, signals.recv(), || {
        println!("listening on {}", socket.display());
        notify_ready();
    })
    .await;
    let _ = std::fs::remove_file(socket);
    result
}

/// Runs a daemon on `listener` until `shutdown` resolves or a client calls
/// `daemon.shutdown`. Tests run chatd in process with this (and an
/// in-memory keystore), against a relay on a loopback port.
pub async fn run(
    listener: Listener,
    opts: Options,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    run_announced(listener, opts, shutdown, || {}).await
}

/// [`run`], calling `ready` once the keystore and store are open and the
/// daemon accepts clients; a daemon that cannot start never calls it.
pub async fn run_announced(
    listener: Listener,
    opts: Options,
    shutdown: impl Future<Output = ()>,
    ready: impl FnOnce(),
) -> Result<(), String> {
    let running = start(listener, opts).await?;
    ready();
    running.until(shutdown).await;
    Ok(())
}

/// A daemon serving its socket, with its background tasks.
pub struct Running {
    /// The daemon itself (tests look inside, e.g. at its identity).
    pub daemon: Arc<Daemon>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Opens the keystore and store and starts serving `listener`.
pub async fn start(listener: Listener, opts: Options) -> Result<Running, String> {
    create_private_dir(&opts.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", opts.data_dir.display()))?;
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
    let mut tasks = daemon.spawn_tasks();
    tasks.push(tokio::spawn(crate::ipc::serve(daemon.clone(), listener)));
    Ok(Running { daemon, tasks })
}

impl Running {
    /// Serves until `shutdown` resolves or a client calls
    /// `daemon.shutdown`, then lets in-flight commits finish.
    pub async fn until(self, shutdown: impl Future<Output = ()>) {
        let mut stop = self.daemon.shutdown.subscribe();
        tokio::select! {
            _ = shutdown => {}
            _ = crate::daemon::stopped(&mut stop) => {}
        }
        tracing::info!("shutting down");
        let _ = self.daemon.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
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
