//! `config.toml`: the few behaviours a user chooses.

use std::path::Path;

use serde::Deserialize;

use crate::store::Retention;

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

/// `[quarantine]`: how much of a contact's mail waits for a decision on a
/// changed key (docs/SECURITY.md, "Key changes").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuarantineConfig {
    /// Envelopes kept per contact (default 1000); the oldest beyond go.
    pub per_contact: usize,
    /// MiB kept in all (default 64); the oldest beyond go.
    pub max_mib: u64,
    /// Days one is kept (default 14).
    pub days: u64,
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        let l = crate::store::QuarantineLimits::default();
        QuarantineConfig {
            per_contact: l.per_contact,
            max_mib: l.max_bytes / (1024 * 1024),
            days: l.max_age_ms / (24 * 3600 * 1000),
        }
    }
}

impl QuarantineConfig {
    /// As the store takes them.
    pub fn limits(&self) -> crate::store::QuarantineLimits {
        crate::store::QuarantineLimits {
            per_contact: self.per_contact.max(1),
            max_bytes: self.max_mib.saturating_mul(1024 * 1024),
            max_age_ms: self.days.saturating_mul(24 * 3600 * 1000),
        }
    }
}

/// `[keys]`: how long keys left by a rotation still work (docs/PROTOCOL.md
/// §13.4): this account's old private keys, and contacts' previous signing
/// keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// Days, 1 to 90 (default 7).
    pub grace_days: u64,
}

impl Default for KeysConfig {
    fn default() -> Self {
        KeysConfig { grace_days: 7 }
    }
}

impl KeysConfig {
    /// The grace period in ms.
    pub fn grace_ms(&self) -> u64 {
        self.grace_days * 24 * 3600 * 1000
    }
}

/// `[files]`: files sent and received (docs/PROTOCOL.md §15).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// Received files up to this many MiB come down by themselves; bigger
    /// ones wait for `chat-ctl save` (or chat-tui's `s`). 0: none do.
    /// Default 25.
    pub auto_download_mib: u64,
    /// The biggest file this device sends, in MiB (default 100, the
    /// relay's default `--max-blob-mib`; at most 4096).
    pub max_send_mib: u64,
    /// At most this many MiB of one sender's files (those kept here
    /// included) come down by themselves; past it they wait for a request,
    /// so one contact cannot fill the disk unasked. Default 500.
    pub auto_download_budget_mib: u64,
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            auto_download_mib: 25,
            max_send_mib: 100,
            auto_download_budget_mib: 500,
        }
    }
}

impl FilesConfig {
    /// The automatic download limit in bytes.
    pub fn auto_limit(&self) -> u64 {
        self.auto_download_mib.saturating_mul(1 << 20)
    }

    /// The per-sender automatic download budget in bytes.
    pub fn auto_budget(&self) -> u64 {
        self.auto_download_budget_mib.saturating_mul(1 << 20)
    }

    /// The biggest file sent, in bytes.
    pub fn max_send(&self) -> u64 {
        self.max_send_mib.saturating_mul(1 << 20)
    }
}

/// `[relay]`: how chatd moves between the relay's URLs (docs/IPC.md
/// `status`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// While on a later URL, chatd looks at the first one this often, in
    /// seconds, and goes back once it answers (default 300; 1 to 86400).
    pub return_to_first_secs: u64,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            return_to_first_secs: crate::relay_client::RETURN_AFTER.as_secs(),
        }
    }
}

impl RelayConfig {
    /// How often chatd looks at the first URL while away from it.
    pub fn return_to_first(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.return_to_first_secs)
    }
}

/// `[events]`: how long the event log behind `subscribe {after}` is kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Events older than this many days are pruned (default 30).
    pub retention_days: u32,
    /// When set, at most this many events are kept.
    pub retention_count: Option<u64>,
}

impl Default for EventsConfig {
    fn default() -> Self {
        let r = Retention::default();
        EventsConfig {
            retention_days: r.days,
            retention_count: r.count,
        }
    }
}

impl EventsConfig {
    /// As the store takes it.
    pub fn retention(&self) -> Retention {
        Retention {
            days: self.retention_days,
            count: self.retention_count,
        }
    }
}

/// chatd settings (`$XDG_CONFIG_HOME/chat/config.toml` or `--config`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Desktop notifications.
    pub notifications: NotifyMode,
    /// Send `read` receipts when a conversation is marked read (opt-in).
    pub read_receipts: bool,
    /// Send `read` receipts in groups too, to each message's sender (opt-in
    /// apart from `read_receipts`: they tell every sender when you read).
    pub group_read_receipts: bool,
    /// Event log retention.
    pub events: EventsConfig,
    /// Mail waiting for a decision on a contact's changed key.
    pub quarantine: QuarantineConfig,
    /// Keys left by a rotation.
    pub keys: KeysConfig,
    /// Files.
    pub files: FilesConfig,
    /// The relay's URLs.
    pub relay: RelayConfig,
}

impl Config {
    /// Reads `path`; a missing file means defaults, a broken one is an error.
    pub fn load(path: &Path) -> Result<Config, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let c: Config =
                    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
                if !(1..=90).contains(&c.keys.grace_days) {
                    return Err(format!(
                        "{}: keys.grace_days must be 1 to 90 days",
                        path.display()
                    ));
                }
                if !(1..=86_400).contains(&c.relay.return_to_first_secs) {
                    return Err(format!(
                        "{}: relay.return_to_first_secs must be 1 to 86400",
                        path.display()
                    ));
                }
                if !(1..=4096).contains(&c.files.max_send_mib) {
                    return Err(format!(
                        "{}: files.max_send_mib must be 1 to 4096",
                        path.display()
                    ));
                }
                Ok(c)
            }
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
        let c: Config = toml::from_str(
            "notifications = \"preview\"\nread_receipts = true\n[events]\nretention_days = 7\nretention_count = 1000",
        )
        .unwrap();
        assert_eq!(c.notifications, NotifyMode::Preview);
        assert!(c.read_receipts);
        assert_eq!(
            c.events.retention(),
            Retention {
                days: 7,
                count: Some(1000)
            }
        );
        assert!(toml::from_str::<Config>("notify = \"off\"").is_err());
        assert!(toml::from_str::<Config>("[events]\nkeep = 3").is_err());
        let d = Config::default();
        assert_eq!(d.notifications, NotifyMode::Sender);
        assert_eq!(d.events.retention().days, 30);
        assert_eq!(d.keys.grace_ms(), 7 * 24 * 3600 * 1000);
        assert_eq!(d.relay.return_to_first().as_secs(), 300);
    }

    #[test]
    fn settings_out_of_their_range_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        for (text, ok) in [
            ("[keys]\ngrace_days = 1", true),
            ("[keys]\ngrace_days = 90", true),
            ("[keys]\ngrace_days = 0", false),
            ("[keys]\ngrace_days = 91", false),
            ("[keys]\ngrace = 3", false),
            ("[files]\nauto_download_mib = 0\nmax_send_mib = 4096", true),
            ("[files]\nmax_send_mib = 0", false),
            ("[files]\nauto_download = 3", false),
            ("[relay]\nreturn_to_first_secs = 1", true),
            ("[relay]\nreturn_to_first_secs = 86400", true),
            ("[relay]\nreturn_to_first_secs = 0", false),
            ("[relay]\nreturn_to_first_secs = 86401", false),
            ("[relay]\nreturn = 3", false),
        ] {
            std::fs::write(&path, text).unwrap();
            assert_eq!(Config::load(&path).is_ok(), ok, "{text}");
        }
        std::fs::write(&path, "[keys]\ngrace_days = 2").unwrap();
        assert_eq!(
            Config::load(&path).unwrap().keys.grace_ms(),
            2 * 24 * 3600 * 1000
        );
    }
}
