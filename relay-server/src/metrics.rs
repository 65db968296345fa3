//! Prometheus metrics (docs/RELAY.md §9), served on `--metrics-listen` only,
//! never on the public address. Labels name routes as the router knows them
//! (`/v1/messages/{id}`), methods and statuses: never a user, token or id.
//!
//! The counters live in one process-wide [`Metrics`] (`metrics()`), which the
//! HTTP layer, the long-poll queue, the throttle, the blob routes and both
//! stores write to; the store's totals (mailbox depth, stored bytes) are read
//! from the store when scraped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::server::AppState;

/// Request latency buckets, in seconds (long-polls wait up to 60 s).
const LATENCY: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Commit latency buckets, in seconds.
const COMMIT: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];
/// Writes per SQLite transaction (the writer's group commit).
const BATCH: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// A histogram with fixed buckets.
#[derive(Clone, Debug)]
struct Histogram {
    bounds: &'static [f64],
    /// Observations at or below each bound (not cumulative), then above all.
    counts: Vec<u64>,
    sum: f64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        }
    }

    fn observe(&mut self, value: f64) {
        let i = self
            .bounds
            .iter()
            .position(|&b| value <= b)
            .unwrap_or(self.bounds.len());
        self.counts[i] += 1;
        self.sum += value;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count;
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.counts[self.bounds.len()];
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}"
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// Requests of one (route, method): answers by status, and latency.
struct RouteStats {
    statuses: BTreeMap<u16, u64>,
    latency: Histogram,
}

/// Every metric the relay keeps in memory.
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, &'static str), RouteStats>>,
    /// Long-polls waiting now.
    pub long_polls: AtomicI64,
    /// Password checks refused with 429 by the login throttle.
    pub logins_throttled: AtomicU64,
    /// Blob bytes received (made durable) and sent.
    pub blob_bytes_received: AtomicU64,
    /// Blob bytes sent to readers.
    pub blob_bytes_sent: AtomicU64,
    /// Cross-instance wake-ups heard (PostgreSQL's LISTEN).
    pub wakeups_heard: AtomicU64,
    batch_sizes: Mutex<Histogram>,
    commits: Mutex<Histogram>,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| Metrics {
        routes: Mutex::new(BTreeMap::new()),
        long_polls: AtomicI64::new(0),
        logins_throttled: AtomicU64::new(0),
        blob_bytes_received: AtomicU64::new(0),
        blob_bytes_sent: AtomicU64::new(0),
        wakeups_heard: AtomicU64::new(0),
        batch_sizes: Mutex::new(Histogram::new(BATCH)),
        commits: Mutex::new(Histogram::new(COMMIT)),
    })
}

impl Metrics {
    /// One answered request.
    pub fn request(&self, route: &str, method: &'static str, status: u16, took: Duration) {
        let mut routes = self.routes.lock().expect("metrics lock");
        let stats = routes
            .entry((route.to_owned(), method))
            .or_insert_with(|| RouteStats {
                statuses: BTreeMap::new(),
                latency: Histogram::new(LATENCY),
            });
        *stats.statuses.entry(status).or_default() += 1;
        stats.latency.observe(took.as_secs_f64());
    }

    /// One store commit of `writes` writes that took `took` (SQLite's
    /// writer; PostgreSQL's transactions are one write each).
    pub fn commit(&self, writes: usize, took: Duration) {
        self.batch_sizes
            .lock()
            .expect("metrics lock")
            .observe(writes as f64);
        self.commits
            .lock()
            .expect("metrics lock")
            .observe(took.as_secs_f64());
    }

    /// The Prometheus text exposition of everything, with the store's totals.
    pub fn render(&self, store: Option<&crate::store::StoreStats>) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP relay_requests_total HTTP requests answered, by route, method and status.\n",
        );
        out.push_str("# TYPE relay_requests_total counter\n");
        let routes = self.routes.lock().expect("metrics lock");
        for ((route, method), stats) in routes.iter() {
            for (status, n) in &stats.statuses {
                let _ = writeln!(
                    out,
                    "relay_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP relay_request_duration_seconds Time from a request's head to its answer, by route and method.\n");
        out.push_str("# TYPE relay_request_duration_seconds histogram\n");
        for ((route, method), stats) in routes.iter() {
            let labels = format!("route=\"{}\",method=\"{method}\"", escape(route));
            stats
                .latency
                .write(&mut out, "relay_request_duration_seconds", &labels);
        }
        drop(routes);
        let gauge = |out: &mut String, name: &str, help: &str, kind: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        gauge(
            &mut out,
            "relay_long_polls_waiting",
            "Long-polls waiting for mail now, on this instance.",
            "gauge",
            self.long_polls.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "relay_logins_throttled_total",
            "Password checks refused with 429 by the login throttle, on this instance.",
            "counter",
            self.logins_throttled.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "relay_blob_bytes_received_total",
            "Blob bytes uploaded and made durable through this instance.",
            "counter",
            self.blob_bytes_received.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "relay_blob_bytes_sent_total",
            "Blob bytes sent to readers by this instance.",
            "counter",
            self.blob_bytes_sent.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "relay_wakeups_heard_total",
            "Notices of mail stored by another instance (PostgreSQL LISTEN).",
            "counter",
            self.wakeups_heard.load(Ordering::Relaxed).to_string(),
        );
        out.push_str("# HELP relay_store_batch_size Writes per store transaction (SQLite's group commit; 1 on PostgreSQL).\n");
        out.push_str("# TYPE relay_store_batch_size histogram\n");
        self.batch_sizes.lock().expect("metrics lock").write(
            &mut out,
            "relay_store_batch_size",
            "",
        );
        out.push_str("# HELP relay_store_commit_seconds Time a store transaction's commit took.\n");
        out.push_str("# TYPE relay_store_commit_seconds histogram\n");
        self.commits.lock().expect("metrics lock").write(
            &mut out,
            "relay_store_commit_seconds",
            "",
        );
        if let Some(s) = store {
            for (name, help, value) in [
                ("relay_accounts", "Accounts in the store.", s.accounts),
                (
                    "relay_mailbox_envelopes",
                    "Envelopes pending in every mailbox.",
                    s.pending_envelopes,
                ),
                (
                    "relay_mailbox_bytes",
                    "Bytes of envelopes pending in every mailbox.",
                    s.pending_bytes,
                ),
                ("relay_blobs", "Blobs recorded (complete or not).", s.blobs),
                (
                    "relay_blob_bytes",
                    "Blob bytes stored durably.",
                    s.blob_bytes,
                ),
            ] {
                gauge(&mut out, name, help, "gauge", value.to_string());
            }
        }
        out
    }
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The route a matched request took, set by [`mark_route`] for [`track`].
#[derive(Clone)]
struct Routed(String);

/// Inner layer (`route_layer`): notes the matched route on the answer.
pub async fn mark_route(path: MatchedPath, request: Request, next: Next) -> Response {
    let route = path.as_str().to_owned();
    let mut response = next.run(request).await;
    response.extensions_mut().insert(Routed(route));
    response
}

/// Outer layer: counts and times every request; one no route matched is
/// `route="unmatched"` (its path is whatever the client sent).
pub async fn track(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<Routed>()
        .map_or("unmatched", |r| r.0.as_str());
    metrics().request(route, method, response.status().as_u16(), started.elapsed());
    response
}

fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics` of the metrics listener.
pub async fn serve_metrics(State(state): State<AppState>) -> Response {
    let stats = match state.store.stats().await {
        Ok(stats) => Some(stats),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not read the store's totals");
            None
        }
    };
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics().render(stats.as_ref()),
    )
        .into_response()
}

/// The metrics listener's router: `GET /metrics` and nothing else.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(serve_metrics))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let mut h = Histogram::new(&[1.0, 2.0]);
        for v in [0.5, 1.5, 1.5, 9.0] {
            h.observe(v);
        }
        let mut out = String::new();
        h.write(&mut out, "x", "a=\"b\"");
        assert_eq!(
            out,
            "x_bucket{a=\"b\",le=\"1\"} 1\nx_bucket{a=\"b\",le=\"2\"} 3\nx_bucket{a=\"b\",le=\"+Inf\"} 4\n\
             x_sum{a=\"b\"} 12.5\nx_count{a=\"b\"} 4\n"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
