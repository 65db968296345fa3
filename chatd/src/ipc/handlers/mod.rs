//! One handler per method, grouped by feature: each turns params into one
//! daemon call and its answer into the method's result. Handlers never
//! touch the store: the daemon publishes what its writes commit. Errors
//! become JSON-RPC error objects with the codes chat-ctl maps to its exit
//! codes (docs/IPC.md §7).

mod account;
mod contacts;
mod groups;
mod messages;
mod session;

use ipc_schema::jsonrpc::{ErrorObject, code};
use ipc_schema::methods::{Method, MethodResult};
use serde_json::json;

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
            DaemonError::FingerprintMismatch(_)
            | DaemonError::Store(StoreError::FingerprintMismatch(_) | StoreError::Frozen(_)) => {
                ErrorObject::new(code::FINGERPRINT_MISMATCH, message)
            }
            DaemonError::InvalidCard(_) | DaemonError::Store(StoreError::CardChanged(_)) => {
                ErrorObject::new(code::INVALID_CARD, message)
            }
            DaemonError::Invalid(_) => ErrorObject::new(code::INVALID_PARAMS, message),
            DaemonError::UnknownMessage(_) => ErrorObject::new(code::UNKNOWN_MESSAGE, message),
            DaemonError::Group(crate::store::GroupError::Unknown(_)) => {
                ErrorObject::new(code::UNKNOWN_GROUP, message)
            }
            DaemonError::Group(crate::store::GroupError::NotAContact(_)) => {
                ErrorObject::new(code::UNKNOWN_CONTACT, message)
            }
            DaemonError::Group(
                crate::store::GroupError::BadName | crate::store::GroupError::TooMany,
            ) => ErrorObject::new(code::INVALID_PARAMS, message),
            DaemonError::Group(_) => ErrorObject::new(code::GROUP_REFUSED, message),
            DaemonError::Backup(e) => ErrorObject::new(code::BACKUP_REFUSED, message)
                .with_data(json!({"reason": e.name()})),
            DaemonError::Link(e) => {
                ErrorObject::new(code::LINK_REFUSED, message).with_data(json!({"reason": e.name()}))
            }
            DaemonError::EventsExpired(expired) => ErrorObject::new(code::EVENTS_EXPIRED, message)
                .with_data(json!({"oldest_seq": expired.oldest_seq})),
            DaemonError::Relay(RelayError::Unreachable(_)) => {
                ErrorObject::new(code::RELAY_UNREACHABLE, message)
            }
            DaemonError::Relay(RelayError::Refused {
                status,
                code: relay_code,
                ..
            }) => ErrorObject::new(code::RELAY_REFUSED, message)
                .with_data(json!({"status": status, "code": relay_code})),
            DaemonError::Relay(RelayError::Tls { reason, .. }) => {
                ErrorObject::new(code::RELAY_TLS, message)
                    .with_data(json!({"reason": reason.as_str()}))
            }
            DaemonError::Relay(RelayError::Settings(_)) => {
                ErrorObject::new(code::INVALID_PARAMS, message)
            }
            DaemonError::Relay(RelayError::Protocol(_))
            | DaemonError::Store(StoreError::Sql(_) | StoreError::Corrupt(_))
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
        Method::Hello(p) => session::hello(d, p),
        Method::Status(_) => reply(session::status(d)),
        Method::AccountRegister(p) => reply(account::register(d, p).await),
        Method::AccountLogin(p) => reply(account::login(d, p).await),
        Method::AccountLogout(_) => reply(account::logout(d).await),
        Method::AccountDelete(p) => reply(account::delete(d, p).await),
        Method::RelayTrust(p) => reply(account::relay_trust(d, p)),
        Method::RelayUrls(p) => reply(account::relay_urls(d, p)),
        Method::AccountPassword(p) => reply(account::password(d, p).await),
        Method::DeviceList(_) => reply(account::devices(d).await),
        Method::DeviceRevoke(p) => reply(account::revoke_device(d, p).await),
        Method::DeviceRename(p) => reply(account::rename_device(d, p).await),
        Method::DeviceLink(p) => reply(account::link_device(d, p).await),
        Method::AccountJoin(p) => reply(account::join(d, p).await),
        Method::BackupExport(p) => reply(account::backup_export(d, p).await),
        Method::AccountRestore(p) => reply(account::restore(d, p).await),
        Method::BackupEnable(p) => reply(account::backup_enable(d, p).await),
        Method::BackupDisable(_) => reply(account::backup_disable(d).await),
        Method::IdentityShow(_) => reply(account::identity_show(d)),
        Method::IdentityCard(_) => reply(account::identity_card(d)),
        Method::IdentityRotate(p) => reply(account::identity_rotate(d, p).await),
        Method::ContactAdd(p) => reply(contacts::add(d, p).await),
        Method::ContactList(_) => reply(contacts::list(d)),
        Method::ContactRemove(p) => reply(contacts::remove(d, p)),
        Method::ContactVerify(p) => reply(contacts::verify(d, p)),
        Method::ContactAcceptKey(p) => reply(contacts::accept_key(d, p).await),
        Method::ContactRefuseKey(p) => reply(contacts::refuse_key(d, p)),
        Method::MessageSend(p) => reply(messages::send(d, p)),
        Method::MessageList(p) => reply(messages::list(d, p)),
        Method::MessageGet(p) => reply(messages::get(d, p)),
        Method::MessageEdit(p) => reply(messages::edit(d, p)),
        Method::MessageDelete(p) => reply(messages::delete(d, p)),
        Method::MessageReact(p) => reply(messages::react(d, p)),
        Method::MessageSearch(p) => reply(messages::search(d, p)),
        Method::FileUploadStart(p) => reply(messages::file_upload_start(d, p)),
        Method::FileUploadChunk(p) => reply(messages::file_upload_chunk(d, p)),
        Method::FileUploadFinish(p) => reply(messages::file_upload_finish(d, p)),
        Method::FileUploadCancel(p) => reply(
            d.file_upload_cancel(&p.upload)
                .map(|()| ipc_schema::methods::FileUploadCancelResult {}),
        ),
        Method::FileDownload(p) => reply(messages::file_download(d, p)),
        Method::FileRead(p) => reply(messages::file_read(d, p)),
        Method::GroupCreate(p) => reply(groups::create(d, p)),
        Method::GroupAdd(p) => reply(groups::add(d, p)),
        Method::GroupRemove(p) => reply(groups::remove(d, p)),
        Method::GroupAdmin(p) => reply(groups::admin(d, p)),
        Method::GroupRename(p) => reply(groups::rename(d, p)),
        Method::GroupLeave(p) => reply(groups::leave(d, p)),
        Method::GroupList(_) => reply(groups::list(d)),
        Method::GroupInfo(p) => reply(groups::info(d, p)),
        Method::ConversationList(_) => reply(messages::conversations(d)),
        Method::ConversationMarkRead(p) => reply(messages::mark_read(d, p)),
        Method::ConversationFocus(p) => {
            d.set_focus(conn, p.peer);
            Outcome::Reply(ipc_schema::methods::ConversationFocusResult {}.into())
        }
        Method::Subscribe(p) => session::subscribe(d, p),
        Method::DaemonShutdown(_) => {
            Outcome::Shutdown(ipc_schema::methods::DaemonShutdownResult {}.into())
        }
        Method::RpcDiscover(_) => Outcome::Reply(
            ipc_schema::methods::RpcDiscoverResult(super::discover::document()).into(),
        ),
    }
}
