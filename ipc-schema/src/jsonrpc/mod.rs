//! JSON-RPC 2.0 as chatd speaks it on its local socket (docs/IPC.md §3).
//!
//! Strict on input: `jsonrpc` must be exactly `"2.0"`, ids are integers or
//! strings, params are by-name objects and unknown members are refused.
//! Batches and notifications from a frontend are not supported, so every call
//! gets exactly one response. Events from chatd are [`Notification`]s; see
//! [`crate::methods::EventEnvelope`].
#![warn(missing_docs)]

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod code;
mod error;
mod request;
mod response;

pub use error::{CallError, ErrorObject};
pub use request::{Request, RequestError};
pub use response::Response;

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

    #[test]
    fn ids_are_integers_or_strings() {
        assert_eq!(serde_json::from_str::<Id>("-5").unwrap(), Id::Number(-5));
        assert_eq!(serde_json::from_str::<Id>(r#""x""#).unwrap(), Id::from("x"));
        for bad in ["1.0", "true", "null", "{}", "18446744073709551615"] {
            assert!(serde_json::from_str::<Id>(bad).is_err(), "{bad}");
        }
    }
}
