//! `chat-ctl group create | add | remove | admin | rename | leave | list | info`,
//! and how a group written by people (`ops`, `#ops`, `#ID`) becomes the
//! `#ID` chatd takes.

use ipc_schema::client::Client;
use ipc_schema::methods::{
    GroupAddParams, GroupAdminParams, GroupCreateParams, GroupInfoParams, GroupLeaveParams,
    GroupListParams, GroupRemoveParams, GroupRenameParams, GroupView, group_id,
};

use super::Ctx;
use crate::cli::{GroupAdminArgs, GroupArg, GroupCreateArgs, GroupRenameArgs, GroupUsersArgs};
use crate::exit::CtlError;
use crate::output::{group_human, group_info_human, groups_human};

/// The id of the group `text` names: `#ID` (32 hex digits, which always
/// wins), or a name with or without `#`. Two groups with the name are
/// ambiguous: the error lists their ids.
pub async fn resolve(client: &mut Client, text: &str) -> Result<String, CtlError> {
    if let Some(id) = group_id(text).filter(|_| text.starts_with('#')) {
        return Ok(id.to_owned());
    }
    let name = text.strip_prefix('#').unwrap_or(text);
    let groups = client.call(GroupListParams {}).await?.groups;
    let found: Vec<&GroupView> = groups.iter().filter(|g| g.name == name).collect();
    match found.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => match group_id(text) {
            Some(id) => Ok(id.to_owned()),
            None => Err(CtlError::UnknownGroup(format!("no group named {name}"))),
        },
        many => Err(CtlError::Usage(format!(
            "{} groups are named {name}; name one by its id: {}",
            many.len(),
            many.iter()
                .map(|g| format!("#{}", g.id))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The peer chatd takes for `text`: a username as it is, a group as `#ID`.
pub async fn peer(client: &mut Client, text: &str) -> Result<String, CtlError> {
    if text.starts_with('#') {
        Ok(format!("#{}", resolve(client, text).await?))
    } else {
        Ok(text.to_owned())
    }
}

fn show(ctx: &Ctx, group: &GroupView, what: &str) -> Result<(), CtlError> {
    if ctx.out.json {
        ctx.out.json(group)?;
    } else {
        ctx.out.human(&format!("{what}\n{}", group_human(group)))?;
    }
    Ok(())
}

/// Creates a group; prints its id (`--json`: the group).
pub async fn create(ctx: &Ctx, args: GroupCreateArgs) -> Result<(), CtlError> {
    let group = ctx
        .connect()
        .await?
        .call(GroupCreateParams {
            name: args.name,
            members: args.users,
        })
        .await?
        .group;
    if ctx.out.json {
        ctx.out.json(&group)?;
    } else {
        ctx.out.human(&group.id)?;
    }
    Ok(())
}

/// Adds contacts.
pub async fn add(ctx: &Ctx, args: GroupUsersArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let group = resolve(&mut client, &args.group).await?;
    let what = format!("added {}", args.users.join(", "));
    let g = client
        .call(GroupAddParams {
            group,
            users: args.users,
        })
        .await?
        .group;
    show(ctx, &g, &what)
}

/// Removes members.
pub async fn remove(ctx: &Ctx, args: GroupUsersArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let group = resolve(&mut client, &args.group).await?;
    let what = format!("removed {}", args.users.join(", "));
    let g = client
        .call(GroupRemoveParams {
            group,
            users: args.users,
        })
        .await?
        .group;
    show(ctx, &g, &what)
}

/// Promotes or demotes a member.
pub async fn admin(ctx: &Ctx, args: GroupAdminArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let group = resolve(&mut client, &args.group).await?;
    let what = if args.revoke {
        format!("{} is no longer an admin", args.user)
    } else {
        format!("{} is now an admin", args.user)
    };
    let g = client
        .call(GroupAdminParams {
            group,
            user: args.user,
            revoke: args.revoke,
        })
        .await?
        .group;
    show(ctx, &g, &what)
}

/// Renames a group.
pub async fn rename(ctx: &Ctx, args: GroupRenameArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let group = resolve(&mut client, &args.group).await?;
    let g = client
        .call(GroupRenameParams {
            group,
            name: args.name,
        })
        .await?
        .group;
    show(ctx, &g, "renamed")
}

/// Leaves a group.
pub async fn leave(ctx: &Ctx, args: GroupArg) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let group = resolve(&mut client, &args.group).await?;
    let g = client.call(GroupLeaveParams { group }).await?.group;
    show(ctx, &g, "left the group (its history stays)")
}

/// Lists groups; `--json`: an array of groups.
pub async fn list(ctx: &Ctx) -> Result<(), CtlError> {
    let groups = ctx.connect().await?.call(GroupListParams {}).await?.groups;
    if ctx.out.json {
        ctx.out.json(&groups)?;
    } else {
        ctx.out.human(&groups_human(&groups))?;
    }
    Ok(())
}

/// A group and its members; `--json`: `{group, members}`.
pub async fn info(ctx: &Ctx, args: GroupArg) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let group = resolve(&mut client, &args.group).await?;
    let info = client.call(GroupInfoParams { group }).await?;
    if ctx.out.json {
        ctx.out.json(&info)?;
    } else {
        ctx.out.human(&group_info_human(&info))?;
    }
    Ok(())
}
