//! The relay's HTTP API spoken directly, without a daemon.

use crate::runtime;

/// The relay's HTTP API spoken directly, as a client without a daemon would
/// (a forger, a third user, a test looking into a mailbox).
pub struct RelayApi {
    url: String,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

/// A relay answer: status and body.
#[derive(Debug)]
pub struct HttpReply {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
}

impl RelayApi {
    /// A client for the relay at `url`, with a runtime of its own.
    pub(crate) fn new(url: &str) -> RelayApi {
        RelayApi {
            url: url.to_owned(),
            // No idle connections kept: this runtime only runs inside a call,
            // so a connection the relay closed while idle (its idle timeout)
            // would not be noticed and the next request would hit a broken
            // pipe.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("an HTTP client"),
            rt: runtime(),
        }
    }

    fn send(&self, req: reqwest::RequestBuilder) -> HttpReply {
        self.rt.block_on(async {
            let resp = req.send().await.expect("relay answers");
            HttpReply {
                status: resp.status().as_u16(),
                body: resp.text().await.unwrap_or_default(),
            }
        })
    }

    /// `POST /v1/accounts`.
    pub fn register(&self, user: &str, password: &str, card: serde_json::Value) -> HttpReply {
        self.send(
            self.http
                .post(format!("{}/v1/accounts", self.url))
                .json(&serde_json::json!({"username": user, "password": password, "card": card})),
        )
    }

    /// `POST /v1/sessions`: the reply (201 with a token, or the refusal).
    pub fn try_login(&self, user: &str, password: &str) -> HttpReply {
        self.send(
            self.http
                .post(format!("{}/v1/sessions", self.url))
                .json(&serde_json::json!({"username": user, "password": password})),
        )
    }

    /// Logs in; returns the token.
    pub fn login(&self, user: &str, password: &str) -> String {
        let reply = self.try_login(user, password);
        assert_eq!(reply.status, 201, "login as {user}: {reply:?}");
        let v: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        v["token"].as_str().expect("token").to_owned()
    }

    /// `PUT /v1/directory/me`: the account's new card.
    pub fn replace_card(&self, token: &str, password: &str, card: serde_json::Value) -> HttpReply {
        self.send(
            self.http
                .put(format!("{}/v1/directory/me", self.url))
                .bearer_auth(token)
                .json(&serde_json::json!({"password": password, "card": card})),
        )
    }

    /// `POST /v1/blobs` then one `PUT /v1/blobs/{id}` of all of `bytes`,
    /// declared as `size` bytes, for `readers`; the PUT's answer.
    pub fn upload_blob(
        &self,
        token: &str,
        id: &str,
        size: u64,
        readers: &[&str],
        bytes: Vec<u8>,
    ) -> HttpReply {
        let created = self.send(
            self.http
                .post(format!("{}/v1/blobs", self.url))
                .bearer_auth(token)
                .json(&serde_json::json!({"id": id, "size": size, "readers": readers})),
        );
        assert!(created.status < 300, "create blob {id}: {created:?}");
        let end = bytes.len() as u64;
        self.send(
            self.http
                .put(format!("{}/v1/blobs/{id}", self.url))
                .bearer_auth(token)
                .header(
                    "Content-Range",
                    format!("bytes 0-{}/{size}", end.saturating_sub(1)),
                )
                .body(bytes),
        )
    }

    /// `PUT /v1/messages/{id}` with the envelope's own id.
    pub fn put(&self, token: &str, envelope: &serde_json::Value) -> HttpReply {
        let id = envelope["id"].as_str().expect("envelope id");
        self.send(
            self.http
                .put(format!("{}/v1/messages/{id}", self.url))
                .bearer_auth(token)
                .json(envelope),
        )
    }

    /// `GET /v1/messages` without waiting: the caller's pending envelopes.
    pub fn pending(&self, token: &str) -> Vec<serde_json::Value> {
        let reply = self.send(
            self.http
                .get(format!("{}/v1/messages?wait=0", self.url))
                .bearer_auth(token),
        );
        match reply.status {
            204 => Vec::new(),
            200 => {
                let v: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
                v["messages"].as_array().expect("messages").clone()
            }
            _ => panic!("GET /v1/messages: {reply:?}"),
        }
    }

    /// `GET /v1/backup`: the account's backup on the relay, if it has one.
    pub fn backup(&self, token: &str) -> Option<String> {
        let reply = self.send(
            self.http
                .get(format!("{}/v1/backup", self.url))
                .bearer_auth(token),
        );
        match reply.status {
            200 => Some(reply.body),
            404 => None,
            _ => panic!("GET /v1/backup: {reply:?}"),
        }
    }

    /// `POST /v1/messages/ack`.
    pub fn ack(&self, token: &str, ids: &[&str]) {
        let reply = self.send(
            self.http
                .post(format!("{}/v1/messages/ack", self.url))
                .bearer_auth(token)
                .json(&serde_json::json!({ "ids": ids })),
        );
        assert_eq!(reply.status, 204, "ack: {reply:?}");
    }
}
