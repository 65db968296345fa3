//! The login throttle's counts in the database, so that instances share
//! them (docs/RELAY.md §8): the same rules as the relay's in-memory
//! throttle (`auth::throttle`), counted over every instance's attempts.
//!
//! An admission takes a transaction-scoped advisory lock on its address,
//! then counts and inserts: two admissions from one address (whatever the
//! names, whichever the instances) are decided one after the other, so
//! concurrent guesses see each other. Both refusals are by address (the
//! pair's and the address's budget); the per-user count only sets the wait,
//! so it needs no lock. An attempt whose instance died stays in flight and
//! counts as a failure until it leaves the window.

use sha2::{Digest as _, Sha256};

use super::{PgStore, in_tx};
use crate::store::{AttemptOutcome, SharedAdmission, StoreResult, ThrottleRule};

/// The advisory lock key of an address: the first 8 bytes of a SHA-256 of
/// it, in a namespace of its own (a collision only makes two addresses wait
/// for each other).
fn lock_key(addr: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(b"relay login throttle\0")
        .chain_update(addr.as_bytes())
        .finalize();
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// The wait until `key`'s budget has room again, when its load is at the
/// limit: until the `limit`-th newest failure leaves the window, or, when
/// fewer failures than that are recorded (attempts in flight fill the
/// budget), the rule's busy wait.
fn wait_for(limit_th_newest: Option<i64>, rule: &ThrottleRule) -> u64 {
    match limit_th_newest {
        Some(at) => {
            let age = rule.now_ms.saturating_sub(at.max(0) as u64);
            rule.window_ms.saturating_sub(age).max(1)
        }
        None => rule.busy_ms,
    }
}

pub(super) async fn begin(
    store: &PgStore,
    username: &str,
    addr: &str,
    rule: ThrottleRule,
) -> StoreResult<SharedAdmission> {
    let now = rule.now_ms.min(i64::MAX as u64) as i64;
    let since = now.saturating_sub(rule.window_ms.min(i64::MAX as u64) as i64);
    let limit = rule.limit.min(i64::MAX as usize) as i64;
    in_tx!(store, |tx| {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(addr)])
            .await?;
        // Each admission adds one row and sweeps up to a hundred that left
        // the window, whoever's: the table holds about one window's
        // admissions. Rows another sweep holds are skipped, not waited for.
        tx.execute(
            "DELETE FROM login_attempts WHERE id IN (
                 SELECT id FROM login_attempts WHERE at <= $1
                 ORDER BY at LIMIT 100 FOR UPDATE SKIP LOCKED)",
            &[&since],
        )
        .await?;
        let counts = tx
            .query_one(
                "SELECT count(*) FILTER (WHERE addr = $1 AND username = $2 AND NOT forgiven),
                        count(*) FILTER (WHERE addr = $1),
                        count(*) FILTER (WHERE username = $2)
                 FROM login_attempts WHERE (addr = $1 OR username = $2) AND at > $3",
                &[&addr, &username, &since],
            )
            .await?;
        let (pair, by_addr, by_user): (i64, i64, i64) =
            (counts.get(0), counts.get(1), counts.get(2));
        let mut wait = None::<u64>;
        if pair >= limit {
            let row = tx
                .query_opt(
                    "SELECT at FROM login_attempts
                     WHERE addr = $1 AND username = $2 AND failed AND NOT forgiven AND at > $3
                     ORDER BY at DESC OFFSET $4 LIMIT 1",
                    &[&addr, &username, &since, &(limit - 1).max(0)],
                )
                .await?;
            wait = Some(wait_for(row.map(|r| r.get(0)), &rule));
        }
        if by_addr >= limit {
            let row = tx
                .query_opt(
                    "SELECT at FROM login_attempts WHERE addr = $1 AND failed AND at > $2
                     ORDER BY at DESC OFFSET $3 LIMIT 1",
                    &[&addr, &since, &(limit - 1).max(0)],
                )
                .await?;
            let w = wait_for(row.map(|r| r.get(0)), &rule);
            wait = Some(wait.map_or(w, |v| v.max(w)));
        }
        if let Some(wait_ms) = wait {
            return Ok(SharedAdmission::Refused { wait_ms });
        }
        let id: i64 = tx
            .query_one(
                "INSERT INTO login_attempts (username, addr, at) VALUES ($1, $2, $3) RETURNING id",
                &[&username, &addr, &now],
            )
            .await?
            .get(0);
        Ok(SharedAdmission::Admitted {
            id,
            user_recent: by_user.max(0) as usize,
        })
    })
}

pub(super) async fn end(
    store: &PgStore,
    id: i64,
    username: &str,
    addr: &str,
    outcome: AttemptOutcome,
) -> StoreResult<()> {
    in_tx!(store, |tx| {
        match outcome {
            AttemptOutcome::Failed => {
                tx.execute(
                    "UPDATE login_attempts SET failed = true WHERE id = $1",
                    &[&id],
                )
                .await?;
            }
            AttemptOutcome::Unverified => {
                tx.execute("DELETE FROM login_attempts WHERE id = $1", &[&id])
                    .await?;
            }
            AttemptOutcome::Succeeded => {
                // The owner got it right from this address: its earlier
                // typos from here are forgiven. The user's and the
                // address's counts keep them, as in memory.
                tx.execute("DELETE FROM login_attempts WHERE id = $1", &[&id])
                    .await?;
                tx.execute(
                    "UPDATE login_attempts SET forgiven = true
                     WHERE addr = $1 AND username = $2 AND failed",
                    &[&addr, &username],
                )
                .await?;
            }
        }
        Ok(())
    })
}
