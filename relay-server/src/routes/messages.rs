//! The mailbox: `PUT /v1/messages/{id}`, `GET /v1/messages` (long-poll),
//! `GET /v1/messages/{id}`, `POST /v1/messages/ack`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipc_schema::envelope::{Envelope, ShapeError, is_valid_message_id, is_valid_username};
use ipc_schema::envelope_v2::SealedV2;
use ipc_schema::relay::{
    AckRequest, ErrorBody, MAX_WAIT_SECS, MessagesResponse, PutV2Response, SkippedRecipient,
    error_code,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use super::extract::{ApiJson, ApiPath, ApiQuery, Body};
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::server::AppState;
use crate::store::{FetchFilter, NewEnvelope, NewSharedEnvelope, PutOutcome, Skip};

/// Default and largest number of envelopes per answer.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;
/// An answer stops growing past this many bytes of envelopes (at least one is
/// always returned), so a full mailbox of 6 MiB envelopes cannot make a
/// multi-gigabyte response.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Most ids per ack.
const MAX_ACK: usize = 1000;

fn check_id(id: &str) -> Result<(), AppError> {
    if is_valid_message_id(id) {
        Ok(())
    } else {
        Err(AppError::bad_request(
            "message id must be 32 lowercase hex digits",
        ))
    }
}

/// Store an envelope for its recipient, or a sealed v2 envelope once for
/// each of its recipients. Idempotent: the same bytes again are answered
/// 200; other bytes under the same id 409, and so is an id another sender
/// used for the same recipient, pending or acknowledged.
#[utoipa::path(put, path = "/v1/messages/{id}", tag = "messages",
    security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[0-9a-f]{32}$", description = "the envelope's id, 32 lowercase hex digits")),
    request_body(content = PutBody, description = "envelope v1 JSON (at most 6 MiB), or a sealed v2 envelope for 1 to 1,000 recipients (at most 7 MiB)"),
    responses(
        (status = 201, description = "stored (v2: for at least one recipient; the body says who was skipped)", body = PutV2Response),
        (status = 200, description = "already stored (or already delivered) with the same bytes (v2: nothing new stored; the body says who was skipped)", body = PutV2Response),
        (status = 400, description = "not a v1 or sealed v2 envelope, or id differs from the path", body = ErrorBody),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 403, description = "`from` is not the token's user", body = ErrorBody),
        (status = 404, description = "v1: unknown recipient", body = ErrorBody),
        (status = 409, description = "same id, other bytes; or an id another sender used for this recipient (pending, or acknowledged within the last 30 days)", body = ErrorBody),
        (status = 408, description = "the body did not arrive within the body timeout (60 s by default)", body = ErrorBody),
        (status = 413, description = "body over 6 MiB (v1) or 7 MiB (v2)", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 507, description = "v1: recipient over quota", body = ErrorBody),
        (status = 503, description = "the relay's disk is full, nothing stored; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn put(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    Body(body): Body,
) -> Result<Response, AppError> {
    check_id(&id)?;
    /// Only `v`, to tell the versions apart before the strict parse.
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    let version = serde_json::from_slice::<Version>(&body)
        .map_err(|e| AppError::bad_request(format!("not an envelope: {e}")))?;
    match version.v {
        1 => put_v1(state, user, id, body)
            .await
            .map(IntoResponse::into_response),
        2 => put_v2(state, user, id, body).await,
        v => Err(AppError::bad_request(format!(
            "unsupported envelope version {v}"
        ))),
    }
}

/// Either version of envelope, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub enum PutBody {
    /// Envelope v1.
    V1(Envelope),
    /// Sealed envelope v2.
    V2(SealedV2),
}

fn shape_refused(e: ShapeError, cap: &str) -> AppError {
    match e {
        ShapeError::TooLarge(_) => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            error_code::PAYLOAD_TOO_LARGE,
            format!("envelope is over {cap}"),
        ),
        other => AppError::bad_request(other.to_string()),
    }
}

fn check_header(
    path_id: &str,
    id: &str,
    from: &str,
    ts: u64,
    user: &AuthUser,
) -> Result<(), AppError> {
    if id != path_id {
        return Err(AppError::bad_request("envelope id differs from the path"));
    }
    if from != user.username {
        return Err(AppError::forbidden("`from` must be your own username"));
    }
    if ts > i64::MAX as u64 {
        return Err(AppError::bad_request("ts out of range"));
    }
    Ok(())
}

async fn put_v1(
    state: AppState,
    user: AuthUser,
    id: String,
    body: axum::body::Bytes,
) -> Result<StatusCode, AppError> {
    let env = Envelope::parse(&body).map_err(|e| shape_refused(e, "6 MiB"))?;
    check_header(&id, &env.id, &env.from, env.ts, &user)?;
    let outcome = state
        .store
        .put_envelope(
            NewEnvelope {
                digest: Sha256::digest(&body).into(),
                id: env.id,
                sender: env.from,
                sender_device: user.device_id,
                recipient: env.to,
                ts: env.ts,
                body: body.to_vec(),
            },
            state.config.quota,
        )
        .await?;
    Ok(match outcome {
        PutOutcome::Stored => StatusCode::CREATED,
        PutOutcome::Duplicate => StatusCode::OK,
    })
}

/// A sealed v2 envelope: checked, split (docs/PROTOCOL.md §8.4), and stored
/// as one shared part plus one small entry per recipient.
async fn put_v2(
    state: AppState,
    user: AuthUser,
    id: String,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let sealed: SealedV2 = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request(ShapeError::Json(e.to_string()).to_string()))?;
    let checked = sealed.check().map_err(|e| shape_refused(e, "7 MiB"))?;
    check_header(&id, &sealed.id, &sealed.from, sealed.ts, &user)?;
    let n = sealed.to.len();
    let mut common = serde_json::to_vec(&serde_json::json!({
        "v": 2, "id": sealed.id, "from": sealed.from, "ts": sealed.ts,
        "kc": sealed.kc, "iv": sealed.iv, "ct": sealed.ct, "tag": sealed.tag, "sig": sealed.sig,
    }))
    .expect("JSON of strings and numbers");
    common.pop(); // the closing brace; each entry brings its own
    let entries = SealedV2::entries(&checked)
        .into_iter()
        .map(|entry| {
            let rest = serde_json::json!({ "n": n, "to": entry });
            let mut text = serde_json::to_vec(&rest).expect("JSON of strings and numbers");
            text.remove(0); // the opening brace: this continues `common`
            (entry.user, text)
        })
        .collect();
    let outcome = state
        .store
        .put_shared_envelope(
            NewSharedEnvelope {
                digest: Sha256::digest(&body).into(),
                id: sealed.id,
                sender: sealed.from,
                sender_device: user.device_id,
                ts: sealed.ts,
                common,
                entries,
            },
            state.config.quota,
        )
        .await?;
    let status = if outcome.stored.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let answer = PutV2Response {
        stored: outcome.stored.len() as u32,
        duplicate: outcome.duplicate as u32,
        skipped: outcome
            .skipped
            .into_iter()
            .map(|(user, why)| SkippedRecipient {
                user,
                reason: match why {
                    Skip::UnknownRecipient => error_code::UNKNOWN_RECIPIENT,
                    Skip::QuotaExceeded => error_code::QUOTA_EXCEEDED,
                    Skip::Conflict => error_code::CONFLICT,
                }
                .to_owned(),
            })
            .collect(),
    };
    Ok((status, Json(answer)).into_response())
}

/// One of the caller's pending envelopes.
#[utoipa::path(get, path = "/v1/messages/{id}", tag = "messages",
    security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[0-9a-f]{32}$", description = "envelope id, 32 lowercase hex digits")),
    responses(
        (status = 200, description = "the envelope as it was put", body = Envelope),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 404, description = "no such pending envelope of yours", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, AppError> {
    check_id(&id)?;
    let body = state
        .store
        .get_envelope(&user.username, &user.device_id, &id)
        .await?
        .ok_or_else(|| AppError::not_found("no such pending envelope"))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Query of `GET /v1/messages`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Seconds to wait for mail when there is none (0 to 60; default 0).
    #[param(minimum = 0, maximum = 60)]
    wait: Option<u64>,
    /// Most envelopes to return (1 to 1000; default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Only from this sender.
    #[param(pattern = "^[a-z0-9][a-z0-9_.-]{2,31}$")]
    from: Option<String>,
    /// Only envelopes whose `ts` is at least this (ms; any 64-bit unsigned value).
    #[param(format = "uint64", minimum = 0, maximum = 18446744073709551615u64)]
    since: Option<u64>,
    /// Only envelopes whose `ts` is below this (ms; any 64-bit unsigned value).
    #[param(format = "uint64", minimum = 0, maximum = 18446744073709551615u64)]
    until: Option<u64>,
}

/// The caller's pending envelopes, oldest first; waits up to `wait` seconds
/// for the first one, then 204. A token may have 8 long-polls waiting; a
/// ninth answers the oldest of them 204 at once.
#[utoipa::path(get, path = "/v1/messages", tag = "messages",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "pending envelopes, as they were put", body = MessagesResponse),
        (status = 204, description = "none arrived within `wait` seconds"),
        (status = 400, description = "bad query", body = ErrorBody),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, AppError> {
    let wait = q.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(AppError::bad_request(format!(
            "wait must be 0 to {MAX_WAIT_SECS}"
        )));
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(AppError::bad_request(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    if q.from.as_deref().is_some_and(|f| !is_valid_username(f)) {
        return Err(AppError::bad_request("from must be a username"));
    }
    let filter = FetchFilter {
        from: q.from,
        since: q.since,
        until: q.until,
        limit,
        max_bytes: MAX_RESPONSE_BYTES,
    };
    // Fetching is what keeps a device from expiring (docs/RELAY.md, "Devices").
    if let Err(e) = state
        .store
        .touch_device(&user.username, &user.device_id)
        .await
    {
        tracing::warn!(error = %e, "could not note a device as seen");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    // Only a request that may wait takes a place among the token's polls.
    let mut poll = (wait > 0).then(|| state.polls.wait(&user.token_hash));
    let waiting = state.waiters.register(&user.username);
    let mut shutdown = state.shutdown.clone();
    loop {
        // Arm the wake-up before looking, so a commit between the look and
        // the wait cannot be missed.
        let notified = waiting.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let bodies = state
            .store
            .fetch(&user.username, &user.device_id, filter.clone())
            .await?;
        if !bodies.is_empty() {
            return Ok(messages_response(bodies));
        }
        if *shutdown.borrow() {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        let pushed_out = async {
            match poll.as_mut() {
                Some(p) => {
                    let _ = (&mut p.pushed_out).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut notified => {
                // A wake-up may be this device's revocation: a revoked
                // device gets 401 now, not at the end of its long-poll.
                if state.store.session(&user.token_hash).await?.is_none() {
                    return Err(AppError::unauthorized("unknown or revoked token"));
                }
                continue;
            }
            _ = tokio::time::sleep_until(deadline) => return Ok(StatusCode::NO_CONTENT.into_response()),
            _ = shutdown.changed() => return Ok(StatusCode::NO_CONTENT.into_response()),
            // A newer long-poll of this token took our place.
            _ = pushed_out => return Ok(StatusCode::NO_CONTENT.into_response()),
        }
    }
}

/// `{"messages":[…]}` with each envelope's stored bytes spliced in unchanged.
fn messages_response(bodies: Vec<Vec<u8>>) -> Response {
    let total: usize = bodies.iter().map(|b| b.len() + 1).sum();
    let mut out = Vec::with_capacity(total + 16);
    out.extend_from_slice(b"{\"messages\":[");
    for (i, body) in bodies.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(body);
    }
    out.extend_from_slice(b"]}");
    ([(header::CONTENT_TYPE, "application/json")], out).into_response()
}

/// Acknowledge the caller's device's copies of the envelopes with these ids
/// (others' ids are ignored); an envelope goes once every device that got
/// a copy has acknowledged it.
#[utoipa::path(post, path = "/v1/messages/ack", tag = "messages",
    security(("bearer" = [])),
    request_body = AckRequest,
    responses(
        (status = 204, description = "deleted (unknown ids and other users' ids are ignored)"),
        (status = 400, description = "malformed body or ids", body = ErrorBody),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 408, description = "the body did not arrive within the body timeout (60 s by default)", body = ErrorBody),
        (status = 413, description = "body over 64 KiB", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing stored; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn ack(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<AckRequest>,
) -> Result<StatusCode, AppError> {
    if req.ids.len() > MAX_ACK {
        return Err(AppError::bad_request(format!(
            "at most {MAX_ACK} ids per ack"
        )));
    }
    for id in &req.ids {
        check_id(id)?;
    }
    state
        .store
        .ack(&user.username, &user.device_id, req.ids)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
