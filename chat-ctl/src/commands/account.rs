//! `chat-ctl register | login | logout | delete-account`.

use ipc_schema::methods::{
    AccountDeleteParams, AccountLoginParams, AccountLogoutParams, AccountRegisterParams,
};

use super::Ctx;
use crate::cli::{PasswordArgs, RegisterArgs};
use crate::exit::CtlError;
use crate::input::{PasswordFrom, read_password};

/// Creates keys if needed, registers on the relay and logs in.
pub async fn register(ctx: &Ctx, args: RegisterArgs) -> Result<(), CtlError> {
    // Connect first: no point asking for a password when chatd is not there.
    let mut client = ctx.connect().await?;
    let prompt = format!("New password for {} on {}: ", args.user, args.relay);
    let password = read_password(if args.password_stdin {
        PasswordFrom::Stdin
    } else {
        PasswordFrom::Prompt {
            prompt: &prompt,
            confirm: true,
        }
    })?;
    let result = client
        .call(AccountRegisterParams {
            relay_url: args.relay,
            username: args.user,
            password,
            invite: args.invite,
            key_bits: args.key_bits,
            insecure_http: false,
            relay_ca: None,
            relay_pin: None,
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        let mut text = format!("registered {} on {}\n", result.user, result.relay_url);
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
pub async fn login(ctx: &Ctx, args: PasswordArgs) -> Result<(), CtlError> {
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
