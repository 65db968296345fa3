//! Payloads that change a message after it was sent (docs/PROTOCOL.md §14):
//! its author's edit or delete, and anyone's reaction. Shape and sizes
//! only; whether the message exists and who may change it is chatd's check.

use serde::{Deserialize, Serialize};

use crate::envelope::{MAX_BODY, PayloadError, is_valid_message_id, is_valid_username};

/// Longest reaction, in bytes of UTF-8 (one emoji with its modifiers).
pub const MAX_EMOJI: usize = 32;

/// The `type`s of [`MessageChange`] payloads.
pub const CHANGE_TYPES: [&str; 3] = ["edit", "delete", "react"];

/// A change to a message sent before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageChange {
    /// The sender's message `target` now reads `body`.
    Edit {
        /// The message's id (the sender wrote it).
        target: String,
        /// Its new text, at most [`MAX_BODY`] bytes.
        body: String,
        /// The group, for a group's message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        /// The conversation, when sent to the sender's own other devices
        /// (docs/PROTOCOL.md §11.1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// The sender's message `target` is deleted for everyone.
    Delete {
        /// The message's id (the sender wrote it).
        target: String,
        /// The group, for a group's message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        /// The conversation, for the sender's own other devices.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// The sender's reaction to `author`'s message `target`.
    #[serde(rename = "react")]
    Reaction {
        /// The message's id.
        target: String,
        /// Who wrote it.
        author: String,
        /// The emoji; `None` takes the sender's reaction back.
        emoji: Option<String>,
        /// The group, for a group's message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        /// The conversation, for the sender's own other devices.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
}

/// True for a reaction chat accepts: 1 to [`MAX_EMOJI`] bytes, no control
/// character and no white space.
pub fn is_valid_emoji(emoji: &str) -> bool {
    !emoji.is_empty()
        && emoji.len() <= MAX_EMOJI
        && !emoji.chars().any(|c| c.is_control() || c.is_whitespace())
}

impl MessageChange {
    /// The id of the message changed.
    pub fn target(&self) -> &str {
        match self {
            MessageChange::Edit { target, .. }
            | MessageChange::Delete { target, .. }
            | MessageChange::Reaction { target, .. } => target,
        }
    }

    /// The group, for a group's message.
    pub fn group(&self) -> Option<&str> {
        match self {
            MessageChange::Edit { group, .. }
            | MessageChange::Delete { group, .. }
            | MessageChange::Reaction { group, .. } => group.as_deref(),
        }
    }

    /// The conversation named for the sender's own other devices.
    pub fn to(&self) -> Option<&str> {
        match self {
            MessageChange::Edit { to, .. }
            | MessageChange::Delete { to, .. }
            | MessageChange::Reaction { to, .. } => to.as_deref(),
        }
    }

    /// The same change with `to` set (the copy for the sender's own other
    /// devices of a one-to-one change).
    pub fn with_to(mut self, peer: &str) -> Self {
        match &mut self {
            MessageChange::Edit { to, .. }
            | MessageChange::Delete { to, .. }
            | MessageChange::Reaction { to, .. } => *to = Some(peer.to_owned()),
        }
        self
    }

    /// The payload `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            MessageChange::Edit { .. } => "edit",
            MessageChange::Delete { .. } => "delete",
            MessageChange::Reaction { .. } => "react",
        }
    }

    /// Checks the shape (§14.1).
    pub fn check(&self) -> Result<(), PayloadError> {
        let bad = || PayloadError::BadFields(self.kind().into());
        if !is_valid_message_id(self.target()) {
            return Err(PayloadError::BadId);
        }
        if self.group().is_some_and(|g| !is_valid_message_id(g)) {
            return Err(PayloadError::BadGroup);
        }
        if self.to().is_some_and(|t| !is_valid_username(t))
            || self.to().is_some() && self.group().is_some()
        {
            return Err(bad());
        }
        match self {
            MessageChange::Edit { body, .. } if body.len() > MAX_BODY => {
                Err(PayloadError::BodyTooLarge(body.len()))
            }
            MessageChange::Reaction { author, emoji, .. }
                if !is_valid_username(author)
                    || emoji.as_deref().is_some_and(|e| !is_valid_emoji(e)) =>
            {
                Err(bad())
            }
            _ => Ok(()),
        }
    }

    /// Reads payload JSON whose `type` is one of [`CHANGE_TYPES`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, PayloadError> {
        // `emoji` is required, `null` included (§14.1): a missing one is not
        // a reaction taken back.
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|_| PayloadError::NotAnObject)?;
        if value.get("type").and_then(|t| t.as_str()) == Some("react")
            && value.get("emoji").is_none()
        {
            return Err(PayloadError::BadFields("react".into()));
        }
        let change: MessageChange = serde_json::from_value(value).map_err(|_| {
            let kind = serde_json::from_slice::<serde_json::Value>(bytes)
                .ok()
                .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
                .unwrap_or_default();
            PayloadError::BadFields(kind)
        })?;
        change.check()?;
        Ok(change)
    }

    /// The JSON written (members in §14.1's order).
    pub fn to_json(&self) -> Result<Vec<u8>, PayloadError> {
        self.check()?;
        Ok(serde_json::to_vec(self).expect("changes serialize"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn changes_are_written_compactly_in_order_and_read_back() {
        let edit = MessageChange::Edit {
            target: ID.into(),
            body: "deploy at 13:00".into(),
            group: None,
            to: None,
        };
        assert_eq!(
            String::from_utf8(edit.to_json().unwrap()).unwrap(),
            format!(r#"{{"type":"edit","target":"{ID}","body":"deploy at 13:00"}}"#)
        );
        let react = MessageChange::Reaction {
            target: ID.into(),
            author: "bob".into(),
            emoji: Some("👍".into()),
            group: Some(ID.into()),
            to: None,
        };
        assert_eq!(
            String::from_utf8(react.to_json().unwrap()).unwrap(),
            format!(
                r#"{{"type":"react","target":"{ID}","author":"bob","emoji":"👍","group":"{ID}"}}"#
            )
        );
        let undo = MessageChange::Reaction {
            target: ID.into(),
            author: "bob".into(),
            emoji: None,
            group: None,
            to: Some("carol".into()),
        };
        let text = undo.to_json().unwrap();
        assert!(String::from_utf8_lossy(&text).contains(r#""emoji":null"#));
        for c in [edit, react, undo] {
            assert_eq!(MessageChange::from_json(&c.to_json().unwrap()).unwrap(), c);
        }
    }

    #[test]
    fn bad_changes_are_refused() {
        let bad = [
            r#"{"type":"edit","target":"XYZ","body":"x"}"#.to_owned(),
            format!(r#"{{"type":"edit","target":"{ID}"}}"#),
            format!(r#"{{"type":"delete","target":"{ID}","group":"nope"}}"#),
            format!(r#"{{"type":"delete","target":"{ID}","to":"Bob!"}}"#),
            format!(r#"{{"type":"delete","target":"{ID}","to":"bob","group":"{ID}"}}"#),
            format!(r#"{{"type":"react","target":"{ID}","author":"bob","emoji":""}}"#),
            format!(r#"{{"type":"react","target":"{ID}","author":"bob","emoji":"a b"}}"#),
            format!(r#"{{"type":"react","target":"{ID}","author":"bob","emoji":"\u001b[2J"}}"#),
            format!(
                r#"{{"type":"react","target":"{ID}","author":"bob","emoji":"{}"}}"#,
                "x".repeat(MAX_EMOJI + 1)
            ),
            format!(r#"{{"type":"react","target":"{ID}","author":"B","emoji":"👍"}}"#),
        ];
        for text in bad {
            assert!(MessageChange::from_json(text.as_bytes()).is_err(), "{text}");
        }
        let long = MessageChange::Edit {
            target: ID.into(),
            body: "x".repeat(MAX_BODY + 1),
            group: None,
            to: None,
        };
        assert_eq!(
            long.to_json(),
            Err(PayloadError::BodyTooLarge(MAX_BODY + 1))
        );
        // Members a type does not define are ignored (§4).
        let later = format!(r#"{{"type":"delete","target":"{ID}","reason":"typo"}}"#);
        assert!(MessageChange::from_json(later.as_bytes()).is_ok());
        // A reaction with a skin tone and a joiner is one reaction.
        assert!(is_valid_emoji("👩🏽‍💻"));
    }
}
