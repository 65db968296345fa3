//! `contact.*`.

use ipc_schema::methods::{
    ContactAddParams, ContactAddResult, ContactListResult, ContactRemoveParams,
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
