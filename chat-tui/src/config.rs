//! The optional TOML config file (`--config`, else `$XDG_CONFIG_HOME/chat/tui.toml`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ui::theme::ThemeName;

/// What the config file may set.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Colours: `dark`, `light` or `none`.
    pub theme: Option<ThemeName>,
    /// chatd's socket.
    pub socket: Option<PathBuf>,
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
}
