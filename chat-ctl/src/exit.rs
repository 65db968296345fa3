//! chat-ctl's failures and their exit codes, so scripts can tell them apart.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ok |
//! | 1 | anything else |
//! | 2 | usage (clap's, or input that cannot be sent: an empty message) |
//! | 3 | chatd not reachable (not running, refused, hung up, or the socket's listener is another user) |
//! | 4 | unknown user, contact or group |
//! | 5 | refused by the relay or auth, or by a group (not a member, not an admin); also a message that ended `failed` |
//! | 6 | timeout |
//! | 7 | `watch --since` asked for events chatd no longer keeps |

use std::io;

use ipc_schema::client::ClientError;
use ipc_schema::jsonrpc::code;
use ipc_schema::relay::error_code;
use ipc_schema::text::sanitize;
use serde_json::Value;

/// Success.
pub const OK: u8 = 0;
/// Anything not listed below.
pub const FAILURE: u8 = 1;
/// Bad command line (clap uses the same code).
pub const USAGE: u8 = 2;
/// chatd is not running or not reachable.
pub const NOT_REACHABLE: u8 = 3;
/// The user or contact named does not exist.
pub const UNKNOWN: u8 = 4;
/// The relay refused, or authentication failed.
pub const REFUSED: u8 = 5;
/// Gave up waiting.
pub const TIMEOUT: u8 = 6;
/// The events asked for are gone: chatd's retention pruned them.
pub const EXPIRED: u8 = 7;

/// Why a chat-ctl command failed; its `Display` is the one line shown on stderr.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// Talking to chatd failed, or chatd refused the call.
    #[error("{}", client_message(.0))]
    Client(#[from] ClientError),
    /// The command line was well-formed but cannot be acted on.
    #[error("{0}")]
    Usage(String),
    /// Local input could not be read (a card file, stdin, the password prompt).
    #[error("{0}")]
    Input(String),
    /// No group by that name.
    #[error("{0}")]
    UnknownGroup(String),
    /// A sent message ended in `failed`.
    #[error("{0}")]
    MessageFailed(String),
    /// `send --wait` gave up.
    #[error("{0}")]
    Timeout(String),
    /// `watch --since SEQ` asked for events older than chatd keeps; `oldest`
    /// is the oldest seq it still has, when chatd said.
    #[error("{}", expired_message(*since, *oldest))]
    EventsExpired {
        /// The `--since` given.
        since: u64,
        /// chatd's `data.oldest_seq`.
        oldest: Option<u64>,
    },
    /// Writing to stdout failed (other than a closed pipe, which ends quietly).
    #[error("cannot write to stdout: {0}")]
    Output(io::Error),
}

impl CtlError {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            CtlError::Client(e) => client_exit_code(e),
            CtlError::Usage(_) => USAGE,
            CtlError::Input(_) | CtlError::Output(_) => FAILURE,
            CtlError::MessageFailed(_) => REFUSED,
            CtlError::UnknownGroup(_) => UNKNOWN,
            CtlError::Timeout(_) => TIMEOUT,
            CtlError::EventsExpired { .. } => EXPIRED,
        }
    }

    /// Whether stdout's reader went away (`chat-ctl watch | head -1`): end quietly.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CtlError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// The line for stderr, without the `chat-ctl: ` prefix: always one
    /// line, and sanitized, since relay refusals and failure reasons carry
    /// text from the relay and from peers (docs/IPC.md §9).
    pub fn line(&self) -> String {
        let text = self.to_string();
        let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        sanitize(&one_line).into_owned()
    }
}

impl From<io::Error> for CtlError {
    fn from(e: io::Error) -> Self {
        CtlError::Output(e)
    }
}

fn expired_message(since: u64, oldest: Option<u64>) -> String {
    match oldest {
        Some(oldest) => format!(
            "chatd no longer keeps the events after {since}; the oldest it has is {oldest}: \
             replay from there with --since {}, or watch without --since",
            oldest.saturating_sub(1)
        ),
        None => format!(
            "chatd no longer keeps the events after {since}; \
             watch with a later --since, or without it"
        ),
    }
}

fn client_message(e: &ClientError) -> String {
    match e {
        ClientError::NotRunning { .. } => {
            format!("{e}; start it (systemctl --user start chatd) or pass --socket")
        }
        _ => e.to_string(),
    }
}

/// The exit code for a failure of the IPC client.
pub fn client_exit_code(e: &ClientError) -> u8 {
    match e {
        ClientError::NotRunning { .. }
        | ClientError::Connect { .. }
        | ClientError::OtherUser { .. }
        | ClientError::Disconnected => NOT_REACHABLE,
        ClientError::Rpc { code, data, .. } => rpc_exit_code(*code, data.as_ref()),
        ClientError::Protocol(_) | ClientError::Io(_) => FAILURE,
    }
}

/// The exit code for a JSON-RPC error from chatd.
///
/// `relay_refused` carries the relay's answer in `data` (`{"status", "error":
/// {"code", "message"}}`, or `{"status", "code"}`): a 404 (no such user in the directory, or an unknown
/// recipient) means an unknown user (4); any other refusal, e.g. 401
/// `invalid_credentials`, 403 `invalid_invite`, 409 `username_taken`, is 5.
pub fn rpc_exit_code(rpc_code: i64, data: Option<&Value>) -> u8 {
    match rpc_code {
        code::UNKNOWN_CONTACT | code::UNKNOWN_MESSAGE | code::UNKNOWN_GROUP => UNKNOWN,
        code::RELAY_REFUSED if relay_says_not_found(data) => UNKNOWN,
        code::RELAY_REFUSED
        | code::RELAY_TLS
        | code::NOT_LOGGED_IN
        | code::GROUP_REFUSED
        | code::BACKUP_REFUSED
        | code::LINK_REFUSED
        | code::FINGERPRINT_MISMATCH => REFUSED,
        code::TIMEOUT => TIMEOUT,
        code::EVENTS_EXPIRED => EXPIRED,
        code::SHUTTING_DOWN => NOT_REACHABLE,
        _ => FAILURE,
    }
}

fn relay_says_not_found(data: Option<&Value>) -> bool {
    let Some(data) = data else { return false };
    let status = data.get("status").and_then(Value::as_u64);
    // The relay's error code, as in the `relay_refused` fixture (`data.error.code`)
    // or flattened (`data.code`).
    let relay_code = data
        .pointer("/error/code")
        .or_else(|| data.get("code"))
        .and_then(Value::as_str);
    status == Some(404)
        || matches!(
            relay_code,
            Some(error_code::NOT_FOUND | error_code::UNKNOWN_RECIPIENT)
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn rpc(c: i64, data: Option<Value>) -> CtlError {
        CtlError::Client(ClientError::Rpc {
            code: c,
            message: "m".into(),
            data,
        })
    }

    #[test]
    fn daemon_not_reachable_is_3() {
        let e = CtlError::Client(ClientError::NotRunning {
            path: PathBuf::from("/run/user/1/chat/chatd.sock"),
            reason: "no socket",
            source: io::ErrorKind::NotFound.into(),
        });
        assert_eq!(e.exit_code(), NOT_REACHABLE);
        assert_eq!(
            e.line(),
            "chatd is not running (no socket at /run/user/1/chat/chatd.sock); \
             start it (systemctl --user start chatd) or pass --socket"
        );
        assert_eq!(
            CtlError::Client(ClientError::Disconnected).exit_code(),
            NOT_REACHABLE
        );
        assert_eq!(rpc(code::SHUTTING_DOWN, None).exit_code(), NOT_REACHABLE);
        let planted = CtlError::Client(ClientError::OtherUser {
            path: PathBuf::from("/tmp/chat-1000/chatd.sock"),
            ours: 1000,
            theirs: 1001,
        });
        assert_eq!(planted.exit_code(), NOT_REACHABLE);
    }

    #[test]
    fn unknown_contacts_and_users_are_4() {
        assert_eq!(rpc(code::UNKNOWN_CONTACT, None).exit_code(), UNKNOWN);
        let not_in_directory =
            json!({"status": 404, "error": {"code": "not_found", "message": "no such user"}});
        assert_eq!(
            rpc(code::RELAY_REFUSED, Some(not_in_directory)).exit_code(),
            UNKNOWN
        );
        let no_recipient = json!({"error": {"code": "unknown_recipient"}});
        assert_eq!(
            rpc(code::RELAY_REFUSED, Some(no_recipient)).exit_code(),
            UNKNOWN
        );
        let flat = json!({"status": 404, "code": "not_found"});
        assert_eq!(rpc(code::RELAY_REFUSED, Some(flat)).exit_code(), UNKNOWN);
        let flat = json!({"code": "unknown_recipient"});
        assert_eq!(rpc(code::RELAY_REFUSED, Some(flat)).exit_code(), UNKNOWN);
    }

    #[test]
    fn relay_and_auth_refusals_are_5() {
        let bad_login =
            json!({"status": 401, "error": {"code": "invalid_credentials", "message": "x"}});
        assert_eq!(
            rpc(code::RELAY_REFUSED, Some(bad_login)).exit_code(),
            REFUSED
        );
        assert_eq!(rpc(code::RELAY_REFUSED, None).exit_code(), REFUSED);
        assert_eq!(rpc(code::NOT_LOGGED_IN, None).exit_code(), REFUSED);
        assert_eq!(rpc(code::FINGERPRINT_MISMATCH, None).exit_code(), REFUSED);
        assert_eq!(CtlError::MessageFailed("x".into()).exit_code(), REFUSED);
    }

    #[test]
    fn timeouts_are_6_and_the_rest_is_1() {
        assert_eq!(rpc(code::TIMEOUT, None).exit_code(), TIMEOUT);
        assert_eq!(CtlError::Timeout("x".into()).exit_code(), TIMEOUT);
        for c in [
            code::INVALID_PARAMS,
            code::INTERNAL_ERROR,
            code::INVALID_CARD,
            code::ACCOUNT_EXISTS,
            code::RELAY_UNREACHABLE,
            code::PROTOCOL_MISMATCH,
        ] {
            assert_eq!(rpc(c, None).exit_code(), FAILURE, "{c}");
        }
        assert_eq!(
            CtlError::Client(ClientError::Protocol("x".into())).exit_code(),
            FAILURE
        );
        assert_eq!(CtlError::Input("x".into()).exit_code(), FAILURE);
        assert_eq!(CtlError::Usage("x".into()).exit_code(), USAGE);
    }

    #[test]
    fn expired_events_are_7_and_name_the_oldest_seq() {
        let e = CtlError::EventsExpired {
            since: 41,
            oldest: Some(57),
        };
        assert_eq!(e.exit_code(), EXPIRED);
        assert_eq!(
            e.line(),
            "chatd no longer keeps the events after 41; the oldest it has is 57: \
             replay from there with --since 56, or watch without --since"
        );
        let e = CtlError::EventsExpired {
            since: 41,
            oldest: None,
        };
        assert!(e.line().contains("after 41"), "{}", e.line());
        assert_eq!(rpc(code::EVENTS_EXPIRED, None).exit_code(), EXPIRED);
    }

    #[test]
    fn the_stderr_line_is_always_one_line() {
        let e = CtlError::Client(ClientError::Rpc {
            code: code::INTERNAL_ERROR,
            message: "first\nsecond\r\n  third".into(),
            data: None,
        });
        assert_eq!(e.line(), "first second third");
    }

    #[test]
    fn a_closed_stdout_is_not_reported() {
        assert!(CtlError::Output(io::ErrorKind::BrokenPipe.into()).is_broken_pipe());
        assert!(!CtlError::Output(io::ErrorKind::Other.into()).is_broken_pipe());
    }
}
