//! `account.*` and `identity.*`.

use ipc_schema::methods::{
    AccountDeleteParams, AccountDeleteResult, AccountLoginParams, AccountLoginResult,
    AccountLogoutResult, AccountRegisterParams, AccountRegisterResult, IdentityCardResult,
    IdentityShowResult,
};

use crate::daemon::{Daemon, DaemonError, Registration};
use crate::store::RelayTrust;

pub(super) async fn register(
    d: &Daemon,
    p: AccountRegisterParams,
) -> Result<AccountRegisterResult, DaemonError> {
    let id = d
        .register(Registration {
            relay_url: p.relay_url,
            username: p.username,
            password: p.password,
            invite: p.invite,
            key_bits: p.key_bits,
            trust: RelayTrust::default(),
        })
        .await?;
    Ok(AccountRegisterResult {
        user: id.user().to_owned(),
        fingerprint: id.card().fingerprint().grouped(),
        relay_url: d.account()?.relay_url,
    })
}

pub(super) async fn login(
    d: &Daemon,
    p: AccountLoginParams,
) -> Result<AccountLoginResult, DaemonError> {
    let expires_at = d.login(&p.password).await?;
    Ok(AccountLoginResult {
        user: d.account()?.user,
        expires_at,
    })
}

pub(super) async fn logout(d: &Daemon) -> Result<AccountLogoutResult, DaemonError> {
    d.logout().await.map(|_| AccountLogoutResult {})
}

pub(super) async fn delete(
    d: &Daemon,
    p: AccountDeleteParams,
) -> Result<AccountDeleteResult, DaemonError> {
    d.delete_account(&p.password)
        .await
        .map(|_| AccountDeleteResult {})
}

pub(super) fn identity_show(d: &Daemon) -> Result<IdentityShowResult, DaemonError> {
    let id = d.identity()?;
    Ok(IdentityShowResult {
        user: id.user().to_owned(),
        fingerprint: id.card().fingerprint().grouped(),
        key_bits: id.key_bits() as u32,
    })
}

pub(super) fn identity_card(d: &Daemon) -> Result<IdentityCardResult, DaemonError> {
    Ok(IdentityCardResult {
        card: d.identity()?.card().to_value(),
    })
}
