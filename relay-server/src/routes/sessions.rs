//! `POST /v1/sessions` (log in) and `DELETE /v1/sessions/current` (log out).

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ipc_schema::Secret;
use ipc_schema::envelope::is_valid_username;
use ipc_schema::relay::{
    DeviceLogin, ErrorBody, LoginRequest, LoginResponse, is_valid_device_id, is_valid_device_name,
};

use super::extract::{ApiJson, ClientIp};
use crate::auth::{AuthUser, admit, hash_token, new_token};
use crate::error::AppError;
use crate::server::AppState;
use crate::store::DeviceChoice;
use crate::store::sqlite::now_ms;

/// Throttled, timing-equal password check shared by login and account
/// deletion (docs/RELAY.md, "Logging in"). The attempt is counted before the
/// password is checked, and waits the user's delay whatever the password.
pub(crate) async fn verify_password(
    state: &AppState,
    username: &str,
    ip: IpAddr,
    password: Secret,
) -> Result<(), AppError> {
    // A name that cannot exist never becomes a throttle key, a database read
    // or a hash; it gets the answer of a wrong password.
    if !is_valid_username(username) {
        return Err(AppError::invalid_credentials());
    }
    let attempt = admit(&state.throttle, &state.store, username, ip).await?;
    tokio::time::sleep(attempt.delay()).await;
    let account = match state.store.account(username).await {
        Ok(account) => account,
        Err(e) => {
            attempt.unverified().await;
            return Err(e.into());
        }
    };
    match state
        .passwords
        .verify(password, account.map(|a| a.password_hash))
        .await
    {
        Ok(true) => {
            attempt.succeeded().await;
            Ok(())
        }
        Ok(false) => {
            attempt.failed().await;
            Err(AppError::invalid_credentials())
        }
        Err(e) => {
            attempt.unverified().await;
            Err(e.into())
        }
    }
}

/// Which device a login's `device` names, checked before the password is.
fn device_choice(device: Option<DeviceLogin>) -> Result<DeviceChoice, AppError> {
    match device {
        None => Ok(DeviceChoice::Oldest),
        Some(DeviceLogin {
            id: Some(id),
            name: None,
        }) => {
            if !is_valid_device_id(&id) {
                return Err(AppError::bad_request(
                    "device id must be 16 lowercase hex digits",
                ));
            }
            Ok(DeviceChoice::Existing(id))
        }
        Some(DeviceLogin {
            id: None,
            name: Some(name),
        }) => {
            if !is_valid_device_name(&name) {
                return Err(AppError::bad_request(
                    "device name must be 1 to 32 bytes, without control characters",
                ));
            }
            Ok(DeviceChoice::New(name))
        }
        Some(_) => Err(AppError::bad_request(
            "device takes either `id` (an existing device) or `name` (a new one)",
        )),
    }
}

/// Log in: a new 256-bit token valid for 24 hours, for one device of the
/// account (`device.id`), a new device (`device.name`; at most 10 active),
/// or without `device` the account's oldest active device. An account holds
/// at most 32 sessions; past that, this login revokes the oldest. Password
/// checks are throttled per (user, address) and per address, and a user's
/// recent failures delay the next check of that user by up to a few seconds.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions",
    request_body = LoginRequest,
    responses(
        (status = 201, description = "logged in", body = LoginResponse),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "unknown user or wrong password (indistinguishable)", body = ErrorBody),
        (status = 403, description = "`device.id` names a device that was revoked or expired", body = ErrorBody),
        (status = 404, description = "`device.id` names no device of the account", body = ErrorBody),
        (status = 409, description = "`device.name`: the account already has 10 active devices", body = ErrorBody),
        (status = 408, description = "the body did not arrive within the body timeout (60 s by default)", body = ErrorBody),
        (status = 413, description = "body over 16 KiB", body = ErrorBody),
        (status = 429, description = "too many recent failures for this user from this address, or from this address under any name, or the relay is busy checking passwords; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing stored; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<(StatusCode, Json<LoginResponse>), AppError> {
    let device = device_choice(req.device)?;
    verify_password(&state, &req.username, ip, req.password).await?;
    let token = new_token();
    let expires_at = now_ms() + state.config.token_ttl.as_millis() as u64;
    let (device, revoked) = state
        .store
        .create_session(
            &hash_token(&token),
            &req.username,
            device,
            expires_at,
            state.config.max_sessions_per_user,
        )
        .await?;
    if revoked > 0 {
        tracing::info!(user = %req.username, revoked, "oldest sessions revoked: over the per-account cap");
    }
    Ok((
        StatusCode::CREATED,
        Json(LoginResponse {
            token: Secret::new(token),
            expires_at,
            device: Some(device),
        }),
    ))
}

/// Log out: revoke the token used for this request.
#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "token revoked"),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing changed; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn logout(State(state): State<AppState>, user: AuthUser) -> Result<StatusCode, AppError> {
    state.store.revoke_session(&user.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}
