//! `chat-ctl contact add | list | remove | verify`.

use ipc_schema::methods::{
    ContactAcceptKeyParams, ContactAddParams, ContactListParams, ContactRefuseKeyParams,
    ContactRemoveParams, ContactVerifyParams,
};

use super::Ctx;
use crate::cli::{AcceptKeyArgs, ContactAddArgs, ContactVerifyArgs, UserArg};
use crate::exit::CtlError;
use crate::input::read_card;
use crate::output::{contact_added_human, contacts_human};

/// Pins a contact from a card, or from the directory checked against a fingerprint.
pub async fn add(ctx: &Ctx, args: ContactAddArgs) -> Result<(), CtlError> {
    let params = match args.fingerprint {
        Some(fingerprint) => {
            if !ipc_schema::envelope::is_valid_username(&args.source) {
                return Err(CtlError::Usage(format!(
                    "`{}` is not a username; with --fingerprint, give the USER to look up",
                    args.source
                )));
            }
            ContactAddParams::Directory {
                user: args.source,
                fingerprint,
            }
        }
        None => ContactAddParams::Card {
            card: read_card(&args.source)?,
        },
    };
    let contact = ctx.connect().await?.call(params).await?.contact;
    if ctx.out.json {
        ctx.out.json(&contact)?;
    } else {
        ctx.out.human(&contact_added_human(&contact))?;
    }
    Ok(())
}

/// Lists contacts; `--json`: an array of contacts.
pub async fn list(ctx: &Ctx) -> Result<(), CtlError> {
    let contacts = ctx
        .connect()
        .await?
        .call(ContactListParams {})
        .await?
        .contacts;
    if ctx.out.json {
        ctx.out.json(&contacts)?;
    } else {
        ctx.out.human(&contacts_human(&contacts))?;
    }
    Ok(())
}

/// Forgets a contact.
pub async fn remove(ctx: &Ctx, args: UserArg) -> Result<(), CtlError> {
    let result = ctx
        .connect()
        .await?
        .call(ContactRemoveParams {
            user: args.user.clone(),
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        ctx.out
            .human(&format!("removed {} (the history is kept)", args.user))?;
    }
    Ok(())
}

/// Marks a contact verified if the fingerprint matches the pinned one.
pub async fn verify(ctx: &Ctx, args: ContactVerifyArgs) -> Result<(), CtlError> {
    let fingerprint = args.fingerprint().map_err(CtlError::Usage)?;
    let contact = ctx
        .connect()
        .await?
        .call(ContactVerifyParams {
            user: args.user,
            fingerprint,
        })
        .await?
        .contact;
    if ctx.out.json {
        ctx.out.json(&contact)?;
    } else {
        ctx.out.human(&format!("{} is verified ✓", contact.user))?;
    }
    Ok(())
}

/// Accepts a contact's changed key if the fingerprint matches the
/// directory's; what waited is opened.
pub async fn accept_key(ctx: &Ctx, args: AcceptKeyArgs) -> Result<(), CtlError> {
    let fingerprint = args.fingerprint().map_err(CtlError::Usage)?;
    let result = ctx
        .connect()
        .await?
        .call(ContactAcceptKeyParams {
            user: args.user,
            fingerprint,
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        let mut text = format!(
            "{} now has the new key (not verified); {} waiting message(s) opened",
            result.contact.user, result.opened
        );
        if result.dropped > 0 {
            text.push_str(&format!(
                ", {} did not open and were dropped",
                result.dropped
            ));
        }
        ctx.out.human(&text)?;
    }
    Ok(())
}

/// Refuses a contact's changed key; what waited is deleted.
pub async fn refuse_key(ctx: &Ctx, args: UserArg) -> Result<(), CtlError> {
    let result = ctx
        .connect()
        .await?
        .call(ContactRefuseKeyParams {
            user: args.user.clone(),
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        ctx.out.human(&format!(
            "kept {}'s old key; {} waiting message(s) deleted",
            args.user, result.deleted
        ))?;
    }
    Ok(())
}
