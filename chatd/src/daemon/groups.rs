//! Groups (docs/PROTOCOL.md §9): creating one, changing its roster, and
//! what the lists show. Every change is one commit (the roster, the new
//! snapshot, the history lines, the events, and the roster queued for the
//! members); the outbox seals and sends it.

use ipc_schema::methods::{GroupMemberView, GroupView, group_id};

use super::{Daemon, DaemonError};
use crate::groups::Edit;
use crate::store::{AdminEdit, GroupChange, GroupError, new_message_id};

/// A change asked for through `group.*`.
pub enum GroupOp {
    /// Add these contacts.
    Add(Vec<String>),
    /// Remove these members.
    Remove(Vec<String>),
    /// Make a member an admin.
    Promote(String),
    /// Make an admin a member.
    Demote(String),
    /// Rename the group.
    Rename(String),
    /// Leave the group.
    Leave,
}

/// The id in `text` (32 hex, with or without `#`), or an unknown-group error.
pub fn parse_group(text: &str) -> Result<&str, DaemonError> {
    group_id(text).ok_or_else(|| DaemonError::Group(GroupError::Unknown(text.to_owned())))
}

impl Daemon {
    /// Creates a group with `members` (contacts); returns it.
    pub fn create_group(&self, name: &str, members: &[String]) -> Result<GroupView, DaemonError> {
        let me = self.identity()?;
        let id = new_message_id();
        let view = self.publish(self.store.create_group(me.card(), &id, name, members)??);
        self.outbox_wake.notify_one();
        Ok(view)
    }

    /// Changes a group as this user.
    pub fn change_group(&self, group: &str, op: GroupOp) -> Result<GroupView, DaemonError> {
        let me = self.identity()?;
        let id = parse_group(group)?;
        let change = match op {
            GroupOp::Leave => GroupChange::Leave,
            GroupOp::Add(users) => GroupChange::Edit(AdminEdit {
                add_users: users,
                ..AdminEdit::default()
            }),
            GroupOp::Remove(users) => GroupChange::Edit(AdminEdit {
                edit: Edit {
                    remove: users,
                    ..Edit::default()
                },
                ..AdminEdit::default()
            }),
            GroupOp::Promote(user) => GroupChange::Edit(AdminEdit {
                edit: Edit {
                    promote: vec![user],
                    ..Edit::default()
                },
                ..AdminEdit::default()
            }),
            GroupOp::Demote(user) => GroupChange::Edit(AdminEdit {
                edit: Edit {
                    demote: vec![user],
                    ..Edit::default()
                },
                ..AdminEdit::default()
            }),
            GroupOp::Rename(name) => GroupChange::Edit(AdminEdit {
                edit: Edit {
                    rename: Some(name),
                    ..Edit::default()
                },
                ..AdminEdit::default()
            }),
        };
        let view = self.publish(self.store.change_group(me.user(), id, change)??);
        self.outbox_wake.notify_one();
        Ok(view)
    }

    /// Every group this user is or was in.
    pub fn groups(&self) -> Result<Vec<GroupView>, DaemonError> {
        let me = self.identity()?;
        Ok(self.store.groups(me.user())?)
    }

    /// A group with its members.
    pub fn group_info(
        &self,
        group: &str,
    ) -> Result<(GroupView, Vec<GroupMemberView>), DaemonError> {
        let me = self.identity()?;
        let id = parse_group(group)?;
        self.store
            .group_info(me.user(), id)?
            .ok_or_else(|| DaemonError::Group(GroupError::Unknown(id.to_owned())))
    }
}
