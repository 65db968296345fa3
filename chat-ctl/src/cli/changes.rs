//! `edit`, `delete` and `react`: changing a message after it was sent
//! (docs/PROTOCOL.md §14).

use clap::Args;

/// A message id: 8 to 32 lowercase hex digits (`log --ids` shows 8).
pub(super) fn parse_message_id(text: &str) -> Result<String, String> {
    let id = text.to_ascii_lowercase();
    if (8..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(id)
    } else {
        Err("a message id is 8 to 32 hex digits (chat-ctl log --ids shows them)".to_owned())
    }
}

/// One emoji (with its modifiers): at most 32 bytes, no spaces.
fn parse_emoji(text: &str) -> Result<String, String> {
    if ipc_schema::changes::is_valid_emoji(text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "a reaction is one emoji: at most {} bytes, no spaces or control characters",
            ipc_schema::changes::MAX_EMOJI
        ))
    }
}

/// `edit`.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// One of your messages (its id, or its first 8 or more hex digits)
    #[arg(value_name = "ID", value_parser = parse_message_id)]
    pub id: String,
    /// The new text; read from stdin when absent or `-`
    #[arg(value_name = "TEXT")]
    pub text: Option<String>,
}

/// `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// One of your messages (its id, or its first 8 or more hex digits)
    #[arg(value_name = "ID", value_parser = parse_message_id)]
    pub id: String,
}

/// `react`.
#[derive(Debug, Args)]
pub struct ReactArgs {
    /// The message (its id, or its first 8 or more hex digits)
    #[arg(value_name = "ID", value_parser = parse_message_id)]
    pub id: String,
    /// One emoji; leave it out with --remove
    #[arg(
        value_name = "EMOJI",
        value_parser = parse_emoji,
        required_unless_present = "remove",
        conflicts_with = "remove"
    )]
    pub emoji: Option<String>,
    /// Take your reaction back
    #[arg(long)]
    pub remove: bool,
    /// The conversation, when two have a message with that id
    #[arg(long = "with", value_name = "USER|#GROUP", value_parser = super::parse_peer)]
    pub with: Option<String>,
}

/// `search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to find (all of them; the last also as a prefix). Plain words:
    /// quotes, dashes and the like are not syntax
    #[arg(value_name = "WORDS", required = true, num_args = 1.., allow_hyphen_values = true)]
    pub words: Vec<String>,
    /// Only this conversation
    #[arg(long = "with", value_name = "USER|#GROUP", value_parser = super::parse_peer)]
    pub with: Option<String>,
    /// Show at most N hits, newest first [default: 20]
    #[arg(short = 'n', long = "limit", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: Option<u32>,
}

/// `save`.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// The file message (its id, or its first 8 or more hex digits)
    #[arg(value_name = "ID", value_parser = parse_message_id)]
    pub id: String,
    /// Where to write it: a file, a directory (the file's name is kept), or
    /// `-` for stdout; the file's name in the current directory when absent
    #[arg(value_name = "PATH")]
    pub path: Option<std::path::PathBuf>,
    /// The conversation, when the id alone is not enough
    #[arg(long, value_name = "USER|#GROUP", value_parser = super::parse_peer)]
    pub with: Option<String>,
    /// Replace PATH if it exists
    #[arg(long)]
    pub force: bool,
    /// Give up waiting for the file to come down after S seconds (exit 6)
    #[arg(long, value_name = "S", value_parser = super::parse_seconds, default_value = "600")]
    pub timeout: std::time::Duration,
}
