//! Envelopes on PostgreSQL: PUTs (v1 and v2) and acks, group-committed.
//! Writer tasks (`WRITERS`, one unless a database with cores to spare says
//! otherwise) each own a share of the mailboxes (by a hash of the
//! recipient, so that one instance's writers never wait for each other's
//! account locks and each mailbox's writes keep their order), and each
//! takes every job waiting in its queue (up to `MAX_BATCH`) into one
//! transaction: the accounts the batch touches are
//! locked first, in name order, then each job checks and writes as the
//! SQLite writer's do, then one `NOTIFY` names every recipient, then one
//! commit, then every caller gets its answer. A refusal (quota, conflict)
//! is one job's answer and writes nothing; a database error fails the
//! transaction, which is tried again whole after a lost race (another
//! instance's deadlock or unique key), as SQLite's batch fails whole.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};

use super::write::{Tx, add_copies, lock_accounts, notify};
use super::{ATTEMPTS, Fail, lost_race, sql_error};
use crate::store::{
    CommitHook, NewEnvelope, NewSharedEnvelope, PutOutcome, Quota, SharedPutOutcome, Skip,
    StoreError, StoreResult,
};

/// Every locked account's `(pending_count, pending_bytes)`, kept up to date
/// through the batch.
pub(super) type Usage = HashMap<String, (i64, i64)>;

/// Writer tasks per instance (each holds one pooled connection while it
/// commits). One, measured: with PostgreSQL on the relay's own two cores,
/// one writer's bigger batches carried 2,162 envelopes/s where four
/// writers' smaller ones carried 1,325 (docs/BENCHMARKS.md); a database
/// with cores to spare may do better with more.
pub(super) const WRITERS: usize = 1;
/// Most jobs in one transaction.
const MAX_BATCH: usize = 256;
/// Jobs queued before callers wait.
const QUEUE: usize = 8192;

/// A write for the writers, with where its answer goes.
pub(super) enum Job {
    Put(NewEnvelope, Quota, oneshot::Sender<StoreResult<PutOutcome>>),
    Shared(
        NewSharedEnvelope,
        Quota,
        oneshot::Sender<StoreResult<SharedPutOutcome>>,
    ),
    Ack {
        recipient: String,
        device: String,
        ids: Vec<String>,
        reply: oneshot::Sender<StoreResult<usize>>,
    },
}

/// A job's answer, before it is sent.
enum Done {
    Put(StoreResult<PutOutcome>),
    Shared(StoreResult<SharedPutOutcome>),
    Ack(StoreResult<usize>),
}

impl Job {
    /// The accounts whose rows the job locks.
    fn accounts(&self) -> Vec<&str> {
        match self {
            Job::Put(env, ..) => vec![env.recipient.as_str()],
            Job::Shared(env, ..) => env.entries.iter().map(|(r, _)| r.as_str()).collect(),
            Job::Ack { recipient, .. } => vec![recipient.as_str()],
        }
    }

    fn answer(self, done: Done) {
        match (self, done) {
            (Job::Put(.., reply), Done::Put(r)) => {
                let _ = reply.send(r);
            }
            (Job::Shared(.., reply), Done::Shared(r)) => {
                let _ = reply.send(r);
            }
            (Job::Ack { reply, .. }, Done::Ack(r)) => {
                let _ = reply.send(r);
            }
            _ => unreachable!("each job is answered in its own kind"),
        }
    }

    fn fail(self, e: StoreError) {
        match self {
            Job::Put(.., reply) => drop(reply.send(Err(e))),
            Job::Shared(.., reply) => drop(reply.send(Err(e))),
            Job::Ack { reply, .. } => drop(reply.send(Err(e))),
        }
    }
}

/// The writers' queues, one per writer.
pub(super) struct Writers {
    queues: Vec<mpsc::Sender<Job>>,
}

impl Writers {
    /// Queues `job` for the writer that owns its (first) recipient's
    /// mailbox; `Err` once the writers are gone.
    pub(super) async fn send(&self, job: Job) -> Result<(), ()> {
        let owner = job.accounts().first().map_or(0, |name| {
            let mut h = std::hash::DefaultHasher::new();
            std::hash::Hash::hash(name, &mut h);
            std::hash::Hasher::finish(&h) as usize % self.queues.len()
        });
        self.queues[owner].send(job).await.map_err(|_| ())
    }
}

/// Starts the writers; they stop when the returned queues are dropped.
pub(super) fn start(pool: Pool, instance: String, on_commit: CommitHook) -> Writers {
    let mut queues = Vec::with_capacity(WRITERS);
    for _ in 0..WRITERS {
        let (tx, rx) = mpsc::channel(QUEUE / WRITERS);
        queues.push(tx);
        let (pool, instance, on_commit) = (pool.clone(), instance.clone(), on_commit.clone());
        tokio::spawn(async move { writer(rx, pool, instance, on_commit).await });
    }
    Writers { queues }
}

async fn writer(mut rx: mpsc::Receiver<Job>, pool: Pool, instance: String, on_commit: CommitHook) {
    loop {
        // What waits when the writer is free goes in one batch.
        let mut batch = Vec::with_capacity(MAX_BATCH);
        match rx.recv().await {
            Some(job) => batch.push(job),
            None => return,
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match commit(&pool, &instance, &batch).await {
            Ok((done, woken)) => {
                if !woken.is_empty() {
                    on_commit(&woken);
                }
                for (job, done) in batch.into_iter().zip(done) {
                    job.answer(done);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = batch.len(), "store commit failed");
                for job in batch {
                    job.fail(e.again());
                }
            }
        }
    }
}

/// Runs the batch in one transaction, trying it again after a lost race;
/// returns each job's answer and the recipients that got mail.
async fn commit(
    pool: &Pool,
    instance: &str,
    batch: &[Job],
) -> Result<(Vec<Done>, Vec<String>), StoreError> {
    let mut names: Vec<&str> = batch.iter().flat_map(Job::accounts).collect();
    names.sort_unstable();
    names.dedup();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut client = pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => sql_error(&e),
            other => StoreError::Backend(format!("postgres pool: {other}")),
        })?;
        let tx = client.transaction().await.map_err(|e| sql_error(&e))?;
        let failed = match apply(&tx, instance, batch, &names).await {
            Ok(out) => {
                let started = Instant::now();
                let committed = tx.commit().await;
                crate::metrics::metrics().commit(batch.len(), started.elapsed());
                match committed {
                    Ok(()) => return Ok(out),
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        if !lost_race(&failed) || attempt >= ATTEMPTS {
            return Err(sql_error(&failed));
        }
        tokio::time::sleep(Duration::from_millis(
            u64::from(attempt) * rand::random_range(1..=5),
        ))
        .await;
    }
}

/// Every job of the batch in `tx`; a database error stops it.
async fn apply(
    tx: &Tx<'_>,
    instance: &str,
    batch: &[Job],
    names: &[&str],
) -> Result<(Vec<Done>, Vec<String>), tokio_postgres::Error> {
    let sql = |f: Fail| match f {
        Fail::Sql(e) => Err(e),
        Fail::Store(e) => Ok(e),
    };
    let now = crate::store::sqlite::now_ms() as i64;
    let mut usage = match lock_accounts(tx, names).await {
        Ok(usage) => usage,
        Err(f) => return Err(sql(f).expect_err("locking refuses nothing")),
    };
    let mut woken = Vec::new();
    // The v1 PUTs first, all at once (`puts`), then the rest in order.
    let puts: Vec<(usize, &NewEnvelope, Quota)> = batch
        .iter()
        .enumerate()
        .filter_map(|(n, job)| match job {
            Job::Put(env, quota, _) => Some((n, env, *quota)),
            _ => None,
        })
        .collect();
    let mut put_answers: HashMap<usize, StoreResult<PutOutcome>> =
        super::puts::put_all(tx, &mut usage, &mut woken, &puts, now)
            .await?
            .into_iter()
            .collect();
    // The acks next, all at once too (`acks`), then the v2 PUTs in order.
    let acks: Vec<super::acks::AckJob<'_>> = batch
        .iter()
        .enumerate()
        .filter_map(|(n, job)| match job {
            Job::Ack {
                recipient,
                device,
                ids,
                ..
            } => Some((n, recipient.as_str(), device.as_str(), ids.as_slice())),
            _ => None,
        })
        .collect();
    let mut ack_answers: HashMap<usize, StoreResult<usize>> =
        super::acks::ack_all(tx, &mut usage, &acks, now)
            .await?
            .into_iter()
            .collect();
    let mut done = Vec::with_capacity(batch.len());
    for (n, job) in batch.iter().enumerate() {
        done.push(match job {
            Job::Put(..) => Done::Put(
                put_answers
                    .remove(&n)
                    .expect("every PUT of the batch is answered"),
            ),
            Job::Shared(env, quota, _) => Done::Shared(
                match put_shared(tx, &mut usage, &mut woken, env, *quota, now).await {
                    Ok(v) => Ok(v),
                    Err(f) => Err(sql(f)?),
                },
            ),
            Job::Ack { .. } => Done::Ack(
                ack_answers
                    .remove(&n)
                    .expect("every ack of the batch is answered"),
            ),
        });
    }
    if let Err(f) = notify(tx, instance, &woken).await {
        return Err(sql(f).expect_err("notifying refuses nothing"));
    }
    Ok((done, woken))
}

/// A digest as the database returns it.
fn same_digest(a: &[u8], b: &[u8; 32]) -> bool {
    a == &b[..]
}

/// Stores one v2 envelope in `tx`, whose batch holds every recipient's
/// lock; `usage` is every locked account's (count, bytes), kept up to date.
async fn put_shared(
    tx: &Tx<'_>,
    usage: &mut Usage,
    woken: &mut Vec<String>,
    env: &NewSharedEnvelope,
    quota: Quota,
    now: i64,
) -> Result<SharedPutOutcome, Fail> {
    let ts = env.ts as i64;
    let names: Vec<&str> = env.entries.iter().map(|(r, _)| r.as_str()).collect();
    {
        // The sender's own earlier use of the id must be these very bytes.
        let body_row = tx
            .query_opt(
                "SELECT body_id, digest FROM bodies WHERE sender = $1 AND id = $2",
                &[&env.sender, &env.id],
            )
            .await?;
        let earlier = tx
            .query(
                "SELECT digest FROM mailbox WHERE sender = $1 AND id = $2
                 UNION ALL SELECT digest FROM delivered WHERE sender = $1 AND id = $2",
                &[&env.sender, &env.id],
            )
            .await?;
        if body_row
            .as_ref()
            .is_some_and(|r| !same_digest(&r.get::<_, Vec<u8>>(1), &env.digest))
            || earlier
                .iter()
                .any(|r| !same_digest(&r.get::<_, Vec<u8>>(0), &env.digest))
        {
            return Err(StoreError::Conflict.into());
        }
        // Who already has this id, pending or acked: another sender's is a
        // conflict for that recipient only; the sender's own a duplicate.
        let mut clash: HashMap<String, (bool, bool)> = HashMap::new();
        for row in tx
            .query(
                "SELECT recipient, sender <> $3 FROM mailbox WHERE recipient = ANY($1) AND id = $2
                 UNION ALL
                 SELECT recipient, sender <> $3 FROM delivered WHERE recipient = ANY($1) AND id = $2",
                &[&names, &env.id, &env.sender],
            )
            .await?
        {
            let entry = clash.entry(row.get(0)).or_default();
            if row.get::<_, bool>(1) {
                entry.0 = true;
            } else {
                entry.1 = true;
            }
        }
        let mut out = SharedPutOutcome::default();
        let mut body_id: Option<i64> = body_row.map(|r| r.get(0));
        for (recipient, entry) in &env.entries {
            let len = (env.common.len() + 1 + entry.len()) as i64;
            match clash.get(recipient) {
                Some((true, _)) => {
                    out.skipped.push((recipient.clone(), Skip::Conflict));
                    continue;
                }
                Some((false, true)) => {
                    out.duplicate += 1;
                    continue;
                }
                _ => {}
            }
            match usage.get(recipient) {
                None => {
                    out.skipped
                        .push((recipient.clone(), Skip::UnknownRecipient));
                    continue;
                }
                Some(&(count, bytes))
                    if count as u64 + 1 > quota.max_count
                        || (bytes + len) as u64 > quota.max_bytes =>
                {
                    out.skipped.push((recipient.clone(), Skip::QuotaExceeded));
                    continue;
                }
                Some(_) => {}
            }
            let shared = match body_id {
                Some(id) => id,
                None => {
                    let id: i64 = tx
                        .query_one(
                            "INSERT INTO bodies (sender, id, digest, common) VALUES ($1, $2, $3, $4)
                             RETURNING body_id",
                            &[&env.sender, &env.id, &&env.digest[..], &env.common],
                        )
                        .await?
                        .get(0);
                    *body_id.insert(id)
                }
            };
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO mailbox (recipient, sender, id, ts, body, digest, received_at, shared, size)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq",
                )
                .await?;
            let seq: i64 = tx
                .query_one(
                    &stmt,
                    &[
                        recipient,
                        &env.sender,
                        &env.id,
                        &ts,
                        entry,
                        &&env.digest[..],
                        &now,
                        &shared,
                        &len,
                    ],
                )
                .await?
                .get(0);
            if add_copies(tx, recipient, &env.sender, &env.sender_device, seq).await? == 0 {
                // As in `put`: nobody to deliver to, nothing kept (the
                // trigger takes a body left without rows along).
                tx.execute("DELETE FROM mailbox WHERE seq = $1", &[&seq])
                    .await?;
                if body_id == Some(shared) {
                    let left = tx
                        .query_opt("SELECT 1 FROM bodies WHERE body_id = $1", &[&shared])
                        .await?;
                    if left.is_none() {
                        body_id = None;
                    }
                }
                out.stored.push(recipient.clone());
                continue;
            }
            let stmt = tx
                .prepare_cached(
                    "UPDATE accounts SET pending_count = pending_count + 1, pending_bytes = pending_bytes + $2
                     WHERE username = $1",
                )
                .await?;
            tx.execute(&stmt, &[recipient, &len]).await?;
            if let Some(u) = usage.get_mut(recipient) {
                *u = (u.0 + 1, u.1 + len);
            }
            out.stored.push(recipient.clone());
        }
        woken.extend(out.stored.iter().cloned());
        Ok(out)
    }
}
