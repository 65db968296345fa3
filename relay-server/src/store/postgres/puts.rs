//! A batch's v1 PUTs at once (the hottest write): the checks for every
//! envelope in two queries, then one INSERT of the mailbox rows, one of
//! their copies and one UPDATE of the counts, whatever the batch's size.
//! Decisions are made in job order with the batch's own earlier PUTs
//! counted, so that the answers are those the envelopes would get one by
//! one (docs/RELAY.md, "Put an envelope"; the SQLite writer's `put`).

use std::collections::HashMap;

use super::mail::Usage;
use super::write::Tx;
use crate::store::{NewEnvelope, PutOutcome, Quota, StoreError, StoreResult};

/// A stored envelope as a later one of the batch sees it: (sender, digest).
type Match<'a> = (&'a str, &'a [u8]);

/// What one envelope's (sender, id) or (recipient, id) already matches.
#[derive(Default)]
struct Seen {
    /// Pending: (sender, digest) of each match.
    pending: Vec<(String, Vec<u8>)>,
    /// Acknowledged: (sender, digest) of each match.
    delivered: Vec<(String, Vec<u8>)>,
}

/// Stores `puts` (index in the batch, envelope, quota) in `tx`, whose batch
/// holds every recipient's lock; returns each one's answer by index.
pub(super) async fn put_all(
    tx: &Tx<'_>,
    usage: &mut Usage,
    woken: &mut Vec<String>,
    puts: &[(usize, &NewEnvelope, Quota)],
    now: i64,
) -> Result<Vec<(usize, StoreResult<PutOutcome>)>, tokio_postgres::Error> {
    if puts.is_empty() {
        return Ok(Vec::new());
    }
    let senders: Vec<&str> = puts.iter().map(|(_, e, _)| e.sender.as_str()).collect();
    let ids: Vec<&str> = puts.iter().map(|(_, e, _)| e.id.as_str()).collect();
    let recipients: Vec<&str> = puts.iter().map(|(_, e, _)| e.recipient.as_str()).collect();
    let mut seen: Vec<Seen> = (0..puts.len()).map(|_| Seen::default()).collect();
    // What each (sender, id) or (recipient, id) matches, pending or acked.
    // A lateral lookup per envelope keeps to the indexes whatever the
    // table's statistics: a plan cached while `delivered` was empty (a
    // new relay) would otherwise hash-join it by scanning it whole, for
    // every batch, as it grows (docs/BENCHMARKS.md, "Relay on PostgreSQL").
    for (table, pending) in [("mailbox", true), ("delivered", false)] {
        let stmt = tx
            .prepare_cached(&format!(
                "SELECT t.n, x.sender, x.digest
                 FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(s, i, r, n)
                 CROSS JOIN LATERAL (
                     SELECT y.sender, y.digest FROM {table} y WHERE y.sender = t.s AND y.id = t.i
                     UNION ALL
                     SELECT y.sender, y.digest FROM {table} y WHERE y.recipient = t.r AND y.id = t.i
                 ) x"
            ))
            .await?;
        for row in tx.query(&stmt, &[&senders, &ids, &recipients]).await? {
            let n = row.get::<_, i64>(0) as usize - 1;
            let found = (row.get::<_, String>(1), row.get::<_, Vec<u8>>(2));
            if pending {
                seen[n].pending.push(found);
            } else {
                seen[n].delivered.push(found);
            }
        }
    }
    // This batch's own stores count as pending for the envelopes after them.
    let mut stored_here: HashMap<(&str, &str), Vec<Match<'_>>> = HashMap::new();
    let mut answers = Vec::with_capacity(puts.len());
    let mut rows: Vec<usize> = Vec::new();
    for (k, (index, env, quota)) in puts.iter().enumerate() {
        let mine = |sender: &str, digest: &[u8]| sender == env.sender && digest == &env.digest[..];
        let mut pending: Vec<Match<'_>> = seen[k]
            .pending
            .iter()
            .map(|(s, d)| (s.as_str(), d.as_slice()))
            .collect();
        for key in [
            (env.sender.as_str(), env.id.as_str()),
            (env.recipient.as_str(), env.id.as_str()),
        ] {
            if let Some(earlier) = stored_here.get(&key) {
                pending.extend(earlier.iter().copied());
            }
        }
        let answer = if !pending.is_empty() {
            // Pending under this id: a retry of these very bytes, or a clash.
            if pending.iter().all(|(s, d)| mine(s, d)) {
                Ok(PutOutcome::Duplicate)
            } else {
                Err(StoreError::Conflict)
            }
        } else if let Some((s, d)) = seen[k]
            .delivered
            .iter()
            .find(|(s, _)| *s == env.sender)
            .or_else(|| seen[k].delivered.first())
        {
            // Acknowledged: the sender's own earlier use first.
            if mine(s, d) {
                Ok(PutOutcome::Duplicate)
            } else {
                Err(StoreError::Conflict)
            }
        } else {
            let len = env.body.len() as i64;
            match usage.get_mut(&env.recipient) {
                None => Err(StoreError::UnknownRecipient),
                Some((count, bytes))
                    if *count as u64 + 1 > quota.max_count
                        || (*bytes + len) as u64 > quota.max_bytes =>
                {
                    Err(StoreError::QuotaExceeded)
                }
                Some((count, bytes)) => {
                    *count += 1;
                    *bytes += len;
                    rows.push(k);
                    let entry = (env.sender.as_str(), &env.digest[..]);
                    stored_here
                        .entry((env.sender.as_str(), env.id.as_str()))
                        .or_default()
                        .push(entry);
                    stored_here
                        .entry((env.recipient.as_str(), env.id.as_str()))
                        .or_default()
                        .push(entry);
                    Ok(PutOutcome::Stored)
                }
            }
        };
        answers.push((*index, answer));
    }
    if rows.is_empty() {
        return Ok(answers);
    }
    let pick = |f: &dyn Fn(&NewEnvelope) -> String| -> Vec<String> {
        rows.iter().map(|&k| f(puts[k].1)).collect()
    };
    let (r, s, i) = (
        pick(&|e| e.recipient.clone()),
        pick(&|e| e.sender.clone()),
        pick(&|e| e.id.clone()),
    );
    let ts: Vec<i64> = rows.iter().map(|&k| puts[k].1.ts as i64).collect();
    let body: Vec<&[u8]> = rows.iter().map(|&k| puts[k].1.body.as_slice()).collect();
    let digest: Vec<&[u8]> = rows.iter().map(|&k| &puts[k].1.digest[..]).collect();
    let size: Vec<i64> = rows.iter().map(|&k| puts[k].1.body.len() as i64).collect();
    // A sender writing to its own account gives its own device no copy.
    let skip: Vec<Option<&str>> = rows
        .iter()
        .map(|&k| {
            let e = puts[k].1;
            (e.recipient == e.sender).then_some(e.sender_device.as_str())
        })
        .collect();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO mailbox (recipient, sender, id, ts, body, digest, received_at, size)
             SELECT r, s, i, t, b, d, $7, z
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[], $6::bytea[], $8::bigint[])
                  AS u(r, s, i, t, b, d, z)
             RETURNING seq, sender, id, recipient",
        )
        .await?;
    // RETURNING's order is not promised: each row is found by its key.
    let inserted: HashMap<(String, String, String), i64> = tx
        .query(&stmt, &[&r, &s, &i, &ts, &body, &digest, &now, &size])
        .await?
        .iter()
        .map(|row| ((row.get(1), row.get(2), row.get(3)), row.get(0)))
        .collect();
    let seqs: Vec<i64> = (0..rows.len())
        .map(|n| inserted[&(s[n].clone(), i[n].clone(), r[n].clone())])
        .collect();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO copies (username, device_id, seq)
             SELECT d.username, d.device_id, u.q
             FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(q, r, skip)
             JOIN devices d ON d.username = u.r AND d.gone_at IS NULL
                           AND d.device_id IS DISTINCT FROM u.skip
             RETURNING seq",
        )
        .await?;
    let copied: std::collections::HashSet<i64> = tx
        .query(&stmt, &[&seqs, &r, &skip])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    // Nobody to deliver to (the sender's own account with no other
    // device): answered as stored, with nothing kept or counted.
    let nobody: Vec<i64> = seqs
        .iter()
        .copied()
        .filter(|q| !copied.contains(q))
        .collect();
    if !nobody.is_empty() {
        tx.execute("DELETE FROM mailbox WHERE seq = ANY($1)", &[&nobody])
            .await?;
    }
    let mut counted_r = Vec::new();
    let mut counted_z = Vec::new();
    for (n, q) in seqs.iter().enumerate() {
        if copied.contains(q) {
            counted_r.push(r[n].clone());
            counted_z.push(size[n]);
        } else if let Some(u) = usage.get_mut(&r[n]) {
            *u = (u.0 - 1, u.1 - size[n]);
        }
    }
    let stmt = tx
        .prepare_cached(
            "UPDATE accounts a SET pending_count = pending_count + c.n, pending_bytes = pending_bytes + c.b
             FROM (SELECT r, count(*) AS n, sum(z)::bigint AS b
                   FROM unnest($1::text[], $2::bigint[]) AS u(r, z) GROUP BY r) c
             WHERE a.username = c.r",
        )
        .await?;
    tx.execute(&stmt, &[&counted_r, &counted_z]).await?;
    woken.extend(counted_r);
    woken.sort_unstable();
    woken.dedup();
    Ok(answers)
}
