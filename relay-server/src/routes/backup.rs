//! `PUT`, `GET` and `DELETE /v1/backup`: one sealed key backup per account
//! (docs/RELAY.md §5.2). The relay stores the bytes and checks only that
//! they are a JSON object of a bounded size; it cannot open them
//! (docs/PROTOCOL.md §10: Argon2id under a passphrase the relay never sees).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipc_schema::relay::ErrorBody;

use super::extract::Body;
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::server::AppState;

/// Largest backup stored: 10,000 contacts' cards and two private keys fit
/// with room to spare.
pub const MAX_BACKUP: usize = 8 * 1024 * 1024;

/// Store or replace the caller's sealed key backup.
#[utoipa::path(put, path = "/v1/backup", tag = "backup",
    security(("bearer" = [])),
    request_body(content = Object, description = "the sealed backup (docs/PROTOCOL.md §10.2)", content_type = "application/json"),
    responses(
        (status = 204, description = "stored"),
        (status = 400, description = "not a JSON object", body = ErrorBody),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 408, description = "the body did not arrive within the body timeout (60 s by default)", body = ErrorBody),
        (status = 413, description = "body over 8 MiB", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing stored; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn put(
    State(state): State<AppState>,
    user: AuthUser,
    Body(body): Body,
) -> Result<StatusCode, AppError> {
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request(format!("not JSON: {e}")))?;
    if !value.is_object() {
        return Err(AppError::bad_request("a backup is a JSON object"));
    }
    state
        .store
        .put_backup(&user.username, body.to_vec())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's sealed key backup, exactly as it was put.
#[utoipa::path(get, path = "/v1/backup", tag = "backup",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the sealed backup", content_type = "application/json"),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 404, description = "no backup", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn get(State(state): State<AppState>, user: AuthUser) -> Result<Response, AppError> {
    let body = state
        .store
        .backup(&user.username)
        .await?
        .ok_or_else(|| AppError::not_found("no backup on this relay"))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Delete the caller's key backup.
#[utoipa::path(delete, path = "/v1/backup", tag = "backup",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 404, description = "no backup", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing changed; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn delete(State(state): State<AppState>, user: AuthUser) -> Result<StatusCode, AppError> {
    if state.store.delete_backup(&user.username).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found("no backup on this relay"))
    }
}
