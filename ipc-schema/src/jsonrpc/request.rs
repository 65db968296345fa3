//! A call from a frontend, parsed strictly.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ErrorObject, Id, JsonRpc2, Response, code};
use crate::methods::Method;

/// A call from a frontend: `{"jsonrpc":"2.0","id":…,"method":"…","params":{…}}`.
///
/// Parsing goes through [`Request::from_value`], which tells a bad frame, an
/// unknown method and bad params apart so chatd can answer with the right code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Request {
    /// Always `"2.0"`.
    pub jsonrpc: JsonRpc2,
    /// Echoed in the response.
    pub id: Id,
    /// The method and its params, as the `method` and `params` members.
    #[serde(flatten)]
    pub method: Method,
}

/// Why a frame is not an acceptable request; each kind maps to one JSON-RPC error code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not JSON at all (or not UTF-8).
    #[error("parse error: {0}")]
    Parse(String),
    /// JSON, but not a request object of the 2.0 shape.
    #[error("invalid request: {why}")]
    Invalid {
        /// The request's id, when one could be read, for the error response.
        id: Option<Id>,
        /// What is wrong.
        why: String,
    },
    /// A well-formed request for a method chatd does not have.
    #[error("method not found: `{method}`")]
    MethodNotFound {
        /// The request's id.
        id: Id,
        /// The unknown method name.
        method: String,
    },
    /// A known method with params that do not fit it.
    #[error("invalid params for `{method}`: {why}")]
    InvalidParams {
        /// The request's id.
        id: Id,
        /// The method name.
        method: String,
        /// What is wrong, as serde reports it (e.g. "missing field `to`").
        why: String,
    },
}

impl RequestError {
    /// The id to answer to, if the request had a readable one.
    pub fn id(&self) -> Option<&Id> {
        match self {
            RequestError::Parse(_) => None,
            RequestError::Invalid { id, .. } => id.as_ref(),
            RequestError::MethodNotFound { id, .. } | RequestError::InvalidParams { id, .. } => {
                Some(id)
            }
        }
    }

    /// The JSON-RPC error code for this kind of failure.
    pub fn code(&self) -> i64 {
        match self {
            RequestError::Parse(_) => code::PARSE_ERROR,
            RequestError::Invalid { .. } => code::INVALID_REQUEST,
            RequestError::MethodNotFound { .. } => code::METHOD_NOT_FOUND,
            RequestError::InvalidParams { .. } => code::INVALID_PARAMS,
        }
    }

    /// The error response chatd sends back for this failure.
    pub fn to_response(&self) -> Response {
        Response::error(
            self.id().cloned(),
            ErrorObject::new(self.code(), self.to_string()),
        )
    }
}

impl Request {
    /// A request for `method` with the given id.
    pub fn new(id: Id, method: impl Into<Method>) -> Self {
        Request {
            jsonrpc: JsonRpc2,
            id,
            method: method.into(),
        }
    }

    /// Parses one frame strictly; see [`Request::from_value`].
    pub fn from_slice(frame: &[u8]) -> Result<Request, RequestError> {
        let value: Value =
            serde_json::from_slice(frame).map_err(|e| RequestError::Parse(e.to_string()))?;
        Request::from_value(value)
    }

    /// Checks a parsed frame member by member. Absent `params` count as `{}`, so
    /// `{"jsonrpc":"2.0","id":1,"method":"status"}` is a valid call.
    pub fn from_value(value: Value) -> Result<Request, RequestError> {
        let invalid = |id: Option<Id>, why: &str| RequestError::Invalid {
            id,
            why: why.to_owned(),
        };
        let mut obj = match value {
            Value::Object(obj) => obj,
            Value::Array(_) => return Err(invalid(None, "batches are not supported")),
            _ => return Err(invalid(None, "a request must be a JSON object")),
        };
        // Read the id first so that every later refusal can name it.
        let id = obj.get("id").and_then(|v| Id::deserialize(v).ok());
        match obj.remove("jsonrpc") {
            Some(Value::String(v)) if v == "2.0" => {}
            _ => return Err(invalid(id, r#"`jsonrpc` must be "2.0""#)),
        }
        let Some(id) = id else {
            let why = if obj.contains_key("id") {
                "`id` must be an integer or a string"
            } else {
                "`id` is required: chatd answers every call and takes no notifications"
            };
            return Err(invalid(None, why));
        };
        obj.remove("id");
        let method = match obj.remove("method") {
            Some(Value::String(m)) => m,
            Some(_) => return Err(invalid(Some(id), "`method` must be a string")),
            None => return Err(invalid(Some(id), "`method` is required")),
        };
        let params = obj.remove("params");
        if let Some(extra) = obj.keys().next() {
            let why = format!("unknown member `{extra}`");
            return Err(invalid(Some(id), &why));
        }
        if !Method::NAMES.contains(&method.as_str()) {
            return Err(RequestError::MethodNotFound { id, method });
        }
        let params = match params {
            None => Value::Object(Map::new()),
            Some(Value::Object(p)) => Value::Object(p),
            Some(_) => {
                return Err(RequestError::InvalidParams {
                    id,
                    method,
                    why: "params must be an object of named parameters".to_owned(),
                });
            }
        };
        let mut tagged = Map::new();
        tagged.insert("method".to_owned(), Value::String(method.clone()));
        tagged.insert("params".to_owned(), params);
        match serde_json::from_value::<Method>(Value::Object(tagged)) {
            Ok(method) => Ok(Request {
                jsonrpc: JsonRpc2,
                id,
                method,
            }),
            Err(e) => Err(RequestError::InvalidParams {
                id,
                method,
                why: e.to_string(),
            }),
        }
    }
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Request::from_value(value).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::code;
    use crate::methods::StatusParams;
    use serde_json::json;

    fn parse(v: Value) -> Result<Request, RequestError> {
        Request::from_value(v)
    }

    #[test]
    fn a_minimal_call_without_params_is_accepted() {
        let req = parse(json!({"jsonrpc": "2.0", "id": 1, "method": "status"})).unwrap();
        assert_eq!(req, Request::new(Id::Number(1), StatusParams {}));
        let req = parse(json!({"jsonrpc": "2.0", "id": "a", "method": "status", "params": {}}));
        assert_eq!(req.unwrap().id, Id::String("a".into()));
    }

    #[test]
    fn jsonrpc_must_be_exactly_2_0() {
        for bad in [
            json!("1.0"),
            json!("2"),
            json!(2.0),
            json!(null),
            json!("2.0 "),
        ] {
            let err = parse(json!({"jsonrpc": bad, "id": 7, "method": "status"})).unwrap_err();
            assert_eq!(err.code(), code::INVALID_REQUEST, "{bad}");
            assert_eq!(err.id(), Some(&Id::Number(7)), "the id is still echoed");
        }
        let err = parse(json!({"id": 7, "method": "status"})).unwrap_err();
        assert_eq!(err.code(), code::INVALID_REQUEST);
        assert!(serde_json::from_str::<JsonRpc2>(r#""2.1""#).is_err());
        assert_eq!(
            serde_json::from_str::<JsonRpc2>(r#""2.0""#).unwrap(),
            JsonRpc2
        );
    }

    #[test]
    fn unknown_method_is_method_not_found() {
        let err = parse(json!({"jsonrpc": "2.0", "id": 3, "method": "message.sned"})).unwrap_err();
        assert_eq!(
            err,
            RequestError::MethodNotFound {
                id: Id::Number(3),
                method: "message.sned".into()
            }
        );
        let resp = err.to_response();
        assert_eq!(resp.id, Some(Id::Number(3)));
        assert_eq!(resp.outcome.unwrap_err().code, code::METHOD_NOT_FOUND);
    }

    #[test]
    fn missing_or_wrong_params_are_invalid_params() {
        let no_params = json!({"jsonrpc": "2.0", "id": 4, "method": "message.send"});
        let err = parse(no_params).unwrap_err();
        assert_eq!(err.code(), code::INVALID_PARAMS);
        assert!(err.to_string().contains("missing field `to`"), "{err}");

        let missing_body = json!({"jsonrpc": "2.0", "id": 4, "method": "message.send",
            "params": {"to": "bob"}});
        assert!(
            parse(missing_body)
                .unwrap_err()
                .to_string()
                .contains("`body`")
        );

        let unknown_field = json!({"jsonrpc": "2.0", "id": 4, "method": "message.send",
            "params": {"to": "bob", "body": "hi", "urgent": true}});
        let err = parse(unknown_field).unwrap_err();
        assert_eq!(err.code(), code::INVALID_PARAMS);
        assert!(err.to_string().contains("unknown field `urgent`"), "{err}");

        let positional = json!({"jsonrpc": "2.0", "id": 4, "method": "message.send",
            "params": ["bob", "hi"]});
        assert_eq!(parse(positional).unwrap_err().code(), code::INVALID_PARAMS);

        let extra_on_empty = json!({"jsonrpc": "2.0", "id": 4, "method": "status",
            "params": {"verbose": true}});
        assert_eq!(
            parse(extra_on_empty).unwrap_err().code(),
            code::INVALID_PARAMS
        );
    }

    #[test]
    fn malformed_envelopes_are_invalid_requests() {
        let cases = [
            json!([{"jsonrpc": "2.0", "id": 1, "method": "status"}]),
            json!("status"),
            json!({"jsonrpc": "2.0", "method": "status"}),
            json!({"jsonrpc": "2.0", "id": null, "method": "status"}),
            json!({"jsonrpc": "2.0", "id": 1.5, "method": "status"}),
            json!({"jsonrpc": "2.0", "id": [1], "method": "status"}),
            json!({"jsonrpc": "2.0", "id": 1}),
            json!({"jsonrpc": "2.0", "id": 1, "method": 5}),
            json!({"jsonrpc": "2.0", "id": 1, "method": "status", "extra": 1}),
        ];
        for case in cases {
            assert_eq!(
                parse(case.clone()).unwrap_err().code(),
                code::INVALID_REQUEST,
                "{case}"
            );
        }
    }

    #[test]
    fn not_json_is_a_parse_error_with_a_null_id() {
        let err = Request::from_slice(b"{\"jsonrpc\": \"2.0\",").unwrap_err();
        assert_eq!(err.code(), code::PARSE_ERROR);
        let text = serde_json::to_string(&err.to_response()).unwrap();
        assert!(text.starts_with(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"#));
        assert_eq!(
            Request::from_slice(b"\xff\xfe").unwrap_err().code(),
            code::PARSE_ERROR
        );
    }

    #[test]
    fn the_serde_impl_is_just_as_strict() {
        let text = r#"{"jsonrpc":"2.0","id":1,"method":"status","params":{"x":1}}"#;
        let err = serde_json::from_str::<Request>(text).unwrap_err();
        assert!(
            err.to_string().contains("invalid params for `status`"),
            "{err}"
        );
    }
}
