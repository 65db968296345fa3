//! This account's devices on the relay (docs/RELAY.md, "Devices"): listing
//! them, revoking one (which changes the relay password in the same step),
//! and changing the password alone. The new password is kept for automatic
//! session renewal, as at login.

use ipc_schema::Secret;
use ipc_schema::methods::{ConnectionState, DeviceView};
use ipc_schema::relay::{MAX_DEVICE_NAME, is_valid_device_id};

use super::{Daemon, DaemonError, blocking};
use crate::keystore::{KeystoreError, names};

/// The device name asked for, checked, or else the host name.
pub(super) fn device_name(asked: Option<String>) -> Result<String, DaemonError> {
    match asked {
        Some(name) if ipc_schema::relay::is_valid_device_name(&name) => Ok(name),
        Some(_) => Err(DaemonError::Invalid(
            "a device name has 1 to 32 bytes and no control characters".into(),
        )),
        None => Ok(host_device_name()),
    }
}

/// This machine's name for its device: the host name, cut to the relay's
/// 32 bytes at a character boundary, or "default" if there is none.
fn host_device_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let clean: String = raw.trim().chars().filter(|c| !c.is_control()).collect();
    let mut name = String::new();
    for c in clean.chars() {
        if name.len() + c.len_utf8() > MAX_DEVICE_NAME {
            break;
        }
        name.push(c);
    }
    if name.trim().is_empty() {
        "default".to_owned()
    } else {
        name
    }
}

/// `HH:MM` (UTC) of a time in ms, for the new-device notification.
pub(super) fn clock_time(ms: u64) -> String {
    let minutes = ms / 60_000 % (24 * 60);
    format!("{:02}:{:02} UTC", minutes / 60, minutes % 60)
}

/// How often chatd asks the relay whether the account has other devices.
const DEVICES_EVERY: std::time::Duration = std::time::Duration::from_secs(5 * 60);

impl Daemon {
    /// Whether the account has other active devices, as last learned.
    pub(super) fn has_other_devices(&self) -> bool {
        self.other_devices.lock().expect("devices lock").0
    }

    /// Records what was learned about the account's other devices.
    pub(super) fn note_other_devices(&self, yes: bool) {
        *self.other_devices.lock().expect("devices lock") = (yes, Some(std::time::Instant::now()));
    }

    /// Asks the relay about the account's devices when the last answer is
    /// older than a few minutes (or there is none).
    pub(super) async fn refresh_devices_if_due(
        &self,
        relay: &crate::relay_client::RelayClient,
        token: &Secret,
    ) {
        let due = self
            .other_devices
            .lock()
            .expect("devices lock")
            .1
            .is_none_or(|at| at.elapsed() >= DEVICES_EVERY);
        if !due {
            return;
        }
        match relay.devices(token).await {
            Ok(list) => {
                let active = list.devices.iter().filter(|d| d.gone.is_none()).count();
                self.note_other_devices(active > 1);
                self.tell_gone_devices(&list.devices);
            }
            Err(e) => tracing::info!(error = %e, "could not list the account's devices"),
        }
    }

    /// Tells the user, once each, of devices the relay lists as revoked or
    /// expired since chatd last looked (from the second look after a start
    /// on: the first only learns what was already gone).
    fn tell_gone_devices(&self, devices: &[ipc_schema::relay::DeviceInfo]) {
        let gone: std::collections::HashSet<String> = devices
            .iter()
            .filter(|d| d.gone.is_some())
            .map(|d| d.id.clone())
            .collect();
        let known = self
            .gone_devices
            .lock()
            .expect("devices lock")
            .replace(gone.clone());
        let Some(known) = known else { return };
        for d in devices
            .iter()
            .filter(|d| gone.contains(&d.id) && !known.contains(&d.id))
        {
            let why = d.gone.clone().unwrap_or_default();
            let event =
                ipc_schema::methods::Event::DeviceGone(ipc_schema::methods::DeviceGoneEvent {
                    id: d.id.clone(),
                    name: d.name.clone(),
                    gone: why.clone(),
                    gone_at: d.gone_at.unwrap_or_default(),
                });
            match self.store.record_event(event) {
                Ok(committed) => self.publish(committed),
                Err(e) => tracing::error!(error = %e, "could not record a device's going"),
            }
            if self.config.notifications != crate::config::NotifyMode::Off {
                let summary = format!(
                    "Device '{}' {why}",
                    ipc_schema::text::notification_body(&d.name)
                );
                let body = "It no longer gets this account's messages.".to_owned();
                tokio::task::spawn_blocking(move || crate::notify::show(&summary, &body));
            }
        }
    }

    fn session_token(&self) -> Result<Secret, DaemonError> {
        self.token().ok_or_else(|| {
            DaemonError::NotLoggedIn("not logged in: run `chat-ctl login` first".into())
        })
    }

    /// Keeps `password` for automatic session renewal.
    async fn keep_password(&self, password: &Secret) -> Result<(), DaemonError> {
        let ks = self.keystore.clone();
        let password = password.clone();
        blocking(move || ks.set(names::PASSWORD, password.expose().as_bytes())).await??;
        Ok(())
    }

    /// The account's devices as the relay lists them, this one marked.
    pub async fn devices(&self) -> Result<Vec<DeviceView>, DaemonError> {
        let token = self.session_token()?;
        let list = self.relay()?.devices(&token).await?;
        let active = list.devices.iter().filter(|d| d.gone.is_none()).count();
        self.note_other_devices(active > 1);
        self.tell_gone_devices(&list.devices);
        Ok(list
            .devices
            .into_iter()
            .map(|d| DeviceView {
                current: d.id == list.current,
                id: d.id,
                name: d.name,
                created_at: d.created_at,
                last_seen: d.last_seen,
                gone: d.gone,
                gone_at: d.gone_at,
            })
            .collect())
    }

    /// Revokes device `id` and changes the relay password to `new_password`.
    /// Revoking this very device logs it out here too.
    pub async fn revoke_device(
        &self,
        id: &str,
        password: &Secret,
        new_password: &Secret,
    ) -> Result<(), DaemonError> {
        if !is_valid_device_id(id) {
            return Err(DaemonError::Invalid(
                "a device id is 16 hex digits, as `chat-ctl device list` shows".into(),
            ));
        }
        let _no_renewal = self.renewing.lock().await;
        let token = self.session_token()?;
        self.relay()?
            .revoke_device(&token, id, password, new_password)
            .await?;
        if self.account()?.device_id.as_deref() == Some(id) {
            self.set_token(None);
            let ks = self.keystore.clone();
            blocking(move || -> Result<(), KeystoreError> {
                ks.delete(names::TOKEN)?;
                ks.delete(names::PASSWORD)
            })
            .await??;
            self.set_connection(
                ConnectionState::LoggedOut,
                Some("this device was revoked".into()),
            );
        } else {
            self.keep_password(new_password).await?;
        }
        tracing::info!(device = %id, "device revoked, relay password changed");
        Ok(())
    }

    /// Changes the relay password; sessions stay.
    pub async fn change_password(
        &self,
        password: &Secret,
        new_password: &Secret,
    ) -> Result<(), DaemonError> {
        let _no_renewal = self.renewing.lock().await;
        let token = self.session_token()?;
        self.relay()?
            .change_password(&token, password, new_password)
            .await?;
        self.keep_password(new_password).await?;
        tracing::info!("relay password changed");
        Ok(())
    }
}
