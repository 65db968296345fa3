//! chat-tui's command line: the binary parses it, and tools/cli-docs writes
//! chat-tui's man page and shell completions from the same definition.

use std::path::PathBuf;

use clap::Parser;

use crate::theme::ThemeName;

/// Full-screen terminal client for chatd.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    after_help = "Environment: CHAT_TUI_OPENER is the program `o` opens a file with (default: xdg-open, on macOS open); files to open are kept in $XDG_CACHE_HOME/chat/open (else ~/.cache/chat/open)."
)]
pub struct Cli {
    /// chatd's socket [default: $CHAT_SOCKET, else the per-user runtime dir]
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Config file [default: $XDG_CONFIG_HOME/chat/tui.toml]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Colours; NO_COLOR in the environment means `none` unless this is given
    #[arg(long, value_enum)]
    pub theme: Option<ThemeName>,
}
