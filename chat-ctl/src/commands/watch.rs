//! `chat-ctl watch [--since SEQ]`.

use super::Ctx;
use crate::cli::WatchArgs;
use crate::exit::CtlError;
use crate::output::{event_human, event_json};
use ipc_schema::client::ClientError;
use ipc_schema::jsonrpc::code;
use ipc_schema::text::sanitize;

/// Prints events as they come, replaying those after `--since` first, until
/// chatd goes away (exit 3) or the reader of stdout does (exit 0); exits 7
/// when chatd no longer keeps the events `--since` asks for.
pub async fn run(ctx: &Ctx, args: WatchArgs) -> Result<(), CtlError> {
    let mut events = match ctx.connect().await?.subscribe(args.since).await {
        Ok(events) => events,
        // Only `--since` can ask for events chatd's retention already pruned.
        Err(ClientError::Rpc {
            code: code::EVENTS_EXPIRED,
            data,
            ..
        }) => {
            return Err(CtlError::EventsExpired {
                since: args.since.unwrap_or(0),
                oldest: data.and_then(|d| d.get("oldest_seq")?.as_u64()),
            });
        }
        Err(e) => return Err(e.into()),
    };
    while let Some(event) = events.next().await {
        match event {
            Ok(event) if ctx.out.json => ctx.out.json_text(&event_json(&event))?,
            Ok(event) => ctx.out.human(&event_human(&event, &ctx.clock))?,
            // An event this version cannot read: say so and keep watching.
            Err(e @ ClientError::Protocol(_)) => {
                eprintln!("chat-ctl: skipped an event: {}", sanitize(&e.to_string()));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ClientError::Disconnected.into())
}
