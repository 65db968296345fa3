//! `POST /v1/accounts` and `DELETE /v1/accounts/me`.

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ipc_schema::envelope::is_valid_username;
use ipc_schema::relay::{
    ChangePasswordRequest, DeleteAccountRequest, ErrorBody, RegisterRequest, error_code,
    is_valid_device_name,
};
use serde::Deserialize;

use super::extract::{ApiJson, ClientIp};
use crate::auth::AuthUser;
use crate::config::RegistrationPolicy;
use crate::error::AppError;
use crate::server::AppState;

/// Passwords shorter than this are refused; longer than the max, too (Argon2
/// input is bounded so a request cannot buy unbounded hashing).
const MIN_PASSWORD: usize = 8;
const MAX_PASSWORD: usize = 1024;

/// The card's shape. The relay checks the shape and the name only: it does no
/// key parsing or other cryptography (that is chatd's job; docs/SECURITY.md §2.2).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardShape {
    v: u32,
    user: String,
    enc: String,
    sig: String,
}

pub(crate) fn check_card(card: &serde_json::Value, username: &str) -> Result<String, AppError> {
    let shape: CardShape = serde_json::from_value(card.clone())
        .map_err(|e| AppError::bad_request(format!("card is not a v1 contact card: {e}")))?;
    if shape.v != 1 {
        return Err(AppError::bad_request("card version must be 1"));
    }
    if shape.user != username {
        return Err(AppError::bad_request("card names a different user"));
    }
    for (field, text) in [("enc", &shape.enc), ("sig", &shape.sig)] {
        let der = B64
            .decode(text)
            .map_err(|_| AppError::bad_request(format!("card field `{field}` is not base64")))?;
        // SPKI of a 2048..4096-bit RSA key.
        if !(200..=600).contains(&der.len()) {
            return Err(AppError::bad_request(format!(
                "card field `{field}` is not an RSA public key of an allowed size"
            )));
        }
    }
    Ok(serde_json::to_string(card).expect("a Value serializes"))
}

pub(crate) fn check_password(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(AppError::bad_request(format!(
            "password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )));
    }
    Ok(())
}

/// Register an account and publish its card in the directory.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "account created"),
        (status = 400, description = "invalid username, password or card", body = ErrorBody),
        (status = 403, description = "registration closed, or invite missing, unknown or used", body = ErrorBody),
        (status = 409, description = "username taken", body = ErrorBody),
        (status = 408, description = "the body did not arrive within the body timeout (60 s by default)", body = ErrorBody),
        (status = 413, description = "body over 16 KiB", body = ErrorBody),
        (status = 429, description = "the relay is busy checking passwords; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing stored; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<StatusCode, AppError> {
    if !is_valid_username(&req.username) {
        return Err(AppError::bad_request(
            "username must match ^[a-z0-9][a-z0-9_.-]{2,31}$",
        ));
    }
    check_password(req.password.expose())?;
    let card = check_card(&req.card, &req.username)?;
    let device_name = req.device_name.as_deref().unwrap_or("default");
    if !is_valid_device_name(device_name) {
        return Err(AppError::bad_request(
            "device name must be 1 to 32 bytes, without control characters",
        ));
    }
    let invite = match state.config.registration {
        RegistrationPolicy::Closed => {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                error_code::REGISTRATION_CLOSED,
                "registration is closed on this relay",
            ));
        }
        RegistrationPolicy::Invite => Some(req.invite.clone().ok_or_else(|| {
            AppError::new(
                StatusCode::FORBIDDEN,
                error_code::INVALID_INVITE,
                "this relay needs an invite code",
            )
        })?),
        RegistrationPolicy::Open => None,
    };
    let hash = state.passwords.hash(req.password.clone()).await?;
    state
        .store
        .create_account(&req.username, &hash, &card, invite.as_deref(), device_name)
        .await?;
    tracing::info!(user = %req.username, "account registered");
    Ok(StatusCode::CREATED)
}

/// Delete the caller's account: mailbox, sessions, directory entry and blobs.
#[utoipa::path(delete, path = "/v1/accounts/me", tag = "accounts",
    request_body = DeleteAccountRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "account deleted"),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "bad token or wrong password", body = ErrorBody),
        (status = 408, description = "the body did not arrive within the body timeout (60 s by default)", body = ErrorBody),
        (status = 413, description = "body over 16 KiB", body = ErrorBody),
        (status = 429, description = "too many recent failures (throttled like login), the relay is busy checking passwords, or over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing changed; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn delete_me(
    State(state): State<AppState>,
    user: AuthUser,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<DeleteAccountRequest>,
) -> Result<StatusCode, AppError> {
    super::sessions::verify_password(&state, &user.username, ip, req.password).await?;
    let blobs = state.store.blobs_of(&user.username).await?;
    state.store.delete_account(&user.username).await?;
    // The rows went with the account; a blob created in between is left to
    // the sweep, which deletes files without a row.
    state.blobs.remove(&blobs).await;
    tracing::info!(user = %user.username, "account deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Change the caller's account password. Sessions stay: every device stays
/// logged in until its token expires, and then needs the new password.
#[utoipa::path(put, path = "/v1/accounts/me/password", tag = "accounts",
    request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "password changed"),
        (status = 400, description = "malformed body, or the new password breaks the rules", body = ErrorBody),
        (status = 401, description = "bad token or wrong password", body = ErrorBody),
        (status = 408, description = "the body did not arrive within the body timeout (60 s by default)", body = ErrorBody),
        (status = 413, description = "body over 16 KiB", body = ErrorBody),
        (status = 429, description = "too many recent failures (throttled like login), the relay is busy checking passwords, or over this token's request rate; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
        (status = 503, description = "the relay's disk is full, nothing changed; see Retry-After", body = ErrorBody, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, AppError> {
    check_password(req.new_password.expose())?;
    super::sessions::verify_password(&state, &user.username, ip, req.password).await?;
    let hash = state.passwords.hash(req.new_password).await?;
    state.store.change_password(&user.username, &hash).await?;
    tracing::info!(user = %user.username, "password changed");
    Ok(StatusCode::NO_CONTENT)
}
