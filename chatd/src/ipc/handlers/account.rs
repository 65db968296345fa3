//! `account.*` and `identity.*`.

use ipc_schema::methods::{
    AccountDeleteParams, AccountDeleteResult, AccountLoginParams, AccountLoginResult,
    AccountLogoutResult, AccountPasswordParams, AccountPasswordResult, AccountRegisterParams,
    AccountRegisterResult, AccountRestoreParams, AccountRestoreResult, BackupDisableResult,
    BackupEnableParams, BackupEnableResult, BackupExportParams, BackupExportResult,
    DeviceListResult, DeviceRevokeParams, DeviceRevokeResult, IdentityCardResult,
    IdentityShowResult, RelayTrustParams, RelayTrustResult, RelayUrlsParams, RelayUrlsResult,
};
use ipc_schema::methods::{
    AccountJoinParams, AccountJoinResult, DeviceLinkParams, DeviceLinkResult, DeviceRenameParams,
    DeviceRenameResult,
};

use ipc_schema::Secret;

use crate::daemon::{Daemon, DaemonError, Join, Registration, Restore};
use crate::store::RelayTrust;

pub(super) async fn register(
    d: &Daemon,
    p: AccountRegisterParams,
) -> Result<AccountRegisterResult, DaemonError> {
    let id = d
        .register(Registration {
            relay_urls: p.relay_url.into_vec(),
            username: p.username,
            password: p.password,
            invite: p.invite,
            key_bits: p.key_bits,
            trust: RelayTrust {
                insecure_http: p.insecure_http,
                ca_pem: p.relay_ca,
                pin: p.relay_pin,
            },
            device_name: p.device_name,
            replace_keys: p.replace_keys,
        })
        .await?;
    Ok(AccountRegisterResult {
        user: id.user().to_owned(),
        fingerprint: id.card().fingerprint().grouped(),
        relay_url: d.relay_url_in_use()?,
    })
}

pub(super) fn relay_trust(
    d: &Daemon,
    p: RelayTrustParams,
) -> Result<RelayTrustResult, DaemonError> {
    let current = d.account()?.trust;
    let account = d.set_relay_trust(RelayTrust {
        insecure_http: p.insecure_http.unwrap_or(current.insecure_http),
        ca_pem: p.ca,
        pin: p.pin,
    })?;
    Ok(RelayTrustResult {
        relay_url: account.relay_url().to_owned(),
        trust: crate::daemon::trust_view(&account.trust),
    })
}

pub(super) fn relay_urls(d: &Daemon, p: RelayUrlsParams) -> Result<RelayUrlsResult, DaemonError> {
    let relays = d.set_relay_urls(&p.urls)?;
    Ok(RelayUrlsResult {
        relay_url: d.relay_url_in_use()?,
        relays,
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

pub(super) async fn password(
    d: &Daemon,
    p: AccountPasswordParams,
) -> Result<AccountPasswordResult, DaemonError> {
    d.change_password(&p.password, &p.new_password)
        .await
        .map(|_| AccountPasswordResult {})
}

pub(super) async fn devices(d: &Daemon) -> Result<DeviceListResult, DaemonError> {
    Ok(DeviceListResult {
        devices: d.devices().await?,
    })
}

pub(super) async fn revoke_device(
    d: &Daemon,
    p: DeviceRevokeParams,
) -> Result<DeviceRevokeResult, DaemonError> {
    d.revoke_device(&p.id, &p.password, &p.new_password)
        .await
        .map(|_| DeviceRevokeResult {})
}

pub(super) async fn backup_export(
    d: &Daemon,
    p: BackupExportParams,
) -> Result<BackupExportResult, DaemonError> {
    let (backup, contacts) = d.export_backup(&p.passphrase).await?;
    Ok(BackupExportResult {
        backup: Secret::new(backup),
        contacts: contacts as u32,
    })
}

pub(super) async fn backup_enable(
    d: &Daemon,
    p: BackupEnableParams,
) -> Result<BackupEnableResult, DaemonError> {
    let contacts = d.enable_relay_backup(&p.passphrase).await?;
    Ok(BackupEnableResult {
        contacts: contacts as u32,
    })
}

pub(super) async fn backup_disable(d: &Daemon) -> Result<BackupDisableResult, DaemonError> {
    d.disable_relay_backup().await?;
    Ok(BackupDisableResult {})
}

pub(super) async fn restore(
    d: &Daemon,
    p: AccountRestoreParams,
) -> Result<AccountRestoreResult, DaemonError> {
    let (id, carried) = d
        .restore(Restore {
            relay_urls: p.relay_url.into_vec(),
            username: p.username,
            password: p.password,
            backup: p.backup,
            passphrase: p.passphrase,
            device_name: p.device_name,
            trust: RelayTrust {
                insecure_http: p.insecure_http,
                ca_pem: p.relay_ca,
                pin: p.relay_pin,
            },
        })
        .await?;
    Ok(AccountRestoreResult {
        user: id.user().to_owned(),
        fingerprint: id.card().fingerprint().grouped(),
        relay_url: d.relay_url_in_use()?,
        contacts: carried.contacts as u32,
        groups: carried.groups as u32,
    })
}

pub(super) async fn join(
    d: &Daemon,
    p: AccountJoinParams,
) -> Result<AccountJoinResult, DaemonError> {
    let (id, carried) = d
        .join(Join {
            relay_urls: p.relay_url.into_vec(),
            username: p.username,
            password: p.password,
            code: p.code,
            device_name: p.device_name,
            trust: RelayTrust {
                insecure_http: p.insecure_http,
                ca_pem: p.relay_ca,
                pin: p.relay_pin,
            },
        })
        .await?;
    Ok(AccountJoinResult {
        user: id.user().to_owned(),
        fingerprint: id.card().fingerprint().grouped(),
        relay_url: d.relay_url_in_use()?,
        contacts: carried.contacts as u32,
        groups: carried.groups as u32,
        messages: carried.messages as u32,
    })
}

pub(super) async fn link_device(
    d: &Daemon,
    p: DeviceLinkParams,
) -> Result<DeviceLinkResult, DaemonError> {
    let link = d.create_link(p.with_history).await?;
    Ok(DeviceLinkResult {
        code: link.code,
        expires_at: link.expires_at,
        contacts: link.carried.contacts as u32,
        groups: link.carried.groups as u32,
        messages: link.carried.messages as u32,
        messages_left: link.carried.messages_left,
        bytes: link.bytes as u64,
    })
}

pub(super) async fn rename_device(
    d: &Daemon,
    p: DeviceRenameParams,
) -> Result<DeviceRenameResult, DaemonError> {
    d.rename_device(&p.id, &p.name).await?;
    Ok(DeviceRenameResult {})
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

pub(super) async fn identity_rotate(
    d: &Daemon,
    p: ipc_schema::methods::IdentityRotateParams,
) -> Result<ipc_schema::methods::IdentityRotateResult, DaemonError> {
    let r = d.rotate(&p.password).await?;
    Ok(ipc_schema::methods::IdentityRotateResult {
        fingerprint: r.identity.card().fingerprint().grouped(),
        old_fingerprint: r.old_fingerprint,
        contacts: r.told as u32,
        groups: r.groups as u32,
        counter: r.counter,
        old_keys_until: r.old_keys_until,
    })
}
