//! `chat-ctl id [--card]`.

use ipc_schema::methods::{IdentityCardParams, IdentityShowParams};

use super::Ctx;
use crate::cli::IdArgs;
use crate::exit::CtlError;
use crate::output::identity_human;

/// Prints the user and fingerprint, or with `--card` the card as one line of
/// JSON (in both modes, so `chat-ctl id --card > alice.card` works).
pub async fn run(ctx: &Ctx, args: IdArgs) -> Result<(), CtlError> {
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
