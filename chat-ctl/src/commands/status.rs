//! `chat-ctl status`.

use ipc_schema::methods::StatusParams;

use super::Ctx;
use crate::exit::CtlError;
use crate::output::status_human;

/// Prints chatd's status; `--json`: the `status` result as is.
pub async fn run(ctx: &Ctx) -> Result<(), CtlError> {
    let status = ctx.connect().await?.call(StatusParams {}).await?;
    if ctx.out.json {
        ctx.out.json(&status)?;
    } else {
        ctx.out.human(&status_human(&status))?;
    }
    Ok(())
}
