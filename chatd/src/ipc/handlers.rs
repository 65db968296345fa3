//! One handler per method: each turns params into a daemon call and the
//! answer into the method's result. Errors become JSON-RPC error objects with
//! the codes chat-ctl maps to its exit codes.

use ipc_schema::jsonrpc::{ErrorObject, code};
use ipc_schema::methods::*;
use serde_json::json;

use crate::crypto::Card;
use crate::daemon::{Daemon, DaemonError};
use crate::relay_client::RelayError;
use crate::store::StoreError;

/// What the connection does with a handler's answer.
pub enum Outcome {
    /// Send this result.
    Reply(MethodResult),
    /// Send this result, then stream events after `after`.
    Subscribe {
        /// The subscribe result.
        result: MethodResult,
        /// Replay from here.
        after: u64,
    },
    /// Send this result, then stop the daemon.
    Shutdown(MethodResult),
    /// Send this error.
    Error(ErrorObject),
}

impl From<DaemonError> for ErrorObject {
    fn from(e: DaemonError) -> Self {
        let message = e.to_string();
        match e {
            DaemonError::NotLoggedIn(_) => ErrorObject::new(code::NOT_LOGGED_IN, message),
            DaemonError::AccountExists(_) => ErrorObject::new(code::ACCOUNT_EXISTS, message),
            DaemonError::UnknownContact(_) | DaemonError::Store(StoreError::UnknownContact(_)) => {
                ErrorObject::new(code::UNKNOWN_CONTACT, message)
            }
            DaemonError::Store(StoreError::FingerprintMismatch(_)) => {
                ErrorObject::new(code::FINGERPRINT_MISMATCH, message)
            }
            DaemonError::InvalidCard(_) | DaemonError::Store(StoreError::CardChanged(_)) => {
                ErrorObject::new(code::INVALID_CARD, message)
            }
            DaemonError::Invalid(_) => ErrorObject::new(code::INVALID_PARAMS, message),
            DaemonError::UnknownMessage(_) => ErrorObject::new(code::UNKNOWN_MESSAGE, message),
            DaemonError::Relay(RelayError::Unreachable(_)) => {
                ErrorObject::new(code::RELAY_UNREACHABLE, message)
            }
            DaemonError::Relay(RelayError::Refused {
                status,
                code: relay_code,
                ..
            }) => {
                if relay_code == "fingerprint_mismatch" {
                    ErrorObject::new(code::FINGERPRINT_MISMATCH, message)
                } else {
                    ErrorObject::new(code::RELAY_REFUSED, message)
                        .with_data(json!({"status": status, "code": relay_code}))
                }
            }
            DaemonError::Relay(RelayError::Protocol(_))
            | DaemonError::Store(StoreError::Sql(_))
            | DaemonError::Keystore(_)
            | DaemonError::Internal(_) => {
                tracing::error!(error = %message, "request failed");
                ErrorObject::new(code::INTERNAL_ERROR, message)
            }
        }
    }
}

fn reply<R: Into<MethodResult>>(r: Result<R, DaemonError>) -> Outcome {
    match r {
        Ok(r) => Outcome::Reply(r.into()),
        Err(e) => Outcome::Error(e.into()),
    }
}

/// Runs one call for connection `conn`.
pub async fn dispatch(d: &Daemon, conn: u64, method: Method) -> Outcome {
    match method {
        Method::Hello(p) => hello(d, p),
        Method::Status(_) => reply(status(d)),
        Method::AccountRegister(p) => reply(register(d, p).await),
        Method::AccountLogin(p) => reply(
            async {
                let expires_at = d.login(&p.password).await?;
                Ok::<_, DaemonError>(AccountLoginResult {
                    user: d.account()?.user,
                    expires_at,
                })
            }
            .await,
        ),
        Method::AccountLogout(_) => reply(d.logout().await.map(|_| AccountLogoutResult {})),
        Method::AccountDelete(p) => reply(
            d.delete_account(&p.password)
                .await
                .map(|_| AccountDeleteResult {}),
        ),
        Method::IdentityShow(_) => reply(d.identity().map(|id| IdentityShowResult {
            user: id.user().to_owned(),
            fingerprint: id.card().fingerprint().grouped(),
            key_bits: id.key_bits() as u32,
        })),
        Method::IdentityCard(_) => reply(d.identity().map(|id| IdentityCardResult {
            card: id.card().to_value(),
        })),
        Method::ContactAdd(p) => reply(contact_add(d, p).await),
        Method::ContactList(_) => reply(
            d.store
                .contacts()
                .map(|contacts| ContactListResult { contacts })
                .map_err(DaemonError::from),
        ),
        Method::ContactRemove(p) => reply(
            d.store
                .remove_contact(&p.user)
                .map(|events| {
                    d.publish(events);
                    ContactRemoveResult {}
                })
                .map_err(DaemonError::from),
        ),
        Method::ContactVerify(p) => reply(contact_verify(d, p)),
        Method::MessageSend(p) => reply(
            d.send(&p.to, p.body, p.reply_to)
                .await
                .map(|(id, ts)| MessageSendResult { id, ts }),
        ),
        Method::MessageList(p) => reply(message_list(d, p)),
        Method::MessageGet(p) => reply(
            d.store
                .message(&p.peer, &p.id, p.direction)
                .map_err(DaemonError::from)
                .and_then(|m| {
                    m.ok_or_else(|| {
                        DaemonError::UnknownMessage(format!("no message {} with {}", p.id, p.peer))
                    })
                })
                .map(|message| MessageGetResult { message }),
        ),
        Method::ConversationList(_) => reply(
            d.store
                .conversations()
                .map(|conversations| ConversationListResult { conversations })
                .map_err(DaemonError::from),
        ),
        Method::ConversationMarkRead(p) => reply(
            async {
                if d.store.contact_card(&p.peer)?.is_none() && !d.store.has_history(&p.peer)? {
                    return Err(DaemonError::UnknownContact(p.peer.clone()));
                }
                let marked = d.mark_read(&p.peer).await?;
                Ok(ConversationMarkReadResult { marked })
            }
            .await,
        ),
        Method::ConversationFocus(p) => {
            d.set_focus(conn, p.peer);
            Outcome::Reply(ConversationFocusResult {}.into())
        }
        Method::Subscribe(p) => match d.store.last_event_seq() {
            Ok(last_seq) => Outcome::Subscribe {
                result: SubscribeResult {
                    subscribed: true,
                    last_seq,
                }
                .into(),
                after: p.after.unwrap_or(last_seq),
            },
            Err(e) => Outcome::Error(DaemonError::from(e).into()),
        },
        Method::DaemonShutdown(_) => Outcome::Shutdown(DaemonShutdownResult {}.into()),
        Method::RpcDiscover(_) => {
            Outcome::Reply(RpcDiscoverResult(super::discover::document()).into())
        }
    }
}

fn hello(d: &Daemon, p: HelloParams) -> Outcome {
    if p.protocol != PROTOCOL_VERSION {
        return Outcome::Error(ErrorObject::new(
            code::PROTOCOL_MISMATCH,
            format!(
                "this chatd speaks protocol {PROTOCOL_VERSION}, the client {} speaks {}; upgrade the older one",
                p.client, p.protocol
            ),
        ));
    }
    Outcome::Reply(
        HelloResult {
            protocol: PROTOCOL_VERSION,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            user: d.account().ok().map(|a| a.user),
        }
        .into(),
    )
}

fn status(d: &Daemon) -> Result<StatusResult, DaemonError> {
    let account = d.store.account()?;
    let identity = d.identity().ok();
    Ok(StatusResult {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        user: account.as_ref().map(|a| a.user.clone()),
        fingerprint: identity.map(|i| i.card().fingerprint().grouped()),
        relay_url: account.map(|a| a.relay_url),
        connection: d.connection(),
        unread: d.store.unread_total()?,
        outbox_pending: d.store.outbox_len()?,
        dropped: d.store.dropped()?,
    })
}

async fn register(
    d: &Daemon,
    p: AccountRegisterParams,
) -> Result<AccountRegisterResult, DaemonError> {
    let id = d
        .register(&p.relay_url, &p.username, &p.password, p.invite, p.key_bits)
        .await?;
    Ok(AccountRegisterResult {
        user: id.user().to_owned(),
        fingerprint: id.card().fingerprint().grouped(),
        relay_url: p.relay_url,
    })
}

async fn contact_add(d: &Daemon, p: ContactAddParams) -> Result<ContactAddResult, DaemonError> {
    let card = match p {
        ContactAddParams::Card { card } => {
            Card::from_value(&card).map_err(|e| DaemonError::InvalidCard(e.to_string()))?
        }
        ContactAddParams::Directory { user, fingerprint } => {
            d.directory_card(&user, &fingerprint).await?
        }
    };
    if let Ok(me) = d.identity()
        && me.user() == card.user()
    {
        return Err(DaemonError::Invalid("that is your own card".into()));
    }
    let (contact, events) = d.store.add_contact(&card)?;
    d.publish(events);
    Ok(ContactAddResult { contact })
}

fn contact_verify(d: &Daemon, p: ContactVerifyParams) -> Result<ContactVerifyResult, DaemonError> {
    let fp = crate::crypto::Fingerprint::parse(&p.fingerprint)
        .ok_or_else(|| DaemonError::Invalid("fingerprint must be 64 hex digits".into()))?;
    let (contact, events) = d.store.verify_contact(&p.user, &fp.to_hex())?;
    d.publish(events);
    Ok(ContactVerifyResult { contact })
}

fn message_list(d: &Daemon, p: MessageListParams) -> Result<MessageListResult, DaemonError> {
    let limit = p.limit.unwrap_or(50).clamp(1, 500) as usize;
    let (messages, has_more) = d.store.messages(&p.peer, p.before, limit)?;
    // History outlives a removed contact; a name with neither is a typo.
    if messages.is_empty() && p.before.is_none() && d.store.contact_card(&p.peer)?.is_none() {
        return Err(DaemonError::UnknownContact(p.peer));
    }
    Ok(MessageListResult { messages, has_more })
}
