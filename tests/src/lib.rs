//! Harness for the end-to-end tests: every test gets its own D-Bus session,
//! unlocked gnome-keyring, notification server (python3-dbusmock), relay
//! process and daemon processes in a temp dir, and drives them through the
//! real `chat-ctl` binary and the IPC client. Helpers read like sentences:
//!
//! ```ignore
//! let world = World::start();
//! let alice = world.daemon("alice");
//! alice.ctl(&["status", "--json"]).success();
//! ```
//!
//! Besides `chat-ctl` ([`Daemon::ctl`]), tests reach the parts directly: the
//! IPC client ([`Daemon::client`], [`Daemon::events_after`]), a running
//! `chat-ctl watch` ([`Daemon::watch`]), the relay's HTTP API as a user
//! without a daemon ([`Relay::api`]), and chatd's own command line for
//! start-up failures ([`Daemon::command`], [`run_to_exit`]).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipc_schema::client::Client;
use ipc_schema::methods::EventEnvelope;

/// A built workspace binary, next to this test binary (target/<profile>/;
/// test binaries live one level down, in target/<profile>/deps/).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let mut dir = exe.parent().expect("target dir");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().expect("target dir");
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run the suite with `cargo nextest run --workspace` (or `cargo build --workspace` first)",
        path.display()
    );
    path
}

/// Reads the first stdout line of `child`, which must start with `prefix`;
/// returns the rest.
fn first_line(child: &mut Child, prefix: &str, what: &str) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    reader
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    line.trim()
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{what} printed {line:?}, expected `{prefix}…`"))
        .to_owned()
}

/// Sends a signal to a child.
pub fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

/// Waits for a child to exit, up to `timeout`.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Polls `f` until it returns `Some`, up to `timeout`.
pub fn eventually<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Prepares the relay's data dir before the relay first starts.
pub type PrepareDir = Box<dyn FnOnce(&Path)>;

/// Ways to set a world up other than [`World::start`]'s defaults.
#[derive(Default)]
pub struct Setup {
    /// Called with the relay's (not yet existing) data dir before the relay
    /// first starts, e.g. to mount a small file system there.
    pub relay_dir: Option<PrepareDir>,
    /// When set, the relay and every daemon append their stderr to
    /// `relay.log` and `chatd-NAME.log` here (across restarts), the relay at
    /// its production log level (`info`); otherwise stderr is inherited.
    pub log_dir: Option<PathBuf>,
}

/// Where a child's stderr goes: appended to `log`, or inherited.
fn stderr_to(log: Option<&Path>) -> Stdio {
    match log {
        Some(path) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
            .into(),
        None => Stdio::inherit(),
    }
}

/// One test's world: a temp dir, a private D-Bus session with an unlocked
/// gnome-keyring and a notification server, and a relay.
pub struct World {
    /// Everything lives under here.
    pub dir: tempfile::TempDir,
    /// `DBUS_SESSION_BUS_ADDRESS` of the private bus.
    pub bus: String,
    /// Where processes write their stderr, if not inherited.
    pub log_dir: Option<PathBuf>,
    bus_daemon: Child,
    keyring: Child,
    notifier: Child,
    /// The relay.
    pub relay: Relay,
}

impl World {
    /// Starts the bus, keyring, notification server and relay.
    pub fn start() -> World {
        World::start_with(Setup::default())
    }

    /// [`World::start`] with a relay data dir prepared by `setup` and stderr
    /// logs in files.
    pub fn start_with(setup: Setup) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".local/share")).unwrap();
        let mut bus_daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (apt-get install dbus) must be installed");
        let bus = {
            let stdout = bus_daemon.stdout.take().unwrap();
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            line.trim().to_owned()
        };
        assert!(bus.starts_with("unix:"), "dbus-daemon printed {bus:?}");
        let env = |c: &mut Command| {
            c.env("DBUS_SESSION_BUS_ADDRESS", &bus)
                .env("HOME", &home)
                .env("XDG_DATA_HOME", home.join(".local/share"))
                .env_remove("XDG_RUNTIME_DIR");
        };
        // Unlocked before any client call (see RECIPES.md): the password on
        // stdin, without a trailing newline.
        let mut keyring_cmd = Command::new("gnome-keyring-daemon");
        keyring_cmd
            .args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        env(&mut keyring_cmd);
        let mut keyring = keyring_cmd
            .spawn()
            .expect("gnome-keyring-daemon (apt-get install gnome-keyring) must be installed");
        {
            let mut stdin = keyring.stdin.take().unwrap();
            stdin.write_all(b"e2e-keyring-password").unwrap();
        }
        let mut notify_cmd = Command::new("/usr/bin/python3");
        notify_cmd
            .args(["-m", "dbusmock", "--template", "notification_daemon", "-l"])
            .arg(dir.path().join("notify.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        env(&mut notify_cmd);
        let notifier = notify_cmd
            .spawn()
            .expect("python3-dbusmock (apt-get install python3-dbusmock) must be installed");
        for name in ["org.freedesktop.secrets", "org.freedesktop.Notifications"] {
            let ok = Command::new("gdbus")
                .args(["wait", "--session", "--timeout", "20", name])
                .env("DBUS_SESSION_BUS_ADDRESS", &bus)
                .status()
                .expect("gdbus");
            assert!(ok.success(), "{name} did not appear on the test bus");
        }
        let relay_dir = dir.path().join("relay");
        if let Some(prepare) = setup.relay_dir {
            prepare(&relay_dir);
        }
        let relay_log = setup.log_dir.as_ref().map(|d| d.join("relay.log"));
        let relay = Relay::start_logged(&relay_dir, None, relay_log.as_deref());
        World {
            dir,
            bus,
            log_dir: setup.log_dir,
            bus_daemon,
            keyring,
            notifier,
            relay,
        }
    }

    /// The home directory daemons run with.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Starts a daemon called `name` with the OS keyring.
    pub fn daemon(&self, name: &str) -> Daemon {
        Daemon::start(self, name, &[], &[])
    }

    /// Starts a daemon with extra arguments and environment.
    pub fn daemon_with(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        Daemon::start(self, name, args, env)
    }

    /// Every `Notify` call the notification server received: (summary, body).
    pub fn notifications(&self) -> Vec<(String, String)> {
        let log = std::fs::read_to_string(self.dir.path().join("notify.log")).unwrap_or_default();
        // Only complete lines: dbusmock may be writing the last one.
        let complete = &log[..log.rfind('\n').map_or(0, |i| i + 1)];
        // dbusmock logs: `<time> Notify "app" 0 "icon" "summary" "body" [...] {...} -1`
        complete
            .lines()
            .filter(|l| l.contains(" Notify "))
            .map(|l| {
                let quoted: Vec<&str> = l.split('"').collect();
                // quoted: [pre, app, mid, icon, mid, summary, mid, body, rest]
                let get = |i: usize| quoted.get(i).copied().unwrap_or_default().to_owned();
                (get(5), get(7))
            })
            .collect()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for child in [&mut self.notifier, &mut self.keyring, &mut self.bus_daemon] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A relay-server process.
pub struct Relay {
    child: Child,
    /// Base URL.
    pub url: String,
    data_dir: PathBuf,
    log: Option<PathBuf>,
}

impl Relay {
    /// Starts a relay on `listen` (or a free port).
    pub fn start(data_dir: &Path, listen: Option<&str>) -> Relay {
        Relay::start_logged(data_dir, listen, None)
    }

    /// Starts a relay on `listen` (or a free port) that appends its stderr
    /// to `log` at level `info` (inherited at `warn` without one).
    pub fn start_logged(data_dir: &Path, listen: Option<&str>, log: Option<&Path>) -> Relay {
        let mut child = Command::new(bin("relay-server"))
            .args([
                "serve",
                "--listen",
                listen.unwrap_or("127.0.0.1:0"),
                "--data-dir",
            ])
            .arg(data_dir)
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
        let addr = self.url.trim_start_matches("http://").to_owned();
        let mut again = None;
        for _ in 0..100 {
            let log = self.log.as_deref();
            match std::panic::catch_unwind(|| Relay::start_logged(&self.data_dir, Some(&addr), log))
            {
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
        RelayApi {
            url: self.url.clone(),
            http: reqwest::Client::new(),
            rt: runtime(),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

/// What a `chat-ctl` run did.
#[derive(Debug)]
pub struct Ctl {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Ctl {
    /// Asserts exit 0 and returns stdout.
    pub fn success(&self) -> &str {
        assert_eq!(self.code, 0, "chat-ctl failed: {self:?}");
        &self.stdout
    }

    /// Asserts exit 0 and parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.success()).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// Asserts the exit code and that stderr is exactly one line.
    pub fn fails_with(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "unexpected exit code: {self:?}");
        assert_eq!(
            self.stderr.trim_end().lines().count(),
            1,
            "stderr is not one line: {self:?}"
        );
        &self.stderr
    }
}

impl Daemon {
    fn start(world: &World, name: &str, args: &[&str], env: &[(&str, &str)]) -> Daemon {
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
        let bits = bits.to_string();
        self.ctl_in(
            &[
                "register",
                "--relay",
                url,
                "--user",
                &self.name,
                "--password-stdin",
                "--key-bits",
                &bits,
            ],
            &format!("{}-password\n", self.name),
        )
        .success();
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
        let mut child = Command::new(bin("chat-ctl"))
            .arg("--socket")
            .arg(&self.socket)
            .args(["--json", "watch"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run chat-ctl watch");
        let lines = read_lines(child.stdout.take().unwrap());
        Watch { child, lines }
    }
}

/// An event as `chat-ctl --json watch` prints it: the notification's params
/// with the event name added.
pub fn watch_shape(e: &EventEnvelope) -> serde_json::Value {
    let mut v = serde_json::to_value(e).expect("events serialize");
    let mut params = v["params"].take();
    params["event"] = v["method"].take();
    params
}

/// A current-thread tokio runtime, for the async IPC and HTTP clients.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Reads `from` line by line on a thread; the channel closes at EOF.
fn read_lines(from: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A running `chat-ctl --json watch`, its stdout read line by line.
pub struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watch {
    /// The next line printed, parsed as JSON, within `timeout`.
    pub fn next(&self, timeout: Duration) -> serde_json::Value {
        let line = self
            .lines
            .recv_timeout(timeout)
            .unwrap_or_else(|e| panic!("no line from chat-ctl watch within {timeout:?}: {e}"));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// The next line printed, parsed as JSON, if one comes within `timeout`.
    pub fn try_next(&self, timeout: Duration) -> Option<serde_json::Value> {
        let line = self.lines.recv_timeout(timeout).ok()?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
    }

    /// Reads lines until one satisfies `f`, within `timeout`; returns all read.
    pub fn until(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&serde_json::Value) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.next(left);
            let done = f(&v);
            seen.push(v);
            if done {
                return seen;
            }
        }
    }

    /// Waits for it to end by itself (within `timeout`): its exit code, the
    /// lines it printed that were not read yet, and its stderr.
    pub fn wait(mut self, timeout: Duration) -> Ctl {
        let status = wait_exit(&mut self.child, timeout)
            .unwrap_or_else(|| panic!("chat-ctl watch still runs after {timeout:?}"));
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
        }
        Ctl {
            code: status.code().unwrap_or(-1),
            stdout: self.lines.iter().map(|l| l + "\n").collect(),
            stderr,
        }
    }

    /// `kill -9`, then every line it printed that was not read yet.
    pub fn kill(mut self) -> Vec<serde_json::Value> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.lines
            .iter()
            .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` to its end (killing it after `timeout`) and returns what it did.
pub fn run_to_exit(mut cmd: Command, timeout: Duration) -> Ctl {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let out = read_lines(child.stdout.take().unwrap());
    let err = read_lines(child.stderr.take().unwrap());
    let status = wait_exit(&mut child, timeout);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{cmd:?} still ran after {timeout:?}");
    }
    let join = |rx: mpsc::Receiver<String>| rx.iter().map(|l| l + "\n").collect::<String>();
    Ctl {
        code: status.unwrap().code().unwrap_or(-1),
        stdout: join(out),
        stderr: join(err),
    }
}

/// The relay's HTTP API spoken directly, as a client without a daemon would
/// (a forger, a third user, a test looking into a mailbox).
pub struct RelayApi {
    url: String,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

/// A relay answer: status and body.
#[derive(Debug)]
pub struct HttpReply {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
}

impl RelayApi {
    fn send(&self, req: reqwest::RequestBuilder) -> HttpReply {
        self.rt.block_on(async {
            let resp = req.send().await.expect("relay answers");
            HttpReply {
                status: resp.status().as_u16(),
                body: resp.text().await.unwrap_or_default(),
            }
        })
    }

    /// `POST /v1/accounts`.
    pub fn register(&self, user: &str, password: &str, card: serde_json::Value) -> HttpReply {
        self.send(
            self.http
                .post(format!("{}/v1/accounts", self.url))
                .json(&serde_json::json!({"username": user, "password": password, "card": card})),
        )
    }

    /// `POST /v1/sessions`: the reply (201 with a token, or the refusal).
    pub fn try_login(&self, user: &str, password: &str) -> HttpReply {
        self.send(
            self.http
                .post(format!("{}/v1/sessions", self.url))
                .json(&serde_json::json!({"username": user, "password": password})),
        )
    }

    /// Logs in; returns the token.
    pub fn login(&self, user: &str, password: &str) -> String {
        let reply = self.try_login(user, password);
        assert_eq!(reply.status, 201, "login as {user}: {reply:?}");
        let v: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        v["token"].as_str().expect("token").to_owned()
    }

    /// `PUT /v1/messages/{id}` with the envelope's own id.
    pub fn put(&self, token: &str, envelope: &serde_json::Value) -> HttpReply {
        let id = envelope["id"].as_str().expect("envelope id");
        self.send(
            self.http
                .put(format!("{}/v1/messages/{id}", self.url))
                .bearer_auth(token)
                .json(envelope),
        )
    }

    /// `GET /v1/messages` without waiting: the caller's pending envelopes.
    pub fn pending(&self, token: &str) -> Vec<serde_json::Value> {
        let reply = self.send(
            self.http
                .get(format!("{}/v1/messages?wait=0", self.url))
                .bearer_auth(token),
        );
        match reply.status {
            204 => Vec::new(),
            200 => {
                let v: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
                v["messages"].as_array().expect("messages").clone()
            }
            _ => panic!("GET /v1/messages: {reply:?}"),
        }
    }

    /// `POST /v1/messages/ack`.
    pub fn ack(&self, token: &str, ids: &[&str]) {
        let reply = self.send(
            self.http
                .post(format!("{}/v1/messages/ack", self.url))
                .bearer_auth(token)
                .json(&serde_json::json!({ "ids": ids })),
        );
        assert_eq!(reply.status, 204, "ack: {reply:?}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Registers both and swaps cards.
pub fn pair(world: &World, a: &str, b: &str) -> (Daemon, Daemon) {
    let da = world.daemon(a);
    let db = world.daemon(b);
    da.register(&world.relay);
    db.register(&world.relay);
    da.add_contact(&db);
    db.add_contact(&da);
    (da, db)
}
