//! The one error type handlers return; it renders as
//! `{"error":{"code":"…","message":"…"}}` with the matching status.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipc_schema::relay::{ErrorBody, error_code as code};

use crate::auth::PasswordError;
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

/// `Retry-After` when every password hashing slot is taken: the queue
/// drains in well under a second.
const HASHING_BUSY_RETRY_SECS: u64 = 1;

impl From<PasswordError> for AppError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Busy => AppError {
                retry_after: Some(HASHING_BUSY_RETRY_SECS),
                ..AppError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    code::RATE_LIMITED,
                    "the relay is busy checking passwords; try again in a moment",
                )
            },
            PasswordError::Failed(detail) => AppError::internal(detail),
        }
    }
}

/// `Retry-After` when the relay is shutting down: about a restart.
const SHUTTING_DOWN_RETRY_SECS: u64 = 5;

/// `Retry-After` when the relay's disk is full: long enough for an operator
/// (or a mailbox drained by its owner) to free space.
const STORAGE_FULL_RETRY_SECS: u64 = 30;

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
            StoreError::UnknownDevice => AppError::new(
                StatusCode::NOT_FOUND,
                code::UNKNOWN_DEVICE,
                "the account has no such device",
            ),
            StoreError::DeviceGone => AppError::new(
                StatusCode::FORBIDDEN,
                code::DEVICE_GONE,
                "this device was revoked or expired; add it again as a new device",
            ),
            StoreError::TooManyDevices => AppError::new(
                StatusCode::CONFLICT,
                code::TOO_MANY_DEVICES,
                format!(
                    "the account already has {} devices; revoke one first",
                    ipc_schema::relay::MAX_DEVICES
                ),
            ),
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
            StoreError::Closed => AppError {
                retry_after: Some(SHUTTING_DOWN_RETRY_SECS),
                ..AppError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code::INTERNAL,
                    "relay is shutting down",
                )
            },
            StoreError::StorageFull => AppError {
                retry_after: Some(STORAGE_FULL_RETRY_SECS),
                ..AppError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code::STORAGE_FULL,
                    "the relay's storage is full; nothing was stored, try again later",
                )
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_a_503_with_retry_after_not_an_internal_error() {
        // SQLite reports a full disk and a full page budget alike (SQLITE_FULL).
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x BLOB); PRAGMA max_page_count = 2;")
            .unwrap();
        let full = conn
            .execute("INSERT INTO t VALUES (zeroblob(100000))", [])
            .unwrap_err();
        let e = StoreError::from(full);
        assert!(matches!(e, StoreError::StorageFull), "{e:?}");
        assert!(matches!(e.again(), StoreError::StorageFull));

        let response = AppError::from(e).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers()[header::RETRY_AFTER],
            STORAGE_FULL_RETRY_SECS.to_string()
        );
        let body = body_text(response);
        assert!(body.contains(code::STORAGE_FULL), "{body}");

        // Any other storage failure stays a 500.
        let other = StoreError::from(rusqlite::Error::InvalidQuery);
        assert!(matches!(other, StoreError::Backend(_)));
        assert_eq!(
            AppError::from(other).into_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    /// Every 429 and 503 the relay can answer tells the client when to come
    /// back.
    #[test]
    fn every_429_and_503_carries_retry_after() {
        let answers = [
            AppError::rate_limited(0),
            AppError::from(StoreError::StorageFull),
            AppError::from(StoreError::Closed),
            AppError::from(PasswordError::Busy),
        ];
        for e in answers {
            let response = e.into_response();
            assert!(
                matches!(response.status().as_u16(), 429 | 503),
                "{}",
                response.status()
            );
            let secs: u64 = response.headers()[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(secs >= 1);
        }
    }

    fn body_text(response: Response) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = rt
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 16))
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}
