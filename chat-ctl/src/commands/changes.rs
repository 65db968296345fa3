//! `chat-ctl edit ID [TEXT|-]`, `chat-ctl delete ID` and
//! `chat-ctl react ID EMOJI [--with PEER] | ID --remove`.

use ipc_schema::methods::{
    MessageDeleteParams, MessageEditParams, MessageReactParams, MessageView,
};

use super::Ctx;
use crate::cli::{DeleteArgs, EditArgs, ReactArgs};
use crate::exit::CtlError;
use crate::input::{check_body, read_body_from_stdin};

/// What the change left, for people: the conversation, the short id, and
/// the message or its reactions.
fn said(peer: &str, what: &str, m: &MessageView) -> String {
    let short: String = m.id.chars().take(8).collect();
    format!("{what} {short} in {peer}")
}

/// Edits one of the user's messages, for everyone.
pub async fn edit(ctx: &Ctx, args: EditArgs) -> Result<(), CtlError> {
    let body = match args.text.as_deref() {
        None | Some("-") => read_body_from_stdin()?,
        Some(text) => text.to_owned(),
    };
    check_body(&body)?;
    let mut client = ctx.connect().await?;
    let done = client.call(MessageEditParams { id: args.id, body }).await?;
    if ctx.out.json {
        ctx.out.json(&done)?;
    } else {
        ctx.out.human(&said(&done.peer, "edited", &done.message))?;
    }
    Ok(())
}

/// Deletes one of the user's messages, for everyone.
pub async fn delete(ctx: &Ctx, args: DeleteArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let done = client.call(MessageDeleteParams { id: args.id }).await?;
    if ctx.out.json {
        ctx.out.json(&done)?;
    } else {
        ctx.out
            .human(&said(&done.peer, "deleted (for everyone)", &done.message))?;
    }
    Ok(())
}

/// Reacts to a message, or takes the user's reaction back.
pub async fn react(ctx: &Ctx, args: ReactArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let peer = match &args.with {
        Some(with) => Some(super::group::peer(&mut client, with).await?),
        None => None,
    };
    let done = client
        .call(MessageReactParams {
            id: args.id,
            peer,
            emoji: if args.remove { None } else { args.emoji },
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&done)?;
    } else {
        let m = &done.message;
        let now: Vec<String> = m
            .reactions
            .iter()
            .map(|r| format!("{} {}", r.emoji, r.users.len()))
            .collect();
        let what = if args.remove {
            "took your reaction back from"
        } else {
            "reacted to"
        };
        let mut line = said(&done.peer, what, m);
        if !now.is_empty() {
            line.push_str(&format!(": {}", now.join("  ")));
        }
        ctx.out.human(&line)?;
    }
    Ok(())
}

/// Searches all history; prints the hits newest first, the words found in
/// brackets (`--json`: the result as chatd gives it).
pub async fn search(ctx: &Ctx, args: crate::cli::SearchArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let peer = match &args.with {
        Some(with) => Some(super::group::peer(&mut client, with).await?),
        None => None,
    };
    let found = client
        .call(ipc_schema::methods::MessageSearchParams {
            query: args.words.join(" "),
            peer,
            before: None,
            limit: args.limit,
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&found)?;
    } else {
        ctx.out
            .human(&crate::output::search_human(&found, &ctx.clock))?;
    }
    Ok(())
}
