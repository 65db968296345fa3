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

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A built workspace binary, next to this test binary (target/<profile>/).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
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

/// One test's world: a temp dir, a private D-Bus session with an unlocked
/// gnome-keyring and a notification server, and a relay.
pub struct World {
    /// Everything lives under here.
    pub dir: tempfile::TempDir,
    /// `DBUS_SESSION_BUS_ADDRESS` of the private bus.
    pub bus: String,
    bus_daemon: Child,
    keyring: Child,
    notifier: Child,
    /// The relay.
    pub relay: Relay,
}

impl World {
    /// Starts the bus, keyring, notification server and relay.
    pub fn start() -> World {
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
        let relay = Relay::start(&dir.path().join("relay"), None);
        World {
            dir,
            bus,
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
        // dbusmock logs: `<time> Notify "app" 0 "icon" "summary" "body" [...] {...} -1`
        log.lines()
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
}

impl Relay {
    /// Starts a relay on `listen` (or a free port).
    pub fn start(data_dir: &Path, listen: Option<&str>) -> Relay {
        let mut child = Command::new(bin("relay-server"))
            .args([
                "serve",
                "--listen",
                listen.unwrap_or("127.0.0.1:0"),
                "--data-dir",
            ])
            .arg(data_dir)
            .env("RELAY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start relay-server");
        let url = first_line(&mut child, "listening on ", "relay-server");
        Relay {
            child,
            url,
            data_dir: data_dir.to_owned(),
        }
    }

    /// `kill -9`, then start again on the same address and data dir.
    pub fn kill9_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let addr = self.url.trim_start_matches("http://").to_owned();
        let mut again = None;
        for _ in 0..100 {
            match std::panic::catch_unwind(|| Relay::start(&self.data_dir, Some(&addr))) {
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
        };
        d.spawn();
        d
    }

    fn spawn(&mut self) {
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
            .stderr(Stdio::inherit());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start chatd");
        let at = first_line(&mut child, "listening on ", &format!("chatd {}", self.name));
        assert_eq!(Path::new(&at), self.socket);
        self.child = Some(child);
    }

    /// Writes this daemon's config.toml (takes effect at the next start).
    pub fn write_config(&self, toml: &str) {
        std::fs::write(self.data_dir.with_file_name("config.toml"), toml).unwrap();
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
        self.ctl_in(
            &[
                "register",
                "--relay",
                &relay.url,
                "--user",
                &self.name,
                "--password-stdin",
                "--key-bits",
                "2048",
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

    /// `log PEER --json`.
    pub fn log(&self, peer: &str) -> Vec<serde_json::Value> {
        let v = self.ctl(&["--json", "log", peer, "-n", "1000"]).json();
        v.as_array().expect("log --json is an array").clone()
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
