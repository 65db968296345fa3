//! `PUT /v1/links/{handle}` and `POST /v1/links/{handle}/claim`: one
//! pending device link per account (docs/RELAY.md §5.3). A device of the
//! account leaves the link, sealed under a key derived from a one-time code
//! the relay never sees (docs/PROTOCOL.md §12); the new machine, logged in
//! to the account, claims it once by the handle derived from the same code.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipc_schema::relay::{ErrorBody, LinkStored, is_valid_link_handle};

use super::extract::{ApiPath, Body};
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::server::AppState;
use crate::store::sqlite::now_ms;

/// The same answer for a wrong handle, a claimed link and an expired one:
/// a wrong code learns nothing more.
fn no_link() -> AppError {
    AppError::not_found("no such link: the code is wrong, used or expired")
}

/// Leave a sealed device link for the account, replacing any other.
#[utoipa::path(put, path = "/v1/links/{handle}", tag = "devices",
    security(("bearer" = [])),
    params(("handle" = String, Path, pattern = "^[0-9a-f]{64}$", description = "the handle derived from the link code")),
    request_body(content = Object, description = "the sealed link (docs/PROTOCOL.md §12.3)", content_type = "application/json"),
    responses(
        (status = 201, description = "stored until it is claimed or expires", body = LinkStored),
        (status = 400, description = "a bad handle, or not a JSON object", body = ErrorBody),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 408, description = "the body did not arrive within the body timeout (60 s by default)", body = ErrorBody),
        (status = 409, description = "the account already has the most devices it may have (10)", body = ErrorBody),
        (status = 413, description = "body over 16 MiB", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing stored; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn put(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(handle): ApiPath<String>,
    Body(body): Body,
) -> Result<(StatusCode, Json<LinkStored>), AppError> {
    if !is_valid_link_handle(&handle) {
        return Err(AppError::bad_request(
            "a link handle is 64 lowercase hex digits",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request(format!("not JSON: {e}")))?;
    if !value.is_object() {
        return Err(AppError::bad_request("a link is a JSON object"));
    }
    let expires_at = now_ms() + state.config.link_ttl.as_millis() as u64;
    state
        .store
        .put_link(&user.username, &handle, body.to_vec(), expires_at)
        .await?;
    tracing::info!(user = %user.username, device = %user.device_id, "device link stored");
    Ok((StatusCode::CREATED, Json(LinkStored { expires_at })))
}

/// Take the account's pending link: it is deleted as it is returned.
#[utoipa::path(post, path = "/v1/links/{handle}/claim", tag = "devices",
    security(("bearer" = [])),
    params(("handle" = String, Path, pattern = "^[0-9a-f]{64}$", description = "the handle derived from the link code")),
    responses(
        (status = 200, description = "the sealed link, now deleted", content_type = "application/json"),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 404, description = "no such link: a wrong code, or a link claimed or expired (not told apart)", body = ErrorBody),
        (status = 409, description = "the account already has the most devices it may have (10); the link stays", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing changed; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn claim(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(handle): ApiPath<String>,
) -> Result<Response, AppError> {
    if !is_valid_link_handle(&handle) {
        return Err(no_link());
    }
    let body = state
        .store
        .take_link(&user.username, &handle)
        .await?
        .ok_or_else(no_link)?;
    tracing::info!(user = %user.username, "device link claimed");
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
