//! `GET /v1/devices`, `PATCH` and `DELETE /v1/devices/{id}` (docs/RELAY.md,
//! "Devices").

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ipc_schema::relay::{
    DeviceList, ErrorBody, RenameDeviceRequest, RevokeDeviceRequest, is_valid_device_id,
    is_valid_device_name,
};

use super::extract::{ApiJson, ApiPath, ClientIp};
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::server::AppState;
use crate::store::StoreError;
use crate::store::sqlite::now_ms;

/// How long a revoked or expired device stays in the list.
const GONE_LISTED_MS: u64 = 30 * 24 * 3600 * 1000;

/// The account's devices: the active ones, oldest first, then those revoked
/// or expired in the last 30 days (so the others can tell their user).
#[utoipa::path(get, path = "/v1/devices", tag = "devices",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the account's devices", body = DeviceList),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<DeviceList>, AppError> {
    let devices = state
        .store
        .devices(&user.username, now_ms().saturating_sub(GONE_LISTED_MS))
        .await?;
    Ok(Json(DeviceList {
        current: user.device_id,
        devices,
    }))
}

/// Revoke a device: its tokens stop working at once, the envelopes it had
/// yet to fetch are dropped for it, and nothing more is stored for it. The
/// account password changes in the same step, because the revoked device
/// knew the old one and could otherwise log in as a new device.
#[utoipa::path(delete, path = "/v1/devices/{id}", tag = "devices",
    request_body = RevokeDeviceRequest,
    security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[0-9a-f]{16}$", description = "the device's id")),
    responses(
        (status = 204, description = "device revoked and password changed"),
        (status = 400, description = "malformed body, or the new password breaks the rules", body = ErrorBody),
        (status = 401, description = "bad token or wrong password", body = ErrorBody),
        (status = 404, description = "no such active device of the account", body = ErrorBody),
        (status = 408, description = "the body did not arrive within the body timeout (60 s by default)", body = ErrorBody),
        (status = 413, description = "body over 16 KiB", body = ErrorBody),
        (status = 429, description = "too many recent failures (throttled like login), the relay is busy checking passwords, or over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing changed; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    user: AuthUser,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RevokeDeviceRequest>,
) -> Result<StatusCode, AppError> {
    if !is_valid_device_id(&id) {
        return Err(StoreError::UnknownDevice.into());
    }
    super::accounts::check_password(req.new_password.expose())?;
    super::sessions::verify_password(&state, &user.username, ip, req.password).await?;
    let hash = state.passwords.hash(req.new_password).await?;
    state
        .store
        .revoke_device(&user.username, &id, &hash)
        .await
        .map_err(|e| match e {
            // Gone already: for the caller, no such active device.
            StoreError::DeviceGone => StoreError::UnknownDevice,
            other => other,
        })?;
    // Its waiting long-polls end now, with 401 (`messages::list`).
    state.waiters.wake(std::slice::from_ref(&user.username));
    tracing::info!(user = %user.username, device = %id, "device revoked, password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// Rename an active device of the account (any device may rename any).
#[utoipa::path(patch, path = "/v1/devices/{id}", tag = "devices",
    request_body = RenameDeviceRequest,
    security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[0-9a-f]{16}$", description = "the device's id")),
    responses(
        (status = 204, description = "renamed"),
        (status = 400, description = "malformed body, or not a device name (1 to 32 bytes, no control characters)", body = ErrorBody),
        (status = 401, description = "bad token", body = ErrorBody),
        (status = 404, description = "no such active device of the account", body = ErrorBody),
        (status = 408, description = "the body did not arrive within the body timeout (60 s by default)", body = ErrorBody),
        (status = 413, description = "body over 16 KiB", body = ErrorBody),
        (status = 429, description = "over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing changed; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn rename(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RenameDeviceRequest>,
) -> Result<StatusCode, AppError> {
    if !is_valid_device_id(&id) {
        return Err(StoreError::UnknownDevice.into());
    }
    if !is_valid_device_name(&req.name) {
        return Err(AppError::bad_request(
            "a device name is 1 to 32 bytes with no control characters",
        ));
    }
    state
        .store
        .rename_device(&user.username, &id, &req.name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
