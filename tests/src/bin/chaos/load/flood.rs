//! The garbage flood: a fourth client with a valid token sends junk as fast
//! as the relay answers, to meet the relay's per-token rate limit.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::rngs::StdRng;
use rand::{Rng as _, RngExt as _, SeedableRng};

use crate::FLOODER;
use crate::phase::Shared;

/// Concurrent requests the flooder keeps in flight.
const FLOOD_CONCURRENCY: usize = 16;

/// What the flooder got.
#[derive(Default)]
pub struct Flood {
    /// Requests sent.
    pub total: u64,
    /// Answers by HTTP status.
    pub codes: BTreeMap<u16, u64>,
    /// Transport errors (e.g. the relay was down).
    pub errors: u64,
    /// How long it flooded.
    pub secs: f64,
}

/// A client with a valid token sending junk as fast as the relay answers.
pub fn flooder(url: &str, token: &str, seed: u64, shared: &Shared) -> Flood {
    let started = Instant::now();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(FLOOD_CONCURRENCY)
        .build()
        .expect("http client");
    let codes = Mutex::new(BTreeMap::<u16, u64>::new());
    let errors = AtomicU64::new(0);
    let total = AtomicU64::new(0);
    // The flooder stands for a client on another machine: its own CPU time
    // is not the system's under test, so its threads yield to everyone else
    // (nice 19). The relay's work answering it is measured as it is.
    nice_this_thread();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(nice_this_thread)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tasks = (0..FLOOD_CONCURRENCY).map(|t| {
            let (http, codes, errors, total) = (&http, &codes, &errors, &total);
            async move {
                let mut rng = StdRng::seed_from_u64(seed.wrapping_add(t as u64));
                while !shared.stop.load(Ordering::Relaxed) {
                    let req = junk_request(http, url, token, &mut rng);
                    total.fetch_add(1, Ordering::Relaxed);
                    match req.send().await {
                        Ok(r) => {
                            *codes
                                .lock()
                                .unwrap()
                                .entry(r.status().as_u16())
                                .or_default() += 1;
                            let _ = r.bytes().await;
                        }
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            // The relay is down (killed): do not spin.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }
        });
        futures_join_all(tasks).await;
    });
    Flood {
        total: total.into_inner(),
        codes: codes.into_inner().unwrap(),
        errors: errors.into_inner(),
        secs: started.elapsed().as_secs_f64(),
    }
}

/// Lowers this thread's priority to nice 19.
fn nice_this_thread() {
    // SAFETY: setpriority(2) on this thread's own id (Linux: per thread).
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}

/// Runs futures concurrently on the current task (no extra dependency).
async fn futures_join_all<F: std::future::Future<Output = ()>>(fs: impl Iterator<Item = F>) {
    let mut set = Vec::new();
    for f in fs {
        set.push(Box::pin(f));
    }
    std::future::poll_fn(|cx| {
        set.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if set.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

/// 32 random hex digits, shaped like a message id.
fn random_id(rng: &mut StdRng) -> String {
    format!("{:032x}", rng.random::<u128>())
}

/// `n` random bytes, base64.
fn b64_random(rng: &mut StdRng, n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// One piece of junk: malformed or oversized bodies, bad queries, envelopes
/// that are not the sender's own or go nowhere, unknown routes and methods.
fn junk_request(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    rng: &mut StdRng,
) -> reqwest::RequestBuilder {
    let id = random_id(rng);
    let shaped = |from: &str, to: &str, rng: &mut StdRng| {
        serde_json::json!({"v":1,"id":id,"from":from,"to":to,"ts":1_764_000_000_000u64,
            "wk":b64_random(rng, 256),"iv":b64_random(rng, 16),"ct":b64_random(rng, 272),
            "tag":b64_random(rng, 32),"sig":b64_random(rng, 256)})
        .to_string()
    };
    let put = http
        .put(format!("{url}/v1/messages/{id}"))
        .bearer_auth(token)
        .header("content-type", "application/json");
    match rng.random_range(0..1000) {
        // Oversized: over the 6 MiB body cap.
        0 => put.body(vec![b'{'; 6 * 1024 * 1024 + 4096]),
        1..200 => {
            let mut junk = vec![0u8; rng.random_range(1..2048)];
            rng.fill_bytes(&mut junk);
            put.body(junk)
        }
        200..350 => put.body(r#"{"v":1,"id":"zz","from":[],"ct":null}"#),
        350..450 => put.body(shaped("alice", "bob", rng)),
        450..520 => put.body(shaped(FLOODER, "nobody", rng)),
        520..650 => http
            .post(format!("{url}/v1/messages/ack"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(r#"{"ids":["../../etc/passwd",7,null]}"#),
        650..750 => http
            .get(format!("{url}/v1/messages?wait=9999&limit=0&bogus=1"))
            .bearer_auth(token),
        750..850 => http
            .get(format!("{url}/v1/messages/not-an-id"))
            .bearer_auth(token),
        850..900 => http
            .delete(format!("{url}/v1/messages/{id}"))
            .bearer_auth(token),
        900..950 => http
            .get(format!("{url}/v1/directory?prefix=%00%ff&limit=99999"))
            .bearer_auth(token),
        _ => http
            .get(format!("{url}/v1/{}", random_id(rng)))
            .bearer_auth(token),
    }
}
