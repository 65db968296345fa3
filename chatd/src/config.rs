//! `config.toml`: the few behaviours a user chooses.

use std::path::Path;

use serde::Deserialize;

/// How new messages are announced on the desktop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NotifyMode {
    /// No desktop notifications.
    Off,
    /// "New message from alice", without the text (default).
    #[default]
    Sender,
    /// Sender and the start of the text.
    Preview,
}

/// chatd settings (`$XDG_CONFIG_HOME/chat/config.toml` or `--config`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Desktop notifications.
    pub notifications: NotifyMode,
    /// Send `read` receipts when a conversation is marked read (opt-in).
    pub read_receipts: bool,
}

impl Config {
    /// Reads `path`; a missing file means defaults, a broken one is an error.
    pub fn load(path: &Path) -> Result<Config, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_unknown_keys() {
        let c: Config =
            toml::from_str("notifications = \"preview\"\nread_receipts = true").unwrap();
        assert_eq!(c.notifications, NotifyMode::Preview);
        assert!(c.read_receipts);
        assert!(toml::from_str::<Config>("notify = \"off\"").is_err());
        assert_eq!(Config::default().notifications, NotifyMode::Sender);
    }
}
