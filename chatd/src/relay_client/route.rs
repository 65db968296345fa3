//! How a request reaches the relay: [`RelayClient::call`] tries the URLs in
//! the route's order (`failover.rs`), the background look at the first URL,
//! and the log line when the URL in use changes.

use std::time::{Duration, Instant};

use reqwest::Method;

use super::failover::{Moved, Plan, Resend, moves_on_after_status};
use super::{RelayClient, RelayError, now_ms, refused, transport};

impl RelayClient {
    /// Sends `method path` (with what `build` adds: token, body), giving up
    /// on a URL after `secs` seconds; a URL that cannot be reached, or that
    /// cannot serve now, passes the request on to the next one as
    /// `failover.rs` says. The answer is the first URL's that served it, or
    /// the last failure.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        secs: u64,
        resend: Resend,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, RelayError> {
        let list = &self.inner.list;
        let template = build(
            list[0]
                .http
                .request(method, format!("{}{path}", list[0].base)),
        )
        .timeout(Duration::from_secs(secs))
        .build()
        .map_err(|e| RelayError::Protocol(e.to_string()))?;
        if self.route().first_is_due(Instant::now()) {
            self.probe_first();
        }
        let Plan { order, generation } = self.route().plan();
        let mut template = Some(template);
        let mut last = None;
        for (n, &i) in order.iter().enumerate() {
            // Bodies are bytes, so a copy is cheap; the last try takes the
            // request itself.
            let copy = (n + 1 < order.len())
                .then(|| template.as_ref().and_then(|t| t.try_clone()))
                .flatten();
            let more = copy.is_some();
            let mut req = match copy {
                Some(copy) => copy,
                None => template.take().expect("no request after the last try"),
            };
            let at = reqwest::Url::parse(&format!("{}{path}", list[i].base))
                .map_err(|e| RelayError::Settings(e.to_string()))?;
            *req.url_mut() = at;
            match list[i].http.execute(req).await {
                Ok(resp) if moves_on_after_status(resp.status().as_u16(), resend) => {
                    let err = refused(resp).await;
                    self.route().failed(i, now_ms(), err.to_string());
                    if !more {
                        return Err(err);
                    }
                    last = Some(err);
                }
                Ok(resp) => {
                    let moved = self.route().answered(i, generation, Instant::now());
                    if let Some(m) = moved {
                        self.log_move(m);
                    }
                    return Ok(resp);
                }
                Err(e) => {
                    // Refused before any byte of the request went out.
                    let unsent = e.is_connect();
                    let err = transport(e);
                    self.route().failed(i, now_ms(), err.to_string());
                    let moves_on = match err {
                        // Whoever answered there failed to prove it is the
                        // relay: never routed around (docs/SECURITY.md §2.1).
                        RelayError::Tls { .. } => false,
                        _ => unsent || resend == Resend::Always,
                    };
                    if !moves_on || !more {
                        return Err(err);
                    }
                    last = Some(err);
                }
            }
        }
        Err(last.unwrap_or_else(|| RelayError::Settings("no relay URL".into())))
    }

    /// Looks at the first URL in the background (`GET /v1/health`, 10 s at
    /// most) and goes back to it if it answers; a failure, TLS or other, is
    /// only recorded (docs/SECURITY.md §2.1). No user request waits on it.
    fn probe_first(&self) {
        let client = self.clone();
        tokio::spawn(async move {
            let first = &client.inner.list[0];
            let generation = client.route().plan().generation;
            let request = first
                .http
                .get(format!("{}/v1/health", first.base))
                .timeout(Duration::from_secs(10))
                .send();
            match request.await {
                Ok(resp) if resp.status().is_success() => {
                    let moved = client.route().answered(0, generation, Instant::now());
                    if let Some(m) = moved {
                        client.log_move(m);
                    }
                }
                Ok(resp) => {
                    let err = refused(resp).await;
                    client.route().failed(0, now_ms(), err.to_string());
                }
                Err(e) => {
                    let err = transport(e);
                    client.route().failed(0, now_ms(), err.to_string());
                }
            }
        });
    }

    /// One line when requests go to another URL from now on; the URLs and
    /// the failure carry no secret (a URL has no credentials, see [`check_url`]).
    fn log_move(&self, m: Moved) {
        let (from, to) = (&self.inner.list[m.from].base, &self.inner.list[m.to].base);
        match m.why {
            Some(why) => {
                tracing::warn!(from = %from, to = %to, why = %why, "relay URL failed; using the next")
            }
            None => tracing::info!(from = %from, to = %to, "relay URL in use changed"),
        }
    }
}
