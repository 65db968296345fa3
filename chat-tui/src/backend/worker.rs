//! The worker: runs the app's effects against chatd, forwards its events, and
//! reconnects every `retry` while it is away. Everything comes back to the
//! app as actions that say what happened, never as wording for the user.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ipc_schema::client::ClientError;
use ipc_schema::jsonrpc::code;
use ipc_schema::methods::{ContactAddParams, MessageChangeKind, MessageView};
use tokio::sync::mpsc;

use super::{Connector, Daemon, Subscription, files, is_connection_error, upload};
use crate::app::action::{
    Action, ContactDone, ContactFailed, DeviceFailed, Effect, PAGE_SIZE, SEARCH_PAGE,
};

/// Runs effects against chatd, forwards its events, and reconnects every
/// `retry` while it is away. Ends when the effect channel closes.
///
/// A reconnect resumes the events after the last one forwarded
/// (docs/IPC.md §6), so the app misses nothing and reloads nothing
/// ([`Action::DaemonResumed`]); when that cannot be done, the app is told to
/// load everything afresh ([`Action::DaemonOnline`]).
///
/// Writing a file out ([`Effect::WriteFile`]) and sending one
/// ([`Effect::SendFile`]) take as many calls as the file has pieces: each
/// runs as a task of its own, on a connection of its own, so that
/// everything else goes on meanwhile.
pub async fn run<C: Connector>(
    connector: C,
    mut effects: mpsc::UnboundedReceiver<Effect>,
    actions: mpsc::UnboundedSender<Action>,
    retry: Duration,
) {
    let connector = Arc::new(connector);
    // The `seq` of the last event the app has, once there is a subscription.
    let mut resume: Option<u64> = None;
    loop {
        let connected = async {
            let mut daemon = connector.connect().await?;
            let (subscription, resumed) = subscribe(&mut daemon, resume).await?;
            Ok::<_, ClientError>((daemon, subscription, resumed))
        }
        .await;
        let (mut daemon, mut events, resumed) = match connected {
            Ok((daemon, subscription, resumed)) => {
                if !resumed {
                    resume = Some(subscription.last_seq);
                }
                (daemon, subscription.events, resumed)
            }
            Err(e) => {
                tracing::info!("chatd unreachable: {e}");
                let _ = actions.send(Action::DaemonOffline(e.to_string()));
                let sleep = tokio::time::sleep(retry);
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        () = &mut sleep => break,
                        effect = effects.recv() => match effect {
                            None => return,
                            Some(effect) => match not_run(&effect, "daemon offline") {
                                Some(answer) => { let _ = actions.send(answer); }
                                // Nothing to run them against; `update` already kept drafts.
                                None => tracing::debug!("dropped while offline: {effect:?}"),
                            },
                        },
                    }
                }
                continue;
            }
        };
        tracing::info!(resumed, "connected to chatd");
        let _ = actions.send(if resumed {
            Action::DaemonResumed
        } else {
            Action::DaemonOnline
        });
        let lost = loop {
            tokio::select! {
                effect = effects.recv() => {
                    let Some(effect) = effect else { return };
                    if matches!(effect, Effect::WriteFile(_) | Effect::SendFile(_)) {
                        spawn_own(connector.clone(), effect, actions.clone());
                        continue;
                    }
                    match execute(&mut daemon, effect, &actions).await {
                        Ok(()) => {}
                        Err(e) if is_connection_error(&e) => break e,
                        Err(e) => { let _ = actions.send(Action::CallFailed(e.to_string())); }
                    }
                }
                event = events.recv() => match event {
                    Some(event) => {
                        resume = Some(event.seq);
                        let _ = actions.send(Action::Event(event));
                    }
                    None => break ClientError::Disconnected,
                },
            }
        };
        tracing::info!("lost chatd: {lost}");
        let _ = actions.send(Action::DaemonOffline(lost.to_string()));
        tokio::time::sleep(retry).await;
    }
}

/// Runs `effect` (a file's write or send) on a connection of its own, as
/// a task of its own.
fn spawn_own<C: Connector>(
    connector: Arc<C>,
    effect: Effect,
    actions: mpsc::UnboundedSender<Action>,
) {
    tokio::spawn(async move {
        match connector.connect().await {
            // A file's effects answer every failure themselves.
            Ok(mut daemon) => {
                let _ = execute(&mut daemon, effect, &actions).await;
            }
            Err(e) => {
                if let Some(answer) = not_run(&effect, &e.to_string()) {
                    let _ = actions.send(answer);
                }
            }
        }
    });
}

/// The answer to a file's effect that could not run, `why`: a save or a
/// send would wait for one forever. `None` for the other effects.
fn not_run(effect: &Effect, why: &str) -> Option<Action> {
    match effect {
        Effect::WriteFile(w) => Some(Action::FileWritten {
            job: w.job,
            result: Err(why.to_owned()),
        }),
        Effect::SendFile(s) => Some(Action::FileSent {
            to: s.to.clone(),
            name: s.name.clone(),
            result: Err(why.to_owned()),
        }),
        _ => None,
    }
}

/// Subscribes after `resume`, the last event the app has, and says whether
/// that worked. A fresh subscription (from now on) when there is nothing to
/// resume, when chatd no longer keeps those events (`events_expired`), or
/// when its log is behind them (a daemon with another data dir): then the
/// app has to load everything again.
async fn subscribe<D: Daemon>(
    daemon: &mut D,
    resume: Option<u64>,
) -> Result<(Subscription, bool), ClientError> {
    if let Some(after) = resume {
        match daemon.subscribe(Some(after)).await {
            Ok(subscription) if subscription.last_seq >= after => return Ok((subscription, true)),
            Ok(_) => tracing::info!("chatd's events stop before {after}: loading afresh"),
            Err(e) if e.rpc_code() == Some(code::EVENTS_EXPIRED) => {
                tracing::info!("chatd no longer keeps the events after {after}: loading afresh");
            }
            Err(e) => return Err(e),
        }
    }
    Ok((daemon.subscribe(None).await?, false))
}

/// Runs one effect; its answer goes to `actions`. An error is returned only
/// when the call failed as a whole; refusals the app shows in place (a send,
/// the contacts view) come back as actions.
pub async fn execute<D: Daemon>(
    daemon: &mut D,
    effect: Effect,
    actions: &mpsc::UnboundedSender<Action>,
) -> Result<(), ClientError> {
    let action = match effect {
        Effect::LoadStatus => Action::Status(daemon.status().await?),
        Effect::LoadConversations => Action::Conversations(daemon.conversations().await?),
        Effect::LoadContacts => Action::Contacts(daemon.contacts().await?),
        Effect::LoadGroups => Action::Groups(daemon.groups().await?),
        Effect::LoadGroupInfo { group } => Action::GroupInfo(daemon.group_info(group).await?),
        Effect::CreateGroup { name, members } => match daemon.group_create(name, members).await {
            Ok(group) => Action::GroupCreated(Ok(group)),
            Err(ClientError::Rpc { message, .. }) => Action::GroupCreated(Err(message)),
            Err(e) => return Err(e),
        },
        Effect::GroupChange { group, user, add } => {
            let line = match daemon.group_change(group.clone(), user.clone(), add).await {
                Ok(()) if add => Ok(format!("added {user}")),
                Ok(()) => Ok(format!("removed {user}")),
                Err(ClientError::Rpc { message, .. }) => Err(message),
                Err(e) => return Err(e),
            };
            let _ = actions.send(Action::MemberResult(line));
            Action::GroupInfo(daemon.group_info(group).await?)
        }
        Effect::LoadMessages { peer } => Action::Messages {
            page: daemon.messages(peer.clone(), None, PAGE_SIZE).await?,
            peer,
            older: false,
        },
        Effect::LoadOlder { peer, before } => Action::Messages {
            page: daemon
                .messages(peer.clone(), Some(before), PAGE_SIZE)
                .await?,
            peer,
            older: true,
        },
        Effect::Send { to, body, reply_to } => {
            match daemon.send(to.clone(), body, reply_to).await {
                Ok(_) => return Ok(()),
                Err(e) if !is_connection_error(&e) => Action::SendFailed {
                    to,
                    error: e.to_string(),
                },
                Err(e) => return Err(e),
            }
        }
        Effect::EditMessage { id, body } => change_answer(
            daemon
                .message_edit(id, body)
                .await
                .map(|r| (r.peer, r.message)),
            MessageChangeKind::Edited,
        )?,
        Effect::DeleteMessage { id } => change_answer(
            daemon.message_delete(id).await.map(|r| (r.peer, r.message)),
            MessageChangeKind::Deleted,
        )?,
        Effect::React { id, peer, emoji } => change_answer(
            daemon
                .message_react(id, Some(peer), emoji)
                .await
                .map(|r| (r.peer, r.message)),
            MessageChangeKind::Reacted,
        )?,
        Effect::Search {
            query,
            peer,
            before,
        } => Action::SearchResults {
            result: match daemon
                .message_search(query.clone(), peer.clone(), before, SEARCH_PAGE)
                .await
            {
                Ok(page) => Ok(page),
                Err(e) if !is_connection_error(&e) => Err(e.to_string()),
                Err(e) => return Err(e),
            },
            query,
            peer,
            before,
        },
        Effect::MarkRead { peer } => {
            daemon.mark_read(peer).await?;
            return Ok(());
        }
        Effect::Focus { peer } => {
            daemon.focus(peer).await?;
            return Ok(());
        }
        // The terminal owner handles this one; it never reaches the worker.
        Effect::OpenEditor(_) => return Ok(()),
        Effect::AddContactCard { path } => match read_card(&path).await {
            Err(failed) => Action::ContactResult(Err(failed)),
            Ok(card) => contact_answer(
                daemon.contact_add(ContactAddParams::Card { card }).await,
                |c| ContactDone::Added {
                    user: c.user,
                    from_directory: false,
                },
            )?,
        },
        Effect::AddContactDirectory { user, fingerprint } => contact_answer(
            daemon
                .contact_add(ContactAddParams::Directory { user, fingerprint })
                .await,
            |c| ContactDone::Added {
                user: c.user,
                from_directory: true,
            },
        )?,
        Effect::VerifyContact { user, fingerprint } => {
            contact_answer(daemon.contact_verify(user, fingerprint).await, |c| {
                ContactDone::Verified { user: c.user }
            })?
        }
        Effect::AcceptKey { user, fingerprint } => {
            contact_answer(daemon.contact_accept_key(user, fingerprint).await, |r| {
                ContactDone::KeyAccepted {
                    user: r.contact.user,
                    opened: r.opened,
                    dropped: r.dropped,
                }
            })?
        }
        Effect::RefuseKey { user } => contact_answer(daemon.contact_refuse_key(user).await, |r| {
            ContactDone::KeyRefused {
                user: r.contact.user,
                deleted: r.deleted,
            }
        })?,
        Effect::LoadIdentity => Action::Identity {
            show: daemon.identity_show().await?,
            card: daemon.identity_card().await?.to_string(),
        },
        Effect::RemoveContact { user } => {
            contact_answer(daemon.contact_remove(user.clone()).await, |()| {
                ContactDone::Removed { user }
            })?
        }
        Effect::LoadDevices => Action::Devices(device_answer(daemon.devices().await, false)?),
        Effect::RevokeDevice {
            id,
            password,
            new_password,
        } => Action::DeviceRevoked {
            result: device_answer(
                daemon
                    .device_revoke(id.clone(), password, new_password)
                    .await,
                true,
            )?,
            id,
        },
        Effect::RenameDevice { id, name } => Action::DeviceRenamed {
            result: device_answer(daemon.device_rename(id.clone(), name.clone()).await, false)?,
            id,
            name,
        },
        Effect::LinkDevice { with_history } => Action::DeviceLinked(device_answer(
            daemon.device_link(with_history).await,
            false,
        )?),
        Effect::DownloadFile { job, peer, id } => files::download(daemon, job, peer, id).await?,
        // `run` gives these a task of their own; run here, they are one
        // call after the other.
        Effect::WriteFile(w) => files::write(daemon, w).await,
        Effect::SendFile(s) => upload::send(daemon, s).await,
    };
    let _ = actions.send(action);
    Ok(())
}

/// An edit, a delete or a reaction: the message as chatd has it now, or
/// why chatd refused; a lost connection stays an error.
fn change_answer(
    result: Result<(String, MessageView), ClientError>,
    change: MessageChangeKind,
) -> Result<Action, ClientError> {
    match result {
        Ok((peer, message)) => Ok(Action::MessageChanged { peer, message }),
        Err(e) if !is_connection_error(&e) => Ok(Action::MessageChangeFailed {
            change,
            error: e.to_string(),
        }),
        Err(e) => Err(e),
    }
}

/// A refused call becomes a failure for the contacts view; a lost connection stays an error.
fn contact_answer<T>(
    result: Result<T, ClientError>,
    done: impl FnOnce(T) -> ContactDone,
) -> Result<Action, ClientError> {
    match result {
        Ok(t) => Ok(Action::ContactResult(Ok(done(t)))),
        Err(e) if !is_connection_error(&e) => {
            let failed = match e.rpc_name() {
                Some("fingerprint_mismatch") => ContactFailed::FingerprintMismatch(e.to_string()),
                _ => ContactFailed::Refused(e.to_string()),
            };
            Ok(Action::ContactResult(Err(failed)))
        }
        Err(e) => Err(e),
    }
}

/// A refused `device.*` call becomes a failure for the devices view, read
/// from the relay's status and code that chatd passes on (docs/IPC.md); a
/// lost connection stays an error. A 401 to a revocation is the current
/// password (chatd checks it with the relay before anything changes).
fn device_answer<T>(
    result: Result<T, ClientError>,
    revoking: bool,
) -> Result<Result<T, DeviceFailed>, ClientError> {
    let e = match result {
        Ok(t) => return Ok(Ok(t)),
        Err(e) if is_connection_error(&e) => return Err(e),
        Err(e) => e,
    };
    let data = match &e {
        ClientError::Rpc { data, .. } => data.as_ref(),
        _ => None,
    };
    let status = data.and_then(|d| d.get("status")).and_then(|s| s.as_u64());
    let relay_code = data.and_then(|d| d.get("code")).and_then(|c| c.as_str());
    let relay_refused = e.rpc_code() == Some(code::RELAY_REFUSED);
    let failed = match (status, relay_code) {
        _ if !relay_refused => DeviceFailed::Refused(e.to_string()),
        (Some(401), _) if revoking => DeviceFailed::WrongPassword,
        (Some(404), _) | (_, Some("unknown_device")) => DeviceFailed::UnknownDevice,
        (_, Some("too_many_devices")) => DeviceFailed::TooManyDevices,
        _ => DeviceFailed::Refused(e.to_string()),
    };
    Ok(Err(failed))
}

/// Reads a card file (`~/` is the home directory) as JSON.
pub async fn read_card(path: &str) -> Result<serde_json::Value, ContactFailed> {
    let expanded = match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    };
    let text =
        tokio::fs::read_to_string(&expanded)
            .await
            .map_err(|e| ContactFailed::CardUnreadable {
                path: path.to_owned(),
                why: e.to_string(),
            })?;
    serde_json::from_str(text.trim()).map_err(|e| ContactFailed::NotACard {
        path: path.to_owned(),
        why: e.to_string(),
    })
}
