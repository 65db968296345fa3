//! The one error type handlers return; it renders as
//! `{"error":{"code":"…","message":"…"}}` with the matching status.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipc_schema::relay::{ErrorBody, error_code as code};

use crate::store::StoreError;

/// A refused request.
#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl AppError {
    /// An error with a status, a stable code and a sentence.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 with a reason.
    pub fn bad_request(message: impl Into<String>) -> Self {
        AppError::new(StatusCode::BAD_REQUEST, code::BAD_REQUEST, message)
    }

    /// 401 for a missing, unknown, expired or revoked token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        AppError::new(StatusCode::UNAUTHORIZED, code::UNAUTHORIZED, message)
    }

    /// 401 for a failed login; the same for unknown users and wrong passwords.
    pub fn invalid_credentials() -> Self {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            code::INVALID_CREDENTIALS,
            "unknown user or wrong password",
        )
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::new(StatusCode::FORBIDDEN, code::FORBIDDEN, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        AppError::new(StatusCode::NOT_FOUND, code::NOT_FOUND, message)
    }

    /// 429 with a `Retry-After` in seconds.
    pub fn rate_limited(retry_after: u64) -> Self {
        AppError {
            retry_after: Some(retry_after.max(1)),
            ..AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                code::RATE_LIMITED,
                "too many requests or failed attempts; try again later",
            )
        }
    }

    /// 500 without detail for the client; the detail goes to the log.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            "internal error",
        )
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UsernameTaken => AppError::new(
                StatusCode::CONFLICT,
                code::USERNAME_TAKEN,
                "username is taken",
            ),
            StoreError::InvalidInvite => AppError::new(
                StatusCode::FORBIDDEN,
                code::INVALID_INVITE,
                "invite code is unknown or already used",
            ),
            StoreError::UnknownUser => AppError::not_found("no such user"),
            StoreError::UnknownRecipient => AppError::new(
                StatusCode::NOT_FOUND,
                code::UNKNOWN_RECIPIENT,
                "the recipient has no account on this relay",
            ),
            StoreError::Conflict => AppError::new(
                StatusCode::CONFLICT,
                code::CONFLICT,
                "an envelope with this id and different content exists",
            ),
            StoreError::QuotaExceeded => AppError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                code::QUOTA_EXCEEDED,
                "the recipient's mailbox is full",
            ),
            StoreError::Closed => AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code::INTERNAL,
                "relay is shutting down",
            ),
            StoreError::Backend(detail) => AppError::internal(detail),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, Json(ErrorBody::new(self.code, self.message))).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
