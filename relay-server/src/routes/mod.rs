//! HTTP API v1 (DESIGN §4), one file per resource. Every route is registered
//! through `utoipa_axum`, so the OpenAPI document and the router are built
//! from the same list.

pub mod accounts;
pub mod directory;
pub mod extract;
pub mod health;
pub mod messages;
pub mod sessions;

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::server::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "chat relay", description = "Store-and-forward relay for end-to-end encrypted chat envelopes (API v1)."),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route, with its OpenAPI description.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::delete_me))
        .routes(routes!(sessions::login))
        .routes(routes!(sessions::logout))
        .routes(routes!(directory::card))
        .routes(routes!(directory::list))
        .routes(routes!(messages::put, messages::get_one))
        .routes(routes!(messages::list))
        .routes(routes!(messages::ack))
        .routes(routes!(health::health))
        .routes(routes!(health::openapi))
}
