//! One test's world: a temp dir, a private D-Bus session with an unlocked
//! gnome-keyring and a notification server, and a relay.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::{Daemon, Relay};

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
    /// Extra `relay-server serve` flags (TLS files, mailbox limits).
    pub relay_args: Vec<String>,
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
        // Unlocked by `--unlock` before any client call, the password on stdin
        // without a trailing newline: a locked keyring would ask for a prompt
        // that nobody is there to answer.
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
        let relay = Relay::start_with(&relay_dir, None, relay_log.as_deref(), &setup.relay_args);
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

/// Another device of `of`'s account, named `device`: restored from a
/// backup file `of` exports (docs/PROTOCOL.md §10), with `of`'s contacts.
/// `of` must have registered as `<user>` with the password
/// `<user>-password`.
pub fn second_device(world: &World, of: &Daemon, user: &str, device: &str) -> Daemon {
    const PASSPHRASE: &str = "Seven-horses Quietly Ate 41 lemons!";
    let file = world.dir.path().join(format!("{user}-{device}.backup"));
    of.ctl_in(
        &[
            "backup",
            "export",
            file.to_str().unwrap(),
            "--passphrase-stdin",
        ],
        &format!("{PASSPHRASE}\n"),
    )
    .success();
    let d = world.daemon(&format!("{user}-{device}"));
    d.ctl_in(
        &[
            "backup",
            "import",
            file.to_str().unwrap(),
            "--relay",
            &world.relay.url,
            "--user",
            user,
            "--device-name",
            device,
            "--password-stdin",
            "--passphrase-stdin",
        ],
        &format!("{user}-password\n{PASSPHRASE}\n"),
    )
    .success();
    d
}
