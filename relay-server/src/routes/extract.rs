//! Extractors whose rejections are the API's JSON errors, not axum's plain text.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use ipc_schema::relay::error_code;
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::proxy::client_addr;
use crate::server::AppState;

/// The raw body, capped at its route's limit (413 beyond it; `routes::api`)
/// and read within `Config::body_timeout` (408 after it), so that a client
/// trickling a body holds nothing for long.
pub struct Body(pub Bytes);

impl FromRequest<AppState> for Body {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let read = Bytes::from_request(req, state);
        let Ok(read) = tokio::time::timeout(state.config.body_timeout, read).await else {
            return Err(AppError::new(
                StatusCode::REQUEST_TIMEOUT,
                error_code::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
            ));
        };
        read.map(Body).map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    error_code::PAYLOAD_TOO_LARGE,
                    "request body is larger than this route accepts",
                )
            } else {
                AppError::bad_request(rej.body_text())
            }
        })
    }
}

/// A JSON body parsed strictly into `T`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let Body(bytes) = Body::from_request(req, state).await?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| AppError::bad_request(format!("invalid JSON body: {e}")))
    }
}

/// The client's IP address: the TCP peer, or the client a trusted proxy
/// names in `X-Forwarded-For` (`Config::trusted_proxies`). Unspecified when
/// served without connection info, as in `oneshot` tests.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let forwarded = parts
            .headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .map(|v| v.as_bytes());
        Ok(ClientIp(client_addr(
            peer,
            forwarded,
            &state.config.trusted_proxies,
        )))
    }
}

/// The de-facto standard header in which proxies list the addresses a
/// request came through.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Query string parsed into `T`, 400 with a JSON error when it does not fit.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|rej| AppError::bad_request(rej.body_text()))
    }
}

/// Path parameters, 400 with a JSON error when they do not fit.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|rej| AppError::bad_request(rej.body_text()))
    }
}
