//! chatd's command line: the binary parses it, and tools/cli-docs writes
//! chatd's man page and shell completions from the same definition.

use std::path::PathBuf;

use clap::Parser;

use crate::run::KeystoreKind;

/// End-to-end encrypted chat daemon.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    /// Local socket path [default: $XDG_RUNTIME_DIR/chat/chatd.sock].
    #[arg(long, env = "CHAT_SOCKET")]
    pub socket: Option<PathBuf>,
    /// Data directory [default: $XDG_DATA_HOME/chat].
    #[arg(long, env = "CHAT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Config file [default: $XDG_CONFIG_HOME/chat/config.toml].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where private keys live: the OS keyring (default) or passphrase-encrypted files.
    #[arg(long, value_enum)]
    pub keystore: Option<KeystoreKind>,
    /// Passphrase for `--keystore file` (else $CREDENTIALS_DIRECTORY/chatd-passphrase).
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}
