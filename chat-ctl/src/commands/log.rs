//! `chat-ctl log USER [-n N]` and `chat-ctl read USER`.

use ipc_schema::client::Client;
use ipc_schema::methods::{
    ConversationMarkReadParams, Direction, MESSAGE_LIST_MAX_LIMIT, MessageGetParams,
    MessageListParams, MessageView,
};

use super::Ctx;
use crate::cli::{LogArgs, ReadArgs};
use crate::exit::CtlError;
use crate::output::{log_human, log_json};

/// Prints the last messages of a conversation, oldest first.
pub async fn log(ctx: &Ctx, args: LogArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let peer = super::group::peer(&mut client, &args.user).await?;
    let mut messages = last_messages(&mut client, &peer, args.limit).await?;
    whole_bodies(&mut client, &mut messages).await?;
    if ctx.out.json {
        ctx.out.json_text(&log_json(&messages))?;
    } else {
        ctx.out
            .human(&log_human(&args.user, &messages, &ctx.clock, args.ids))?;
    }
    Ok(())
}

/// The newest `limit` messages (chatd's default page without one), paging
/// backwards when more than one page is asked for.
async fn last_messages(
    client: &mut Client,
    peer: &str,
    limit: Option<u32>,
) -> Result<Vec<MessageView>, CtlError> {
    let Some(want) = limit else {
        let page = client
            .call(MessageListParams {
                peer: peer.to_owned(),
                before: None,
                limit: None,
            })
            .await?;
        return Ok(page.messages);
    };
    let mut messages: Vec<MessageView> = Vec::new();
    let mut before = None;
    while (messages.len() as u64) < u64::from(want) {
        let left = want - messages.len() as u32;
        let page = client
            .call(MessageListParams {
                peer: peer.to_owned(),
                before,
                limit: Some(left.min(MESSAGE_LIST_MAX_LIMIT)),
            })
            .await?;
        let Some(oldest) = page.messages.first() else {
            break;
        };
        before = Some(oldest.seq);
        let mut older = page.messages;
        older.append(&mut messages);
        messages = older;
        if !page.has_more {
            break;
        }
    }
    Ok(messages)
}

/// Replaces the bodies `message.list` cut short (over
/// [`LIST_BODY_MAX`](ipc_schema::methods::LIST_BODY_MAX)) with
/// the whole ones, one `message.get` each: a page stays far below the frame
/// cap however big the texts, and the log stays complete.
async fn whole_bodies(client: &mut Client, messages: &mut [MessageView]) -> Result<(), CtlError> {
    for m in messages.iter_mut().filter(|m| m.truncated) {
        let peer = match (&m.group, m.direction) {
            (Some(group), _) => format!("#{group}"),
            (None, Direction::In) => m.from.clone(),
            (None, Direction::Out) => m.to.clone(),
        };
        let whole = client
            .call(MessageGetParams {
                peer,
                id: m.id.clone(),
                direction: Some(m.direction),
            })
            .await?;
        *m = whole.message;
    }
    Ok(())
}

/// Marks a conversation's incoming messages read.
pub async fn read(ctx: &Ctx, args: ReadArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let peer = super::group::peer(&mut client, &args.user).await?;
    let result = client.call(ConversationMarkReadParams { peer }).await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        ctx.out.human(&match result.marked {
            0 => format!("nothing unread from {}", args.user),
            1 => format!("marked 1 message from {} read", args.user),
            n => format!("marked {n} messages from {} read", args.user),
        })?;
    }
    Ok(())
}
