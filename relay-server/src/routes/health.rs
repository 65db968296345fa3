//! `GET /v1/health` and `GET /v1/openapi.json`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use ipc_schema::relay::{Health, HealthStatus};

use crate::server::AppState;

/// Liveness plus a store query; 503 when the store does not answer.
#[utoipa::path(get, path = "/v1/health", tag = "meta",
    responses(
        (status = 200, description = "working", body = Health),
        (status = 503, description = "the store does not answer", body = Health),
    ))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let store = match state.store.ping().await {
        Ok(()) => HealthStatus::Ok,
        Err(e) => {
            tracing::error!(error = %e, "health check: store failed");
            HealthStatus::Error
        }
    };
    let status = if store == HealthStatus::Ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Health {
        status: store,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        store,
    };
    (status, Json(body))
}

/// This API as an OpenAPI 3.1 document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "the OpenAPI document", content_type = "application/json")))]
pub async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    let doc = state.openapi.get().cloned().unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], doc)
}
