//! A relay-server process that can be killed and started again in place.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::RelayApi;
use crate::process::{bin, first_line, stderr_to};

/// A relay-server process.
pub struct Relay {
    child: Child,
    /// Base URL.
    pub url: String,
    data_dir: PathBuf,
    log: Option<PathBuf>,
    /// Extra `serve` flags (TLS files, limits), kept for restarts.
    args: Vec<String>,
}

impl Relay {
    /// Starts a relay on `listen` (or a free port).
    pub fn start(data_dir: &Path, listen: Option<&str>) -> Relay {
        Relay::start_logged(data_dir, listen, None)
    }

    /// Starts a relay on `listen` (or a free port) that appends its stderr
    /// to `log` at level `info` (inherited at `warn` without one).
    pub fn start_logged(data_dir: &Path, listen: Option<&str>, log: Option<&Path>) -> Relay {
        Relay::start_with(data_dir, listen, log, &[])
    }

    /// [`Relay::start_logged`] with extra `serve` flags, e.g. `--tls-cert`
    /// or `--mailbox-max-envelopes`.
    pub fn start_with(
        data_dir: &Path,
        listen: Option<&str>,
        log: Option<&Path>,
        args: &[String],
    ) -> Relay {
        let mut child = Command::new(bin("relay-server"))
            .args([
                "serve",
                "--listen",
                listen.unwrap_or("127.0.0.1:0"),
                "--data-dir",
            ])
            .arg(data_dir)
            .args(args)
            .env("RELAY_LOG", if log.is_some() { "info" } else { "warn" })
            .stdout(Stdio::piped())
            .stderr(stderr_to(log))
            .spawn()
            .expect("start relay-server");
        let url = first_line(&mut child, "listening on ", "relay-server");
        Relay {
            child,
            url,
            data_dir: data_dir.to_owned(),
            log: log.map(Path::to_owned),
            args: args.to_vec(),
        }
    }

    /// The relay process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its data dir (where `relay.db` lives).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Whether the process is still running (it may exit by itself, e.g.
    /// when it cannot open its store).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `kill -9`, then start again on the same address and data dir.
    pub fn kill9_and_restart(&mut self) {
        self.kill9();
        self.start_again();
    }

    /// `kill -9` (the relay stays down until [`Relay::start_again`]).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts again on the same address and data dir after [`Relay::kill9`].
    pub fn start_again(&mut self) {
        let addr = self.url.split("://").nth(1).unwrap_or(&self.url).to_owned();
        let mut again = None;
        for _ in 0..100 {
            let log = self.log.as_deref();
            match std::panic::catch_unwind(|| {
                Relay::start_with(&self.data_dir, Some(&addr), log, &self.args)
            }) {
                Ok(r) => {
                    again = Some(r);
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        let again = again.expect("relay restarts on its old port");
        // The old child is already reaped; dropping it is harmless.
        drop(std::mem::replace(self, again));
    }

    /// A plain HTTP client for this relay.
    pub fn api(&self) -> RelayApi {
        RelayApi::new(&self.url)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
