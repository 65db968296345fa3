//! Authentication: passwords (Argon2id), session tokens, the
//! authenticated-user extractor, per-token rate limits and the login throttle.

mod admit;
mod passwords;
mod rate;
mod throttle;
mod tokens;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

pub use admit::{Admitted, admit};
pub use passwords::{PasswordError, Passwords};
pub use rate::RateLimiter;
pub use throttle::{Attempt, Throttle};
pub use tokens::{hash_token, new_token};

use crate::error::AppError;
use crate::server::AppState;
use crate::store::sqlite::now_ms;

/// Most keys a rate limiter or throttle table remembers; beyond it old
/// entries are pruned, so a flood of made-up keys cannot grow memory without
/// bound.
const MAX_KEYS: usize = 100_000;

/// The user a valid bearer token belongs to. Extracting it answers 401 for a
/// missing, malformed, unknown, revoked or expired token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The username.
    pub username: String,
    /// The device the token belongs to.
    pub device_id: String,
    /// Hash of the token used, so that logout can revoke exactly it.
    pub token_hash: String,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| AppError::unauthorized("missing bearer token"))?;
        let token = header
            .strip_prefix("Bearer ")
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or_else(|| AppError::unauthorized("malformed Authorization header"))?;
        let token_hash = hash_token(token);
        let session = state
            .store
            .session(&token_hash)
            .await?
            .ok_or_else(|| AppError::unauthorized("unknown or revoked token"))?;
        if session.expires_at <= now_ms() {
            return Err(AppError::unauthorized("token expired"));
        }
        state
            .rate_limiter
            .take(&token_hash)
            .map_err(AppError::rate_limited)?;
        Ok(AuthUser {
            username: session.username,
            device_id: session.device_id,
            token_hash,
        })
    }
}
