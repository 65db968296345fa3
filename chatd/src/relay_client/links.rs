//! Device links, renaming devices (docs/RELAY.md §5.3) and replacing the
//! account's card (§5.4) on the relay.

use ipc_schema::Secret;
use ipc_schema::relay::{LinkStored, RenameDeviceRequest, ReplaceCardRequest};
use reqwest::{Method, StatusCode};

use super::{RelayClient, RelayError, Resend, refused, success, transport};

impl RelayClient {
    /// `PUT /v1/links/{handle}`: leaves a sealed link; when it expires.
    pub async fn put_link(
        &self,
        token: &Secret,
        handle: &str,
        link: String,
    ) -> Result<u64, RelayError> {
        // Leaving it again replaces it with the same link.
        let resp = self
            .call(
                Method::PUT,
                &format!("/v1/links/{handle}"),
                120,
                Resend::Always,
                |r| {
                    r.bearer_auth(token.expose())
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(link)
                },
            )
            .await?;
        if resp.status() == StatusCode::CREATED {
            let stored: LinkStored = resp
                .json()
                .await
                .map_err(|e| RelayError::Protocol(e.to_string()))?;
            Ok(stored.expires_at)
        } else {
            Err(refused(resp).await)
        }
    }

    /// `POST /v1/links/{handle}/claim`: the sealed link, deleted on the
    /// relay as it is given; `None` when there is none by that handle.
    pub async fn claim_link(
        &self,
        token: &Secret,
        handle: &str,
    ) -> Result<Option<String>, RelayError> {
        // The relay deletes the link as it gives it: a second claim finds
        // none.
        let resp = self
            .call(
                Method::POST,
                &format!("/v1/links/{handle}/claim"),
                120,
                Resend::IfUnsent,
                |r| r.bearer_auth(token.expose()),
            )
            .await?;
        match resp.status() {
            StatusCode::OK => Ok(Some(resp.text().await.map_err(transport)?)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(refused(resp).await),
        }
    }

    /// `PATCH /v1/devices/{id}`.
    pub async fn rename_device(
        &self,
        token: &Secret,
        id: &str,
        name: &str,
    ) -> Result<(), RelayError> {
        let body = RenameDeviceRequest {
            name: name.to_owned(),
        };
        let resp = self
            .call(
                Method::PATCH,
                &format!("/v1/devices/{id}"),
                30,
                Resend::Always,
                |r| r.bearer_auth(token.expose()).json(&body),
            )
            .await?;
        success(resp).await
    }

    /// `PUT /v1/directory/me`: the account's new card.
    pub async fn replace_card(
        &self,
        token: &Secret,
        password: &Secret,
        card: serde_json::Value,
    ) -> Result<(), RelayError> {
        let body = ReplaceCardRequest {
            password: password.clone(),
            card,
        };
        // The same card again changes nothing.
        let resp = self
            .call(Method::PUT, "/v1/directory/me", 30, Resend::Always, |r| {
                r.bearer_auth(token.expose()).json(&body)
            })
            .await?;
        success(resp).await
    }
}
