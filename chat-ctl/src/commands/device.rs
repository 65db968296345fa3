//! `chat-ctl device list | revoke ID` and `chat-ctl password change`.

use ipc_schema::methods::{AccountPasswordParams, DeviceListParams, DeviceRevokeParams};
use ipc_schema::text::sanitize;

use super::Ctx;
use crate::cli::{ChangePasswordArgs, RevokeDeviceArgs};
use crate::exit::CtlError;
use crate::input::read_password_change;

/// Lists the account's devices, this one marked with `*`.
pub async fn list(ctx: &Ctx) -> Result<(), CtlError> {
    let result = ctx.connect().await?.call(DeviceListParams {}).await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
        return Ok(());
    }
    let mut text = String::new();
    for d in &result.devices {
        let mark = if d.current { '*' } else { ' ' };
        let state = match (&d.gone, d.gone_at) {
            (Some(why), Some(at)) => format!("{} {}", sanitize(why), ctx.clock.short(at)),
            _ => format!("seen {}", ctx.clock.short(d.last_seen)),
        };
        text.push_str(&format!(
            "{mark} {}  {:<32}  added {}  {state}\n",
            d.id,
            sanitize(&d.name),
            ctx.clock.short(d.created_at),
        ));
    }
    if result.devices.is_empty() {
        text.push_str("no devices\n");
    }
    ctx.out.human(text.trim_end())?;
    Ok(())
}

/// Revokes a device and changes the relay password in the same step.
pub async fn revoke(ctx: &Ctx, args: RevokeDeviceArgs) -> Result<(), CtlError> {
    if !ipc_schema::relay::is_valid_device_id(&args.id) {
        return Err(CtlError::Usage(
            "a device id is 16 hex digits, as `chat-ctl device list` shows".into(),
        ));
    }
    let mut client = ctx.connect().await?;
    let (password, new_password) = read_password_change(
        args.passwords.password_stdin,
        "Current relay password: ",
        "New relay password (revoking needs one; the device knew the old): ",
    )?;
    let result = client
        .call(DeviceRevokeParams {
            id: args.id.clone(),
            password,
            new_password,
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        ctx.out.human(&format!(
            "revoked device {}; the relay password is changed (other devices need it at their next login)",
            args.id
        ))?;
    }
    Ok(())
}

/// Changes the relay password.
pub async fn change_password(ctx: &Ctx, args: ChangePasswordArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let (password, new_password) = read_password_change(
        args.password_stdin,
        "Current relay password: ",
        "New relay password: ",
    )?;
    let result = client
        .call(AccountPasswordParams {
            password,
            new_password,
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        ctx.out.human("relay password changed")?;
    }
    Ok(())
}
