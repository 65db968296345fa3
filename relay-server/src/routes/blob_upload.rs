//! `PUT /v1/blobs/{id}`: a blob's bytes, streamed to disk as they arrive
//! (docs/RELAY.md §5.5). Each PUT continues exactly where the durable bytes
//! end (`Content-Range: bytes START-END/SIZE`, START the stored length), so
//! an upload cut short resumes from what `HEAD` says is stored.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipc_schema::relay::{BlobStatus, ErrorBody, error_code};

use super::blobs::{UPLOAD_OFFSET, no_blob, owned, status};
use super::extract::ApiPath;
use crate::auth::AuthUser;
use crate::blobs::{Appended, BlobId};
use crate::error::AppError;
use crate::server::AppState;
use crate::store::StoreError;

/// A blob's bytes, as the OpenAPI document shows them.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct BlobBytes(pub Vec<u8>);

/// 416: the upload does not continue the stored bytes; says where they end.
fn mismatch(stored: u64, size: u64, why: &str) -> Response {
    let mut response = AppError::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        error_code::RANGE_NOT_SATISFIABLE,
        format!("{why}: {stored} of {size} bytes are stored; continue from byte {stored}"),
    )
    .into_response();
    let out = response.headers_mut();
    out.insert(UPLOAD_OFFSET, HeaderValue::from(stored));
    out.insert(
        header::CONTENT_RANGE,
        HeaderValue::from_str(&format!("bytes */{size}")).expect("ASCII"),
    );
    response
}

/// `Content-Range: bytes START-END/TOTAL`, as (START, END, TOTAL).
fn content_range(value: &HeaderValue) -> Option<(u64, u64, u64)> {
    let spec = value.to_str().ok()?.strip_prefix("bytes ")?;
    let (range, total) = spec.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    Some((start.parse().ok()?, end.parse().ok()?, total.parse().ok()?))
}

fn too_long() -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        error_code::PAYLOAD_TOO_LARGE,
        "the body is longer than its Content-Range, or than the rest of the blob; nothing was stored",
    )
}

/// Upload a blob's bytes from the stored length on: its owner only.
#[utoipa::path(put, path = "/v1/blobs/{id}", tag = "blobs",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, pattern = "^[0-9a-f]{32}$", description = "the blob's id"),
        ("Content-Range" = Option<String>, Header, description = "`bytes START-END/SIZE`: START the bytes stored so far, SIZE the declared size; without it the body is the whole blob"),
    ),
    request_body(content = BlobBytes, description = "the blob's bytes from START", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "the bytes that arrived are durable: how far the upload is", body = BlobStatus),
        (status = 400, description = "a malformed Content-Range", body = ErrorBody),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 404, description = "no such blob of the caller's", body = ErrorBody),
        (status = 409, description = "another upload to this blob is in progress", body = ErrorBody),
        (status = 413, description = "the body is longer than its range or the rest of the blob; nothing stored", body = ErrorBody),
        (status = 416, description = "the range does not start at the stored length or names another size", body = ErrorBody,
            headers(("Upload-Offset" = u64, description = "bytes stored so far"))),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full; what arrived before is kept; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn put(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let id = BlobId::parse(&id).ok_or_else(no_blob)?;
    owned(&state, &user, &id).await?;
    let slot = state.blobs.begin_upload(&id).ok_or_else(|| {
        AppError::new(
            StatusCode::CONFLICT,
            error_code::CONFLICT,
            "another upload to this blob is in progress",
        )
    })?;
    // Read again with the slot held: the stored length is now this upload's.
    let blob = owned(&state, &user, &id).await?;
    let (start, len) = match headers.get(header::CONTENT_RANGE) {
        Some(value) => {
            let (start, end, total) = content_range(value).ok_or_else(|| {
                AppError::bad_request("Content-Range must be bytes START-END/SIZE")
            })?;
            if total != blob.size || end < start || end >= total {
                return Ok(mismatch(
                    blob.stored,
                    blob.size,
                    "the range is not within the blob's size",
                ));
            }
            (start, end - start + 1)
        }
        None => (0, blob.size),
    };
    if start != blob.stored {
        return Ok(mismatch(
            blob.stored,
            blob.size,
            "the range does not start where the stored bytes end",
        ));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > len) {
        return Err(too_long());
    }
    let appended = state
        .blobs
        .append(&slot, &id, start, len, body, state.config.body_timeout)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::StorageFull => AppError::from(StoreError::StorageFull),
            _ => AppError::internal(format!("writing blob {}: {e}", id.as_str())),
        })?;
    let written = match appended {
        Appended::Whole(n) => n,
        Appended::CutShort(n) => {
            tracing::info!(blob = %id.as_str(), bytes = n, "blob upload cut short; kept what arrived");
            n
        }
        Appended::TooLong => return Err(too_long()),
    };
    crate::metrics::metrics()
        .blob_bytes_received
        .fetch_add(written, std::sync::atomic::Ordering::Relaxed);
    let stored = start + written;
    if written > 0 && !state.store.set_blob_stored(id.as_str(), stored).await? {
        // Deleted (or swept) while this upload ran: its file goes too.
        state.blobs.remove(&[id.as_str().to_owned()]).await;
        return Err(no_blob());
    }
    drop(slot);
    Ok((StatusCode::OK, Json(status(blob.size, stored))).into_response())
}
