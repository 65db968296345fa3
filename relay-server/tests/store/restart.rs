//! PostgreSQL going away under two relay instances and coming back: writes
//! fail with a storage error while it is down (never hang, never panic),
//! work again once it is back, and the LISTEN connection comes back too, so
//! the other instance hears of mail again. A cluster of this test's own
//! (scripts/pg), since it is stopped and started.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use relay_server::store::{PgStore, PutOutcome, Store};

use crate::helper::*;

fn pg(args: &[&str]) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg");
    let out = Command::new(script)
        .args(args)
        .output()
        .expect("scripts/pg runs");
    assert!(out.status.success(), "scripts/pg {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A private cluster, stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    port: String,
}

impl Cluster {
    fn start() -> (Cluster, String) {
        let dir = tempfile::TempDir::new().unwrap();
        let admin = pg(&["start", dir.path().to_str().unwrap()]);
        let port = std::fs::read_to_string(dir.path().join("port")).unwrap();
        (
            Cluster {
                dir,
                port: port.trim().to_owned(),
            },
            admin,
        )
    }

    fn stop(&self) {
        pg(&["stop", self.dir.path().to_str().unwrap()]);
    }

    fn start_again(&self) {
        pg(&["start", self.dir.path().to_str().unwrap(), &self.port]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

type Heard = Arc<Mutex<Vec<Vec<String>>>>;

async fn instance(url: &str) -> (PgStore, Heard) {
    let heard: Heard = Arc::default();
    let hook = {
        let heard = heard.clone();
        Arc::new(move |users: &[String]| heard.lock().unwrap().push(users.to_vec()))
    };
    (PgStore::open(url, 4, hook).await.expect("opens"), heard)
}

/// Waits until `heard` holds a call naming `user` (or, with `""`, an empty
/// call: "anyone may have mail").
async fn hears(heard: &Heard, user: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let found = heard.lock().unwrap().iter().any(|call| {
            if user.is_empty() {
                call.is_empty()
            } else {
                call.iter().any(|u| u == user)
            }
        });
        if found {
            heard.lock().unwrap().clear();
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarting_under_two_instances_fails_writes_then_both_go_on() {
    let (cluster, admin) = Cluster::start();
    let url = relay_server::store::postgres::create_database(&admin, "restart")
        .await
        .unwrap();
    let (one, _) = instance(&url).await;
    let (two, heard) = instance(&url).await;
    register(&one, "alice").await;
    register(&one, "bob").await;
    deliver(&one, &mail("alice", "bob")).await;
    assert!(
        hears(&heard, "bob", Duration::from_secs(2)).await,
        "heard before"
    );

    cluster.stop();
    let started = Instant::now();
    let down = one.put_envelope(mail("alice", "bob"), ROOMY).await;
    assert!(down.is_err(), "a write with the database down: {down:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "it failed, not hung ({:?})",
        started.elapsed()
    );
    assert!(one.ping().await.is_err());

    cluster.start_again();
    let back = mail("alice", "bob");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match one.put_envelope(back.clone(), ROOMY).await {
            Ok(outcome) => {
                assert_eq!(outcome, PutOutcome::Stored);
                break;
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "writes never came back: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    // The other instance listens again: first a wake of everyone (mail may
    // have come while it was deaf), then each new piece of mail by name.
    assert!(
        hears(&heard, "", Duration::from_secs(20)).await,
        "the LISTEN connection came back and woke every long-poll"
    );
    deliver(&one, &mail("alice", "bob")).await;
    assert!(
        hears(&heard, "bob", Duration::from_secs(2)).await,
        "heard of mail after the restart"
    );
    let pending = two
        .fetch("bob", &the_device(&two, "bob").await, everything())
        .await
        .unwrap();
    assert_eq!(
        pending.len(),
        3,
        "the two before and the one after, nothing lost"
    );
    drop((one, two));
}
