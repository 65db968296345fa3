//! `kill -9` during writes. The test binary runs this very test again as a
//! child (`CHILD_DATA` names the data) that puts and acks as fast as it can,
//! printing each id once its call returned; the test kills it with SIGKILL
//! mid-stream, opens the store again, and finds every write the child saw
//! acknowledged, and a store that works.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helper::*;

conformance!(every_write_acknowledged_before_kill_9_is_there_after);

/// Concurrent putters in the child.
const WRITERS: usize = 4;
/// Most ids one ack of the child's names.
const ACK_BATCH: usize = 5;

/// The child's envelope `id` (its bytes follow from its id, so the test can
/// retry it).
fn numbered(id: &str) -> NewEnvelope {
    envelope("alice", "x", "bob", id, now_ms(), body(id, "alice", 200))
}

/// The child process, killed if the test ends first.
struct Writer(Child);

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the child reported: ids stored and ids acked.
#[derive(Default)]
struct Reported {
    stored: Vec<String>,
    acked: BTreeSet<String>,
}

impl Reported {
    fn note(&mut self, line: &str) {
        if let Some(id) = line.strip_prefix("stored ") {
            self.stored.push(id.to_owned());
        } else if let Some(id) = line.strip_prefix("acked ") {
            self.acked.insert(id.to_owned());
        }
    }
}

async fn every_write_acknowledged_before_kill_9_is_there_after(b: Backend) {
    if b.is_child() {
        return write_until_killed(&b).await;
    }
    let bob = {
        let s = b.open().await;
        register(&*s, "alice").await;
        register(&*s, "bob").await
    };

    let kill_after = rand::random_range(150..400);
    let mut writer = Writer(
        Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                b.test_name.as_str(),
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DATA, &b.location)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the writer starts"),
    );
    let (lines, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let stdout = writer.0.stdout.take().expect("the writer's stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut reported = Reported::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while reported.stored.len() < kill_after {
        match tokio::time::timeout_at(deadline, heard.recv()).await {
            Ok(Some(line)) => reported.note(&line),
            Ok(None) => panic!(
                "the writer exited after {} puts (its stderr is above)",
                reported.stored.len()
            ),
            Err(_) => panic!(
                "the writer put only {} envelopes in 30 s",
                reported.stored.len()
            ),
        }
    }
    writer.0.kill().expect("SIGKILL");
    let status = writer.0.wait().expect("the writer's end");
    assert!(!status.success(), "killed: {status:?}");
    // What it printed before it died was acknowledged too.
    while let Some(line) = heard.recv().await {
        reported.note(&line);
    }

    let s = b.open().await;
    let fetched = pending_ids(&*s, "bob", &bob).await;
    let pending = set(&fetched);
    let stored = set(&reported.stored);
    let context = format!(
        "{} stored and {} acked reported, {} pending after kill -9",
        stored.len(),
        reported.acked.len(),
        pending.len()
    );
    assert_eq!(pending.len(), fetched.len(), "no envelope twice: {context}");
    assert!(
        pending.is_disjoint(&reported.acked),
        "an acked envelope came back: {context}"
    );
    // Puts whose answer the kill cut off may be there, at most one per writer.
    assert!(pending.difference(&stored).count() <= WRITERS, "{context}");
    // Every reported put is pending, or acked (by the ack the kill cut off at most).
    let unaccounted: Vec<_> = stored
        .iter()
        .filter(|id| !pending.contains(*id) && !reported.acked.contains(*id))
        .collect();
    assert!(unaccounted.len() <= ACK_BATCH, "{context}: {unaccounted:?}");
    // None was lost: pending or delivered, a retry is answered as a duplicate.
    for id in &reported.stored {
        let retry = s.put_envelope(numbered(id), ROOMY).await;
        assert!(
            matches!(retry, Ok(PutOutcome::Duplicate)),
            "{id}: {retry:?} ({context})"
        );
    }
    assert_eq!(b.pending("bob").await.0, fetched.len() as i64, "{context}");

    // The store works afterwards.
    let after = mail("alice", "bob");
    deliver(&*s, &after).await;
    let mut all = fetched.clone();
    all.push(after.id.clone());
    assert_eq!(pending_ids(&*s, "bob", &bob).await, all);
    assert_eq!(s.ack("bob", &bob, all.clone()).await.unwrap(), all.len());
    assert_eq!(b.pending("bob").await, (0, 0));
}

/// The child: puts from several tasks and acks from one, printing each id
/// once the call returned, until it is killed.
async fn write_until_killed(b: &Backend) {
    let s = b.open().await;
    let bob = the_device(&*s, "bob").await;
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let id = random_id();
                match s.put_envelope(numbered(&id), ROOMY).await {
                    Ok(PutOutcome::Stored) => println!("stored {id}"),
                    other => panic!("put {id}: {other:?}"),
                }
            }
        }));
    }
    tasks.push(tokio::spawn(async move {
        let some = FetchFilter {
            limit: ACK_BATCH,
            max_bytes: usize::MAX,
            ..FetchFilter::default()
        };
        loop {
            let batch = ids(&s.fetch("bob", &bob, some.clone()).await.expect("fetch"));
            if !batch.is_empty() {
                s.ack("bob", &bob, batch.clone()).await.expect("ack");
                for id in batch {
                    println!("acked {id}");
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }));
    // The tasks never end; one that fails ends the child, and the test sees it.
    let (Err(failed), _, _) = futures_util::future::select_all(tasks).await;
    panic!("a writer task failed: {failed}");
}
