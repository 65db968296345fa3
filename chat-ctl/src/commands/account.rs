//! `chat-ctl register | login | logout | delete-account`.

use ipc_schema::methods::{
    AccountDeleteParams, AccountLoginParams, AccountLogoutParams, AccountRegisterParams,
    RelayTrustParams, RelayUrlsParams,
};

use super::Ctx;
use crate::cli::{LoginArgs, PasswordArgs, RegisterArgs, RelayTrustArgs, RelayUrlsArgs};
use crate::exit::CtlError;
use crate::input::{PasswordFrom, read_ca, read_password};
use crate::output::trust_human;

/// Creates keys if needed, registers on the relay and logs in.
pub async fn register(ctx: &Ctx, args: RegisterArgs) -> Result<(), CtlError> {
    // Read what can fail locally first, then connect: no point asking for
    // a password when chatd is not there.
    let relay_ca = args.trust.ca.as_deref().map(read_ca).transpose()?;
    let mut client = ctx.connect().await?;
    let relay = &args.relay[0];
    let prompt = if args.replace_keys {
        format!("Password of {} on {relay}: ", args.user)
    } else {
        format!("New password for {} on {relay}: ", args.user)
    };
    let password = read_password(if args.password_stdin {
        PasswordFrom::Stdin
    } else {
        PasswordFrom::Prompt {
            prompt: &prompt,
            confirm: !args.replace_keys,
        }
    })?;
    let result = client
        .call(AccountRegisterParams {
            relay_url: args.relay.into(),
            username: args.user,
            password,
            invite: args.invite,
            key_bits: args.key_bits,
            insecure_http: args.insecure_http,
            relay_ca,
            relay_pin: args.trust.pin,
            device_name: args.device_name,
            replace_keys: args.replace_keys,
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        let mut text = if args.replace_keys {
            format!(
                "new keys for {} on {}: the directory has the new card; your contacts will be asked to accept it\n",
                result.user, result.relay_url
            )
        } else {
            format!("registered {} on {}\n", result.user, result.relay_url)
        };
        for line in ipc_schema::fingerprint::lines(&result.fingerprint) {
            text.push_str(&format!("  {line}\n"));
        }
        text.push_str(&format!(
            "share your card: chat-ctl id --card > {}.card\n",
            result.user
        ));
        ctx.out.human(&text)?;
    }
    Ok(())
}

/// Starts a new relay session.
pub async fn login(ctx: &Ctx, args: LoginArgs) -> Result<(), CtlError> {
    let args = PasswordArgs {
        password_stdin: args.password_stdin,
    };
    let mut client = ctx.connect().await?;
    let prompt = match &client.hello().user {
        Some(user) => format!("Password for {user}: "),
        None => "Password: ".to_owned(),
    };
    let password = read_password(password_from(&args, &prompt))?;
    let result = client.call(AccountLoginParams { password }).await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        ctx.out.human(&format!(
            "logged in as {} (session until {})",
            result.user,
            ctx.clock.full(result.expires_at)
        ))?;
    }
    Ok(())
}

/// Ends the relay session.
pub async fn logout(ctx: &Ctx) -> Result<(), CtlError> {
    let result = ctx.connect().await?.call(AccountLogoutParams {}).await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        ctx.out.human("logged out")?;
    }
    Ok(())
}

/// Deletes the account on the relay; the password is asked again on purpose.
pub async fn delete(ctx: &Ctx, args: PasswordArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let user = client.hello().user.clone();
    let prompt = match &user {
        Some(user) => format!("Password for {user} (this deletes the account on the relay): "),
        None => "Password (this deletes the account on the relay): ".to_owned(),
    };
    let password = read_password(password_from(&args, &prompt))?;
    let result = client.call(AccountDeleteParams { password }).await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        ctx.out.human(&match user {
            Some(user) => format!("deleted the account {user} from the relay"),
            None => "deleted the account from the relay".to_owned(),
        })?;
    }
    Ok(())
}

fn password_from<'a>(args: &PasswordArgs, prompt: &'a str) -> PasswordFrom<'a> {
    if args.password_stdin {
        PasswordFrom::Stdin
    } else {
        PasswordFrom::Prompt {
            prompt,
            confirm: false,
        }
    }
}

/// `relay trust`: how chatd checks the relay's certificate from now on.
pub async fn relay_trust(ctx: &Ctx, args: RelayTrustArgs) -> Result<(), CtlError> {
    if args.ca.is_none() && args.pin.is_none() && !args.system && args.insecure_http.is_none() {
        return Err(CtlError::Usage(
            "say how: --ca FILE, --pin SHA256, --system, or --insecure-http[=false]".into(),
        ));
    }
    let ca = args.ca.as_deref().map(read_ca).transpose()?;
    let mut client = ctx.connect().await?;
    let current = client
        .call(ipc_schema::methods::StatusParams {})
        .await?
        .relay_trust
        .unwrap_or_default();
    // Only --insecure-http given: keep the CA or pin as they are.
    let keep = ca.is_none() && args.pin.is_none() && !args.system;
    let params = if keep && current.ca.is_some() {
        return Err(CtlError::Usage(
            "the account trusts a CA: give it again with --ca FILE along with --insecure-http"
                .into(),
        ));
    } else {
        RelayTrustParams {
            ca,
            pin: if keep { current.pin } else { args.pin },
            insecure_http: args.insecure_http,
        }
    };
    let result = client.call(params).await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        ctx.out.human(&format!(
            "{}\n{}",
            result.relay_url,
            trust_human(&result.trust)
        ))?;
    }
    Ok(())
}

/// `relay urls`: the URLs chatd reaches the relay at from now on.
pub async fn relay_urls(ctx: &Ctx, args: RelayUrlsArgs) -> Result<(), CtlError> {
    let result = ctx
        .connect()
        .await?
        .call(RelayUrlsParams { urls: args.urls })
        .await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        let text: String = result
            .relays
            .iter()
            .enumerate()
            .map(|(i, r)| format!("{}. {}\n", i + 1, r.url))
            .collect();
        ctx.out.human(text.trim_end())?;
    }
    Ok(())
}
