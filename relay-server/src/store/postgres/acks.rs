//! A batch's acks at once: one DELETE of the acking devices' copies, one of
//! the envelopes no device still has to fetch, one INSERT remembering them
//! as delivered and one UPDATE of the counts, whatever the batch's size
//! (the SQLite writer's `Ack`, set-wise).

use std::collections::HashMap;

use super::mail::Usage;
use super::write::Tx;
use crate::store::StoreResult;

/// One ack job: its index in the batch, the recipient, its device, the ids.
pub(super) type AckJob<'a> = (usize, &'a str, &'a str, &'a [String]);

/// Acks `acks` in `tx`, whose batch holds every recipient's lock (so that
/// two devices acking the last two copies of one envelope at once cannot
/// each leave it for the other); returns how many copies each job deleted,
/// by index.
pub(super) async fn ack_all(
    tx: &Tx<'_>,
    usage: &mut Usage,
    acks: &[AckJob<'_>],
    now: i64,
) -> Result<Vec<(usize, StoreResult<usize>)>, tokio_postgres::Error> {
    if acks.is_empty() {
        return Ok(Vec::new());
    }
    let (mut job, mut user, mut device, mut id) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (k, (_, recipient, dev, ids)) in acks.iter().enumerate() {
        for one in ids.iter() {
            job.push(k as i32);
            user.push(*recipient);
            device.push(*dev);
            id.push(one.as_str());
        }
    }
    let stmt = tx
        .prepare_cached(
            "DELETE FROM copies c
             USING mailbox m, unnest($1::int[], $2::text[], $3::text[], $4::text[]) AS t(k, u, d, i)
             WHERE c.username = t.u AND c.device_id = t.d AND m.seq = c.seq
               AND m.recipient = t.u AND m.id = t.i
             RETURNING t.k, t.u, t.i",
        )
        .await?;
    let mut counts = vec![0usize; acks.len()];
    let (mut done_user, mut done_id) = (Vec::new(), Vec::new());
    for row in tx.query(&stmt, &[&job, &user, &device, &id]).await? {
        counts[row.get::<_, i32>(0) as usize] += 1;
        done_user.push(row.get::<_, String>(1));
        done_id.push(row.get::<_, String>(2));
    }
    if !done_id.is_empty() {
        let stmt = tx
            .prepare_cached(
                "DELETE FROM mailbox m USING unnest($1::text[], $2::text[]) AS t(u, i)
                 WHERE m.recipient = t.u AND m.id = t.i
                   AND NOT EXISTS (SELECT 1 FROM copies c WHERE c.seq = m.seq)
                 RETURNING m.recipient, m.sender, m.id, m.digest, m.size",
            )
            .await?;
        let gone = tx.query(&stmt, &[&done_user, &done_id]).await?;
        if !gone.is_empty() {
            let recipient: Vec<String> = gone.iter().map(|r| r.get(0)).collect();
            let sender: Vec<String> = gone.iter().map(|r| r.get(1)).collect();
            let ids: Vec<String> = gone.iter().map(|r| r.get(2)).collect();
            let digest: Vec<Vec<u8>> = gone.iter().map(|r| r.get(3)).collect();
            let size: Vec<i64> = gone.iter().map(|r| r.get(4)).collect();
            // Remembered, so that a sender's retry is answered 200.
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO delivered (sender, id, recipient, digest, acked_at)
                     SELECT s, i, r, d, $5
                     FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]) AS t(s, i, r, d)
                     ON CONFLICT (sender, id, recipient)
                     DO UPDATE SET digest = EXCLUDED.digest, acked_at = EXCLUDED.acked_at",
                )
                .await?;
            tx.execute(&stmt, &[&sender, &ids, &recipient, &digest, &now])
                .await?;
            let stmt = tx
                .prepare_cached(
                    "UPDATE accounts a SET pending_count = pending_count - c.n,
                                           pending_bytes = pending_bytes - c.b
                     FROM (SELECT r, count(*) AS n, sum(z)::bigint AS b
                           FROM unnest($1::text[], $2::bigint[]) AS t(r, z) GROUP BY r) c
                     WHERE a.username = c.r",
                )
                .await?;
            tx.execute(&stmt, &[&recipient, &size]).await?;
            let mut freed: HashMap<&str, (i64, i64)> = HashMap::new();
            for (r, z) in recipient.iter().zip(&size) {
                let f = freed.entry(r.as_str()).or_default();
                *f = (f.0 + 1, f.1 + z);
            }
            for (r, (n, b)) in freed {
                if let Some(u) = usage.get_mut(r) {
                    *u = (u.0 - n, u.1 - b);
                }
            }
        }
    }
    Ok(acks
        .iter()
        .zip(counts)
        .map(|((index, ..), n)| (*index, Ok(n)))
        .collect())
}
