//! `chat-ctl id [--card]` and `chat-ctl id rotate`.

use ipc_schema::methods::{IdentityCardParams, IdentityRotateParams, IdentityShowParams};

use super::Ctx;
use crate::cli::{IdArgs, IdCommand, PasswordArgs};
use crate::exit::CtlError;
use crate::input::{PasswordFrom, read_password};
use crate::output::identity_human;

/// Prints the user and fingerprint, or with `--card` the card as one line of
/// JSON (in both modes, so `chat-ctl id --card > alice.card` works).
pub async fn run(ctx: &Ctx, args: IdArgs) -> Result<(), CtlError> {
    if let Some(IdCommand::Rotate(p)) = args.action {
        return rotate(ctx, p).await;
    }
    let mut client = ctx.connect().await?;
    if args.card {
        let card = client.call(IdentityCardParams {}).await?.card;
        ctx.out.json(&card)?;
    } else {
        let id = client.call(IdentityShowParams {}).await?;
        if ctx.out.json {
            ctx.out.json(&id)?;
        } else {
            ctx.out.human(&identity_human(&id))?;
        }
    }
    Ok(())
}

/// Replaces the key pairs and tells every contact with a signed transition.
async fn rotate(ctx: &Ctx, p: PasswordArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let password = read_password(if p.password_stdin {
        PasswordFrom::Stdin
    } else {
        PasswordFrom::Prompt {
            prompt: "Relay password (the directory's card changes): ",
            confirm: false,
        }
    })?;
    let result = client.call(IdentityRotateParams { password }).await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        let mut text = format!(
            "new keys (rotation {}); a transition signed by the old and the new keys goes to {} contact(s) and {} group(s)\nnew fingerprint:\n",
            result.counter, result.contacts, result.groups
        );
        for line in ipc_schema::fingerprint::lines(&result.fingerprint) {
            text.push_str(&format!("  {line}\n"));
        }
        let days = result
            .old_keys_until
            .saturating_sub(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
            )
            .div_ceil(24 * 3600 * 1000);
        text.push_str(&format!(
            "the old keys still open what was sealed to them for {days} day(s), then they are destroyed"
        ));
        ctx.out.human(&text)?;
    }
    Ok(())
}
