//! `group.*`.

use ipc_schema::methods::{
    GroupAddParams, GroupAddResult, GroupAdminParams, GroupAdminResult, GroupCreateParams,
    GroupCreateResult, GroupInfoParams, GroupInfoResult, GroupLeaveParams, GroupLeaveResult,
    GroupListResult, GroupRemoveParams, GroupRemoveResult, GroupRenameParams, GroupRenameResult,
};

use crate::daemon::{Daemon, DaemonError, GroupOp};

pub(super) fn create(d: &Daemon, p: GroupCreateParams) -> Result<GroupCreateResult, DaemonError> {
    Ok(GroupCreateResult {
        group: d.create_group(&p.name, &p.members)?,
    })
}

pub(super) fn add(d: &Daemon, p: GroupAddParams) -> Result<GroupAddResult, DaemonError> {
    Ok(GroupAddResult {
        group: d.change_group(&p.group, GroupOp::Add(p.users))?,
    })
}

pub(super) fn remove(d: &Daemon, p: GroupRemoveParams) -> Result<GroupRemoveResult, DaemonError> {
    Ok(GroupRemoveResult {
        group: d.change_group(&p.group, GroupOp::Remove(p.users))?,
    })
}

pub(super) fn admin(d: &Daemon, p: GroupAdminParams) -> Result<GroupAdminResult, DaemonError> {
    let op = if p.revoke {
        GroupOp::Demote(p.user)
    } else {
        GroupOp::Promote(p.user)
    };
    Ok(GroupAdminResult {
        group: d.change_group(&p.group, op)?,
    })
}

pub(super) fn rename(d: &Daemon, p: GroupRenameParams) -> Result<GroupRenameResult, DaemonError> {
    Ok(GroupRenameResult {
        group: d.change_group(&p.group, GroupOp::Rename(p.name))?,
    })
}

pub(super) fn leave(d: &Daemon, p: GroupLeaveParams) -> Result<GroupLeaveResult, DaemonError> {
    Ok(GroupLeaveResult {
        group: d.change_group(&p.group, GroupOp::Leave)?,
    })
}

pub(super) fn list(d: &Daemon) -> Result<GroupListResult, DaemonError> {
    Ok(GroupListResult {
        groups: d.groups()?,
    })
}

pub(super) fn info(d: &Daemon, p: GroupInfoParams) -> Result<GroupInfoResult, DaemonError> {
    let (group, members) = d.group_info(&p.group)?;
    Ok(GroupInfoResult { group, members })
}
