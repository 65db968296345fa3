//! Setting the stage and clearing it: the world with its relay on a tmpfs,
//! the three users' daemons, the flooder's account and the probes' sessions;
//! bringing everything back up after the chaos, the last crash, and the
//! teardown.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use e2e::{Daemon, Setup, World};
use tempfile::TempDir;

use crate::tmpfs::{self, Mount};
use crate::watchdog::Cleanup;
use crate::{FLOOD_PASSWORD, FLOODER, USERS};

/// The daemons' environment: `CHATD_LOG` from `CHAOS_CHATD_LOG` when set
/// (e.g. `debug`, to scan more talkative logs for leaks), else the harness's.
pub fn chatd_env() -> Vec<(&'static str, &'static str)> {
    static LEVEL: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    LEVEL
        .get_or_init(|| std::env::var("CHAOS_CHATD_LOG").ok())
        .as_deref()
        .map(|l| ("CHATD_LOG", l))
        .into_iter()
        .collect()
}

/// Everything the run set up. The fields drop in this order: daemons, then
/// the tmpfs, then the world (bus, keyring, notifier, relay), then the logs.
pub struct Stage {
    /// The users' daemons, in the order of [`USERS`].
    pub daemons: Vec<Daemon>,
    /// The relay's tmpfs, when it could be mounted.
    pub mount: Option<Mount>,
    /// The bus, keyring, notification server and relay.
    pub world: World,
    /// Where the relay and the daemons append their stderr.
    pub logs: TempDir,
    /// The relay's data dir (the tmpfs, when mounted).
    pub relay_dir: PathBuf,
    /// The relay's base URL; it restarts on the same address.
    pub url: String,
    /// The flooder's session token.
    pub flood_token: String,
    /// A session of each user's own for the probes: (user, token).
    pub probe_tokens: Vec<(String, String)>,
}

impl Stage {
    /// Starts the world with its relay on a tmpfs (when one can be mounted),
    /// the users, and the flooder's and the probes' sessions; tells the
    /// watchdog what to clean up.
    pub fn set_up(cleanup: &Mutex<Cleanup>) -> Stage {
        let logs = tempfile::Builder::new()
            .prefix("chaos-logs-")
            .tempdir()
            .expect("log dir");
        let (world, mount) = start_world(logs.path(), cleanup);
        let daemons = users(&world);
        let (flood_token, probe_tokens) = sessions(&world);
        Stage {
            daemons,
            mount,
            relay_dir: world.relay.data_dir().to_owned(),
            url: world.relay.url.clone(),
            world,
            logs,
            flood_token,
            probe_tokens,
        }
    }

    /// The relay's log.
    pub fn relay_log(&self) -> PathBuf {
        self.logs.path().join("relay.log")
    }

    /// `user`'s daemon's log.
    pub fn chatd_log(&self, user: &str) -> PathBuf {
        self.logs.path().join(format!("chatd-{user}.log"))
    }

    /// Everything back up, whatever state the chaos left it in.
    pub fn bring_back_up(&mut self) {
        if !self.world.relay.is_running() {
            self.world.relay.start_again();
        }
        for d in &mut self.daemons {
            if !d.is_running() {
                d.start_again(&chatd_env());
            }
        }
    }

    /// `kill -9` to the relay and every daemon, so that the files checked
    /// next are the ones a crash leaves.
    pub fn crash_everything(&mut self) {
        self.world.relay.kill9();
        for d in &mut self.daemons {
            d.kill9();
        }
    }

    /// Keeps the logs when `CHAOS_KEEP_LOGS` is set, and stops the rest in
    /// order: the daemons, the tmpfs, the world.
    pub fn tear_down(self) {
        let Stage {
            daemons,
            mount,
            world,
            logs,
            ..
        } = self;
        if std::env::var_os("CHAOS_KEEP_LOGS").is_some() {
            let kept = logs.keep();
            println!("chaos: logs kept in {}", kept.display());
        }
        drop(daemons);
        drop(mount);
        drop(world);
    }
}

/// The world, its relay's data dir a tmpfs when one can be mounted there.
fn start_world(logs: &Path, cleanup: &Mutex<Cleanup>) -> (World, Option<Mount>) {
    let mount_result = Arc::new(Mutex::new(None::<Result<(), String>>));
    let mr = mount_result.clone();
    let world = World::start_with(Setup {
        relay_dir: Some(Box::new(move |dir: &Path| {
            *mr.lock().unwrap() = Some(tmpfs::mount(dir));
        })),
        log_dir: Some(logs.to_owned()),
        ..Setup::default()
    });
    let relay_dir = world.relay.data_dir().to_owned();
    let mount = match mount_result.lock().unwrap().take() {
        Some(Ok(())) => {
            cleanup.lock().unwrap().mount = Some(relay_dir.clone());
            Some(Mount(relay_dir))
        }
        Some(Err(e)) => {
            println!("chaos: cannot mount a tmpfs for the relay ({e}); the disk phase is skipped");
            None
        }
        None => None,
    };
    cleanup.lock().unwrap().dir = Some(world.dir.path().to_owned());
    (world, mount)
}

/// Three users, all contacts of each other.
fn users(world: &World) -> Vec<Daemon> {
    let daemons: Vec<Daemon> = USERS
        .iter()
        .map(|u| world.daemon_with(u, &[], &chatd_env()))
        .collect();
    for d in &daemons {
        d.register(&world.relay);
    }
    for a in &daemons {
        for b in &daemons {
            if a.name != b.name {
                a.add_contact(b);
            }
        }
    }
    daemons
}

/// The flooder's token (a real account with a real card), and a session of
/// its own for each user's probe, `(user, token)`.
fn sessions(world: &World) -> (String, Vec<(String, String)>) {
    let api = world.relay.api();
    let mallory =
        chatd::crypto::Identity::generate(FLOODER, chatd::crypto::KeyBits::B2048, &mut rand::rng())
            .expect("keys");
    let reply = api.register(FLOODER, FLOOD_PASSWORD, mallory.card().to_value());
    assert_eq!(reply.status, 201, "register the flooder: {reply:?}");
    let flood_token = api.login(FLOODER, FLOOD_PASSWORD);
    // Each user's probe has a session of its own (as a second device would).
    let probe_tokens: Vec<(String, String)> = USERS
        .iter()
        .map(|u| (u.to_string(), api.login(u, &format!("{u}-password"))))
        .collect();
    (flood_token, probe_tokens)
}
