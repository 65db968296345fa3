//! Work that costs milliseconds of RSA per item (opening a batch, sealing
//! the outbox) spread over every core.

use std::sync::{Arc, Mutex};

use super::DaemonError;

/// How many blocking threads open one batch: one per core (an open costs
/// milliseconds of RSA, a blocking task microseconds to start).
fn open_lanes(batch: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(batch).max(1)
}

/// Runs `f` over `items` on one blocking thread per core, each thread
/// taking the next item when it is free (an item costs milliseconds of RSA;
/// a core busy elsewhere simply takes fewer). Results keep the items' order;
/// an item whose `f` panicked gives `None`, so one bad item (a bug in
/// parsing or RSA) fails only itself, never a whole batch forever.
pub(super) async fn on_all_cores<T, R>(
    items: Vec<T>,
    f: impl Fn(T) -> R + Send + Sync + 'static,
) -> Result<Vec<Option<R>>, DaemonError>
where
    T: Send + 'static,
    R: Send + 'static,
{
    let n = items.len();
    let queue = Arc::new(Mutex::new(items.into_iter().enumerate()));
    let f = Arc::new(f);
    let mut lanes = Vec::new();
    for _ in 0..open_lanes(n) {
        let (queue, f) = (queue.clone(), f.clone());
        lanes.push(tokio::task::spawn_blocking(move || {
            let mut done = Vec::new();
            loop {
                let next = queue.lock().expect("work queue lock").next();
                let Some((i, item)) = next else {
                    return done;
                };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)));
                if result.is_err() {
                    tracing::error!("a cryptographic operation panicked; its item is dropped");
                }
                done.push((i, result.ok()));
            }
        }));
    }
    let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
    for lane in lanes {
        let done = lane
            .await
            .map_err(|e| DaemonError::Internal(e.to_string()))?;
        for (i, r) in done {
            out[i] = r;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_on_all_cores_keeps_order_and_a_panic_fails_only_its_item() {
        let out = on_all_cores((0..40u32).collect(), |i| {
            if i == 7 {
                panic!("a bug in one item");
            }
            i * 2
        })
        .await
        .unwrap();
        assert_eq!(out.len(), 40);
        for (i, r) in out.iter().enumerate() {
            let expected = (i != 7).then_some(i as u32 * 2);
            assert_eq!(*r, expected, "item {i}");
        }
        assert!(
            on_all_cores(Vec::<u32>::new(), |i| i)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
