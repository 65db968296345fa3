//! `GET /v1/directory/{user}`, `GET /v1/directory?prefix=&limit=`, and
//! `PUT /v1/directory/me` (a new card for the caller's account).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::IntoResponse;
use ipc_schema::envelope::is_valid_username;
use ipc_schema::relay::{DirectoryList, ErrorBody, ReplaceCardRequest};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{ApiJson, ApiPath, ApiQuery, ClientIp};
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::server::AppState;

/// Default and largest page of the listing.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

/// A user's contact card, exactly as registered.
#[utoipa::path(get, path = "/v1/directory/{user}", tag = "directory",
    security(("bearer" = [])),
    params(("user" = String, Path, description = "username (any other name is 404)")),
    responses(
        (status = 200, description = "the contact card JSON", content_type = "application/json"),
        (status = 400, description = "path segment is not UTF-8 once percent-decoded", body = ErrorBody),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 404, description = "no such user", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn card(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(name): ApiPath<String>,
) -> Result<impl IntoResponse, AppError> {
    if !is_valid_username(&name) {
        return Err(AppError::not_found("no such user"));
    }
    let account = state
        .store
        .account(&name)
        .await?
        .ok_or_else(|| AppError::not_found("no such user"))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], account.card))
}

/// Query of the directory listing.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only usernames starting with this.
    #[serde(default)]
    #[param(pattern = "^[a-z0-9_.-]{0,32}$")]
    prefix: String,
    /// Page size (default 50, at most 200).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<usize>,
    /// Start after this username (the previous page's `next`).
    after: Option<String>,
}

/// Usernames, ascending, a page at a time.
#[utoipa::path(get, path = "/v1/directory", tag = "directory",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "a page of usernames", body = DirectoryList),
        (status = 400, description = "invalid prefix or limit, or an unknown parameter", body = ErrorBody),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<DirectoryList>, AppError> {
    let valid_prefix = q.prefix.len() <= 32
        && q.prefix
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_.-".contains(&c));
    if !valid_prefix {
        return Err(AppError::bad_request(
            "prefix may only hold username characters",
        ));
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(AppError::bad_request(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    let mut users = state
        .store
        .list_users(&q.prefix, q.after.as_deref(), limit + 1)
        .await?;
    let next = (users.len() > limit).then(|| {
        users.truncate(limit);
        users[limit - 1].clone()
    });
    Ok(Json(DirectoryList { users, next }))
}

/// Replace the caller's card in the directory: new keys for an account whose
/// old ones were lost or exposed. Contacts that pinned the old card see
/// envelopes signed by the new keys fail and are told the key changed; none
/// accepts the new card on its own (docs/SECURITY.md). Registering the name
/// again stays 409.
#[utoipa::path(put, path = "/v1/directory/me", tag = "directory",
    request_body = ReplaceCardRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "the card is replaced"),
        (status = 400, description = "malformed body, or not a card of this account", body = ErrorBody),
        (status = 401, description = "bad token or wrong password", body = ErrorBody),
        (status = 408, description = "the body did not arrive within the body timeout (60 s by default)", body = ErrorBody),
        (status = 413, description = "body over 16 KiB", body = ErrorBody),
        (status = 429, description = "too many recent failures (throttled like login), the relay is busy checking passwords, or over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing changed; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn replace_me(
    State(state): State<AppState>,
    user: AuthUser,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<ReplaceCardRequest>,
) -> Result<StatusCode, AppError> {
    let card = super::accounts::check_card(&req.card, &user.username)?;
    super::sessions::verify_password(&state, &user.username, ip, req.password).await?;
    state.store.replace_card(&user.username, &card).await?;
    tracing::info!(user = %user.username, "directory card replaced");
    Ok(StatusCode::NO_CONTENT)
}
