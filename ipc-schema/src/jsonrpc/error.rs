//! The `error` member of a response, and why a call did not produce its result.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::code;

/// The `error` member of a failed response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct ErrorObject {
    /// One of the [`code`] constants.
    pub code: i64,
    /// One human-readable sentence.
    pub message: String,
    /// Structured detail, e.g. the relay's status and error body for `relay_refused`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with a code and a message and no data.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// The same error with structured `data` attached.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The snake_case name of this error's code, if it is one this crate defines.
    pub fn name(&self) -> Option<&'static str> {
        code::name(self.code)
    }
}

/// Why a call did not produce the expected result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// chatd answered with an error.
    #[error("chatd refused the call: {0}")]
    Rpc(ErrorObject),
    /// chatd answered with a result of the wrong shape.
    #[error("chatd's result does not have the expected shape: {0}")]
    Decode(String),
}
