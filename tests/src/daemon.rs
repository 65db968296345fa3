//! A chatd process in the world, and the ways a test talks to it: chat-ctl,
//! the IPC client and `chat-ctl watch`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use ipc_schema::client::Client;
use ipc_schema::methods::EventEnvelope;

use crate::process::{bin, first_line, signal, stderr_to, wait_exit};
use crate::{Ctl, Relay, Watch, World, runtime, watch_shape};

/// A chatd process and how to reach it.
pub struct Daemon {
    child: Option<Child>,
    /// Its name (also its relay username in most tests).
    pub name: String,
    /// Socket path.
    pub socket: PathBuf,
    /// Data dir.
    pub data_dir: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    bus: String,
    home: PathBuf,
    log: Option<PathBuf>,
}

impl Daemon {
    pub(crate) fn start(world: &World, name: &str, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let base = world.dir.path().join(format!("daemon-{name}"));
        let mut d = Daemon {
            child: None,
            name: name.to_owned(),
            socket: base.join("run/chatd.sock"),
            data_dir: base.join("data"),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            bus: world.bus.clone(),
            home: world.home(),
            log: world
                .log_dir
                .as_ref()
                .map(|d| d.join(format!("chatd-{name}.log"))),
        };
        d.spawn();
        d
    }

    /// A `chatd` command line exactly like this daemon's (socket, data dir,
    /// config, arguments, environment), for tests that start a second chatd
    /// or watch one fail to start.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(bin("chatd"));
        cmd.arg("--socket")
            .arg(&self.socket)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--config")
            .arg(self.data_dir.with_file_name("config.toml"))
            .args(&self.args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("HOME", &self.home)
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("CHATD_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(stderr_to(self.log.as_deref()));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    fn spawn(&mut self) {
        let mut child = self.command().spawn().expect("start chatd");
        let at = first_line(&mut child, "listening on ", &format!("chatd {}", self.name));
        assert_eq!(Path::new(&at), self.socket);
        self.child = Some(child);
        // chatd prints `listening on` before it installs its SIGTERM handler
        // (see restart::sigterm_right_after_startup_is_a_clean_stop); one
        // answered call later it has, so `stop` right after `start` is clean.
        // (A daemon started to crash, e.g. on a failpoint, may be gone already.)
        if let Err(e) = self.hello() {
            let child = self.child.as_mut().expect("just started");
            let gone = wait_exit(child, Duration::from_secs(10)).is_some();
            assert!(gone, "chatd {} does not answer: {e}", self.name);
        }
    }

    /// Says `hello` on a raw connection and waits for the answer.
    fn hello(&self) -> std::io::Result<()> {
        let mut stream = std::os::unix::net::UnixStream::connect(&self.socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        stream.write_all(
            b"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"hello\",\"params\":{\"protocol\":1,\"client\":\"e2e\"}}\n",
        )?;
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer)?;
        if answer.contains("\"result\"") {
            Ok(())
        } else {
            Err(std::io::Error::other(format!("hello answered {answer:?}")))
        }
    }

    /// Writes this daemon's config.toml (takes effect at the next start).
    pub fn write_config(&self, toml: &str) {
        let path = self.data_dir.with_file_name("config.toml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, toml).unwrap();
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Whether the process is still running (not stopped, killed or crashed).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Stops with SIGTERM and waits.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, libc::SIGTERM);
            let status =
                wait_exit(&mut child, Duration::from_secs(20)).expect("chatd stops on SIGTERM");
            assert!(status.success(), "chatd exited with {status}");
        }
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for a crash (e.g. a failpoint abort).
    pub fn wait_crash(&mut self, timeout: Duration) {
        let mut child = self.child.take().expect("running");
        let status = wait_exit(&mut child, timeout).expect("chatd crashed in time");
        assert!(!status.success());
    }

    /// Starts again with the same data, socket and arguments.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts again after a stop or crash, with other environment.
    pub fn start_again(&mut self, env: &[(&str, &str)]) {
        assert!(self.child.is_none(), "still running");
        self.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.spawn();
    }

    /// Runs `chat-ctl --socket <this> args…` with `stdin`.
    pub fn ctl_in(&self, args: &[&str], stdin: &str) -> Ctl {
        let mut child = Command::new(bin("chat-ctl"))
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run chat-ctl");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().unwrap();
        Ctl {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Runs `chat-ctl` with empty stdin.
    pub fn ctl(&self, args: &[&str]) -> Ctl {
        self.ctl_in(args, "")
    }

    /// Registers `self.name` on `relay` with 2048-bit keys (fast) and the
    /// password `<name>-password`.
    pub fn register(&self, relay: &Relay) {
        self.register_bits(relay, 2048);
    }

    /// Like [`Daemon::register`] with `bits`-bit keys (2048, 3072 or 4096).
    pub fn register_bits(&self, relay: &Relay, bits: u32) {
        self.register_at(&relay.url, bits);
    }

    /// Registers `self.name` on the relay at `url` with `bits`-bit keys and
    /// the password `<name>-password`.
    pub fn register_at(&self, url: &str, bits: u32) {
        self.try_register_at(url, bits, &[]).success();
    }

    /// `chat-ctl register` at `url` with `extra` flags (`--relay-ca FILE`,
    /// say); the run, to check how it ended.
    pub fn try_register_at(&self, url: &str, bits: u32, extra: &[&str]) -> Ctl {
        let bits = bits.to_string();
        let mut args = vec![
            "register",
            "--relay",
            url,
            "--user",
            &self.name,
            "--password-stdin",
            "--key-bits",
            &bits,
        ];
        args.extend_from_slice(extra);
        self.ctl_in(&args, &format!("{}-password\n", self.name))
    }

    /// This daemon's card JSON.
    pub fn card(&self) -> String {
        self.ctl(&["id", "--card"]).success().trim().to_owned()
    }

    /// Adds `other`'s card as a contact.
    pub fn add_contact(&self, other: &Daemon) {
        self.ctl_in(&["contact", "add", "-"], &other.card())
            .success();
    }

    /// `log PEER --json` (the last 1,000 messages).
    pub fn log(&self, peer: &str) -> Vec<serde_json::Value> {
        self.log_n(peer, 1000)
    }

    /// `log PEER -n N --json`.
    pub fn log_n(&self, peer: &str, n: usize) -> Vec<serde_json::Value> {
        let v = self
            .ctl(&["--json", "log", peer, "-n", &n.to_string()])
            .json();
        v.as_array().expect("log --json is an array").clone()
    }

    /// The incoming messages of `log PEER --json`.
    pub fn incoming(&self, peer: &str) -> Vec<serde_json::Value> {
        self.log(peer)
            .into_iter()
            .filter(|m| m["direction"] == "in")
            .collect()
    }

    /// `status --json`.
    pub fn status(&self) -> serde_json::Value {
        self.ctl(&["--json", "status"]).json()
    }

    /// An IPC client connected to this daemon (past `hello`).
    pub async fn client(&self) -> Client {
        Client::connect_as(&self.socket, "e2e")
            .await
            .unwrap_or_else(|e| panic!("connect to chatd {}: {e}", self.name))
    }

    /// Every stored event with `seq > after`, up to the newest one at the
    /// time of the call, read through the IPC client (not chat-ctl) and shaped
    /// like a line of `chat-ctl --json watch`: `{"seq","ts","event",…fields}`.
    pub fn events_after(&self, after: u64) -> Vec<serde_json::Value> {
        runtime().block_on(async {
            let mut stream = self
                .client()
                .await
                .subscribe(Some(after))
                .await
                .expect("subscribe");
            let last = stream.last_seq();
            let mut out = Vec::new();
            while out.last().map_or(after, |e: &EventEnvelope| e.seq) < last {
                let next = tokio::time::timeout(Duration::from_secs(20), stream.next())
                    .await
                    .expect("replay within 20 s")
                    .expect("stream open")
                    .expect("readable event");
                out.push(next);
            }
            out.iter().map(watch_shape).collect()
        })
    }

    /// The newest stored event's `seq` (0 when there is none).
    pub fn last_seq(&self) -> u64 {
        runtime().block_on(async {
            let stream = self
                .client()
                .await
                .subscribe(None)
                .await
                .expect("subscribe");
            stream.last_seq()
        })
    }

    /// Starts `chat-ctl --socket <this> --json watch args…`.
    pub fn watch(&self, args: &[&str]) -> Watch {
        Watch::start(&self.socket, args)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}
