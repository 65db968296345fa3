//! `chat-ctl group …` for people.

use std::fmt::Write as _;

use ipc_schema::fingerprint;
use ipc_schema::methods::{GroupInfoResult, GroupState, GroupView};

/// One group on one line: `#name  id  N members  [admin]  [removed|left]`.
pub fn group_human(g: &GroupView) -> String {
    let mut line = format!(
        "#{}  {}  {} member{}",
        g.name,
        g.id,
        g.members,
        if g.members == 1 { "" } else { "s" }
    );
    if g.admin {
        line.push_str("  admin");
    }
    match g.state {
        GroupState::Member => {}
        GroupState::Removed => line.push_str("  (you were removed)"),
        GroupState::Left => line.push_str("  (you left)"),
    }
    line
}

/// `group list` for people.
pub fn groups_human(groups: &[GroupView]) -> String {
    if groups.is_empty() {
        return "no groups yet (chat-ctl group create NAME USER…)".to_owned();
    }
    groups.iter().map(|g| group_human(g) + "\n").collect()
}

/// `group info` for people: the group, then one line per member with
/// admin, verification and who introduced an unverified card.
pub fn group_info_human(info: &GroupInfoResult) -> String {
    let mut out = group_human(&info.group) + "\n";
    let w = info
        .members
        .iter()
        .map(|m| m.user.chars().count())
        .max()
        .unwrap_or(0);
    for m in &info.members {
        let role = if m.admin { "admin" } else { "member" };
        let trust = match (&m.introduced_by, m.verified) {
            (_, true) => "✓ verified".to_owned(),
            (Some(by), false) => format!("unverified, introduced by {by}"),
            (None, false) => "unverified".to_owned(),
        };
        let fp = fingerprint::normalize(&m.fingerprint).unwrap_or_else(|| m.fingerprint.clone());
        let _ = writeln!(out, "  {:<w$}  {role:<6}  {trust}  {fp}", m.user);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipc_schema::methods::GroupMemberView;

    fn ops() -> GroupView {
        GroupView {
            id: "9d2f7c41b0e84a6f8c13d5e7a9b1c3d5".into(),
            name: "ops".into(),
            version: 3,
            state: GroupState::Member,
            admin: true,
            members: 2,
        }
    }

    #[test]
    fn a_group_shows_its_name_id_size_and_standing() {
        assert_eq!(
            group_human(&ops()),
            "#ops  9d2f7c41b0e84a6f8c13d5e7a9b1c3d5  2 members  admin"
        );
        let gone = GroupView {
            state: GroupState::Removed,
            admin: false,
            members: 1,
            ..ops()
        };
        assert!(group_human(&gone).ends_with("1 member  (you were removed)"));
    }

    #[test]
    fn info_marks_members_a_roster_introduced() {
        let info = GroupInfoResult {
            group: ops(),
            members: vec![GroupMemberView {
                user: "dave".into(),
                admin: false,
                since: 2,
                fingerprint: "ab".repeat(32),
                verified: false,
                introduced_by: Some("alice".into()),
            }],
        };
        assert!(group_info_human(&info).contains("dave  member  unverified, introduced by alice"));
    }
}
