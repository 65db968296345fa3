//! HTTP API v1 (docs/RELAY.md), one file per resource. Every route is registered
//! through `utoipa_axum`, so the OpenAPI document and the router are built
//! from the same list.

pub mod accounts;
pub mod backup;
pub mod blob_upload;
pub mod blobs;
pub mod devices;
pub mod directory;
pub mod extract;
pub mod health;
pub mod links;
pub mod messages;
pub mod sessions;

use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt as _};
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

/// Body cap of the routes that carry a small JSON document
/// (docs/RELAY.md, "Limits"). The largest is a registration: a card (under
/// 2 KiB from chatd, whose cap is 8 KiB) and a password of at most 1 KiB,
/// 6 KiB if every byte of it is `\u`-escaped.
pub const SMALL_BODY: usize = 16 * 1024;
/// Body cap of an ack (1,000 ids of 32 hex digits are 35 KiB of JSON) and
/// of a new blob (1,000 readers' names are at most 35 KiB).
pub const ACK_BODY: usize = 64 * 1024;

/// Every route, with its OpenAPI description. Only `PUT /v1/messages/{id}`
/// takes a large body (an envelope, up to the router's 7 MiB); the others
/// are capped at a few KiB.
pub fn api() -> OpenApiRouter<AppState> {
    let small = || DefaultBodyLimit::max(SMALL_BODY);
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::register).layer(small()))
        .routes(routes!(accounts::delete_me).layer(small()))
        .routes(routes!(accounts::change_password).layer(small()))
        .routes(routes!(devices::list))
        .routes(routes!(devices::revoke, devices::rename).layer(small()))
        .routes(routes!(links::put).layer(DefaultBodyLimit::max(ipc_schema::relay::MAX_LINK_BYTES)))
        .routes(routes!(links::claim).layer(small()))
        .routes(
            routes!(backup::put, backup::get, backup::delete)
                .layer(DefaultBodyLimit::max(backup::MAX_BACKUP)),
        )
        // A blob's bytes are streamed to disk, never collected: the route
        // enforces the blob's own size (`blob_upload`).
        .routes(routes!(blobs::create).layer(DefaultBodyLimit::max(ACK_BODY)))
        .routes(
            routes!(blob_upload::put, blobs::get, blobs::head, blobs::delete)
                .layer(DefaultBodyLimit::disable()),
        )
        .routes(routes!(sessions::login).layer(small()))
        .routes(routes!(sessions::logout).layer(small()))
        .routes(routes!(directory::card))
        .routes(routes!(directory::replace_me).layer(small()))
        .routes(routes!(directory::list))
        .routes(routes!(messages::put, messages::get_one))
        .routes(routes!(messages::list))
        .routes(routes!(messages::ack).layer(DefaultBodyLimit::max(ACK_BODY)))
        .routes(routes!(health::health))
        .routes(routes!(health::openapi))
}
