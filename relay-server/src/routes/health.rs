//! `GET /v1/health` and `GET /v1/openapi.json`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipc_schema::relay::{Health, HealthStatus};

use crate::server::AppState;

/// Liveness plus a store query; 503 when the store does not answer.
#[utoipa::path(get, path = "/v1/health", tag = "meta",
    responses(
        (status = 200, description = "working", body = Health),
        (status = 503, description = "the store does not answer", body = Health, headers(("Retry-After" = u64, description = "whole seconds to wait before trying again"))),
    ))]
pub async fn health(State(state): State<AppState>) -> Response {
    let store = match state.store.ping().await {
        Ok(()) => HealthStatus::Ok,
        Err(e) => {
            tracing::error!(error = %e, "health check: store failed");
            HealthStatus::Error
        }
    };
    answer(store)
}

/// `Retry-After` of an unhealthy answer: a store that failed a trivial query
/// is not back within a moment.
const UNHEALTHY_RETRY_SECS: u64 = 10;

fn answer(store: HealthStatus) -> Response {
    let body = Json(Health {
        status: store,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        store,
    });
    if store == HealthStatus::Ok {
        (StatusCode::OK, body).into_response()
    } else {
        let retry = [(header::RETRY_AFTER, UNHEALTHY_RETRY_SECS.to_string())];
        (StatusCode::SERVICE_UNAVAILABLE, retry, body).into_response()
    }
}

/// This API as an OpenAPI 3.1 document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "the OpenAPI document", content_type = "application/json")))]
pub async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    let doc = state.openapi.get().cloned().unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unhealthy_answer_is_503_with_retry_after() {
        let sick = answer(HealthStatus::Error);
        assert_eq!(sick.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(sick.headers()[header::RETRY_AFTER], "10");
        let well = answer(HealthStatus::Ok);
        assert_eq!(well.status(), StatusCode::OK);
        assert!(well.headers().get(header::RETRY_AFTER).is_none());
    }
}
