//! chatd's answer to one request.

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CallError, ErrorObject, Id, JsonRpc2};
use crate::methods::Call;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::MessageSendParams;

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
}
