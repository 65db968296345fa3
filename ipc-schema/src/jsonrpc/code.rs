//! Error codes: the JSON-RPC standard ones and chatd's own (in the -32000..=-32099 server range).

/// The frame is not valid JSON.
pub const PARSE_ERROR: i64 = -32700;
/// Valid JSON, but not a JSON-RPC 2.0 request object.
pub const INVALID_REQUEST: i64 = -32600;
/// No method of that name.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// The params are missing, of the wrong type, or have unknown fields.
pub const INVALID_PARAMS: i64 = -32602;
/// A bug or an unexpected failure inside chatd.
pub const INTERNAL_ERROR: i64 = -32603;

/// `hello` asked for a protocol version this daemon does not speak.
pub const PROTOCOL_MISMATCH: i64 = -32001;
/// A call other than `hello` came first on a connection.
pub const HELLO_REQUIRED: i64 = -32002;
/// The call needs a logged-in account and there is none.
pub const NOT_LOGGED_IN: i64 = -32003;
/// `account.register` on a daemon that already has an account.
pub const ACCOUNT_EXISTS: i64 = -32004;
/// The named user is not a contact.
pub const UNKNOWN_CONTACT: i64 = -32010;
/// A card or directory entry does not match the fingerprint the user gave.
pub const FINGERPRINT_MISMATCH: i64 = -32011;
/// A contact card is malformed (bad JSON, keys, or username).
pub const INVALID_CARD: i64 = -32012;
/// A message id named in the params (`reply_to`, `before`) is not in the store.
pub const UNKNOWN_MESSAGE: i64 = -32013;
/// The relay answered with an error; `data` holds its status and error body.
pub const RELAY_REFUSED: i64 = -32020;
/// The relay could not be reached (DNS, TCP, TLS, or it timed out).
pub const RELAY_UNREACHABLE: i64 = -32021;
/// chatd gave up waiting for something the call needed.
pub const TIMEOUT: i64 = -32030;
/// A frame, or the response to a call, is over [`crate::frame::MAX_FRAME`].
pub const FRAME_TOO_LARGE: i64 = -32031;
/// The daemon is shutting down and takes no new calls.
pub const SHUTTING_DOWN: i64 = -32032;
/// `subscribe {after}` asked for events older than the daemon keeps;
/// `data.oldest_seq` is the oldest one still available.
pub const EVENTS_EXPIRED: i64 = -32033;
/// The relay's TLS certificate was refused; `data.reason` says why
/// (`expired`, `wrong_host`, `unknown_ca`, `pin_mismatch`, `other`).
pub const RELAY_TLS: i64 = -32022;
/// No group with that id.
pub const UNKNOWN_GROUP: i64 = -32014;
/// The group refused the change or the message: this user is no longer a
/// member, is not an admin, or the change changes nothing.
pub const GROUP_REFUSED: i64 = -32015;

/// A backup did not open (`data.reason`: `malformed`, `unsupported`,
/// `weak_or_costly`, `wrong_passphrase_or_tampered`, `bad_contents`), or
/// may not be made (`refused`: a weak passphrase).
pub const BACKUP_REFUSED: i64 = -32016;
/// A device link does not open (`error.data.reason`: `bad_code`,
/// `no_such_link`, `malformed`, `unsupported`, `wrong_code_or_tampered`).
pub const LINK_REFUSED: i64 = -32017;

/// Every code above with its snake_case name.
pub const ALL: &[(i64, &str)] = &[
    (PARSE_ERROR, "parse_error"),
    (INVALID_REQUEST, "invalid_request"),
    (METHOD_NOT_FOUND, "method_not_found"),
    (INVALID_PARAMS, "invalid_params"),
    (INTERNAL_ERROR, "internal_error"),
    (PROTOCOL_MISMATCH, "protocol_mismatch"),
    (HELLO_REQUIRED, "hello_required"),
    (NOT_LOGGED_IN, "not_logged_in"),
    (ACCOUNT_EXISTS, "account_exists"),
    (UNKNOWN_CONTACT, "unknown_contact"),
    (FINGERPRINT_MISMATCH, "fingerprint_mismatch"),
    (INVALID_CARD, "invalid_card"),
    (UNKNOWN_MESSAGE, "unknown_message"),
    (RELAY_REFUSED, "relay_refused"),
    (RELAY_UNREACHABLE, "relay_unreachable"),
    (TIMEOUT, "timeout"),
    (FRAME_TOO_LARGE, "frame_too_large"),
    (SHUTTING_DOWN, "shutting_down"),
    (EVENTS_EXPIRED, "events_expired"),
    (RELAY_TLS, "relay_tls"),
    (UNKNOWN_GROUP, "unknown_group"),
    (GROUP_REFUSED, "group_refused"),
    (BACKUP_REFUSED, "backup_refused"),
    (LINK_REFUSED, "link_refused"),
];

/// The snake_case name of a code defined here, for logs and `--json` output.
pub fn name(code: i64) -> Option<&'static str> {
    ALL.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use crate::jsonrpc::code;

    #[test]
    fn error_codes_are_unique_and_app_codes_use_the_server_range() {
        let mut seen = std::collections::HashSet::new();
        for (c, name) in code::ALL {
            assert!(seen.insert(*c), "duplicate code {c}");
            assert!(
                (-32768..=-32000).contains(c),
                "{name} is outside the reserved range"
            );
            if !(-32700..=-32600).contains(c) {
                assert!((-32099..=-32000).contains(c), "{name} is not a server code");
            }
        }
    }
}
