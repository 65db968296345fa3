//! The command line, as clap sees it: `chat-ctl [--socket PATH] [--json] COMMAND`.
//!
//! Passwords have no flag on purpose: they come from a terminal prompt or,
//! with `--password-stdin`, from the first line of stdin, never from argv
//! (where `ps` and shell history would show them).

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::PossibleValuesParser;
use clap::{ArgGroup, Args, Parser, Subcommand};

mod changes;
mod devices;
pub use changes::*;
pub use devices::*;

/// Scriptable client for chatd, the end-to-end encrypted chat daemon.
///
/// Exit codes: 0 ok, 1 other failure, 2 usage, 3 chatd not reachable,
/// 4 unknown user or contact, 5 refused by the relay or auth, 6 timeout,
/// 7 `watch --since` older than chatd keeps.
#[derive(Debug, Parser)]
#[command(name = "chat-ctl", version, about, max_term_width = 100)]
pub struct Cli {
    /// chatd's socket [default: $CHAT_SOCKET, else $XDG_RUNTIME_DIR/chat/chatd.sock, else /tmp/chat-UID/chatd.sock]
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Print machine-readable JSON on stdout (shapes in docs/IPC.md)
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the account, the relay connection and counters
    Status,
    /// Create keys (if none), register on a relay and log in
    Register(RegisterArgs),
    /// Start a new relay session for the registered account, or (--restore)
    /// set this machine up from the key backup the relay keeps
    Login(LoginArgs),
    /// End the relay session
    Logout,
    /// Delete the account on the relay (mailbox, sessions, directory entry)
    DeleteAccount(PasswordArgs),
    /// Change the relay password
    #[command(subcommand)]
    Password(PasswordCommand),
    /// The account's devices on the relay: list, revoke
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Back the identity up to a file, or set up this machine from one
    #[command(subcommand)]
    Backup(BackupCommand),
    /// The link to the relay: how its certificate is checked
    #[command(subcommand)]
    Relay(RelayCommand),
    /// Show your username and fingerprint, or your contact card
    Id(IdArgs),
    /// Add, list, remove and verify contacts
    #[command(subcommand)]
    Contact(ContactCommand),
    /// Create and change group conversations (a group is `NAME`, `#NAME` or `#ID`)
    #[command(subcommand)]
    Group(GroupCommand),
    /// Send a text message (from stdin when TEXT is absent or `-`); prints its id
    Send(SendArgs),
    /// Show a conversation's history
    Log(LogArgs),
    /// Edit one of your messages, for everyone (TEXT from stdin when absent or `-`)
    Edit(EditArgs),
    /// Delete one of your messages, for everyone
    Delete(DeleteArgs),
    /// React to a message with an emoji, or take your reaction back (--remove)
    React(ReactArgs),
    /// Search all history for words, newest first
    Search(SearchArgs),
    /// Write a received (or sent) file out, fetching it first if needed
    Save(SaveArgs),
    /// Mark a conversation's incoming messages read
    Read(ReadArgs),
    /// Print events as they happen, each with its sequence number
    Watch(WatchArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

/// `register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Base URL of the relay, e.g. https://relay.example.org; repeat for a
    /// relay with several instances (tried in this order, same CA or pin)
    #[arg(long, value_name = "URL", required = true)]
    pub relay: Vec<String>,
    /// The username to claim (3-32 of a-z 0-9 _ . -, starting with a letter or digit)
    #[arg(long, value_name = "NAME", value_parser = parse_username)]
    pub user: String,
    /// Read the password from the first line of stdin instead of prompting
    #[arg(long)]
    pub password_stdin: bool,
    /// Invite code, for relays that require one
    #[arg(long, value_name = "CODE")]
    pub invite: Option<String>,
    /// RSA modulus size of the new keys [default: 3072]
    #[arg(long, value_name = "BITS", value_parser = key_bits_parser())]
    pub key_bits: Option<u32>,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Allow plain http:// to a relay that is not on this machine (only
    /// when a TLS proxy on this machine forwards it); stored with the account
    #[arg(long)]
    pub insecure_http: bool,
    /// This machine's name among the account's devices [default: the host name]
    #[arg(long, value_name = "NAME")]
    pub device_name: Option<String>,
    /// The account is yours but its keys are lost (no backup): log in with
    /// its password as a new device and replace its card with new keys.
    /// Your contacts are told your key changed and must accept the new one
    #[arg(long, conflicts_with = "invite")]
    pub replace_keys: bool,
}

/// How the relay's certificate is checked, for `register` and `relay trust`.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct TrustArgs {
    /// Also trust this CA (a PEM file) for the relay's certificate: a
    /// self-hosted relay with its own CA
    #[arg(long = "relay-ca", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Accept only a relay certificate whose public key has this SHA-256
    /// (64 hex digits; survives a renewal with the same key)
    #[arg(long = "relay-pin", value_name = "SHA256")]
    pub pin: Option<String>,
}

/// `relay trust`: change how the relay's certificate is checked.
#[derive(Debug, Args)]
pub struct RelayTrustArgs {
    /// Trust this CA (a PEM file) for the relay's certificate
    #[arg(long, value_name = "FILE", group = "how")]
    pub ca: Option<PathBuf>,
    /// Accept only a certificate whose public key has this SHA-256
    #[arg(long, value_name = "SHA256", group = "how")]
    pub pin: Option<String>,
    /// Back to the system's root certificates only
    #[arg(long, group = "how")]
    pub system: bool,
    /// Allow (or with =false, stop allowing) plain http:// to a relay off
    /// this machine
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub insecure_http: Option<bool>,
}

/// `relay urls`: the URLs the relay is reached at.
#[derive(Debug, Args)]
pub struct RelayUrlsArgs {
    /// The relay's base URLs, in the order to try them: instances of the
    /// same relay (the same accounts), checked with the same CA or pin
    #[arg(value_name = "URL", required = true)]
    pub urls: Vec<String>,
}

/// `relay …`.
#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Change how the relay's certificate is checked (after it changed)
    Trust(RelayTrustArgs),
    /// Change the URLs the relay is reached at (it added or moved an
    /// instance); chatd uses one at a time and moves on when it is down
    Urls(RelayUrlsArgs),
}

/// `login` and `delete-account`.
#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// Read the password from the first line of stdin instead of prompting
    #[arg(long)]
    pub password_stdin: bool,
}

/// `id`.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// Print your contact card (one line of JSON), e.g. `chat-ctl id --card > alice.card`
    #[arg(long)]
    pub card: bool,
    #[command(subcommand)]
    pub action: Option<IdCommand>,
}

/// `id …`.
#[derive(Debug, Subcommand)]
pub enum IdCommand {
    /// Replace your key pairs: the relay's directory gets the new card
    /// (asks for the relay password) and every contact and group is sent a
    /// transition signed by the old and the new keys, so they move to the
    /// new key without asking. Old keys still open what was sealed to them
    /// for the grace period (chatd's `[keys] grace_days`, 7 by default)
    Rotate(PasswordArgs),
}

/// `contact …`.
#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// Add a contact from a card file (`-` for stdin), or USER from the relay
    /// directory, checked against --fingerprint
    Add(ContactAddArgs),
    /// List contacts
    List,
    /// Forget a contact (the history is kept)
    Remove(UserArg),
    /// Mark a contact verified after comparing fingerprints in person
    Verify(ContactVerifyArgs),
    /// Accept a contact's changed key after comparing its new fingerprint
    /// with them; the messages that waited are opened, in order
    AcceptKey(AcceptKeyArgs),
    /// Refuse a contact's changed key; the messages that waited are deleted
    RefuseKey(UserArg),
}

/// `contact add`.
#[derive(Debug, Args)]
pub struct ContactAddArgs {
    /// A card file, `-` for a card on stdin, or a USER when --fingerprint is given
    #[arg(value_name = "FILE|-|USER")]
    pub source: String,
    /// Look USER up in the relay directory and pin the card only if it has this fingerprint
    #[arg(long, value_name = "HEX", value_parser = parse_fingerprint)]
    pub fingerprint: Option<String>,
}

/// Commands that take just a contact.
#[derive(Debug, Args)]
pub struct UserArg {
    /// The contact's username
    #[arg(value_name = "USER", value_parser = parse_username)]
    pub user: String,
}

/// `contact verify`.
#[derive(Debug, Args)]
pub struct ContactVerifyArgs {
    /// The contact's username
    #[arg(value_name = "USER", value_parser = parse_username)]
    pub user: String,
    /// The fingerprint you compared: 64 hex digits, spaces allowed (quoted or not)
    #[arg(value_name = "HEX", num_args = 1.., required = true)]
    pub fingerprint: Vec<String>,
}

/// `contact accept-key`.
#[derive(Debug, Args)]
pub struct AcceptKeyArgs {
    /// The contact's username
    #[arg(value_name = "USER", value_parser = parse_username)]
    pub user: String,
    /// The new fingerprint you compared with them: 64 hex digits, spaces
    /// allowed (quoted or not)
    #[arg(long, value_name = "HEX", num_args = 1.., required = true)]
    pub fingerprint: Vec<String>,
}

impl AcceptKeyArgs {
    /// The fingerprint words joined and checked, in grouped form.
    pub fn fingerprint(&self) -> Result<String, String> {
        parse_fingerprint(&self.fingerprint.join(" "))
    }
}

impl ContactVerifyArgs {
    /// The fingerprint words joined and checked, in grouped form.
    pub fn fingerprint(&self) -> Result<String, String> {
        parse_fingerprint(&self.fingerprint.join(" "))
    }
}

/// `send`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("waiting").args(["wait", "wait_delivered"]).multiple(true)))]
pub struct SendArgs {
    /// The recipient: a contact, or a group as `#NAME` or `#ID`
    #[arg(value_name = "USER|#GROUP", value_parser = parse_peer)]
    pub user: String,
    /// The message; read from stdin when absent or `-`
    #[arg(value_name = "TEXT")]
    pub text: Option<String>,
    /// Send this file instead of a text (up to 100 MiB by default); chatd
    /// gets it through chat-ctl, so it needs no access to the path
    #[arg(long, value_name = "PATH", conflicts_with = "text")]
    pub file: Option<std::path::PathBuf>,
    /// The file's media type (type/subtype); guessed from its name when absent
    #[arg(long = "type", value_name = "MEDIA", requires = "file")]
    pub media_type: Option<String>,
    /// Answer this message (its id, or its first 8 or more hex digits)
    #[arg(long, value_name = "ID", value_parser = changes::parse_message_id)]
    pub reply_to: Option<String>,
    /// Wait until the relay accepted the message
    #[arg(long)]
    pub wait: bool,
    /// Wait until the recipient's daemon received the message
    #[arg(long)]
    pub wait_delivered: bool,
    /// Give up waiting after S seconds (exit 6)
    #[arg(long, value_name = "S", requires = "waiting", value_parser = parse_seconds, default_value = "30")]
    pub timeout: Duration,
}

/// Where `send` takes the message text from.
#[derive(Debug, PartialEq, Eq)]
pub enum BodySource<'a> {
    /// The TEXT argument.
    Arg(&'a str),
    /// Everything on stdin.
    Stdin,
}

/// How long `send` waits, and for what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFor {
    /// The relay stored it (`sent`).
    Sent,
    /// The recipient's daemon committed it (`delivered`).
    Delivered,
}

impl SendArgs {
    /// Where the text comes from.
    pub fn body_source(&self) -> BodySource<'_> {
        match self.text.as_deref() {
            None | Some("-") => BodySource::Stdin,
            Some(text) => BodySource::Arg(text),
        }
    }

    /// What to wait for after sending, if anything.
    pub fn wait_for(&self) -> Option<WaitFor> {
        if self.wait_delivered {
            Some(WaitFor::Delivered)
        } else if self.wait {
            Some(WaitFor::Sent)
        } else {
            None
        }
    }
}

/// `log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// The other party of the conversation, or a group as `#NAME` or `#ID`
    #[arg(value_name = "USER|#GROUP", value_parser = parse_peer)]
    pub user: String,
    /// Show the last N messages [default: 50]
    #[arg(short = 'n', long = "limit", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: Option<u32>,
    /// Show each message's id (its first 8 hex digits), for edit, delete,
    /// react and send --reply-to
    #[arg(long)]
    pub ids: bool,
}

/// `read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The conversation to mark read: a contact, or a group as `#NAME` or `#ID`
    #[arg(value_name = "USER|#GROUP", value_parser = parse_peer)]
    pub user: String,
}

/// `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// First replay the stored events after sequence number SEQ (0: all chatd keeps);
    /// exit 7 if chatd no longer keeps them
    #[arg(long, value_name = "SEQ")]
    pub since: Option<u64>,
}

/// `group …`.
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group with contacts; prints its id
    Create(GroupCreateArgs),
    /// Add contacts to a group (admins only)
    Add(GroupUsersArgs),
    /// Remove members from a group (admins only)
    Remove(GroupUsersArgs),
    /// Make a member an admin, or with --revoke a member again (admins only)
    Admin(GroupAdminArgs),
    /// Rename a group (admins only)
    Rename(GroupRenameArgs),
    /// Leave a group (its history stays)
    Leave(GroupArg),
    /// List your groups
    List,
    /// Show a group and its members
    Info(GroupArg),
}

/// `group create`.
#[derive(Debug, Args)]
pub struct GroupCreateArgs {
    /// The group's name (1-64 bytes, no control characters)
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The other members, each a contact
    #[arg(value_name = "USER", value_parser = parse_username)]
    pub users: Vec<String>,
}

/// `group add` and `group remove`.
#[derive(Debug, Args)]
pub struct GroupUsersArgs {
    /// The group: NAME, #NAME or #ID
    #[arg(value_name = "GROUP")]
    pub group: String,
    /// The users
    #[arg(value_name = "USER", required = true, value_parser = parse_username)]
    pub users: Vec<String>,
}

/// `group admin`.
#[derive(Debug, Args)]
pub struct GroupAdminArgs {
    /// The group: NAME, #NAME or #ID
    #[arg(value_name = "GROUP")]
    pub group: String,
    /// The member
    #[arg(value_name = "USER", value_parser = parse_username)]
    pub user: String,
    /// Take admin away instead of giving it
    #[arg(long)]
    pub revoke: bool,
}

/// `group rename`.
#[derive(Debug, Args)]
pub struct GroupRenameArgs {
    /// The group: NAME, #NAME or #ID
    #[arg(value_name = "GROUP")]
    pub group: String,
    /// The new name
    #[arg(value_name = "NEW")]
    pub name: String,
}

/// Commands that take just a group.
#[derive(Debug, Args)]
pub struct GroupArg {
    /// The group: NAME, #NAME or #ID
    #[arg(value_name = "GROUP")]
    pub group: String,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

fn key_bits_parser() -> impl clap::builder::TypedValueParser<Value = u32> {
    use clap::builder::TypedValueParser as _;
    PossibleValuesParser::new(["2048", "3072", "4096"])
        .map(|bits| bits.parse::<u32>().expect("one of the possible values"))
}

/// A username as docs/PROTOCOL.md defines it (the conventions at its top).
fn parse_username(name: &str) -> Result<String, String> {
    if ipc_schema::envelope::is_valid_username(name) {
        Ok(name.to_owned())
    } else {
        Err(
            "usernames are 3-32 characters of a-z 0-9 _ . - and start with a letter or digit"
                .to_owned(),
        )
    }
}

/// A contact's username, or a group written `#NAME` or `#ID`.
fn parse_peer(text: &str) -> Result<String, String> {
    match text.strip_prefix('#') {
        Some(rest) if !rest.is_empty() => Ok(text.to_owned()),
        Some(_) => Err("a group is written #NAME or #ID".to_owned()),
        None => parse_username(text),
    }
}

/// 64 hex digits in any spacing or case, returned grouped.
fn parse_fingerprint(text: &str) -> Result<String, String> {
    ipc_schema::fingerprint::normalize(text)
        .ok_or_else(|| "a fingerprint is 64 hex digits (spaces and colons allowed)".to_owned())
}

/// A positive number of seconds, fractions allowed.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0 * 365.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| "expected a positive number of seconds".to_owned())
}

#[cfg(test)]
mod tests;
