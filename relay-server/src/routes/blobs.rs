//! `POST /v1/blobs`, and `HEAD`, `GET` and `DELETE /v1/blobs/{id}`: blobs
//! for file transfer (docs/RELAY.md §5.5). A blob is opaque bytes (the
//! client encrypts files before uploading them) that its owner uploads,
//! possibly in several pieces (`blob_upload`), for the readers it names.
//! Anyone else gets the same 404 as for an id nobody uses.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipc_schema::envelope::is_valid_username;
use ipc_schema::relay::{BlobCreate, BlobStatus, ErrorBody, MAX_BLOB_READERS, error_code};

use super::extract::{ApiJson, ApiPath};
use crate::auth::AuthUser;
use crate::blobs::BlobId;
use crate::error::AppError;
use crate::server::AppState;
use crate::store::sqlite::now_ms;
use crate::store::{Blob, BlobCreated, NewBlob, StoreError};

/// Response header: the bytes of the blob stored so far (what an upload
/// resumes from).
pub const UPLOAD_OFFSET: &str = "upload-offset";
/// Response header: the blob's declared size.
pub const UPLOAD_LENGTH: &str = "upload-length";

/// The one answer for an unknown id, an expired blob, someone else's blob
/// and an incomplete blob asked for by a reader: none tells more.
pub(super) fn no_blob() -> AppError {
    AppError::not_found("no such blob")
}

/// The blob if `user` owns it and it has not expired.
pub(super) async fn owned(
    state: &AppState,
    user: &AuthUser,
    id: &BlobId,
) -> Result<Blob, AppError> {
    let blob = state.store.blob(id.as_str()).await?;
    blob.filter(|b| b.owner == user.username && b.expires_at > now_ms())
        .ok_or_else(no_blob)
}

/// A blob's status in the API's terms.
pub(super) fn status(size: u64, stored: u64) -> BlobStatus {
    BlobStatus {
        stored,
        size,
        complete: stored == size,
    }
}

/// Start an upload: the blob's id, size and readers.
#[utoipa::path(post, path = "/v1/blobs", tag = "blobs",
    security(("bearer" = [])),
    request_body = BlobCreate,
    responses(
        (status = 201, description = "recorded; upload the bytes with PUT", body = BlobStatus),
        (status = 200, description = "the same owner already recorded the same upload: how far it is", body = BlobStatus),
        (status = 400, description = "a bad id, reader name or reader count", body = ErrorBody),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 404, description = "a reader has no account (`unknown_recipient`)", body = ErrorBody),
        (status = 408, description = "the body did not arrive within the body timeout (60 s by default)", body = ErrorBody),
        (status = 409, description = "the id is taken by another upload", body = ErrorBody),
        (status = 413, description = "the size is over the largest blob (a 100 MiB file sealed, by default; `blob_too_large`), or the body over 64 KiB", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing stored; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 507, description = "the account's blobs would be over its quota (1 GiB by default)", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<BlobCreate>,
) -> Result<(StatusCode, Json<BlobStatus>), AppError> {
    if BlobId::parse(&req.id).is_none() {
        return Err(AppError::bad_request(
            "a blob id is 32 lowercase hex digits",
        ));
    }
    // Beyond what the document allows (an int64) is malformed, not large.
    if i64::try_from(req.size).is_err() {
        return Err(AppError::bad_request("a blob's size is an int64"));
    }
    if req.readers.is_empty() || req.readers.len() > MAX_BLOB_READERS {
        return Err(AppError::bad_request(format!(
            "a blob has 1 to {MAX_BLOB_READERS} readers"
        )));
    }
    if let Some(bad) = req.readers.iter().find(|r| !is_valid_username(r)) {
        return Err(AppError::bad_request(format!(
            "{bad:?} is not a valid username"
        )));
    }
    // Well-formed, but over this relay's cap.
    if req.size > state.config.max_blob_bytes {
        return Err(AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            error_code::BLOB_TOO_LARGE,
            format!(
                "a blob is at most {} bytes on this relay",
                state.config.max_blob_bytes
            ),
        ));
    }
    let mut readers = req.readers;
    readers.sort();
    readers.dedup();
    let size = req.size;
    let blob = NewBlob {
        id: req.id,
        owner: user.username.clone(),
        size,
        readers,
        expires_at: now_ms().saturating_add(state.config.blob_ttl.as_millis() as u64),
    };
    let created = state
        .store
        .create_blob(blob, state.config.blob_quota_bytes)
        .await
        .map_err(|e| match e {
            StoreError::Conflict => AppError::new(
                StatusCode::CONFLICT,
                error_code::CONFLICT,
                "a blob with this id exists",
            ),
            StoreError::UnknownRecipient => AppError::new(
                StatusCode::NOT_FOUND,
                error_code::UNKNOWN_RECIPIENT,
                "a reader has no account on this relay",
            ),
            StoreError::QuotaExceeded => AppError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                error_code::QUOTA_EXCEEDED,
                "the account's blobs would be over its quota; delete some or wait for them to expire",
            ),
            other => AppError::from(other),
        })?;
    Ok(match created {
        BlobCreated::Created => {
            tracing::info!(user = %user.username, size, "blob upload started");
            (StatusCode::CREATED, Json(status(size, 0)))
        }
        BlobCreated::Existing { stored } => (StatusCode::OK, Json(status(size, stored))),
    })
}

/// Who may read a blob, and how much of it.
struct Readable {
    blob: Blob,
    /// Bytes that may be read: what is stored for the owner, the whole blob
    /// (once complete) for a reader.
    len: u64,
}

async fn readable(state: &AppState, user: &AuthUser, id: &str) -> Result<Readable, AppError> {
    let id = BlobId::parse(id).ok_or_else(no_blob)?;
    let blob = state
        .store
        .blob(id.as_str())
        .await?
        .filter(|b| b.expires_at > now_ms())
        .ok_or_else(no_blob)?;
    if blob.owner == user.username {
        return Ok(Readable {
            len: blob.stored,
            blob,
        });
    }
    if blob.stored == blob.size && blob.readers.contains(&user.username) {
        return Ok(Readable {
            len: blob.size,
            blob,
        });
    }
    Err(no_blob())
}

/// `Range: bytes=START-` or `bytes=START-END` against `len` bytes: the
/// inclusive range to send, `None` without the header, or 416.
fn range(headers: &HeaderMap, len: u64) -> Result<Option<(u64, u64)>, AppError> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let unsatisfiable = || {
        AppError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            error_code::RANGE_NOT_SATISFIABLE,
            format!("the range must be bytes=START- or bytes=START-END within {len} bytes"),
        )
    };
    let spec = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split_once('-'))
        .ok_or_else(unsatisfiable)?;
    let start: u64 = spec.0.parse().map_err(|_| unsatisfiable())?;
    let end = match spec.1 {
        "" => len.saturating_sub(1),
        end => end.parse::<u64>().map_err(|_| unsatisfiable())?,
    };
    if start >= len || end < start {
        return Err(unsatisfiable());
    }
    Ok(Some((start, end.min(len - 1))))
}

/// The answer to GET or HEAD (without a body).
async fn answer(
    state: &AppState,
    user: &AuthUser,
    id: &str,
    headers: &HeaderMap,
    with_body: bool,
) -> Result<Response, AppError> {
    let Readable { blob, len } = readable(state, user, id).await?;
    let range = match range(headers, len) {
        Ok(range) => range,
        Err(e) => {
            let mut response = e.into_response();
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{len}")).expect("ASCII"),
            );
            return Ok(response);
        }
    };
    let (status, start, count) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        None => (StatusCode::OK, 0, len),
    };
    let id = BlobId::parse(id).ok_or_else(no_blob)?;
    let body = if with_body && count > 0 {
        state
            .blobs
            .read(&id, start, count)
            .await
            .map_err(AppError::internal)?
    } else {
        axum::body::Body::empty()
    };
    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    // Counted as sent when the answer starts (a reader may hang up midway).
    if with_body {
        crate::metrics::metrics()
            .blob_bytes_sent
            .fetch_add(count, std::sync::atomic::Ordering::Relaxed);
    }
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(UPLOAD_OFFSET, HeaderValue::from(blob.stored));
    out.insert(UPLOAD_LENGTH, HeaderValue::from(blob.size));
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {start}-{}/{len}", start + count - 1);
        out.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&value).expect("ASCII"),
        );
    }
    Ok(response)
}

/// Download a blob, whole or from a position: its owner (the bytes stored
/// so far) and its readers (once complete).
#[utoipa::path(get, path = "/v1/blobs/{id}", tag = "blobs",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, pattern = "^[0-9a-f]{32}$", description = "the blob's id"),
        ("Range" = Option<String>, Header, description = "`bytes=START-` or `bytes=START-END`, to resume a download"),
    ),
    responses(
        (status = 200, description = "the blob", content_type = "application/octet-stream", body = super::blob_upload::BlobBytes,
            headers(("Upload-Offset" = u64, description = "bytes stored so far"), ("Upload-Length" = u64, description = "the declared size"))),
        (status = 206, description = "the range asked for", content_type = "application/octet-stream", body = super::blob_upload::BlobBytes,
            headers(("Content-Range" = String, description = "`bytes START-END/LENGTH`"))),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 404, description = "no such blob, or not yet complete (the same for anyone but the owner and its readers)", body = ErrorBody),
        (status = 416, description = "the range is past the end", body = ErrorBody,
            headers(("Content-Range" = String, description = "`bytes */LENGTH`"))),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    answer(&state, &user, &id, &headers, true).await
}

/// How much of a blob is stored: for its owner, to resume an upload
/// (`Upload-Offset`); for a reader, its size once complete.
#[utoipa::path(head, path = "/v1/blobs/{id}", tag = "blobs",
    security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[0-9a-f]{32}$", description = "the blob's id")),
    responses(
        (status = 200, description = "what a GET would send, without it",
            headers(("Content-Length" = u64, description = "bytes a GET would send: those stored so far for the owner, the size for a reader"),
                    ("Upload-Offset" = u64, description = "bytes stored so far"),
                    ("Upload-Length" = u64, description = "the declared size"))),
        (status = 401, description = "bad token"),
        (status = 404, description = "no such blob, or not yet complete (the same for anyone but the owner and its readers)"),
        (status = 429, description = "over this token's request rate; see Retry-After", headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn head(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, AppError> {
    answer(&state, &user, &id, &HeaderMap::new(), false).await
}

/// Delete a blob: its owner only.
#[utoipa::path(delete, path = "/v1/blobs/{id}", tag = "blobs",
    security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[0-9a-f]{32}$", description = "the blob's id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 404, description = "no such blob of the caller's", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing changed; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    let id = BlobId::parse(&id).ok_or_else(no_blob)?;
    if !state.store.delete_blob(&user.username, id.as_str()).await? {
        return Err(no_blob());
    }
    state.blobs.remove(&[id.as_str().to_owned()]).await;
    Ok(StatusCode::NO_CONTENT)
}
