//! `chat-ctl device list | revoke ID | rename ID NAME | link | join CODE`
//! and `chat-ctl password change`.

use ipc_schema::Secret;
use ipc_schema::methods::{
    AccountJoinParams, AccountPasswordParams, DeviceLinkParams, DeviceListParams,
    DeviceRenameParams, DeviceRevokeParams, StatusParams,
};
use ipc_schema::text::sanitize;

use super::Ctx;
use crate::cli::{
    ChangePasswordArgs, JoinDeviceArgs, LinkDeviceArgs, RenameDeviceArgs, RevokeDeviceArgs,
};
use crate::exit::CtlError;
use crate::input::{PasswordFrom, read_ca, read_password, read_password_change};

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

/// Renames a device of the account.
pub async fn rename(ctx: &Ctx, args: RenameDeviceArgs) -> Result<(), CtlError> {
    if !ipc_schema::relay::is_valid_device_id(&args.id) {
        return Err(CtlError::Usage(
            "a device id is 16 hex digits, as `chat-ctl device list` shows".into(),
        ));
    }
    if !ipc_schema::relay::is_valid_device_name(&args.name) {
        return Err(CtlError::Usage(
            "a device name is 1 to 32 bytes with no control characters".into(),
        ));
    }
    let result = ctx
        .connect()
        .await?
        .call(DeviceRenameParams {
            id: args.id.clone(),
            name: args.name.clone(),
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        ctx.out
            .human(&format!("device {} is now called {}", args.id, args.name))?;
    }
    Ok(())
}

/// Leaves a device link on the relay and prints its code.
pub async fn link(ctx: &Ctx, args: LinkDeviceArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let status = client.call(StatusParams {}).await?;
    let result = client
        .call(DeviceLinkParams {
            with_history: args.with_history,
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&serde_json::json!({
            "code": result.code.expose(),
            "expires_at": result.expires_at,
            "contacts": result.contacts,
            "groups": result.groups,
            "messages": result.messages,
            "messages_left": result.messages_left,
            "bytes": result.bytes,
        }))?;
        return Ok(());
    }
    // Every URL of the relay, in the order this device tries them.
    let mut urls: Vec<&str> = status.relays.iter().map(|r| r.url.as_str()).collect();
    if urls.is_empty() {
        urls.extend(status.relay_url.as_deref());
    }
    if urls.is_empty() {
        urls.push("URL");
    }
    let relay_flags: Vec<String> = urls
        .iter()
        .map(|u| format!("--relay {}", sanitize(u)))
        .collect();
    let mut text = format!(
        "one-time link code, valid until {} (single use):\n\n    {}\n\non the new machine:\n    chat-ctl device join {} {} --user {} --name NAME\n",
        ctx.clock.short(result.expires_at),
        result.code.expose(),
        result.code.expose(),
        relay_flags.join(" "),
        sanitize(status.user.as_deref().unwrap_or("NAME")),
    );
    text.push_str(&format!(
        "it carries the keys, {} contacts, {} groups",
        result.contacts, result.groups
    ));
    if args.with_history {
        text.push_str(&format!(" and {} messages", result.messages));
        if result.messages_left > 0 {
            text.push_str(&format!(
                " ({} older ones did not fit in the link)",
                result.messages_left
            ));
        }
    }
    ctx.out.human(&text)?;
    Ok(())
}

/// Joins the account as a new device with a link code.
pub async fn join(ctx: &Ctx, args: JoinDeviceArgs) -> Result<(), CtlError> {
    let relay_ca = args.trust.ca.as_deref().map(read_ca).transpose()?;
    let mut client = ctx.connect().await?;
    let password = if args.password_stdin {
        read_password(PasswordFrom::Stdin)?
    } else {
        read_password(PasswordFrom::Prompt {
            prompt: &format!("Relay password for {}: ", args.user),
            confirm: false,
        })?
    };
    let result = client
        .call(AccountJoinParams {
            relay_url: args.relay.into(),
            username: args.user,
            password,
            code: Secret::new(args.code),
            device_name: args.name,
            insecure_http: args.insecure_http,
            relay_ca,
            relay_pin: args.trust.pin,
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        let mut text = format!(
            "joined {} on {} as a new device, with {} contacts, {} groups and {} messages; fingerprint:\n",
            result.user, result.relay_url, result.contacts, result.groups, result.messages
        );
        for line in ipc_schema::fingerprint::lines(&result.fingerprint) {
            text.push_str(&format!("  {line}\n"));
        }
        ctx.out.human(text.trim_end())?;
    }
    Ok(())
}
