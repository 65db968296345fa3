//! The optional TOML config file (`--config`, else `$XDG_CONFIG_HOME/chat/tui.toml`).
//!
//! ```toml
//! theme = "light"
//! socket = "/run/user/1000/chat/chatd.sock"
//!
//! # Rebind keys: action name = key. Unlisted actions keep their defaults.
//! [keys]
//! quit = "ctrl+q"
//! help = "f1"
//! picker = "ctrl+k"
//! identity = "shift+i"
//! older = "pageup"
//! ```
//!
//! A key is an optional `ctrl+`, `alt+` and/or `shift+` prefix and either one
//! character (`c`, `?`, `G` — same as `shift+g`) or a name: `enter`, `tab`,
//! `esc`, `space`, `backspace`, `delete`, `insert`, `home`, `end`, `pageup`,
//! `pagedown`, `up`, `down`, `left`, `right`, `f1`…`f24`.
//!
//! Actions and their defaults — everywhere but the composer: `quit` (q),
//! `help` (?), `contacts` (c), `identity` (I), `members` (m), `devices` (D);
//! everywhere: `picker` (ctrl+p), `next_pane` (tab), `prev_pane` (shift+tab),
//! `older` (pageup), `newer` (pagedown); in the list, messages, contacts and
//! devices: `down` (j), `up` (k), `top` (g), `bottom` (G); list: `open` (l),
//! `write` (i); messages: `write` (i), `half_page_up` (ctrl+u),
//! `half_page_down` (ctrl+d), `search` (/), `search_next` (n), `search_prev`
//! (N), `list` (h), and on the selected message `reply` (r), `edit` (e),
//! `delete` (d), `react` (+), on a selected file `save_file` (s) and
//! `open_file` (o), and `attach_file` (a), which sends a file; composer:
//! `editor` (ctrl+e); contacts view: `contact_add` (a), `contact_verify` (v),
//! `contact_remove` (d), `contact_accept_key` (A), `contact_refuse_key` (R);
//! devices view: `device_revoke` (r), `device_rename` (e), `device_link` (l),
//! `device_link_history` (L). Arrow keys, Enter, Esc, Ctrl+C and the composer's
//! editing keys are fixed. An unknown action, a key that does not parse, two
//! actions on one key in the same pane, or a plain character for a key that
//! is live in the composer stop chat-tui at startup with a one-line error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::app::keymap::KeyMap;
use crate::theme::ThemeName;

/// What the config file may set.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Colours: `dark`, `light` or `none`.
    pub theme: Option<ThemeName>,
    /// chatd's socket.
    pub socket: Option<PathBuf>,
    /// `[keys]`: action name → key string, over the defaults (see the module docs).
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

impl Config {
    /// The key map: the defaults with `[keys]` applied, or why not (one line).
    pub fn key_map(&self) -> Result<KeyMap, String> {
        KeyMap::from_config(&self.keys)
    }
}

/// Why the config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Reading failed.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML or unknown keys.
    #[error("bad config {}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
}

/// The default config path.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("chat").join("tui.toml"))
}

/// Loads `path`; a missing default file is an empty config.
pub fn load(path: &Path, must_exist: bool) -> Result<Config, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
            return Ok(Config::default());
        }
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.into(),
                source,
            });
        }
    };
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_theme_and_refuses_unknown_keys() {
        let c: Config = toml::from_str("theme = \"light\"").unwrap();
        assert_eq!(c.theme, Some(ThemeName::Light));
        assert!(toml::from_str::<Config>("colour = 1").is_err());
    }

    #[test]
    fn parses_the_keys_table() {
        let c: Config = toml::from_str("[keys]\nquit = \"ctrl+q\"\nhelp = \"f1\"").unwrap();
        let keys = c.key_map().unwrap();
        assert_eq!(keys.by_name("help").unwrap().to_string(), "F1");
        assert_eq!(keys.by_name("quit").unwrap().to_string(), "Ctrl+Q");
        assert_eq!(keys.by_name("contacts").unwrap().to_string(), "c");
        let c: Config = toml::from_str("").unwrap();
        assert_eq!(c.key_map().unwrap(), KeyMap::default());
        let c: Config = toml::from_str("[keys]\nquit = \"c\"").unwrap();
        assert!(c.key_map().is_err());
        let c: Config = toml::from_str("[keys]\nfly = \"x\"").unwrap();
        assert!(c.key_map().unwrap_err().contains("fly"));
        assert!(toml::from_str::<Config>("[keys]\nquit = 1").is_err());
    }
}
