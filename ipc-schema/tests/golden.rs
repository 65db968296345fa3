//! Golden fixtures pin the wire format: for every request, result, event, error
//! and relay body, the Rust value must serialize to exactly the fixture under
//! `tests/fixtures/` (same JSON value, and the same compact text, so names and
//! field order are pinned) and the fixture must parse back to the same value.
//!
//! A changed fixture is a protocol change. To rewrite them on purpose, run
//! `CHAT_BLESS_FIXTURES=1 cargo test -p ipc-schema --test golden`, review the
//! diff, then run again without the variable (a bless run always fails).
//!
//! `serde_json::Value`s inside the samples (cards, the OpenRPC document) are
//! written with sorted keys, so the test passes with or without serde_json's
//! `preserve_order` feature.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use ipc_schema::envelope::Envelope;
use ipc_schema::jsonrpc::{ErrorObject, Id, Request, Response, code};
use ipc_schema::methods::*;
use ipc_schema::relay::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const BLESS: &str = "CHAT_BLESS_FIXTURES";

fn fixture_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Strips the whitespace between tokens without reordering or re-encoding anything.
fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Asserts that `value` serializes to exactly the fixture; returns the fixture text.
fn assert_serializes_to<T: Serialize>(rel: &str, value: &T) -> String {
    let path = fixture_path(rel);
    if std::env::var_os(BLESS).is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let pretty = serde_json::to_string_pretty(value).unwrap();
        std::fs::write(&path, pretty + "\n").unwrap();
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{rel}: cannot read fixture {}: {e}", path.display()));
    let fixture: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: fixture is not JSON: {e}"));
    assert_eq!(
        serde_json::to_value(value).unwrap(),
        fixture,
        "{rel}: the value no longer serializes to the fixture"
    );
    assert_eq!(
        serde_json::to_string(value).unwrap(),
        minify(&text),
        "{rel}: same JSON value but different text (field order?)"
    );
    text
}

/// The full round trip: serializes to the fixture, and the fixture parses back to `value`.
fn golden<T: Serialize + DeserializeOwned + PartialEq + Debug>(rel: &str, value: &T) {
    let text = assert_serializes_to(rel, value);
    let parsed: T = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{rel}: fixture does not parse: {e}"));
    assert_eq!(&parsed, value, "{rel}: the fixture parses to another value");
}

// ---------------------------------------------------------------------------
// Samples

const ALICE_FP: &str =
    "3f2a 9c41 07be d5e8 1a6c 44f0 b93d 2e71 8c05 6a1f e4d2 97b3 50c8 2f6e a1d9 7b34";
const BOB_FP: &str =
    "c7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b 5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80";
const MSG_ID: &str = "4f9c2e1ab3d04c7e8a61f05d2b9e7c13";
const REPLY_ID: &str = "0b7e4d2c9a1f48e6b3c5d7e9f1a2b4c6";
const T0: u64 = 1_764_000_000_123;

fn card(user: &str) -> Value {
    // Keys sorted on purpose, see the module doc.
    json!({
        "enc": "MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEAzQ==",
        "sig": "MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEAsg==",
        "user": user,
        "v": 1
    })
}

fn bob() -> Contact {
    Contact {
        user: "bob".into(),
        fingerprint: BOB_FP.into(),
        verified: true,
        added_at: T0 - 86_400_000,
        pending_fingerprint: None,
        quarantined: 0,
        dropped: 0,
        rotated: false,
        frozen: false,
    }
}

fn incoming() -> MessageView {
    MessageView {
        id: MSG_ID.into(),
        from: "bob".into(),
        to: "alice".into(),
        ts: T0,
        direction: Direction::In,
        kind: "text".into(),
        body: Some("build finished ✅".into()),
        reply_to: None,
        state: MessageState::Delivered,
        failure: None,
        seq: 41,
        truncated: false,
        group: None,
        deliveries: Vec::new(),
        edited: false,
        deleted: false,
        reactions: Vec::new(),
        file: None,
    }
}

fn outgoing_failed() -> MessageView {
    MessageView {
        id: REPLY_ID.into(),
        from: "alice".into(),
        to: "bob".into(),
        ts: T0 + 5_000,
        direction: Direction::Out,
        kind: "text".into(),
        body: Some("thanks!\nsee you".into()),
        reply_to: Some(MSG_ID.into()),
        state: MessageState::Failed,
        failure: Some("bob's mailbox is full (relay: quota_exceeded)".into()),
        seq: 42,
        truncated: false,
        group: None,
        deliveries: Vec::new(),
        edited: false,
        deleted: false,
        reactions: Vec::new(),
        file: None,
    }
}

fn unsupported() -> MessageView {
    MessageView {
        id: "9d3a6f0e2b8c47d1a5e9f3b7c1d2e4f6".into(),
        from: "bob".into(),
        to: "alice".into(),
        ts: T0 + 9_000,
        direction: Direction::In,
        kind: "reaction".into(),
        body: None,
        reply_to: None,
        state: MessageState::Read,
        failure: None,
        seq: 43,
        truncated: false,
        group: None,
        deliveries: Vec::new(),
        edited: false,
        deleted: false,
        reactions: Vec::new(),
        file: None,
    }
}

/// One method: its fixture name, a request and a result for it.
struct Case {
    fixture: &'static str,
    request: Request,
    result: MethodResult,
}

fn case(
    fixture: &'static str,
    id: i64,
    params: impl Into<Method>,
    result: impl Into<MethodResult>,
) -> Case {
    Case {
        fixture,
        request: Request::new(Id::Number(id), params),
        result: result.into(),
    }
}

fn method_cases() -> Vec<Case> {
    vec![
        Case {
            fixture: "hello",
            request: Request::new(
                Id::from("hello-1"),
                HelloParams {
                    protocol: PROTOCOL_VERSION,
                    client: "chat-ctl/0.1.0".into(),
                },
            ),
            result: HelloResult {
                protocol: 1,
                version: "0.1.0".into(),
                user: Some("alice".into()),
            }
            .into(),
        },
        case(
            "status",
            2,
            StatusParams {},
            StatusResult {
                version: "0.1.0".into(),
                user: Some("alice".into()),
                fingerprint: Some(ALICE_FP.into()),
                relay_url: Some("https://relay.example.org".into()),
                connection: ConnectionState::Online,
                unread: 3,
                outbox_pending: 1,
                dropped: DroppedCounters {
                    malformed: 0,
                    unknown_sender: 2,
                    bad_signature: 1,
                    undecryptable: 0,
                    replay: 4,
                    not_a_member: 1,
                    bad_roster: 0,
                    bad_target: 0,
                },
                relay_trust: Some(RelayTrustView {
                    insecure_http: false,
                    ca: None,
                    pin: Some("5f1c".repeat(16)),
                }),
                proxy: Some("http://proxy.corp:3128".into()),
                relays: vec![
                    RelayUrlView {
                        url: "https://relay.example.org".into(),
                        in_use: true,
                        failure: None,
                        failed_at: None,
                    },
                    RelayUrlView {
                        url: "https://relay2.example.org".into(),
                        in_use: false,
                        failure: Some(
                            "relay unreachable: error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)".into(),
                        ),
                        failed_at: Some(T0 + 5_000),
                    },
                ],
            },
        ),
        case(
            "account.register",
            3,
            AccountRegisterParams {
                relay_url: "https://relay.example.org".into(),
                username: "alice".into(),
                password: Secret::new("correct horse battery staple"),
                invite: Some("inv-7f3k-q9zp".into()),
                key_bits: Some(3072),
                insecure_http: false,
                relay_ca: None,
                relay_pin: Some("5f1c".repeat(16)),
                device_name: Some("work laptop".into()),
                replace_keys: false,
            },
            AccountRegisterResult {
                user: "alice".into(),
                fingerprint: ALICE_FP.into(),
                relay_url: "https://relay.example.org".into(),
            },
        ),
        case(
            "account.register.several_urls",
            40,
            AccountRegisterParams {
                relay_url: vec![
                    "https://relay.example.org".to_owned(),
                    "https://relay2.example.org".to_owned(),
                ]
                .into(),
                username: "alice".into(),
                password: Secret::new("correct horse battery staple"),
                invite: None,
                key_bits: None,
                insecure_http: false,
                relay_ca: None,
                relay_pin: None,
                device_name: None,
                replace_keys: false,
            },
            AccountRegisterResult {
                user: "alice".into(),
                fingerprint: ALICE_FP.into(),
                relay_url: "https://relay.example.org".into(),
            },
        ),
        case(
            "account.password",
            30,
            AccountPasswordParams {
                password: Secret::new("correct horse battery staple"),
                new_password: Secret::new("a longer passphrase for 2027"),
            },
            AccountPasswordResult {},
        ),
        case(
            "device.list",
            31,
            DeviceListParams {},
            DeviceListResult {
                devices: vec![
                    DeviceView {
                        id: "5be0c1d7a4f29e36".into(),
                        name: "desk".into(),
                        created_at: T0,
                        last_seen: T0 + 5_123,
                        current: true,
                        gone: None,
                        gone_at: None,
                    },
                    DeviceView {
                        id: "0123456789abcdef".into(),
                        name: "laptop".into(),
                        created_at: T0 + 1_000,
                        last_seen: T0 + 2_000,
                        current: false,
                        gone: Some("revoked".into()),
                        gone_at: Some(T0 + 3_000),
                    },
                ],
            },
        ),
        case(
            "device.revoke",
            32,
            DeviceRevokeParams {
                id: "0123456789abcdef".into(),
                password: Secret::new("correct horse battery staple"),
                new_password: Secret::new("a longer passphrase for 2027"),
            },
            DeviceRevokeResult {},
        ),
        case(
            "backup.export",
            33,
            BackupExportParams {
                passphrase: Secret::new("Seven-horses Quietly Ate 41 lemons!"),
            },
            BackupExportResult {
                backup: Secret::new(
                    r#"{"v":1,"kdf":{"alg":"argon2id","m":65536,"t":3,"p":1,"salt":"ERERERERERERERERERERAA=="},"iv":"IiIiIiIiIiIiIiIiIiIiIg==","ct":"…","tag":"…"}"#,
                ),
                contacts: 2,
            },
        ),
        case(
            "backup.enable",
            35,
            BackupEnableParams {
                passphrase: Secret::new("Seven-horses Quietly Ate 41 lemons!"),
            },
            BackupEnableResult { contacts: 2 },
        ),
        case(
            "backup.disable",
            36,
            BackupDisableParams {},
            BackupDisableResult {},
        ),
        case(
            "account.restore",
            34,
            AccountRestoreParams {
                relay_url: "https://relay.example.org".into(),
                username: "alice".into(),
                password: Secret::new("correct horse battery staple"),
                backup: Some(Secret::new(
                    r#"{"v":1,"kdf":{…},"iv":"…","ct":"…","tag":"…"}"#,
                )),
                passphrase: Secret::new("Seven-horses Quietly Ate 41 lemons!"),
                device_name: Some("laptop".into()),
                insecure_http: false,
                relay_ca: None,
                relay_pin: None,
            },
            AccountRestoreResult {
                user: "alice".into(),
                fingerprint: ALICE_FP.into(),
                relay_url: "https://relay.example.org".into(),
                contacts: 2,
                groups: 1,
            },
        ),
        case(
            "device.rename",
            37,
            DeviceRenameParams {
                id: "0123456789abcdef".into(),
                name: "work laptop".into(),
            },
            DeviceRenameResult {},
        ),
        case(
            "device.link",
            38,
            DeviceLinkParams { with_history: true },
            DeviceLinkResult {
                code: Secret::new("HW1D-847K-J0Z4-835V-DMMK-J05C-7J4D-MZG0"),
                expires_at: T0 + 600_000,
                contacts: 2,
                groups: 1,
                messages: 1_250,
                messages_left: 0,
                bytes: 412_884,
            },
        ),
        case(
            "account.join",
            39,
            AccountJoinParams {
                relay_url: "https://relay.example.org".into(),
                username: "alice".into(),
                password: Secret::new("correct horse battery staple"),
                code: Secret::new("HW1D-847K-J0Z4-835V-DMMK-J05C-7J4D-MZG0"),
                device_name: Some("laptop".into()),
                insecure_http: false,
                relay_ca: None,
                relay_pin: None,
            },
            AccountJoinResult {
                user: "alice".into(),
                fingerprint: ALICE_FP.into(),
                relay_url: "https://relay.example.org".into(),
                contacts: 2,
                groups: 1,
                messages: 1_250,
            },
        ),
        case(
            "account.login",
            4,
            AccountLoginParams {
                password: Secret::new("correct horse battery staple"),
            },
            AccountLoginResult {
                user: "alice".into(),
                expires_at: T0 + 86_400_000,
            },
        ),
        case(
            "account.logout",
            5,
            AccountLogoutParams {},
            AccountLogoutResult {},
        ),
        case(
            "account.delete",
            6,
            AccountDeleteParams {
                password: Secret::new("correct horse battery staple"),
            },
            AccountDeleteResult {},
        ),
        case(
            "relay.trust",
            24,
            RelayTrustParams {
                ca: Some("-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n".into()),
                pin: None,
                insecure_http: None,
            },
            RelayTrustResult {
                relay_url: "https://relay.example.org".into(),
                trust: RelayTrustView {
                    insecure_http: false,
                    ca: Some(format!("CA certificate sha256 {}", "0e9d".repeat(16))),
                    pin: None,
                },
            },
        ),
        case(
            "relay.urls",
            41,
            RelayUrlsParams {
                urls: vec![
                    "https://relay.example.org".into(),
                    "https://relay2.example.org".into(),
                ],
            },
            RelayUrlsResult {
                relay_url: "https://relay.example.org".into(),
                relays: vec![
                    RelayUrlView {
                        url: "https://relay.example.org".into(),
                        in_use: true,
                        failure: None,
                        failed_at: None,
                    },
                    RelayUrlView {
                        url: "https://relay2.example.org".into(),
                        in_use: false,
                        failure: None,
                        failed_at: None,
                    },
                ],
            },
        ),
        case(
            "identity.show",
            7,
            IdentityShowParams {},
            IdentityShowResult {
                user: "alice".into(),
                fingerprint: ALICE_FP.into(),
                key_bits: 3072,
            },
        ),
        case(
            "identity.card",
            8,
            IdentityCardParams {},
            IdentityCardResult {
                card: card("alice"),
            },
        ),
        case(
            "identity.rotate",
            42,
            IdentityRotateParams {
                password: Secret::new("correct horse battery staple"),
            },
            IdentityRotateResult {
                fingerprint: BOB_FP.into(),
                old_fingerprint: ALICE_FP.into(),
                contacts: 2,
                groups: 1,
                counter: 1,
                old_keys_until: 1764604800000,
            },
        ),
        case(
            "contact.add",
            9,
            ContactAddParams::Card { card: card("bob") },
            ContactAddResult {
                contact: Contact {
                    verified: false,
                    added_at: T0,
                    pending_fingerprint: None,
                    quarantined: 0,
                    dropped: 0,
                    rotated: false,
                    frozen: false,
                    ..bob()
                },
            },
        ),
        case(
            "contact.add.directory",
            10,
            ContactAddParams::Directory {
                user: "bob".into(),
                fingerprint: BOB_FP.into(),
            },
            ContactAddResult {
                contact: Contact {
                    verified: false,
                    added_at: T0,
                    pending_fingerprint: None,
                    quarantined: 0,
                    dropped: 0,
                    rotated: false,
                    frozen: false,
                    ..bob()
                },
            },
        ),
        case(
            "contact.list",
            11,
            ContactListParams {},
            ContactListResult {
                contacts: vec![
                    bob(),
                    Contact {
                        user: "carol".into(),
                        fingerprint: ALICE_FP.replace('3', "e"),
                        verified: false,
                        added_at: T0,
                        pending_fingerprint: None,
                        quarantined: 0,
                        dropped: 0,
                        rotated: false,
                        frozen: false,
                    },
                ],
            },
        ),
        case(
            "contact.remove",
            12,
            ContactRemoveParams {
                user: "carol".into(),
            },
            ContactRemoveResult {},
        ),
        case(
            "contact.verify",
            13,
            ContactVerifyParams {
                user: "bob".into(),
                fingerprint: BOB_FP.into(),
            },
            ContactVerifyResult { contact: bob() },
        ),
        case(
            "contact.accept_key",
            40,
            ContactAcceptKeyParams {
                user: "bob".into(),
                fingerprint: ALICE_FP.into(),
            },
            ContactAcceptKeyResult {
                contact: Contact {
                    fingerprint: ALICE_FP.into(),
                    verified: false,
                    ..bob()
                },
                opened: 3,
                dropped: 0,
            },
        ),
        case(
            "contact.refuse_key",
            41,
            ContactRefuseKeyParams { user: "bob".into() },
            ContactRefuseKeyResult {
                contact: Contact {
                    dropped: 3,
                    ..bob()
                },
                deleted: 3,
            },
        ),
        case(
            "group.create",
            30,
            GroupCreateParams {
                name: "ops".into(),
                members: vec!["bob".into(), "carol".into()],
            },
            GroupCreateResult { group: ops(0, 3) },
        ),
        case(
            "group.add",
            31,
            GroupAddParams {
                group: GROUP_ID.into(),
                users: vec!["dave".into()],
            },
            GroupAddResult { group: ops(1, 4) },
        ),
        case(
            "group.remove",
            32,
            GroupRemoveParams {
                group: GROUP_ID.into(),
                users: vec!["carol".into()],
            },
            GroupRemoveResult { group: ops(2, 3) },
        ),
        case(
            "group.admin",
            33,
            GroupAdminParams {
                group: GROUP_ID.into(),
                user: "bob".into(),
                revoke: false,
            },
            GroupAdminResult { group: ops(3, 3) },
        ),
        case(
            "group.rename",
            34,
            GroupRenameParams {
                group: GROUP_ID.into(),
                name: "ops-eu".into(),
            },
            GroupRenameResult {
                group: GroupView {
                    name: "ops-eu".into(),
                    ..ops(4, 3)
                },
            },
        ),
        case(
            "group.leave",
            35,
            GroupLeaveParams {
                group: GROUP_ID.into(),
            },
            GroupLeaveResult {
                group: GroupView {
                    state: GroupState::Left,
                    admin: false,
                    ..ops(5, 2)
                },
            },
        ),
        case(
            "group.list",
            36,
            GroupListParams {},
            GroupListResult {
                groups: vec![ops(3, 3)],
            },
        ),
        case(
            "group.info",
            37,
            GroupInfoParams {
                group: GROUP_ID.into(),
            },
            GroupInfoResult {
                group: ops(3, 3),
                members: vec![
                    GroupMemberView {
                        user: "alice".into(),
                        admin: true,
                        since: 0,
                        fingerprint: ALICE_FP.into(),
                        verified: false,
                        introduced_by: None,
                    },
                    GroupMemberView {
                        user: "dave".into(),
                        admin: false,
                        since: 1,
                        fingerprint: BOB_FP.into(),
                        verified: false,
                        introduced_by: Some("alice".into()),
                    },
                ],
            },
        ),
        case(
            "message.send",
            14,
            MessageSendParams {
                to: "bob".into(),
                body: "thanks!\nsee you".into(),
                reply_to: Some(MSG_ID.into()),
            },
            MessageSendResult {
                id: REPLY_ID.into(),
                ts: T0 + 5_000,
            },
        ),
        case(
            "message.list",
            15,
            MessageListParams {
                peer: "bob".into(),
                before: Some(44),
                limit: Some(3),
            },
            MessageListResult {
                messages: vec![incoming(), outgoing_failed(), unsupported()],
                has_more: true,
            },
        ),
        case(
            "message.list.newest",
            16,
            MessageListParams {
                peer: "bob".into(),
                before: None,
                limit: None,
            },
            MessageListResult {
                messages: vec![],
                has_more: false,
            },
        ),
        case(
            "message.get",
            16,
            MessageGetParams {
                peer: "bob".into(),
                id: MSG_ID.into(),
                direction: Some(Direction::In),
            },
            MessageGetResult {
                message: incoming(),
            },
        ),
        case(
            "message.edit",
            60,
            MessageEditParams {
                id: MSG_ID.into(),
                body: "deploy at 13:00".into(),
            },
            MessageEditResult {
                peer: "bob".into(),
                message: MessageView {
                    body: Some("deploy at 13:00".into()),
                    edited: true,
                    ..outgoing_failed()
                },
            },
        ),
        case(
            "message.delete",
            61,
            MessageDeleteParams { id: MSG_ID.into() },
            MessageDeleteResult {
                peer: "bob".into(),
                message: MessageView {
                    body: None,
                    deleted: true,
                    ..outgoing_failed()
                },
            },
        ),
        case(
            "message.react",
            62,
            MessageReactParams {
                id: MSG_ID.into(),
                peer: Some("bob".into()),
                emoji: Some("👍".into()),
            },
            MessageReactResult {
                peer: "bob".into(),
                message: MessageView {
                    reactions: vec![ReactionView {
                        emoji: "👍".into(),
                        users: vec!["alice".into(), "bob".into()],
                    }],
                    ..incoming()
                },
            },
        ),
        case(
            "message.search",
            63,
            MessageSearchParams {
                query: "build finished".into(),
                peer: None,
                before: None,
                limit: Some(20),
            },
            MessageSearchResult {
                hits: vec![SearchHit {
                    peer: "bob".into(),
                    message: incoming(),
                    snippet: "build finished ✅".into(),
                    highlights: vec![[0, 5], [6, 14]],
                }],
                has_more: false,
            },
        ),
        case(
            "file.upload_start",
            70,
            FileUploadStartParams {
                to: "bob".into(),
                name: "build.log".into(),
                size: 2_300_000,
                media_type: Some("text/plain".into()),
                reply_to: None,
            },
            FileUploadStartResult {
                upload: "5f0c6b9e2d7a4c1b8e3f9a0d6c2b7e41".into(),
                piece: 1 << 20,
            },
        ),
        case(
            "file.upload_chunk",
            71,
            FileUploadChunkParams {
                upload: "5f0c6b9e2d7a4c1b8e3f9a0d6c2b7e41".into(),
                data: "YnVpbGQgb2sK".into(),
            },
            FileUploadChunkResult { received: 9 },
        ),
        case(
            "file.upload_finish",
            72,
            FileUploadFinishParams {
                upload: "5f0c6b9e2d7a4c1b8e3f9a0d6c2b7e41".into(),
            },
            FileUploadFinishResult {
                id: MSG_ID.into(),
                ts: T0,
            },
        ),
        case(
            "file.upload_cancel",
            73,
            FileUploadCancelParams {
                upload: "5f0c6b9e2d7a4c1b8e3f9a0d6c2b7e41".into(),
            },
            FileUploadCancelResult {},
        ),
        case(
            "file.download",
            74,
            FileDownloadParams {
                peer: Some("bob".into()),
                id: MSG_ID[..8].into(),
            },
            FileDownloadResult {
                id: MSG_ID.into(),
                from: "bob".into(),
                name: "build.log".into(),
                size: 2_300_000,
                state: FileState::Downloading,
            },
        ),
        case(
            "file.read",
            75,
            FileReadParams {
                peer: None,
                id: MSG_ID.into(),
                offset: 0,
                length: Some(9),
            },
            FileReadResult {
                data: "YnVpbGQgb2sK".into(),
                size: 9,
            },
        ),
        case(
            "conversation.list",
            17,
            ConversationListParams {},
            ConversationListResult {
                conversations: vec![
                    ConversationView {
                        peer: "bob".into(),
                        last_message: Some("thanks!".into()),
                        last_ts: Some(T0 + 5_000),
                        unread: 0,
                        verified: true,
                    },
                    ConversationView {
                        peer: "carol".into(),
                        last_message: None,
                        last_ts: None,
                        unread: 0,
                        verified: false,
                    },
                ],
            },
        ),
        case(
            "conversation.mark_read",
            18,
            ConversationMarkReadParams { peer: "bob".into() },
            ConversationMarkReadResult { marked: 2 },
        ),
        case(
            "conversation.focus",
            19,
            ConversationFocusParams {
                peer: Some("bob".into()),
            },
            ConversationFocusResult {},
        ),
        case(
            "conversation.focus.clear",
            20,
            ConversationFocusParams { peer: None },
            ConversationFocusResult {},
        ),
        case(
            "subscribe",
            21,
            SubscribeParams { after: Some(41) },
            SubscribeResult {
                subscribed: true,
                last_seq: 57,
            },
        ),
        case(
            "daemon.shutdown",
            22,
            DaemonShutdownParams {},
            DaemonShutdownResult {},
        ),
        case(
            "rpc.discover",
            23,
            RpcDiscoverParams {},
            RpcDiscoverResult(json!({
                "info": {"title": "chatd", "version": "0.1.0"},
                "methods": [],
                "openrpc": "1.3.2"
            })),
        ),
    ]
}

const GROUP_ID: &str = "9d2f7c41b0e84a6f8c13d5e7a9b1c3d5";

/// The sample group "ops" at `version` with `members` members, alice admin.
fn ops(version: u64, members: u32) -> GroupView {
    GroupView {
        id: GROUP_ID.into(),
        name: "ops".into(),
        version,
        state: GroupState::Member,
        admin: true,
        members,
    }
}

fn event_cases() -> Vec<(&'static str, EventEnvelope)> {
    let at = |seq: u64, event: Event| EventEnvelope {
        seq,
        ts: T0 + seq,
        event,
    };
    vec![
        (
            "group.updated",
            at(
                50,
                Event::GroupUpdated(GroupUpdatedEvent {
                    group: ops(1, 4),
                    changes: vec!["alice added dave".into()],
                }),
            ),
        ),
        (
            "group.removed",
            at(
                51,
                Event::GroupRemoved(GroupRemovedEvent {
                    group: GroupView {
                        state: GroupState::Removed,
                        admin: false,
                        ..ops(2, 3)
                    },
                    by: "alice".into(),
                }),
            ),
        ),
        (
            "device.added",
            at(
                52,
                Event::DeviceAdded(DeviceAddedEvent {
                    name: "laptop".into(),
                    added_at: T0 + 40,
                }),
            ),
        ),
        (
            "device.gone",
            at(
                53,
                Event::DeviceGone(DeviceGoneEvent {
                    id: "0123456789abcdef".into(),
                    name: "phone".into(),
                    gone: "expired".into(),
                    gone_at: T0 + 50,
                }),
            ),
        ),
        (
            "message.changed",
            at(
                54,
                Event::MessageChanged(MessageChangedEvent {
                    change: MessageChangeKind::Edited,
                    by: "bob".into(),
                    peer: "bob".into(),
                    message: Box::new(MessageView {
                        body: Some("build finished ✅ (all green)".into()),
                        edited: true,
                        ..incoming()
                    }),
                }),
            ),
        ),
        (
            "message.received",
            at(
                42,
                Event::MessageReceived(MessageReceivedEvent {
                    message: incoming(),
                }),
            ),
        ),
        (
            "message.state",
            at(
                43,
                Event::MessageState(MessageStateEvent {
                    id: REPLY_ID.into(),
                    peer: "bob".into(),
                    state: MessageState::Delivered,
                    failure: None,
                    deliveries: Vec::new(),
                }),
            ),
        ),
        (
            "contact.changed",
            at(
                44,
                Event::ContactChanged(ContactChangedEvent {
                    change: ContactChange::Verified,
                    contact: bob(),
                    old_fingerprint: None,
                    new_fingerprint: None,
                }),
            ),
        ),
        (
            "connection.changed",
            at(
                45,
                Event::ConnectionChanged(ConnectionChangedEvent {
                    connection: ConnectionState::Offline,
                    error: Some("relay unreachable: connection refused".into()),
                }),
            ),
        ),
    ]
}

fn error_cases() -> Vec<(&'static str, Response)> {
    vec![
        (
            "parse_error",
            Response::error(
                None,
                ErrorObject::new(
                    code::PARSE_ERROR,
                    "parse error: EOF while parsing an object at line 1 column 18",
                ),
            ),
        ),
        (
            "method_not_found",
            Response::error(
                Some(Id::Number(7)),
                ErrorObject::new(code::METHOD_NOT_FOUND, "method not found: `message.sned`"),
            ),
        ),
        (
            "link_refused",
            Response::error(
                Some(Id::Number(39)),
                ErrorObject::new(
                    code::LINK_REFUSED,
                    "no_such_link: the relay has no link for this code: it is mistyped, was used, or expired (10 minutes)",
                )
                .with_data(json!({"reason": "no_such_link"})),
            ),
        ),
        (
            "invalid_params",
            Response::error(
                Some(Id::Number(8)),
                ErrorObject::new(
                    code::INVALID_PARAMS,
                    "invalid params for `message.send`: missing field `to`",
                ),
            ),
        ),
        (
            "protocol_mismatch",
            Response::error(
                Some(Id::from("hello-1")),
                ErrorObject::new(
                    code::PROTOCOL_MISMATCH,
                    "chatd speaks IPC protocol 1, the client asked for 2",
                )
                .with_data(json!({"supported": [1]})),
            ),
        ),
        (
            "relay_refused",
            Response::error(
                Some(Id::Number(9)),
                ErrorObject::new(
                    code::RELAY_REFUSED,
                    "the relay refused: bob's mailbox is full",
                )
                .with_data(json!({
                    "error": {"code": "quota_exceeded", "message": "bob's mailbox is full"},
                    "status": 507
                })),
            ),
        ),
    ]
}

type RelayCheck = Box<dyn Fn(&str)>;

fn relay_case<T: Serialize + DeserializeOwned + PartialEq + Debug + 'static>(
    name: &'static str,
    value: T,
) -> (&'static str, RelayCheck) {
    (name, Box::new(move |rel: &str| golden(rel, &value)))
}

fn relay_cases() -> Vec<(&'static str, RelayCheck)> {
    let envelope = |id: &str, ts: u64| Envelope {
        v: 1,
        id: id.into(),
        from: "bob".into(),
        to: "alice".into(),
        ts,
        wk: "q83vEjRWeJA=".into(),
        iv: "AAECAwQFBgcICQoLDA0ODw==".into(),
        ct: "8J+SrCBoZWxsbywgYWxpY2U=".into(),
        tag: "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGho=".into(),
        sig: "c2lnbmVkIGJ5IGJvYg==".into(),
    };
    vec![
        relay_case(
            "register_request",
            RegisterRequest {
                username: "alice".into(),
                password: Secret::new("correct horse battery staple"),
                card: card("alice"),
                invite: Some("inv-7f3k-q9zp".into()),
                device_name: None,
            },
        ),
        relay_case(
            "login_request",
            LoginRequest {
                username: "alice".into(),
                password: Secret::new("correct horse battery staple"),
                device: None,
            },
        ),
        relay_case(
            "login_response",
            LoginResponse {
                token: Secret::new("Yk3v0x9Qm2pT7cJr4uWn8sLd1aEo6hFz5gKi0bNy3Rw"),
                expires_at: T0 + 86_400_000,
                device: None,
            },
        ),
        relay_case(
            "login_request_new_device",
            LoginRequest {
                username: "alice".into(),
                password: Secret::new("correct horse battery staple"),
                device: Some(DeviceLogin {
                    id: None,
                    name: Some("laptop".into()),
                }),
            },
        ),
        relay_case(
            "login_response_device",
            LoginResponse {
                token: Secret::new("Yk3v0x9Qm2pT7cJr4uWn8sLd1aEo6hFz5gKi0bNy3Rw"),
                expires_at: T0 + 86_400_000,
                device: Some(DeviceInfo {
                    id: "5be0c1d7a4f29e36".into(),
                    name: "laptop".into(),
                    created_at: T0,
                    last_seen: T0,
                    gone_at: None,
                    gone: None,
                }),
            },
        ),
        relay_case(
            "device_list",
            DeviceList {
                current: "5be0c1d7a4f29e36".into(),
                devices: vec![DeviceInfo {
                    id: "5be0c1d7a4f29e36".into(),
                    name: "laptop".into(),
                    created_at: T0,
                    last_seen: T0 + 60_000,
                    gone_at: None,
                    gone: None,
                }],
            },
        ),
        relay_case(
            "revoke_device_request",
            RevokeDeviceRequest {
                password: Secret::new("correct horse battery staple"),
                new_password: Secret::new("a longer passphrase for 2027"),
            },
        ),
        relay_case(
            "change_password_request",
            ChangePasswordRequest {
                password: Secret::new("correct horse battery staple"),
                new_password: Secret::new("a longer passphrase for 2027"),
            },
        ),
        relay_case(
            "delete_account_request",
            DeleteAccountRequest {
                password: Secret::new("correct horse battery staple"),
            },
        ),
        relay_case(
            "directory_list",
            DirectoryList {
                users: vec!["bob".into(), "bobby".into()],
                next: Some("bobby".into()),
            },
        ),
        relay_case(
            "messages_response",
            MessagesResponse {
                messages: vec![
                    PendingEnvelope::V1(envelope(MSG_ID, T0)),
                    PendingEnvelope::V1(envelope(REPLY_ID, T0 + 1)),
                ],
            },
        ),
        relay_case(
            "put_v2_response",
            PutV2Response {
                stored: 7,
                duplicate: 1,
                skipped: vec![SkippedRecipient {
                    user: "zed".into(),
                    reason: "unknown_recipient".into(),
                }],
            },
        ),
        relay_case(
            "messages_response_v2",
            MessagesResponse {
                messages: vec![PendingEnvelope::V2(ipc_schema::DeliveredV2 {
                    v: 2,
                    id: MSG_ID.into(),
                    from: "bob".into(),
                    ts: T0,
                    n: 3,
                    to: ipc_schema::envelope_v2::DeliveredEntry {
                        user: "alice".into(),
                        wk: "q83vEjRWeJA=".into(),
                        i: 0,
                        path: vec![
                            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
                            "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGho=".into(),
                        ],
                    },
                    kc: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
                    iv: "AAECAwQFBgcICQoLDA0ODw==".into(),
                    ct: "8J+SrCBoZWxsbywgYWxpY2U=".into(),
                    tag: "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGho=".into(),
                    sig: "c2lnbmVkIGJ5IGJvYg==".into(),
                })],
            },
        ),
        relay_case(
            "ack_request",
            AckRequest {
                ids: vec![MSG_ID.into(), REPLY_ID.into()],
            },
        ),
        relay_case(
            "error_body",
            ErrorBody::new(error_code::QUOTA_EXCEEDED, "bob's mailbox is full"),
        ),
        relay_case(
            "health",
            Health {
                status: HealthStatus::Ok,
                version: "0.1.0".into(),
                store: HealthStatus::Ok,
            },
        ),
    ]
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn every_request_matches_its_fixture() {
    for c in method_cases() {
        golden(&format!("requests/{}.json", c.fixture), &c.request);
    }
}

#[test]
fn every_result_matches_its_fixture_and_decodes_by_its_method() {
    for c in method_cases() {
        let rel = format!("results/{}.json", c.fixture);
        assert_eq!(
            c.result.name(),
            c.request.method.name(),
            "{rel}: result for the wrong method"
        );
        let response = Response::ok(c.request.id.clone(), c.result.clone());
        let text = assert_serializes_to(&rel, &response);
        let parsed: Response = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed.id, Some(c.request.id.clone()), "{rel}");
        let result = parsed.outcome.expect("a result, not an error");
        let decoded = c.request.method.decode_result(result).unwrap();
        assert_eq!(
            decoded, c.result,
            "{rel}: the fixture decodes to another value"
        );
    }
}

#[test]
fn every_event_matches_its_fixture() {
    for (name, event) in event_cases() {
        assert_eq!(event.event.name(), name);
        golden(&format!("events/{name}.json"), &event);
    }
}

#[test]
fn every_error_response_matches_its_fixture() {
    for (name, response) in error_cases() {
        golden(&format!("errors/{name}.json"), &response);
    }
}

#[test]
fn every_relay_body_matches_its_fixture() {
    for (name, check) in relay_cases() {
        check(&format!("relay/{name}.json"));
    }
}

fn fixture_files() -> BTreeSet<String> {
    let root = fixture_path("");
    let mut files = BTreeSet::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let file = file.unwrap().path();
            let rel = file.strip_prefix(&root).unwrap().to_string_lossy();
            files.insert(rel.replace('\\', "/"));
        }
    }
    files
}

#[test]
fn every_method_and_event_has_fixtures_and_every_fixture_is_checked() {
    if std::env::var_os(BLESS).is_some() {
        return; // the other tests are still writing; a bless run fails anyway
    }
    let methods: BTreeSet<&str> = method_cases()
        .iter()
        .map(|c| c.request.method.name())
        .collect();
    let all: BTreeSet<&str> = Method::NAMES.iter().copied().collect();
    assert_eq!(methods, all, "a method has no fixture");
    let events: BTreeSet<&str> = event_cases().iter().map(|(n, _)| *n).collect();
    assert_eq!(
        events,
        Event::NAMES.iter().copied().collect(),
        "an event has no fixture"
    );

    let mut expected = BTreeSet::new();
    for c in method_cases() {
        expected.insert(format!("requests/{}.json", c.fixture));
        expected.insert(format!("results/{}.json", c.fixture));
    }
    expected.extend(
        event_cases()
            .iter()
            .map(|(n, _)| format!("events/{n}.json")),
    );
    expected.extend(
        error_cases()
            .iter()
            .map(|(n, _)| format!("errors/{n}.json")),
    );
    expected.extend(relay_cases().iter().map(|(n, _)| format!("relay/{n}.json")));

    assert_eq!(
        fixture_files(),
        expected,
        "fixtures on disk and fixtures checked differ"
    );
}

/// A relay URL param is a string, as before a relay could have several
/// URLs, or a list; one URL is written as a string.
#[test]
fn a_relay_url_is_a_string_or_a_list_of_them() {
    let one: RelayUrls = serde_json::from_value(json!("https://a.example")).unwrap();
    assert_eq!(one.as_slice(), ["https://a.example"]);
    assert_eq!(
        serde_json::to_value(&one).unwrap(),
        json!("https://a.example")
    );
    let two: RelayUrls =
        serde_json::from_value(json!(["https://a.example", "https://b.example"])).unwrap();
    assert_eq!(two.as_slice(), ["https://a.example", "https://b.example"]);
    assert_eq!(
        serde_json::to_value(&two).unwrap(),
        json!(["https://a.example", "https://b.example"])
    );
    let listed_one: RelayUrls = serde_json::from_value(json!(["https://a.example"])).unwrap();
    assert_eq!(listed_one, one, "a list of one is one URL");
    for bad in [json!(7), json!({"url": "https://a.example"}), json!([1, 2])] {
        let err = serde_json::from_value::<RelayUrls>(bad.clone()).unwrap_err();
        assert!(err.to_string().contains("list of URLs"), "{bad}: {err}");
    }
}

#[test]
fn fixtures_hold_pretty_json() {
    for rel in fixture_files() {
        let text = std::fs::read_to_string(fixture_path(&rel)).unwrap();
        assert!(
            text.starts_with("{\n  \"") && text.ends_with("\n}\n"),
            "{rel}: not pretty-printed JSON with a final newline"
        );
    }
}

#[test]
fn a_bless_run_never_passes() {
    assert!(
        std::env::var_os(BLESS).is_none(),
        "fixtures rewritten: review `git diff ipc-schema/tests/fixtures`, then rerun without {BLESS}"
    );
}
