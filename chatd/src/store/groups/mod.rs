//! Groups in the store (docs/PROTOCOL.md §9): every roster that counted,
//! the current roster's members (the cards group messages are sealed to and
//! checked against), and what a roster change does to the history.
//!
//! The rosters of a group are kept as received; the roster it follows is
//! worked out again from them (`groups::GroupLog`) whenever one arrives, and
//! `groups` and `group_members` are a snapshot of the result.

use std::collections::HashMap;

use ipc_schema::methods::{GroupMemberView, GroupState, GroupView};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Committed, Store, StoreError, StoreResult};
use crate::crypto::{Card, Fingerprint};
use crate::groups::{Edit, GroupLog, Roster};

mod rosters;
mod texts;

use rosters::{commit_change, load_log, queue_roster, refresh, store_roster};
pub(super) use rosters::{import_group, receive_roster};
pub(super) use texts::{
    GroupText, deliveries, expire_waiting, file_group_text, group_name, group_receipt, record_put,
    wait_for_roster,
};

/// How long a group message waits for a roster that makes its sender a member (ms).
pub const WAITING_MS: u64 = 10 * 60 * 1000;
/// Most group messages waiting per group.
pub const WAITING_PER_GROUP: i64 = 300;

/// The peer a group's messages are filed under: `#` and its id.
pub fn group_peer(id: &str) -> String {
    format!("#{id}")
}

/// Why a group operation was refused; shown to the user.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// No such group.
    #[error("no group with id {0}")]
    Unknown(String),
    /// This user is no longer a member.
    #[error("you are no longer a member of this group ({0})")]
    NotAMember(String),
    /// The change needs an admin.
    #[error("only an admin of the group can do that")]
    NotAnAdmin,
    /// A user to add is not a contact.
    #[error("{0} is not a contact; add their card first")]
    NotAContact(String),
    /// Nothing would change.
    #[error("{0}")]
    Nothing(String),
    /// The name is empty, too long or has control characters.
    #[error("a group name is 1 to 64 bytes without control characters")]
    BadName,
    /// Too many members.
    #[error("a group has at most 1,001 members")]
    TooMany,
}

fn group_view(c: &Connection, me: &str, id: &str) -> StoreResult<Option<GroupView>> {
    Ok(c.query_row(
        "SELECT name, version, state,
                coalesce((SELECT admin FROM group_members WHERE group_id = ?1 AND user = ?2), 0),
                (SELECT count(*) FROM group_members WHERE group_id = ?1)
         FROM groups WHERE id = ?1",
        params![id, me],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, i64>(4)?,
            ))
        },
    )
    .optional()?
    .map(|(name, version, state, admin, members)| GroupView {
        id: id.to_owned(),
        name,
        version: version as u64,
        state: state.parse().unwrap_or(GroupState::Removed),
        admin,
        members: members as u32,
    }))
}

impl Store {
    /// Creates a group of `me` (card `me_card`) with contacts `members`.
    pub fn create_group(
        &self,
        me_card: &Card,
        id: &str,
        name: &str,
        members: &[String],
    ) -> StoreResult<Result<Committed<GroupView>, GroupError>> {
        self.with(|c| {
            let tx = c.transaction()?;
            if !crate::groups::roster::is_valid_name(name) {
                return Ok(Err(GroupError::BadName));
            }
            if members.len() > ipc_schema::envelope_v2::MAX_RECIPIENTS {
                return Ok(Err(GroupError::TooMany));
            }
            let mut cards = Vec::new();
            for user in members {
                if user == me_card.user() {
                    continue;
                }
                match contact_card(&tx, user)? {
                    Some(card) => cards.push(card),
                    None => return Ok(Err(GroupError::NotAContact(user.clone()))),
                }
            }
            let roster = Roster::genesis(id, name, me_card, &cards);
            let text = roster.to_text();
            let log = GroupLog::start(&text, me_card.user())
                .map_err(|e| StoreError::Corrupt(format!("own first roster: {e}")))?;
            let mut events = Vec::new();
            store_roster(&tx, id, &text, me_card.user())?;
            refresh(&tx, me_card.user(), &log, None, &mut events)?;
            let recipients: Vec<String> = cards.iter().map(Card::to_json).collect();
            queue_roster(&tx, id, &text, None, &recipients)?;
            let view = group_view(&tx, me_card.user(), id)?.expect("just created");
            tx.commit()?;
            Ok(Ok(Committed::new(view, events)))
        })
    }

    /// Changes a group as `me`: `edit` (admins only), or leaving it.
    pub fn change_group(
        &self,
        me: &str,
        id: &str,
        change: GroupChange,
    ) -> StoreResult<Result<Committed<GroupView>, GroupError>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let Some(mut log) = load_log(&tx, id)? else {
                return Ok(Err(GroupError::Unknown(id.to_owned())));
            };
            let (head_hash, head) = log.head();
            let head = head.clone();
            if !head.is_member(me) {
                return Ok(Err(GroupError::NotAMember(head.name.clone())));
            }
            let next = match change {
                GroupChange::Leave => head.leave(head_hash, me),
                GroupChange::Edit(mut edit) => {
                    if !head.is_admin(me) {
                        return Ok(Err(GroupError::NotAnAdmin));
                    }
                    if edit
                        .edit
                        .rename
                        .as_deref()
                        .is_some_and(|n| !crate::groups::roster::is_valid_name(n))
                    {
                        return Ok(Err(GroupError::BadName));
                    }
                    for user in &edit.add_users {
                        if head.is_member(user) {
                            continue;
                        }
                        match contact_card(&tx, user)? {
                            Some(card) => edit.edit.add.push(card),
                            None => return Ok(Err(GroupError::NotAContact(user.clone()))),
                        }
                    }
                    for user in edit.edit.remove.iter().chain(&edit.edit.promote) {
                        if !head.is_member(user) {
                            return Ok(Err(GroupError::Nothing(format!("{user} is not a member"))));
                        }
                    }
                    let next = edit.edit.apply(&head, head_hash, me);
                    if next.members.len() > ipc_schema::envelope_v2::MAX_RECIPIENTS + 1 {
                        return Ok(Err(GroupError::TooMany));
                    }
                    next
                }
            };
            if next.members == head.members && next.admins == head.admins && next.name == head.name
            {
                return Ok(Err(GroupError::Nothing("nothing to change".into())));
            }
            let mut events = Vec::new();
            commit_change(&tx, me, &mut log, next, &mut events)?;
            let view = group_view(&tx, me, id)?.expect("known group");
            tx.commit()?;
            Ok(Ok(Committed::new(view, events)))
        })
    }

    /// After `me` rotated its keys from `old` to `card`: a change in every
    /// group it is a member of that moves it to the new card, carrying the
    /// `transition` (docs/PROTOCOL.md §9.3), queued for all members.
    /// Returns how many groups were told.
    pub fn key_change_groups(
        &self,
        me: &str,
        old: &crate::crypto::Fingerprint,
        transition: &str,
        card: &Card,
    ) -> StoreResult<Committed<usize>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let ids: Vec<String> = tx
                .prepare("SELECT id FROM groups WHERE state = 'member' ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut events = Vec::new();
            let mut told = 0;
            for id in ids {
                let Some(mut log) = load_log(&tx, &id)? else {
                    continue;
                };
                let (head_hash, head) = log.head();
                if head
                    .members
                    .get(me)
                    .is_none_or(|m| m.card.fingerprint() != *old)
                {
                    continue;
                }
                let next = head.key_change(head_hash, me, transition, card);
                commit_change(&tx, me, &mut log, next, &mut events)?;
                told += 1;
            }
            tx.commit()?;
            Ok(Committed::new(told, events))
        })
    }

    /// Every group, by name.
    pub fn groups(&self, me: &str) -> StoreResult<Vec<GroupView>> {
        self.with(|c| {
            let ids: Vec<String> = c
                .prepare("SELECT id FROM groups ORDER BY name, id")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.extend(group_view(c, me, &id)?);
            }
            Ok(out)
        })
    }

    /// One group and its members.
    pub fn group_info(
        &self,
        me: &str,
        id: &str,
    ) -> StoreResult<Option<(GroupView, Vec<GroupMemberView>)>> {
        self.with(|c| {
            let Some(view) = group_view(c, me, id)? else {
                return Ok(None);
            };
            let members = c
                .prepare(
                    "SELECT m.user, m.admin, m.since, m.fingerprint, m.introduced_by,
                            k.fingerprint, coalesce(k.verified, 0)
                     FROM group_members m LEFT JOIN contacts k ON k.user = m.user
                     WHERE m.group_id = ?1 ORDER BY m.user",
                )?
                .query_map([id], |r| {
                    let user: String = r.get(0)?;
                    let fp: String = r.get(3)?;
                    let pinned: Option<String> = r.get(5)?;
                    let introduced: String = r.get(4)?;
                    // A card I pinned myself wins over one a roster introduced.
                    let fingerprint = pinned.clone().unwrap_or(fp);
                    Ok(GroupMemberView {
                        introduced_by: (pinned.is_none() && user != me && !introduced.is_empty())
                            .then_some(introduced),
                        fingerprint: Fingerprint::parse(&fingerprint)
                            .map_or(fingerprint, |f| f.grouped()),
                        verified: r.get(6)?,
                        admin: r.get(1)?,
                        since: r.get::<_, i64>(2)? as u64,
                        user,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(Some((view, members)))
        })
    }

    /// The cards of everyone in a group this user is a member of, for
    /// opening their envelopes (the caller lets a pinned contact's card win).
    /// A name two groups give different cards is left out: one group's
    /// admin must not be able to speak for a member of another group by
    /// introducing a card of its own under that member's name.
    pub fn member_cards(&self) -> StoreResult<HashMap<String, Card>> {
        self.with(|c| {
            let rows: Vec<(String, String)> = c
                .prepare(
                    "SELECT m.user, min(m.card) FROM group_members m JOIN groups g ON g.id = m.group_id
                     WHERE g.state = 'member'
                     GROUP BY m.user HAVING count(DISTINCT m.fingerprint) = 1",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(u, card)| Card::from_json(card.as_bytes()).ok().map(|c| (u, c)))
                .collect())
        })
    }

    /// The members a group message goes to now (all but `me`), with the
    /// cards to seal to (a pinned contact's card wins; a contact frozen
    /// between two keys gets nothing, as in one-to-one); `None` unless this
    /// user is a member.
    pub fn group_recipients(&self, me: &str, id: &str) -> StoreResult<Option<Vec<Card>>> {
        self.with(|c| {
            let state: Option<String> = c
                .query_row("SELECT state FROM groups WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            if state.as_deref() != Some("member") {
                return Ok(None);
            }
            let rows: Vec<(String, String)> = c
                .prepare(
                    "SELECT m.user, coalesce(k.card, m.card) FROM group_members m
                     LEFT JOIN contacts k ON k.user = m.user
                     WHERE m.group_id = ?1 AND m.user <> ?2 AND NOT coalesce(k.frozen, 0)
                     ORDER BY m.user",
                )?
                .query_map(params![id, me], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(Some(
                rows.into_iter()
                    .filter_map(|(_, card)| Card::from_json(card.as_bytes()).ok())
                    .collect(),
            ))
        })
    }

    /// Whether this user may send to the group now; the error says why not.
    pub fn group_sendable(&self, id: &str) -> StoreResult<Result<(), GroupError>> {
        self.with(|c| {
            let row: Option<(String, String)> = c
                .query_row("SELECT state, name FROM groups WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            Ok(match row {
                None => Err(GroupError::Unknown(id.to_owned())),
                Some((state, _)) if state == "member" => Ok(()),
                Some((_, name)) => Err(GroupError::NotAMember(name)),
            })
        })
    }
}

/// A change `group.*` asks for.
pub enum GroupChange {
    /// An admin's edit; `add_users` are contacts to add (their cards are
    /// looked up in the transaction).
    Edit(AdminEdit),
    /// Leaving the group.
    Leave,
}

/// An admin's edit before the cards of added users are known.
#[derive(Default)]
pub struct AdminEdit {
    /// Contacts to add.
    pub add_users: Vec<String>,
    /// Everything else.
    pub edit: Edit,
}

fn contact_card(tx: &Transaction<'_>, user: &str) -> StoreResult<Option<Card>> {
    let card: Option<String> = tx
        .query_row("SELECT card FROM contacts WHERE user = ?1", [user], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(card.and_then(|c| Card::from_json(c.as_bytes()).ok()))
}
