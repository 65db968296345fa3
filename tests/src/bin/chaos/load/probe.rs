//! The probes: the users' own relay requests, timed while the flood runs.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use e2e::runtime;

use crate::phase::{Shared, sleep_unless_stopped};

/// What the probes measured.
#[derive(Default)]
pub struct Probe {
    /// Wall time of each request answered 200 or 204.
    pub latencies: Vec<Duration>,
    /// Requests answered 429.
    pub throttled: u64,
    /// Other answers by HTTP status.
    pub other: BTreeMap<u16, u64>,
    /// Requests that found the relay down.
    pub errors: u64,
}

/// Each user's own relay requests, timed: `GET /v1/messages?wait=0&limit=1`
/// with the user's session, round robin, about 40 a second. Requests that
/// found the relay down (killed) count as errors, not latencies.
pub fn prober(url: &str, tokens: &[(String, String)], shared: &Shared) -> Probe {
    let rt = runtime();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");
    let mut probe = Probe::default();
    let mut i = 0;
    while !shared.stop.load(Ordering::SeqCst) {
        let token = &tokens[i % tokens.len()].1;
        i += 1;
        let started = Instant::now();
        let result = rt.block_on(async {
            let r = http
                .get(format!("{url}/v1/messages?wait=0&limit=1"))
                .bearer_auth(token)
                .send()
                .await?;
            let status = r.status().as_u16();
            r.bytes().await?;
            Ok::<u16, reqwest::Error>(status)
        });
        let took = started.elapsed();
        match result {
            Ok(200 | 204) => probe.latencies.push(took),
            Ok(429) => probe.throttled += 1,
            Ok(code) => *probe.other.entry(code).or_default() += 1,
            Err(_) => probe.errors += 1,
        }
        sleep_unless_stopped(Duration::from_millis(25), shared);
    }
    probe
}
