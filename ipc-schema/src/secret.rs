//! The one secret-string type: relay passwords on their way to chatd and the
//! relay, and session tokens.
#![warn(missing_docs)]

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// A password or a bearer token. It travels in JSON (`#[serde(transparent)]`)
/// because chatd and the relay need it, but `Debug` never shows it, there is
/// no `Display`, equality does not stop at the first differing byte, and the
/// bytes are zeroized on drop. Read it with [`Secret::expose`], so every use
/// is easy to find.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String))]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// The secret itself, for the one place that hashes, stores or sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl PartialEq for Secret {
    /// Compares without an early exit on the first differing byte.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Eq for Secret {}

impl Zeroize for Secret {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_and_compare_in_full() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(
            format!("{:#?}", Some(&s)),
            "Some(\n    Secret(<redacted>),\n)"
        );
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2\"");
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(s, Secret::new("hunter2"));
        assert_ne!(s, Secret::new("hunter3"));
        assert_ne!(s, Secret::new("hunter22"));
    }

    #[test]
    fn zeroize_clears_the_secret_as_drop_does() {
        let mut token = Secret::new("Yk3v0x9Qm2pT7cJr4uWn8sLd1aEo6hFz5gKi0bNy3Rw");
        token.zeroize();
        assert!(
            token.is_empty(),
            "zeroize empties the string after overwriting it"
        );
    }
}
