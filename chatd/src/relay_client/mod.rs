//! The relay's HTTP API v1 (docs/RELAY.md, `/v1/openapi.json`), as chatd uses
//! it: at one of the relay's URLs at a time (`failover.rs`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipc_schema::Secret;
use ipc_schema::relay::{
    AckRequest, ChangePasswordRequest, DeleteAccountRequest, DeviceList, DeviceLogin, ErrorBody,
    LoginRequest, LoginResponse, RegisterRequest, RevokeDeviceRequest,
};
mod blobs;
mod failover;
mod links;
mod proxy;
mod route;
mod tls;
mod url;

pub use failover::RETURN_AFTER;
pub use proxy::{proxy_for, shown as shown_proxy};
pub use tls::{TlsReason, cert_facts, describe_ca, parse_pin};
pub use url::{MAX_RELAY_URLS, UrlError, check_url, check_urls, is_loopback_host};

use failover::{Resend, Route};

use reqwest::{Method, StatusCode};
use serde_json::value::RawValue;

/// Why a relay call failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The relay could not be reached (or timed out).
    #[error("relay unreachable: {0}")]
    Unreachable(String),
    /// The relay answered with an error.
    #[error("relay refused ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The error body's code.
        code: String,
        /// The error body's message.
        message: String,
        /// `Retry-After` in seconds, when the relay sent one (429, 503).
        retry_after: Option<u64>,
    },
    /// The relay's TLS certificate was refused.
    #[error("{message}")]
    Tls {
        /// Why, in one word for scripts.
        reason: TlsReason,
        /// Why, in one sentence for people, with the fix.
        message: String,
    },
    /// The relay's settings cannot be used (URL, CA file, pin).
    #[error("{0}")]
    Settings(String),
    /// The relay answered something that is not the API.
    #[error("unexpected answer from the relay: {0}")]
    Protocol(String),
}

impl RelayError {
    /// True for 401: the token is missing, expired or revoked.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, RelayError::Refused { status: 401, .. })
    }

    /// True for 429: this client is asked to slow down.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, RelayError::Refused { status: 429, .. })
    }

    /// True when retrying later can help (network, 5xx, 429, 507).
    pub fn is_transient(&self) -> bool {
        match self {
            // A certificate gets renewed, a clock gets fixed: try again later.
            RelayError::Unreachable(_) | RelayError::Tls { .. } => true,
            RelayError::Refused { status, .. } => *status >= 500 || *status == 429,
            RelayError::Protocol(_) | RelayError::Settings(_) => false,
        }
    }

    /// The relay's `Retry-After`, if it sent one, at most 15 minutes: a
    /// relay (or whoever sits on a plain link) cannot park chatd for days,
    /// or overflow its clock.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RelayError::Refused {
                retry_after: Some(s),
                ..
            } => Some(Duration::from_secs((*s).min(MAX_RETRY_AFTER_SECS))),
            _ => None,
        }
    }

    /// True when the relay as a whole cannot take mail now (unreachable,
    /// its certificate refused, throttling us, shutting down or out of
    /// disk): everything waits, not one recipient's queue.
    pub fn relay_wide(&self) -> bool {
        match self {
            RelayError::Unreachable(_) | RelayError::Tls { .. } => true,
            RelayError::Refused { status, .. } => matches!(status, 429 | 503),
            RelayError::Protocol(_) | RelayError::Settings(_) => false,
        }
    }
}

/// The longest `Retry-After` chatd obeys.
const MAX_RETRY_AFTER_SECS: u64 = 15 * 60;

/// What a PUT did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutResult {
    /// 201.
    Stored,
    /// 200: the same envelope was already there (a retry).
    AlreadyStored,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, retry_after: Option<u64>) -> RelayError {
        RelayError::Refused {
            status,
            code: "x".into(),
            message: "x".into(),
            retry_after,
        }
    }

    #[test]
    fn retry_after_is_obeyed_up_to_fifteen_minutes() {
        assert_eq!(
            refused(429, Some(7)).retry_after(),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            refused(503, Some(u64::MAX)).retry_after(),
            Some(Duration::from_secs(MAX_RETRY_AFTER_SECS))
        );
        assert_eq!(refused(429, None).retry_after(), None);
    }

    #[test]
    fn the_relay_being_away_is_told_from_one_recipient_being_away() {
        assert!(RelayError::Unreachable("x".into()).relay_wide());
        let tls = RelayError::Tls {
            reason: TlsReason::Expired,
            message: "x".into(),
        };
        assert!(tls.relay_wide());
        assert!(refused(429, Some(1)).relay_wide());
        assert!(refused(503, Some(30)).relay_wide());
        assert!(!refused(507, None).relay_wide(), "one mailbox full");
        assert!(!refused(500, None).relay_wide());
        assert!(!refused(404, None).relay_wide());
    }
}

/// A client for one relay, reached at one of its URLs at a time (see
/// `relay_client/failover.rs`). Clones share the connections and the route.
#[derive(Clone)]
pub struct RelayClient {
    inner: Arc<Instances>,
}

/// The relay's URLs, a connection pool for each, and where requests go.
struct Instances {
    /// In the order they are tried; never empty.
    list: Vec<Instance>,
    /// Which one is in use, and what each did last.
    route: Mutex<Route>,
}

/// One URL of the relay.
struct Instance {
    /// Its own pool (and proxy: `NO_PROXY` may name one host and not another).
    http: reqwest::Client,
    /// The base URL, without a trailing `/`.
    base: String,
}

/// `Ok(())` for any 2xx, else the relay's error.
async fn success(resp: reqwest::Response) -> Result<(), RelayError> {
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(refused(resp).await)
    }
}

async fn refused(resp: reqwest::Response) -> RelayError {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    match resp.json::<ErrorBody>().await {
        Ok(body) => RelayError::Refused {
            status,
            code: body.error.code,
            message: body.error.message,
            retry_after,
        },
        Err(_) => RelayError::Refused {
            status,
            code: "unknown".into(),
            message: format!("HTTP {status}"),
            retry_after,
        },
    }
}

/// A transport failure: the TLS verdict in words when TLS refused the
/// relay, else the whole chain of causes (never just "error sending
/// request").
fn transport(e: reqwest::Error) -> RelayError {
    let host = e
        .url()
        .and_then(|u| u.host_str())
        .unwrap_or_default()
        .to_owned();
    if let Some((reason, message)) = tls::classify(&e, &host) {
        return RelayError::Tls { reason, message };
    }
    let mut text = e.to_string();
    let mut cur = std::error::Error::source(&e);
    while let Some(cause) = cur {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cur = cause.source();
    }
    RelayError::Unreachable(text)
}

/// The HTTP client for the relay URL `parsed`: its certificate checked as
/// `trust` says, through the proxy the environment names for it (never for
/// a loopback relay).
fn http_client(
    parsed: &reqwest::Url,
    trust: &crate::store::RelayTrust,
) -> Result<reqwest::Client, RelayError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // Drop idle connections before the relay's idle timeout (60 s by
        // default, docs/RELAY.md) closes them under a request.
        .pool_idle_timeout(Duration::from_secs(30))
        // The URL was checked (https:// off loopback); a redirect must
        // not take the password or a token anywhere else.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("chatd/", env!("CARGO_PKG_VERSION")))
        .no_proxy();
    if let Some(proxy) = proxy::proxy_for(parsed) {
        let proxy = reqwest::Proxy::all(proxy.as_str())
            .map_err(|e| RelayError::Settings(format!("proxy {}: {e}", proxy::shown(&proxy))))?;
        builder = builder.proxy(proxy);
    }
    builder = match (&trust.ca_pem, &trust.pin) {
        (Some(_), Some(_)) => {
            return Err(RelayError::Settings(
                "a relay CA and a pin exclude each other; give one".into(),
            ));
        }
        (Some(pem), None) => {
            builder.tls_certs_merge(tls::pem_certificates(pem).map_err(RelayError::Settings)?)
        }
        (None, Some(pin)) => {
            let pin = tls::parse_pin(pin).ok_or_else(|| {
                RelayError::Settings(
                    "a pin is the SHA-256 of the relay's key: 64 hex digits".into(),
                )
            })?;
            let config =
                tls::pinned_config(pin).map_err(|e| RelayError::Settings(e.to_string()))?;
            builder.tls_backend_preconfigured(config)
        }
        (None, None) => builder,
    };
    builder
        .build()
        .map_err(|e| RelayError::Settings(e.to_string()))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl RelayClient {
    /// A client for the relay at `urls` (e.g. `https://relay.example:8443`;
    /// several when the relay runs several instances, the preferred first),
    /// checking its certificate at each as `trust` says.
    pub fn new(
        urls: &[impl AsRef<str>],
        trust: &crate::store::RelayTrust,
    ) -> Result<RelayClient, RelayError> {
        if urls.is_empty() {
            return Err(RelayError::Settings("no relay URL".into()));
        }
        let list = urls
            .iter()
            .map(|url| {
                let url = url.as_ref();
                let parsed =
                    reqwest::Url::parse(url).map_err(|e| RelayError::Settings(e.to_string()))?;
                Ok(Instance {
                    http: http_client(&parsed, trust)?,
                    base: url.trim_end_matches('/').to_owned(),
                })
            })
            .collect::<Result<Vec<_>, RelayError>>()?;
        let route = Mutex::new(Route::new(list.len(), Instant::now()));
        Ok(RelayClient {
            inner: Arc::new(Instances { list, route }),
        })
    }

    /// While on a later URL, looks at the first one every `every` (instead
    /// of [`RETURN_AFTER`]); `[relay] return_to_first_secs`.
    pub fn returning_to_first_after(self, every: Duration) -> RelayClient {
        self.route().set_return_after(every);
        self
    }

    /// The URL requests go to now.
    pub fn current_url(&self) -> String {
        let i = self.route().current();
        self.inner.list[i].base.clone()
    }

    /// Every URL, the one in use marked, with its last failure.
    pub fn relays(&self) -> Vec<ipc_schema::methods::RelayUrlView> {
        let urls: Vec<String> = self.inner.list.iter().map(|i| i.base.clone()).collect();
        self.route().view(&urls)
    }

    fn route(&self) -> std::sync::MutexGuard<'_, Route> {
        self.inner.route.lock().expect("relay route lock")
    }

    /// `POST /v1/accounts`.
    pub async fn register(
        &self,
        username: &str,
        password: &Secret,
        card: serde_json::Value,
        invite: Option<String>,
        device_name: Option<String>,
    ) -> Result<(), RelayError> {
        let body = RegisterRequest {
            username: username.to_owned(),
            password: password.clone(),
            card,
            invite,
            device_name,
        };
        // Twice would be "username taken" for the account just made.
        let resp = self
            .call(Method::POST, "/v1/accounts", 30, Resend::IfUnsent, |r| {
                r.json(&body)
            })
            .await?;
        if resp.status() == StatusCode::CREATED {
            Ok(())
        } else {
            Err(refused(resp).await)
        }
    }

    /// `POST /v1/sessions`.
    pub async fn login(
        &self,
        username: &str,
        password: &Secret,
        device: Option<DeviceLogin>,
    ) -> Result<LoginResponse, RelayError> {
        let body = LoginRequest {
            username: username.to_owned(),
            password: password.clone(),
            device,
        };
        // Twice would make two sessions, or two new devices.
        let resp = self
            .call(Method::POST, "/v1/sessions", 30, Resend::IfUnsent, |r| {
                r.json(&body)
            })
            .await?;
        if resp.status() == StatusCode::CREATED {
            resp.json()
                .await
                .map_err(|e| RelayError::Protocol(e.to_string()))
        } else {
            Err(refused(resp).await)
        }
    }

    /// `DELETE /v1/sessions/current`.
    pub async fn logout(&self, token: &Secret) -> Result<(), RelayError> {
        // Twice would be a 401 for the session just ended.
        let resp = self
            .call(
                Method::DELETE,
                "/v1/sessions/current",
                30,
                Resend::IfUnsent,
                |r| r.bearer_auth(token.expose()),
            )
            .await?;
        success(resp).await
    }

    /// `DELETE /v1/accounts/me`.
    pub async fn delete_account(
        &self,
        token: &Secret,
        password: &Secret,
    ) -> Result<(), RelayError> {
        let body = DeleteAccountRequest {
            password: password.clone(),
        };
        let resp = self
            .call(
                Method::DELETE,
                "/v1/accounts/me",
                30,
                Resend::IfUnsent,
                |r| r.bearer_auth(token.expose()).json(&body),
            )
            .await?;
        success(resp).await
    }

    /// `GET /v1/devices`.
    pub async fn devices(&self, token: &Secret) -> Result<DeviceList, RelayError> {
        let resp = self
            .call(Method::GET, "/v1/devices", 30, Resend::Always, |r| {
                r.bearer_auth(token.expose())
            })
            .await?;
        if resp.status() == StatusCode::OK {
            resp.json()
                .await
                .map_err(|e| RelayError::Protocol(e.to_string()))
        } else {
            Err(refused(resp).await)
        }
    }

    /// `DELETE /v1/devices/{id}`: revokes the device and changes the password.
    pub async fn revoke_device(
        &self,
        token: &Secret,
        id: &str,
        password: &Secret,
        new_password: &Secret,
    ) -> Result<(), RelayError> {
        let body = RevokeDeviceRequest {
            password: password.clone(),
            new_password: new_password.clone(),
        };
        // Checked by the caller; never a path of its own choosing.
        debug_assert!(ipc_schema::relay::is_valid_device_id(id));
        // Twice would be a 401: the password changed the first time.
        let resp = self
            .call(
                Method::DELETE,
                &format!("/v1/devices/{id}"),
                30,
                Resend::IfUnsent,
                |r| r.bearer_auth(token.expose()).json(&body),
            )
            .await?;
        success(resp).await
    }

    /// `PUT /v1/accounts/me/password`.
    pub async fn change_password(
        &self,
        token: &Secret,
        password: &Secret,
        new_password: &Secret,
    ) -> Result<(), RelayError> {
        let body = ChangePasswordRequest {
            password: password.clone(),
            new_password: new_password.clone(),
        };
        let resp = self
            .call(
                Method::PUT,
                "/v1/accounts/me/password",
                30,
                Resend::IfUnsent,
                |r| r.bearer_auth(token.expose()).json(&body),
            )
            .await?;
        success(resp).await
    }

    /// `PUT /v1/backup`.
    pub async fn put_backup(&self, token: &Secret, backup: &str) -> Result<(), RelayError> {
        let resp = self
            .call(Method::PUT, "/v1/backup", 60, Resend::Always, |r| {
                r.bearer_auth(token.expose())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(backup.to_owned())
            })
            .await?;
        success(resp).await
    }

    /// `GET /v1/backup`: the sealed backup, or `None` when there is none.
    pub async fn backup(&self, token: &Secret) -> Result<Option<String>, RelayError> {
        let resp = self
            .call(Method::GET, "/v1/backup", 60, Resend::Always, |r| {
                r.bearer_auth(token.expose())
            })
            .await?;
        match resp.status() {
            StatusCode::OK => Ok(Some(resp.text().await.map_err(transport)?)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(refused(resp).await),
        }
    }

    /// `DELETE /v1/backup`; none there is fine.
    pub async fn delete_backup(&self, token: &Secret) -> Result<(), RelayError> {
        let resp = self
            .call(Method::DELETE, "/v1/backup", 30, Resend::Always, |r| {
                r.bearer_auth(token.expose())
            })
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(());
        }
        success(resp).await
    }

    /// `GET /v1/directory/{user}`: the card JSON.
    pub async fn card(&self, token: &Secret, user: &str) -> Result<Vec<u8>, RelayError> {
        let resp = self
            .call(
                Method::GET,
                &format!("/v1/directory/{user}"),
                30,
                Resend::Always,
                |r| r.bearer_auth(token.expose()),
            )
            .await?;
        if resp.status() == StatusCode::OK {
            Ok(resp.bytes().await.map_err(transport)?.to_vec())
        } else {
            Err(refused(resp).await)
        }
    }

    /// The `PUT /v1/messages/{id}` of either version, sent. The same bytes
    /// under the same id again are a 200 (docs/RELAY.md §4), so a retry on
    /// another URL never stores a message twice.
    async fn put_envelope(
        &self,
        token: &Secret,
        id: &str,
        envelope_json: &str,
    ) -> Result<reqwest::Response, RelayError> {
        self.call(
            Method::PUT,
            &format!("/v1/messages/{id}"),
            60,
            Resend::Always,
            |r| {
                r.bearer_auth(token.expose())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(envelope_json.to_owned())
            },
        )
        .await
    }

    /// `PUT /v1/messages/{id}` with the envelope's exact JSON.
    pub async fn put(
        &self,
        token: &Secret,
        id: &str,
        envelope_json: &str,
    ) -> Result<PutResult, RelayError> {
        let resp = self.put_envelope(token, id, envelope_json).await?;
        match resp.status() {
            StatusCode::CREATED => Ok(PutResult::Stored),
            StatusCode::OK => Ok(PutResult::AlreadyStored),
            _ => Err(refused(resp).await),
        }
    }

    /// `PUT /v1/messages/{id}` of a sealed v2 envelope: the relay stores it
    /// for every recipient it can and says whom it skipped and why.
    pub async fn put_v2(
        &self,
        token: &Secret,
        id: &str,
        envelope_json: &str,
    ) -> Result<ipc_schema::relay::PutV2Response, RelayError> {
        let resp = self.put_envelope(token, id, envelope_json).await?;
        match resp.status() {
            StatusCode::CREATED | StatusCode::OK => resp
                .json()
                .await
                .map_err(|e| RelayError::Protocol(format!("answer to a group PUT: {e}"))),
            _ => Err(refused(resp).await),
        }
    }

    /// `GET /v1/messages?wait=`: pending envelopes as raw JSON text, each
    /// parsed strictly later, once, on its own (one bad envelope cannot hide
    /// the others); empty on 204.
    pub async fn fetch(
        &self,
        token: &Secret,
        wait_secs: u64,
    ) -> Result<Vec<Box<RawValue>>, RelayError> {
        let resp = self
            .call(
                Method::GET,
                &format!("/v1/messages?wait={wait_secs}&limit=200"),
                wait_secs + 30,
                Resend::Always,
                |r| r.bearer_auth(token.expose()),
            )
            .await?;
        match resp.status() {
            StatusCode::NO_CONTENT => Ok(Vec::new()),
            StatusCode::OK => {
                #[derive(serde::Deserialize)]
                struct Batch {
                    messages: Vec<Box<RawValue>>,
                }
                let batch: Batch = resp
                    .json()
                    .await
                    .map_err(|e| RelayError::Protocol(e.to_string()))?;
                Ok(batch.messages)
            }
            _ => Err(refused(resp).await),
        }
    }

    /// `POST /v1/messages/ack`; acking an id again is harmless.
    pub async fn ack(&self, token: &Secret, ids: Vec<String>) -> Result<(), RelayError> {
        if ids.is_empty() {
            return Ok(());
        }
        let body = AckRequest { ids };
        let resp = self
            .call(Method::POST, "/v1/messages/ack", 30, Resend::Always, |r| {
                r.bearer_auth(token.expose()).json(&body)
            })
            .await?;
        success(resp).await
    }
}
