//! A group's roster and the rules a change must follow (docs/PROTOCOL.md §9).
//!
//! A roster is the whole membership at one version: the group's id and name,
//! its admins, and its members with their cards. It travels as JSON text
//! inside a `roster` payload and is identified by the hash of exactly that
//! text, so nobody has to agree on a canonical encoding. A change is a new
//! roster naming its parent's hash; [`check_change`] decides whether it may
//! follow that parent.

use std::collections::BTreeMap;

use ipc_schema::envelope::{is_valid_message_id, is_valid_username};
use ipc_schema::envelope_v2::MAX_RECIPIENTS;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::{Card, transition};

/// Largest roster JSON text: 1,000 members with 4096-bit cards, with room.
pub use ipc_schema::envelope::MAX_ROSTER_TEXT;
/// Longest group name, in bytes of UTF-8.
pub const MAX_NAME: usize = 64;
/// Domain separator of a roster's hash.
const HASH_DOMAIN: &[u8] = b"chat-roster-v1\0";

/// A roster's identity: SHA-256 over its exact text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RosterHash(pub [u8; 32]);

impl RosterHash {
    /// `SHA-256("chat-roster-v1\0" || text)`.
    pub fn of(text: &[u8]) -> RosterHash {
        let mut h = Sha256::new();
        h.update(HASH_DOMAIN);
        h.update(text);
        RosterHash(h.finalize().into())
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        ipc_schema::fingerprint::to_hex(&self.0)
    }

    /// Parses 64 lowercase hex digits.
    pub fn parse(hex: &str) -> Option<RosterHash> {
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(RosterHash(out))
    }
}

/// One member as the roster names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member's card (its `user` is the member's name).
    pub card: Card,
    /// The roster version at which the member joined; the longest-standing
    /// member has the smallest.
    pub since: u64,
}

/// A parsed, well-formed roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roster {
    /// Group id, 32 lowercase hex digits (128 random bits).
    pub group: String,
    /// Display name (hostile text: sanitize before showing).
    pub name: String,
    /// 0 for the roster that created the group, parent's + 1 after.
    pub version: u64,
    /// The parent roster's hash; `None` for the first.
    pub parent: Option<RosterHash>,
    /// Who made this roster (the envelope's sender must be this user).
    pub author: String,
    /// Admins, a non-empty subset of the members.
    pub admins: Vec<String>,
    /// Members by username.
    pub members: BTreeMap<String, Member>,
    /// In a change that only moves its author to new keys: the author's key
    /// transition (docs/PROTOCOL.md §13.1), whose card replaces theirs.
    pub transition: Option<String>,
}

/// Why a roster or a change was refused. Dropped and counted; never sent back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    /// Not a roster of the documented shape.
    #[error("malformed roster: {0}")]
    Malformed(&'static str),
    /// The envelope's sender is not the roster's author.
    #[error("roster sent by someone other than its author")]
    NotTheAuthor,
    /// The change does not follow its parent (group, version).
    #[error("roster does not follow its parent")]
    NotAChild,
    /// The author was no admin in the parent, and this is not their leave.
    #[error("roster change by a non-admin")]
    NotAnAdmin,
    /// A member kept from the parent changed card or join version.
    #[error("roster changes a kept member's card or join version")]
    MemberRewritten,
    /// A first roster that is not a valid start of a group.
    #[error("invalid first roster")]
    BadGenesis,
    /// A change carrying a key transition that does not check against the
    /// author's card in the parent, or that changes more than that card.
    #[error("roster key change does not check: {0}")]
    BadKeyChange(&'static str),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireMember {
    user: String,
    card: serde_json::Value,
    since: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRoster {
    v: u32,
    group: String,
    name: String,
    version: u64,
    parent: Option<String>,
    author: String,
    admins: Vec<String>,
    members: Vec<WireMember>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    transition: Option<String>,
}

/// True for a usable group name: 1 to 64 bytes, no control characters.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && !name.chars().any(char::is_control)
}

fn strictly_increasing<'a>(names: impl Iterator<Item = &'a str>) -> bool {
    let mut last: Option<&str> = None;
    for n in names {
        if last.is_some_and(|l| l >= n) {
            return false;
        }
        last = Some(n);
    }
    true
}

impl Roster {
    /// Parses roster text strictly (§9.2): caps first, exact members, valid
    /// cards whose user is the member's name, sorted unique lists, admins
    /// among the members.
    pub fn parse(text: &[u8]) -> Result<Roster, RosterError> {
        use RosterError::Malformed as M;
        if text.len() > MAX_ROSTER_TEXT {
            return Err(M("over the size cap"));
        }
        let w: WireRoster = serde_json::from_slice(text).map_err(|_| M("not roster JSON"))?;
        if w.v != 1 {
            return Err(M("unknown roster version"));
        }
        if !is_valid_message_id(&w.group) {
            return Err(M("group id is not 32 lowercase hex digits"));
        }
        if !is_valid_name(&w.name) {
            return Err(M("invalid name"));
        }
        if !is_valid_username(&w.author) {
            return Err(M("invalid author"));
        }
        let parent = match &w.parent {
            None => None,
            Some(h) => Some(RosterHash::parse(h).ok_or(M("parent is not 64 hex digits"))?),
        };
        if w.members.is_empty() || w.members.len() > MAX_RECIPIENTS + 1 {
            return Err(M("not 1 to 1,001 members"));
        }
        if !strictly_increasing(w.members.iter().map(|m| m.user.as_str())) {
            return Err(M("members not in strictly increasing order"));
        }
        if w.admins.is_empty() || !strictly_increasing(w.admins.iter().map(String::as_str)) {
            return Err(M("admins empty or not in strictly increasing order"));
        }
        let mut members = BTreeMap::new();
        for m in w.members {
            let card = Card::from_value(&m.card).map_err(|_| M("invalid card"))?;
            if card.user() != m.user {
                return Err(M("a card names another user"));
            }
            if m.since > w.version {
                return Err(M("a member joined after this version"));
            }
            members.insert(
                m.user,
                Member {
                    card,
                    since: m.since,
                },
            );
        }
        if !w.admins.iter().all(|a| members.contains_key(a)) {
            return Err(M("an admin is not a member"));
        }
        Ok(Roster {
            group: w.group,
            name: w.name,
            version: w.version,
            parent,
            author: w.author,
            admins: w.admins,
            members,
            transition: w.transition,
        })
    }

    /// The roster's JSON text, members and admins in order. The text is what
    /// is hashed and sent; a reader keeps the text it received.
    pub fn to_text(&self) -> String {
        let w = WireRoster {
            v: 1,
            group: self.group.clone(),
            name: self.name.clone(),
            version: self.version,
            parent: self.parent.map(|h| h.to_hex()),
            author: self.author.clone(),
            admins: self.admins.clone(),
            members: self
                .members
                .iter()
                .map(|(user, m)| WireMember {
                    user: user.clone(),
                    card: m.card.to_value(),
                    since: m.since,
                })
                .collect(),
            transition: self.transition.clone(),
        };
        serde_json::to_string(&w).expect("rosters serialize")
    }

    /// True when `user` is an admin.
    pub fn is_admin(&self, user: &str) -> bool {
        self.admins
            .binary_search_by(|a| a.as_str().cmp(user))
            .is_ok()
    }

    /// True when `user` is a member.
    pub fn is_member(&self, user: &str) -> bool {
        self.members.contains_key(user)
    }

    /// The first roster of a new group: `author` is its only admin; every
    /// member joins at version 0.
    pub fn genesis(group: &str, name: &str, author: &Card, others: &[Card]) -> Roster {
        let mut members = BTreeMap::new();
        for card in std::iter::once(author).chain(others) {
            members.insert(
                card.user().to_owned(),
                Member {
                    card: card.clone(),
                    since: 0,
                },
            );
        }
        Roster {
            group: group.to_owned(),
            name: name.to_owned(),
            version: 0,
            parent: None,
            author: author.user().to_owned(),
            admins: vec![author.user().to_owned()],
            members,
            transition: None,
        }
    }

    /// A draft child of this roster (hash `own`) by `author`: same
    /// membership, next version. Edit it, then [`Roster::settle`] it.
    pub fn child(&self, own: RosterHash, author: &str) -> Roster {
        Roster {
            version: self.version + 1,
            parent: Some(own),
            author: author.to_owned(),
            transition: None,
            ..self.clone()
        }
    }

    /// Keeps the admins sorted, among the members, and never empty: when no
    /// admin is left, the longest-standing member (smallest `since`, then
    /// smallest name) becomes one, by the same rule on every member.
    pub fn settle(mut self) -> Roster {
        self.admins.retain(|a| self.members.contains_key(a));
        self.admins.sort();
        self.admins.dedup();
        if self.admins.is_empty()
            && let Some((user, _)) = self
                .members
                .iter()
                .min_by(|a, b| (a.1.since, a.0).cmp(&(b.1.since, b.0)))
        {
            self.admins.push(user.clone());
        }
        self
    }

    /// The roster after member `user` moved to the keys of `transition`
    /// (its text, checked by the caller, and its card): what a key change
    /// must be exactly (§9.3).
    pub fn key_change(&self, own: RosterHash, user: &str, transition: &str, card: &Card) -> Roster {
        let mut next = self.child(own, user);
        if let Some(m) = next.members.get_mut(user) {
            m.card = card.clone();
        }
        next.transition = Some(transition.to_owned());
        next
    }

    /// The roster after `user` leaves this one (hash `own`): what a leave
    /// change must be exactly.
    pub fn leave(&self, own: RosterHash, user: &str) -> Roster {
        let mut next = self.child(own, user);
        next.members.remove(user);
        next.admins.retain(|a| a != user);
        next.settle()
    }
}

/// Checks a first roster received from `sender` (§9.3).
pub fn check_genesis(roster: &Roster, sender: &str) -> Result<(), RosterError> {
    if roster.author != sender {
        return Err(RosterError::NotTheAuthor);
    }
    if roster.parent.is_some()
        || roster.transition.is_some()
        || roster.version != 0
        || roster.admins != [roster.author.clone()]
        || roster.members.values().any(|m| m.since != 0)
    {
        return Err(RosterError::BadGenesis);
    }
    Ok(())
}

/// Checks that `child`, received from `sender`, may follow `parent` (whose
/// hash is `parent_hash`), in the order of §9.3.
pub fn check_change(
    parent: &Roster,
    parent_hash: RosterHash,
    child: &Roster,
    sender: &str,
) -> Result<(), RosterError> {
    if child.author != sender {
        return Err(RosterError::NotTheAuthor);
    }
    if child.parent != Some(parent_hash)
        || child.group != parent.group
        || child.version != parent.version + 1
    {
        return Err(RosterError::NotAChild);
    }
    if let Some(text) = &child.transition {
        // Any member may move itself to new keys, and change nothing else.
        let own = parent
            .members
            .get(&child.author)
            .ok_or(RosterError::BadKeyChange("the author is not a member"))?;
        let t = transition::check(text.as_bytes(), &child.author, &own.card)
            .map_err(|e| RosterError::BadKeyChange(e.name()))?;
        return if *child == parent.key_change(parent_hash, &child.author, text, &t.card) {
            Ok(())
        } else {
            Err(RosterError::BadKeyChange(
                "changes more than the author's card",
            ))
        };
    }
    if !parent.is_admin(&child.author) {
        // Anyone may leave; nobody else may change anything.
        return if parent.is_member(&child.author)
            && *child == parent.leave(parent_hash, &child.author)
        {
            Ok(())
        } else {
            Err(RosterError::NotAnAdmin)
        };
    }
    for (user, m) in &child.members {
        match parent.members.get(user) {
            Some(old) if old != m => return Err(RosterError::MemberRewritten),
            None if m.since != child.version => return Err(RosterError::MemberRewritten),
            _ => {}
        }
    }
    Ok(())
}

/// What one change did, so that a change that lost a fork can be made again
/// on top of the winner (§9.4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Edit {
    /// Members added, with their cards.
    pub add: Vec<Card>,
    /// Members removed.
    pub remove: Vec<String>,
    /// Members made admin.
    pub promote: Vec<String>,
    /// Admins made members.
    pub demote: Vec<String>,
    /// New name.
    pub rename: Option<String>,
}

impl Edit {
    /// The edit that turns `parent` into `child`.
    pub fn between(parent: &Roster, child: &Roster) -> Edit {
        Edit {
            add: child
                .members
                .iter()
                .filter(|(u, _)| !parent.is_member(u))
                .map(|(_, m)| m.card.clone())
                .collect(),
            remove: parent
                .members
                .keys()
                .filter(|u| !child.is_member(u))
                .cloned()
                .collect(),
            promote: child
                .admins
                .iter()
                .filter(|a| !parent.is_admin(a))
                .cloned()
                .collect(),
            demote: parent
                .admins
                .iter()
                .filter(|a| child.is_member(a) && !child.is_admin(a))
                .cloned()
                .collect(),
            rename: (child.name != parent.name).then(|| child.name.clone()),
        }
    }

    /// Applies the edit to a child draft of `base` by `author`. Adding
    /// someone already there, removing someone absent and the like are no-ops.
    pub fn apply(&self, base: &Roster, base_hash: RosterHash, author: &str) -> Roster {
        let mut next = base.child(base_hash, author);
        for card in &self.add {
            next.members
                .entry(card.user().to_owned())
                .or_insert_with(|| Member {
                    card: card.clone(),
                    since: next.version,
                });
        }
        for user in &self.remove {
            next.members.remove(user);
        }
        next.admins.extend(self.promote.iter().cloned());
        next.admins.retain(|a| !self.demote.contains(a));
        if let Some(name) = &self.rename {
            next.name = name.clone();
        }
        next.settle()
    }

    /// True when the edit changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Edit::default()
    }
}
