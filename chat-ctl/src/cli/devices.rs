//! The arguments of the commands about devices, backups and the relay
//! password (`device`, `backup`, `password`, `login`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{TrustArgs, parse_username};

/// `password …`.
#[derive(Debug, Subcommand)]
pub enum PasswordCommand {
    /// Change the relay password (asks for the current one, then the new one twice)
    Change(ChangePasswordArgs),
}

/// `password change` and `device revoke`: two passwords.
#[derive(Debug, Args)]
pub struct ChangePasswordArgs {
    /// Read the current password from the first line of stdin and the new
    /// one from the second, instead of prompting
    #[arg(long)]
    pub password_stdin: bool,
}

/// `device …`.
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// The account's devices: active ones, then those revoked or expired lately
    List,
    /// Revoke a device: its tokens die and nothing more reaches it. Changes
    /// the relay password in the same step (the device knew the old one).
    Revoke(RevokeDeviceArgs),
    /// Rename a device of the account
    Rename(RenameDeviceArgs),
    /// Add a machine to this account: prints a one-time code, valid for 10
    /// minutes, to give `device join` on the new machine
    Link(LinkDeviceArgs),
    /// On a machine with no account: join the account with a code from
    /// `device link` (same keys and fingerprint, a new device)
    Join(JoinDeviceArgs),
}

/// `device rename`.
#[derive(Debug, Args)]
pub struct RenameDeviceArgs {
    /// The device's id, as `device list` shows it
    #[arg(value_name = "ID")]
    pub id: String,
    /// Its new name (1 to 32 bytes)
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// `device link`.
#[derive(Debug, Args)]
pub struct LinkDeviceArgs {
    /// Also carry the message history (the newest that fits in 16 MiB)
    #[arg(long)]
    pub with_history: bool,
}

/// `device join`.
#[derive(Debug, Args)]
pub struct JoinDeviceArgs {
    /// The code `device link` printed (single use, 10 minutes)
    #[arg(value_name = "CODE")]
    pub code: String,
    /// Base URL of the account's relay; repeat for each of its instances
    #[arg(long, value_name = "URL", required = true)]
    pub relay: Vec<String>,
    /// The account's username
    #[arg(long, value_name = "NAME", value_parser = parse_username)]
    pub user: String,
    /// This machine's name among the account's devices [default: the host name]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Read the relay password from the first line of stdin instead of prompting
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Allow plain http:// to a relay that is not on this machine
    #[arg(long)]
    pub insecure_http: bool,
}

/// `backup …`.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Keep a backup on the relay from now on, sealed under a passphrase
    /// (not the relay password) and sealed again when contacts change
    Enable(BackupEnableArgs),
    /// Stop keeping a backup on the relay, and delete it there
    Disable,
    /// Write the identity's private keys and the contacts to FILE, sealed
    /// under a passphrase (not the relay password); `-` for stdout
    Export(BackupExportArgs),
    /// Set this machine up from a backup FILE: same keys and fingerprint, a
    /// new device of the account (`-` for stdin needs both secrets prompted)
    Import(BackupImportArgs),
}

/// `backup enable`.
#[derive(Debug, Args)]
pub struct BackupEnableArgs {
    /// Read the passphrase from the first line of stdin instead of prompting
    #[arg(long)]
    pub passphrase_stdin: bool,
}

/// `backup export`.
#[derive(Debug, Args)]
pub struct BackupExportArgs {
    /// Where to write the backup (created with mode 0600); `-` for stdout
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
    /// Read the passphrase from the first line of stdin instead of prompting
    #[arg(long)]
    pub passphrase_stdin: bool,
}

/// `backup import`.
#[derive(Debug, Args)]
pub struct BackupImportArgs {
    /// The backup file
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Base URL of the account's relay; repeat for each of its instances
    #[arg(long, value_name = "URL", required = true)]
    pub relay: Vec<String>,
    /// The account's username
    #[arg(long, value_name = "NAME", value_parser = parse_username)]
    pub user: String,
    /// This machine's name among the account's devices [default: the host name]
    #[arg(long, value_name = "NAME")]
    pub device_name: Option<String>,
    /// Read the relay password from stdin (its line first when the
    /// passphrase comes from stdin too)
    #[arg(long)]
    pub password_stdin: bool,
    /// Read the backup passphrase from stdin (after the password's line
    /// when that comes from stdin too)
    #[arg(long)]
    pub passphrase_stdin: bool,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Allow plain http:// to a relay that is not on this machine
    #[arg(long)]
    pub insecure_http: bool,
}

/// `device revoke`.
#[derive(Debug, Args)]
pub struct RevokeDeviceArgs {
    /// The device's id, as `device list` shows it
    #[arg(value_name = "ID")]
    pub id: String,
    #[command(flatten)]
    pub passwords: ChangePasswordArgs,
}

/// `login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Read the password from the first line of stdin instead of prompting
    #[arg(long)]
    pub password_stdin: bool,
    /// On a machine with no account: restore the key backup the relay keeps
    /// (`backup enable`), joining the account as a new device
    #[arg(long, requires_all = ["relay", "user"])]
    pub restore: bool,
    /// With --restore: the account's relay; repeat for each of its instances
    #[arg(long, value_name = "URL", requires = "restore")]
    pub relay: Vec<String>,
    /// With --restore: the account's username
    #[arg(long, value_name = "NAME", value_parser = parse_username, requires = "restore")]
    pub user: Option<String>,
    /// With --restore: this machine's name among the account's devices
    #[arg(long, value_name = "NAME", requires = "restore")]
    pub device_name: Option<String>,
    /// With --restore: read the backup passphrase from stdin (after the
    /// password's line when that comes from stdin too)
    #[arg(long, requires = "restore")]
    pub passphrase_stdin: bool,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// With --restore: allow plain http:// to a relay that is not on this machine
    #[arg(long, requires = "restore")]
    pub insecure_http: bool,
}
