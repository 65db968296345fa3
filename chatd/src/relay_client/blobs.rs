//! Blobs on the relay (docs/RELAY.md §5.5): a sealed file's bytes, uploaded
//! in pieces with `Content-Range` so that an upload resumes where the relay
//! says it stopped, and downloaded by ranges.

use ipc_schema::Secret;
use ipc_schema::relay::{BlobCreate, BlobStatus};
use reqwest::{Method, StatusCode};

use super::{RelayClient, RelayError, Resend, refused, transport};

/// The header the relay says how many bytes it holds in.
const UPLOAD_OFFSET: &str = "upload-offset";

impl RelayClient {
    /// `POST /v1/blobs`: starts an upload (or finds the same one again).
    pub async fn create_blob(
        &self,
        token: &Secret,
        create: &BlobCreate,
    ) -> Result<BlobStatus, RelayError> {
        // Posting the same blob again finds it (docs/RELAY.md §5.5).
        let resp = self
            .call(Method::POST, "/v1/blobs", 30, Resend::Always, |r| {
                r.bearer_auth(token.expose()).json(create)
            })
            .await?;
        if resp.status().is_success() {
            resp.json()
                .await
                .map_err(|e| RelayError::Protocol(e.to_string()))
        } else {
            Err(refused(resp).await)
        }
    }

    /// `PUT /v1/blobs/{id}` of `bytes` from `start` of a blob of `total`.
    pub async fn put_blob(
        &self,
        token: &Secret,
        id: &str,
        start: u64,
        total: u64,
        bytes: Vec<u8>,
    ) -> Result<BlobStatus, RelayError> {
        let end = start + bytes.len() as u64;
        let range = (end > start).then(|| format!("bytes {start}-{}/{total}", end - 1));
        // A piece sent again after the relay took it is a 416 naming what
        // it holds: the upload then resumes from there, nothing is doubled.
        let resp = self
            .call(
                Method::PUT,
                &format!("/v1/blobs/{id}"),
                300,
                Resend::Always,
                |r| {
                    let r = r
                        .bearer_auth(token.expose())
                        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream");
                    match range {
                        Some(range) => r.header(reqwest::header::CONTENT_RANGE, range),
                        None => r,
                    }
                    .body(bytes)
                },
            )
            .await?;
        if resp.status().is_success() {
            resp.json()
                .await
                .map_err(|e| RelayError::Protocol(e.to_string()))
        } else {
            Err(refused(resp).await)
        }
    }

    /// `HEAD /v1/blobs/{id}`: how many bytes the relay holds (the owner's
    /// upload so far, or a reader's complete blob); `None` when it has
    /// none for this account.
    pub async fn blob_stored(&self, token: &Secret, id: &str) -> Result<Option<u64>, RelayError> {
        let resp = self
            .call(
                Method::HEAD,
                &format!("/v1/blobs/{id}"),
                30,
                Resend::Always,
                |r| r.bearer_auth(token.expose()),
            )
            .await?;
        match resp.status() {
            StatusCode::OK => resp
                .headers()
                .get(UPLOAD_OFFSET)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .map(Some)
                .ok_or_else(|| RelayError::Protocol("HEAD of a blob without Upload-Offset".into())),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(refused(resp).await),
        }
    }

    /// `DELETE /v1/blobs/{id}` (the owner's); a blob already gone is fine.
    pub async fn delete_blob(&self, token: &Secret, id: &str) -> Result<(), RelayError> {
        let resp = self
            .call(
                Method::DELETE,
                &format!("/v1/blobs/{id}"),
                30,
                Resend::Always,
                |r| r.bearer_auth(token.expose()),
            )
            .await?;
        match resp.status() {
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            _ => Err(refused(resp).await),
        }
    }

    /// `GET /v1/blobs/{id}` of bytes `start..end`; `None` when the relay
    /// has no such blob for this account (or it is not complete yet).
    pub async fn get_blob(
        &self,
        token: &Secret,
        id: &str,
        start: u64,
        end: u64,
    ) -> Result<Option<Vec<u8>>, RelayError> {
        if end <= start {
            return Ok(Some(Vec::new()));
        }
        let resp = self
            .call(
                Method::GET,
                &format!("/v1/blobs/{id}"),
                300,
                Resend::Always,
                |r| {
                    r.bearer_auth(token.expose())
                        .header(reqwest::header::RANGE, format!("bytes={start}-{}", end - 1))
                },
            )
            .await?;
        match resp.status() {
            StatusCode::PARTIAL_CONTENT | StatusCode::OK => {
                let bytes = resp.bytes().await.map_err(transport)?;
                if bytes.len() as u64 != end - start {
                    return Err(RelayError::Protocol(format!(
                        "asked for {} bytes of a blob, got {}",
                        end - start,
                        bytes.len()
                    )));
                }
                Ok(Some(bytes.to_vec()))
            }
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(refused(resp).await),
        }
    }
}
