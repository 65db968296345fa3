//! `contact.*`.

use ipc_schema::methods::{
    ContactAcceptKeyParams, ContactAcceptKeyResult, ContactAddParams, ContactAddResult,
    ContactListResult, ContactRefuseKeyParams, ContactRefuseKeyResult, ContactRemoveParams,
    ContactRemoveResult, ContactVerifyParams, ContactVerifyResult,
};

use crate::daemon::{CardSource, Daemon, DaemonError};

pub(super) async fn add(d: &Daemon, p: ContactAddParams) -> Result<ContactAddResult, DaemonError> {
    let source = match p {
        ContactAddParams::Card { card } => CardSource::Card(card),
        ContactAddParams::Directory { user, fingerprint } => {
            CardSource::Directory { user, fingerprint }
        }
    };
    Ok(ContactAddResult {
        contact: d.add_contact(source).await?,
    })
}

pub(super) fn list(d: &Daemon) -> Result<ContactListResult, DaemonError> {
    Ok(ContactListResult {
        contacts: d.contacts()?,
    })
}

pub(super) fn remove(
    d: &Daemon,
    p: ContactRemoveParams,
) -> Result<ContactRemoveResult, DaemonError> {
    d.remove_contact(&p.user)?;
    Ok(ContactRemoveResult {})
}

pub(super) fn verify(
    d: &Daemon,
    p: ContactVerifyParams,
) -> Result<ContactVerifyResult, DaemonError> {
    Ok(ContactVerifyResult {
        contact: d.verify_contact(&p.user, &p.fingerprint)?,
    })
}

pub(super) async fn accept_key(
    d: &Daemon,
    p: ContactAcceptKeyParams,
) -> Result<ContactAcceptKeyResult, DaemonError> {
    let (contact, opened, dropped) = d.accept_key(&p.user, &p.fingerprint).await?;
    Ok(ContactAcceptKeyResult {
        contact,
        opened,
        dropped,
    })
}

pub(super) fn refuse_key(
    d: &Daemon,
    p: ContactRefuseKeyParams,
) -> Result<ContactRefuseKeyResult, DaemonError> {
    let (contact, deleted) = d.refuse_key(&p.user)?;
    Ok(ContactRefuseKeyResult { contact, deleted })
}
