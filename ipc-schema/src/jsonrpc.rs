//! JSON-RPC 2.0 as chatd speaks it on its local socket (DESIGN §6).
//!
//! Strict on input: `jsonrpc` must be exactly `"2.0"`, ids are integers or
//! strings, params are by-name objects and unknown members are refused.
//! Batches and notifications from a frontend are not supported, so every call
//! gets exactly one response. Events from chatd are [`Notification`]s; see
//! [`crate::methods::EventEnvelope`].
#![warn(missing_docs)]

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::methods::{Call, Method};

/// The `jsonrpc` member: always serializes as `"2.0"` and refuses anything else on parse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct JsonRpc2;

impl Serialize for JsonRpc2 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("2.0")
    }
}

impl<'de> Deserialize<'de> for JsonRpc2 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Exactly;
        impl Visitor<'_> for Exactly {
            type Value = JsonRpc2;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"the string "2.0""#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonRpc2, E> {
                if v == "2.0" {
                    Ok(JsonRpc2)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }
        deserializer.deserialize_str(Exactly)
    }
}

/// A request id, chosen by the caller and echoed in the response.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Id {
    /// An integer id (fractions are refused).
    Number(i64),
    /// A string id.
    String(String),
}

impl From<i64> for Id {
    fn from(n: i64) -> Self {
        Id::Number(n)
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Self {
        Id::String(s.to_owned())
    }
}

impl From<String> for Id {
    fn from(s: String) -> Self {
        Id::String(s)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Number(n) => write!(f, "{n}"),
            Id::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Id::Number(n) => serializer.serialize_i64(*n),
            Id::String(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                i64::try_from(v)
                    .map(Id::Number)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id::String(v.to_owned()))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// Error codes: the JSON-RPC standard ones and chatd's own (in the -32000..=-32099 server range).
pub mod code {
    /// The frame is not valid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Valid JSON, but not a JSON-RPC 2.0 request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No method of that name.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The params are missing, of the wrong type, or have unknown fields.
    pub const INVALID_PARAMS: i64 = -32602;
    /// A bug or an unexpected failure inside chatd.
    pub const INTERNAL_ERROR: i64 = -32603;

    /// `hello` asked for a protocol version this daemon does not speak.
    pub const PROTOCOL_MISMATCH: i64 = -32001;
    /// A call other than `hello` came first on a connection.
    pub const HELLO_REQUIRED: i64 = -32002;
    /// The call needs a logged-in account and there is none.
    pub const NOT_LOGGED_IN: i64 = -32003;
    /// `account.register` on a daemon that already has an account.
    pub const ACCOUNT_EXISTS: i64 = -32004;
    /// The named user is not a contact.
    pub const UNKNOWN_CONTACT: i64 = -32010;
    /// A card or directory entry does not match the fingerprint the user gave.
    pub const FINGERPRINT_MISMATCH: i64 = -32011;
    /// A contact card is malformed (bad JSON, keys, or username).
    pub const INVALID_CARD: i64 = -32012;
    /// A message id named in the params (`reply_to`, `before`) is not in the store.
    pub const UNKNOWN_MESSAGE: i64 = -32013;
    /// The relay answered with an error; `data` holds its status and error body.
    pub const RELAY_REFUSED: i64 = -32020;
    /// The relay could not be reached (DNS, TCP, TLS, or it timed out).
    pub const RELAY_UNREACHABLE: i64 = -32021;
    /// chatd gave up waiting for something the call needed.
    pub const TIMEOUT: i64 = -32030;
    /// A frame, or the response to a call, is over [`crate::frame::MAX_FRAME`].
    pub const FRAME_TOO_LARGE: i64 = -32031;
    /// The daemon is shutting down and takes no new calls.
    pub const SHUTTING_DOWN: i64 = -32032;
    /// `subscribe {after}` asked for events older than the daemon keeps;
    /// `data.oldest_seq` is the oldest one still available.
    pub const EVENTS_EXPIRED: i64 = -32033;
    /// The relay's TLS certificate was refused; `data.reason` says why
    /// (`expired`, `wrong_host`, `unknown_ca`, `pin_mismatch`, `other`).
    pub const RELAY_TLS: i64 = -32022;

    /// Every code above with its snake_case name.
    pub const ALL: &[(i64, &str)] = &[
        (PARSE_ERROR, "parse_error"),
        (INVALID_REQUEST, "invalid_request"),
        (METHOD_NOT_FOUND, "method_not_found"),
        (INVALID_PARAMS, "invalid_params"),
        (INTERNAL_ERROR, "internal_error"),
        (PROTOCOL_MISMATCH, "protocol_mismatch"),
        (HELLO_REQUIRED, "hello_required"),
        (NOT_LOGGED_IN, "not_logged_in"),
        (ACCOUNT_EXISTS, "account_exists"),
        (UNKNOWN_CONTACT, "unknown_contact"),
        (FINGERPRINT_MISMATCH, "fingerprint_mismatch"),
        (INVALID_CARD, "invalid_card"),
        (UNKNOWN_MESSAGE, "unknown_message"),
        (RELAY_REFUSED, "relay_refused"),
        (RELAY_UNREACHABLE, "relay_unreachable"),
        (TIMEOUT, "timeout"),
        (FRAME_TOO_LARGE, "frame_too_large"),
        (SHUTTING_DOWN, "shutting_down"),
        (EVENTS_EXPIRED, "events_expired"),
        (RELAY_TLS, "relay_tls"),
    ];

    /// The snake_case name of a code defined here, for logs and `--json` output.
    pub fn name(code: i64) -> Option<&'static str> {
        ALL.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
    }
}

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

/// chatd's answer to one [`Request`]: a result or an error, never both.
///
/// `R` is the result type; frontends that do not know it yet read
/// `Response<Value>` and decode with [`Response::into_result`] or [`Response::decode`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response<R = Value> {
    /// Always `"2.0"`.
    pub jsonrpc: JsonRpc2,
    /// The request's id; `null` only when the request's id could not be read.
    pub id: Option<Id>,
    /// The `result` member on success, the `error` member on failure.
    pub outcome: Result<R, ErrorObject>,
}

impl<R> Response<R> {
    /// A successful response.
    pub fn ok(id: Id, result: R) -> Self {
        Response {
            jsonrpc: JsonRpc2,
            id: Some(id),
            outcome: Ok(result),
        }
    }

    /// A failed response; `id` is `None` only when the request's id was unreadable.
    pub fn error(id: Option<Id>, error: ErrorObject) -> Self {
        Response {
            jsonrpc: JsonRpc2,
            id,
            outcome: Err(error),
        }
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

impl Response<Value> {
    /// Decodes the result as a `T`; an error response becomes [`CallError::Rpc`].
    pub fn into_result<T: DeserializeOwned>(self) -> Result<T, CallError> {
        let value = self.outcome.map_err(CallError::Rpc)?;
        serde_json::from_value(value).map_err(|e| CallError::Decode(e.to_string()))
    }

    /// Decodes the result of the method whose params type is `C`.
    pub fn decode<C: Call>(self) -> Result<C::Result, CallError> {
        self.into_result::<C::Result>()
    }
}

impl<R: Serialize> Serialize for Response<R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("Response", 3)?;
        st.serialize_field("jsonrpc", &self.jsonrpc)?;
        st.serialize_field("id", &self.id)?;
        match &self.outcome {
            Ok(result) => st.serialize_field("result", result)?,
            Err(error) => st.serialize_field("error", error)?,
        }
        st.end()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, bound = "R: Deserialize<'de>")]
struct RawResponse<R> {
    jsonrpc: JsonRpc2,
    // `deserialize_with` makes the member required even though `null` is allowed.
    #[serde(deserialize_with = "required_nullable")]
    id: Option<Id>,
    // Keeps `"result": null` apart from an absent `result`.
    #[serde(default = "absent", deserialize_with = "present")]
    result: Option<R>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

fn required_nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Id>, D::Error> {
    Option::<Id>::deserialize(d)
}

fn absent<R>() -> Option<R> {
    None
}

fn present<'de, D: Deserializer<'de>, R: Deserialize<'de>>(d: D) -> Result<Option<R>, D::Error> {
    R::deserialize(d).map(Some)
}

impl<'de, R: Deserialize<'de>> Deserialize<'de> for Response<R> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawResponse::<R>::deserialize(deserializer)?;
        let outcome = match (raw.result, raw.error) {
            (Some(result), None) => Ok(result),
            (None, Some(error)) => Err(error),
            (Some(_), Some(_)) => {
                return Err(de::Error::custom(
                    "a response has both `result` and `error`",
                ));
            }
            (None, None) => {
                return Err(de::Error::custom("a response needs `result` or `error`"));
            }
        };
        Ok(Response {
            jsonrpc: raw.jsonrpc,
            id: raw.id,
            outcome,
        })
    }
}

/// A message with no id and no reply: `{"jsonrpc":"2.0","method":"…","params":{…}}`.
///
/// chatd sends its events this way; see [`crate::methods::EventEnvelope`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notification<P = Value> {
    /// Always `"2.0"`.
    pub jsonrpc: JsonRpc2,
    /// What happened, e.g. `message.received`.
    pub method: String,
    /// The details.
    pub params: P,
}

impl<P> Notification<P> {
    /// A notification of `method` with `params`.
    pub fn new(method: impl Into<String>, params: P) -> Self {
        Notification {
            jsonrpc: JsonRpc2,
            method: method.into(),
            params,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::{MessageSendParams, StatusParams};
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

    #[test]
    fn ids_are_integers_or_strings() {
        assert_eq!(serde_json::from_str::<Id>("-5").unwrap(), Id::Number(-5));
        assert_eq!(serde_json::from_str::<Id>(r#""x""#).unwrap(), Id::from("x"));
        for bad in ["1.0", "true", "null", "{}", "18446744073709551615"] {
            assert!(serde_json::from_str::<Id>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn responses_have_exactly_one_of_result_and_error() {
        let ok: Response =
            serde_json::from_str(r#"{"jsonrpc":"2.0","id":1,"result":null}"#).unwrap();
        assert_eq!(ok.outcome, Ok(Value::Null));
        let both = r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}"#;
        assert!(serde_json::from_str::<Response>(both).is_err());
        let neither = r#"{"jsonrpc":"2.0","id":1}"#;
        assert!(serde_json::from_str::<Response>(neither).is_err());
        let no_id = r#"{"jsonrpc":"2.0","result":{}}"#;
        assert!(serde_json::from_str::<Response>(no_id).is_err());
        let null_id = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#;
        assert_eq!(serde_json::from_str::<Response>(null_id).unwrap().id, None);
        let wrong_version = r#"{"jsonrpc":"1.0","id":1,"result":{}}"#;
        assert!(serde_json::from_str::<Response>(wrong_version).is_err());
    }

    #[test]
    fn typed_decoding_reports_rpc_errors_and_shape_errors() {
        let ok: Response =
            serde_json::from_str(r#"{"jsonrpc":"2.0","id":1,"result":{"id":"ab","ts":5}}"#)
                .unwrap();
        let sent = ok.decode::<MessageSendParams>().unwrap();
        assert_eq!((sent.id.as_str(), sent.ts), ("ab", 5));

        let bad_shape: Response =
            serde_json::from_str(r#"{"jsonrpc":"2.0","id":1,"result":{"id":"ab"}}"#).unwrap();
        assert!(matches!(
            bad_shape.decode::<MessageSendParams>(),
            Err(CallError::Decode(_))
        ));

        let refused: Response = serde_json::from_str(
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32010,"message":"bob is not a contact"}}"#,
        )
        .unwrap();
        let Err(CallError::Rpc(e)) = refused.decode::<MessageSendParams>() else {
            panic!("expected an rpc error");
        };
        assert_eq!(e.name(), Some("unknown_contact"));
    }

    #[test]
    fn error_codes_are_unique_and_app_codes_use_the_server_range() {
        let mut seen = std::collections::HashSet::new();
        for (c, name) in code::ALL {
            assert!(seen.insert(*c), "duplicate code {c}");
            assert!(
                (-32768..=-32000).contains(c),
                "{name} is outside the reserved range"
            );
            if !(-32700..=-32600).contains(c) {
                assert!((-32099..=-32000).contains(c), "{name} is not a server code");
            }
        }
    }
}
