//! `chat-ctl send USER [TEXT|-] [--wait | --wait-delivered] [--timeout S]`.

use ipc_schema::client::{ClientError, EventStream};
use ipc_schema::methods::{Event, MessageSendParams, MessageState};
use tokio::time::{Instant, timeout_at};

use super::Ctx;
use crate::cli::{BodySource, SendArgs, WaitFor};
use crate::exit::CtlError;
use crate::input::{check_body, read_body_from_stdin};

/// Queues a message and prints its id (`--json`: `{"id","ts"}`); with a wait
/// flag, then waits for its state to get there.
pub async fn run(ctx: &Ctx, args: SendArgs) -> Result<(), CtlError> {
    if let Some(path) = &args.file {
        return super::files::send(ctx, &args, path).await;
    }
    let body = match args.body_source() {
        BodySource::Arg(text) => text.to_owned(),
        BodySource::Stdin => read_body_from_stdin()?,
    };
    check_body(&body)?;
    let mut client = ctx.connect().await?;
    let to = super::group::peer(&mut client, &args.user).await?;
    // Subscribe before sending, on a second connection, so that no state
    // change of the new message can slip by unseen.
    let mut events = match args.wait_for() {
        Some(_) => Some(ctx.connect().await?.subscribe(None).await?),
        None => None,
    };
    let sent = client
        .call(MessageSendParams {
            to,
            body,
            reply_to: args.reply_to.clone(),
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&sent)?;
    } else {
        ctx.out.human(&sent.id)?;
    }
    if let (Some(target), Some(events)) = (args.wait_for(), events.as_mut()) {
        let deadline = Instant::now() + args.timeout;
        wait_for_state(events, &sent.id, &args.user, target, deadline, args.timeout).await?;
    }
    Ok(())
}

/// Whether a message in `state` has got as far as `target`.
pub fn reached(state: MessageState, target: WaitFor) -> bool {
    match target {
        WaitFor::Sent => matches!(
            state,
            MessageState::Sent | MessageState::Delivered | MessageState::Read
        ),
        WaitFor::Delivered => matches!(state, MessageState::Delivered | MessageState::Read),
    }
}

pub(super) async fn wait_for_state(
    events: &mut EventStream,
    id: &str,
    to: &str,
    target: WaitFor,
    deadline: Instant,
    limit: std::time::Duration,
) -> Result<(), CtlError> {
    loop {
        let event = match timeout_at(deadline, events.next()).await {
            Err(_) => {
                let what = match target {
                    WaitFor::Sent => "accepted by the relay".to_owned(),
                    WaitFor::Delivered => format!("delivered to {to}"),
                };
                return Err(CtlError::Timeout(format!(
                    "message {id} was not {what} within {} s (it stays queued in chatd)",
                    limit.as_secs_f64()
                )));
            }
            Ok(None) => return Err(ClientError::Disconnected.into()),
            Ok(Some(Err(ClientError::Protocol(_)))) => continue,
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(Some(Ok(event))) => event,
        };
        let (state, failure) = match event.event {
            Event::MessageState(e) if e.id == id => (e.state, e.failure),
            Event::MessageReceived(e) if e.message.id == id => (e.message.state, e.message.failure),
            _ => continue,
        };
        if state == MessageState::Failed {
            let why = failure.unwrap_or_else(|| "no reason given".to_owned());
            return Err(CtlError::MessageFailed(format!(
                "message {id} to {to} failed: {why}"
            )));
        }
        if reached(state, target) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_is_reached_by_any_later_state_and_delivered_by_read() {
        use MessageState::*;
        assert!(!reached(Queued, WaitFor::Sent));
        assert!(reached(Sent, WaitFor::Sent));
        assert!(reached(Delivered, WaitFor::Sent));
        assert!(reached(Read, WaitFor::Sent));
        assert!(!reached(Sent, WaitFor::Delivered));
        assert!(reached(Delivered, WaitFor::Delivered));
        assert!(reached(Read, WaitFor::Delivered));
        assert!(!reached(Failed, WaitFor::Sent));
    }
}
