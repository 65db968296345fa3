//! A daemon's keyring secrets, read back for the leak scan through a child
//! process (`chaos --dump-secrets`) that runs in the daemon's environment.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use e2e::{Daemon, World, bin};

/// Internal mode: prints a daemon's keyring secrets (the environment is the
/// daemon's), base64, one `name value` per line. A child process, so the
/// main process never has to point its own D-Bus environment at the test bus.
pub fn dump_secrets(data_dir: &Path) {
    use chatd::keystore::{KeyringStore, Keystore as _, names};
    let store = KeyringStore::open(data_dir).expect("keyring");
    for name in names::ALL {
        if let Some(secret) = store.get(name).expect("keyring read") {
            println!("{name} {}", B64.encode(secret.expose_secret()));
        }
    }
}

/// Each secret in `d`'s keyring.
pub fn keyring_secrets(world: &World, d: &Daemon) -> Vec<(String, Vec<u8>)> {
    let out = Command::new(bin("chaos"))
        .arg("--dump-secrets")
        .arg(&d.data_dir)
        .env("DBUS_SESSION_BUS_ADDRESS", &world.bus)
        .env("HOME", world.home())
        .env("XDG_DATA_HOME", world.home().join(".local/share"))
        .output()
        .expect("run chaos --dump-secrets");
    assert!(
        out.status.success(),
        "dump {}'s secrets: {}",
        d.name,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, v)| (n.to_owned(), B64.decode(v).expect("base64")))
        .collect()
}
