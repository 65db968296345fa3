//! What one member knows of a group's history of rosters, and the one roster
//! it follows (docs/PROTOCOL.md §9.4).
//!
//! Every accepted roster is kept with the hash of its text. The current
//! roster is found by walking from the anchor. Where two or more accepted
//! changes name the same parent (a fork), each one's own winning branch is
//! found first; a change loses if its author lost, on another branch, the
//! right it used (an admin removed or demoted there, a leaver removed
//! there); of those left, the lowest hash wins. When every one lost (admins
//! removing each other), the longest-standing author wins. The choice depends only on
//! the set of accepted rosters, so two members who accepted the same ones
//! follow the same roster, whatever order they arrived in. A change whose
//! parent is not known yet waits for it (bounded in number and time).

use std::collections::{BTreeSet, HashMap};

use super::roster::{Edit, Roster, RosterError, RosterHash, check_change, check_genesis};

/// Most changes one group keeps waiting for their parent.
pub const MAX_WAITING: usize = 64;
/// How long a change waits for its parent before it is dropped (ms).
pub const WAIT_MS: u64 = 10 * 60 * 1000;

/// An accepted roster.
#[derive(Clone, Debug)]
struct Node {
    roster: Roster,
    text: String,
    sender: String,
    children: BTreeSet<RosterHash>,
}

/// A change whose parent is not known yet.
#[derive(Clone, Debug)]
struct Waiting {
    hash: RosterHash,
    roster: Roster,
    text: String,
    sender: String,
    since: u64,
}

/// What [`GroupLog::offer`] did with a roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offered {
    /// Accepted, with every waiting change it let in (hashes, in order).
    Accepted(Vec<RosterHash>),
    /// Already known.
    Duplicate,
    /// Its parent is not known yet; it waits.
    Waiting,
}

/// One group's rosters, as one member knows them.
#[derive(Clone, Debug)]
pub struct GroupLog {
    nodes: HashMap<RosterHash, Node>,
    anchor: RosterHash,
    waiting: Vec<Waiting>,
}

impl GroupLog {
    /// A log that starts at a group's first roster, received from `sender`
    /// (or made by this member).
    pub fn start(text: &str, sender: &str) -> Result<GroupLog, RosterError> {
        let roster = Roster::parse(text.as_bytes())?;
        check_genesis(&roster, sender)?;
        let hash = RosterHash::of(text.as_bytes());
        Ok(GroupLog::anchored_at(hash, roster, text, sender))
    }

    /// A log resumed from the store: its first roster was checked when it
    /// was stored (as a first roster, or as the anchor of a join).
    pub fn resume(text: &str, sender: &str) -> Result<GroupLog, RosterError> {
        let roster = Roster::parse(text.as_bytes())?;
        let hash = RosterHash::of(text.as_bytes());
        Ok(GroupLog::anchored_at(hash, roster, text, sender))
    }

    /// The first roster this member knows, with its text.
    pub fn anchor(&self) -> (RosterHash, &str) {
        (self.anchor, &self.nodes[&self.anchor].text)
    }

    /// Who sent a known roster ("" for an anchor nobody sent).
    pub fn sender(&self, hash: &RosterHash) -> Option<&str> {
        self.nodes.get(hash).map(|n| n.sender.as_str())
    }

    /// A log for a member added by `change` (from `sender`), anchored on the
    /// change's parent as the adding admin vouches for it: a new member
    /// cannot check what happened before it joined, and trusts the admin
    /// who added it, as it trusts the creator of a group.
    pub fn joined(
        parent_text: &str,
        change_text: &str,
        sender: &str,
        me: &str,
    ) -> Result<GroupLog, RosterError> {
        let parent = Roster::parse(parent_text.as_bytes())?;
        let change = Roster::parse(change_text.as_bytes())?;
        let parent_hash = RosterHash::of(parent_text.as_bytes());
        check_change(&parent, parent_hash, &change, sender)?;
        if parent.is_member(me) || !change.is_member(me) {
            return Err(RosterError::Malformed(
                "the change does not add this member",
            ));
        }
        let mut log = GroupLog::anchored_at(parent_hash, parent, parent_text, &parent_sender());
        log.offer(change_text, sender, 0)?;
        Ok(log)
    }

    fn anchored_at(hash: RosterHash, roster: Roster, text: &str, sender: &str) -> GroupLog {
        let node = Node {
            roster,
            text: text.to_owned(),
            sender: sender.to_owned(),
            children: BTreeSet::new(),
        };
        GroupLog {
            nodes: HashMap::from([(hash, node)]),
            anchor: hash,
            waiting: Vec::new(),
        }
    }

    /// The group id.
    pub fn group(&self) -> &str {
        &self.nodes[&self.anchor].roster.group
    }

    /// Offers a roster received from `sender` at `now` (ms).
    pub fn offer(&mut self, text: &str, sender: &str, now: u64) -> Result<Offered, RosterError> {
        let hash = RosterHash::of(text.as_bytes());
        if self.nodes.contains_key(&hash) || self.waiting.iter().any(|w| w.hash == hash) {
            return Ok(Offered::Duplicate);
        }
        let roster = Roster::parse(text.as_bytes())?;
        if roster.group != self.group() || roster.author != sender {
            return Err(if roster.author != sender {
                RosterError::NotTheAuthor
            } else {
                RosterError::NotAChild
            });
        }
        let Some(parent_hash) = roster.parent else {
            // A second first roster for a group that already has one.
            return Err(RosterError::NotAChild);
        };
        if !self.nodes.contains_key(&parent_hash) {
            if self.waiting.len() >= MAX_WAITING {
                self.waiting.remove(0);
            }
            self.waiting.push(Waiting {
                hash,
                roster,
                text: text.to_owned(),
                sender: sender.to_owned(),
                since: now,
            });
            return Ok(Offered::Waiting);
        }
        self.accept(hash, roster, text, sender)?;
        let mut accepted = vec![hash];
        // Changes that waited for this one (and for those they let in).
        while let Some(pos) = self
            .waiting
            .iter()
            .position(|w| w.roster.parent.is_some_and(|p| self.nodes.contains_key(&p)))
        {
            let w = self.waiting.remove(pos);
            if self.accept(w.hash, w.roster, &w.text, &w.sender).is_ok() {
                accepted.push(w.hash);
            }
        }
        Ok(Offered::Accepted(accepted))
    }

    fn accept(
        &mut self,
        hash: RosterHash,
        roster: Roster,
        text: &str,
        sender: &str,
    ) -> Result<(), RosterError> {
        let parent_hash = roster.parent.expect("changes have a parent");
        let parent = &self.nodes[&parent_hash];
        check_change(&parent.roster, parent_hash, &roster, sender)?;
        self.nodes
            .get_mut(&parent_hash)
            .expect("checked above")
            .children
            .insert(hash);
        self.nodes.insert(
            hash,
            Node {
                roster,
                text: text.to_owned(),
                sender: sender.to_owned(),
                children: BTreeSet::new(),
            },
        );
        Ok(())
    }

    /// Drops changes that waited longer than [`WAIT_MS`]; returns how many.
    pub fn expire_waiting(&mut self, now: u64) -> usize {
        let before = self.waiting.len();
        self.waiting
            .retain(|w| now.saturating_sub(w.since) < WAIT_MS);
        before - self.waiting.len()
    }

    /// The winning chain from the anchor to the current roster.
    pub fn chain(&self) -> Vec<RosterHash> {
        self.walk(self.anchor)
    }

    /// The winning chain from `from` down. Straight runs are walked in a
    /// loop; only a fork recurses, into each of its branches.
    fn walk(&self, from: RosterHash) -> Vec<RosterHash> {
        let mut chain = vec![from];
        let mut at = from;
        loop {
            let children = &self.nodes[&at].children;
            match children.len() {
                0 => return chain,
                1 => {
                    at = *children.iter().next().expect("one child");
                    chain.push(at);
                }
                _ => {
                    let parent = &self.nodes[&at].roster;
                    let branches: Vec<Vec<RosterHash>> =
                        children.iter().map(|c| self.walk(*c)).collect();
                    let lost_right = |i: usize| {
                        let first = &self.nodes[&branches[i][0]].roster;
                        let author = &first.author;
                        // A key change, like a leave, needs only membership.
                        let as_admin = parent.is_admin(author) && first.transition.is_none();
                        branches.iter().enumerate().any(|(j, other)| {
                            j != i
                                && other.iter().any(|h| {
                                    let r = &self.nodes[h].roster;
                                    if as_admin {
                                        !r.is_admin(author)
                                    } else {
                                        !r.is_member(author)
                                    }
                                })
                        })
                    };
                    // Children are in hash order: the first eligible one is
                    // the lowest. If every one lost its right (admins
                    // removing each other), the longest-standing author
                    // wins (smallest `since` in the parent, then name),
                    // and only among one author's changes the hash: an
                    // author cannot grind a hash to win.
                    let pick = (0..branches.len())
                        .find(|&i| !lost_right(i))
                        .unwrap_or_else(|| {
                            (0..branches.len())
                                .min_by_key(|&i| {
                                    let author = &self.nodes[&branches[i][0]].roster.author;
                                    let since =
                                        parent.members.get(author).map_or(u64::MAX, |m| m.since);
                                    (since, author.clone(), i)
                                })
                                .expect("a fork has branches")
                        });
                    chain.extend(branches[pick].iter().copied());
                    return chain;
                }
            }
        }
    }

    /// The current roster and its hash.
    pub fn head(&self) -> (RosterHash, &Roster) {
        let hash = *self.chain().last().expect("a chain has its anchor");
        (hash, &self.nodes[&hash].roster)
    }

    /// A known roster's text.
    pub fn text(&self, hash: &RosterHash) -> Option<&str> {
        self.nodes.get(hash).map(|n| n.text.as_str())
    }

    /// A known roster.
    pub fn roster(&self, hash: &RosterHash) -> Option<&Roster> {
        self.nodes.get(hash).map(|n| &n.roster)
    }

    /// Changes still waiting for their parent.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// The change `me` must make again, if one of its changes lost a fork
    /// (§9.4): the change's edit applied on top of the current roster, when
    /// `me` is still an admin there (or the change was its leave) and has
    /// made no change on the winning chain since the fork.
    pub fn rebase_for(&self, me: &str) -> Option<Roster> {
        let chain = self.chain();
        let (head_hash, head) = self.head();
        for (i, at) in chain.iter().enumerate() {
            let node = &self.nodes[at];
            let winner = chain.get(i + 1);
            let lost = node
                .children
                .iter()
                .filter(|c| Some(*c) != winner)
                .find(|c| {
                    let child = &self.nodes[*c];
                    child.sender == me
                });
            let Some(lost) = lost else { continue };
            let moved_on = chain[i + 1..].iter().any(|h| self.nodes[h].sender == me);
            if moved_on {
                continue;
            }
            let lost = &self.nodes[lost].roster;
            if let Some(text) = &lost.transition {
                // A key change of mine lost: made again while the current
                // roster still has the card it moved from.
                let from = node.roster.members.get(me)?;
                let to = lost.members.get(me)?;
                return (head.members.get(me)?.card == from.card)
                    .then(|| head.key_change(head_hash, me, text, &to.card));
            }
            let edit = Edit::between(&node.roster, lost);
            let leaving = edit.remove == [me.to_owned()];
            if !head.is_member(me) || !(head.is_admin(me) || leaving) {
                return None;
            }
            let again = if leaving {
                head.leave(head_hash, me)
            } else {
                edit.apply(head, head_hash, me)
            };
            let changes = again.members != head.members
                || again.admins != head.admins
                || again.name != head.name;
            return changes.then_some(again);
        }
        None
    }
}

/// The sender recorded for an anchor this member did not receive from
/// anyone it could check (the parent of the change that added it).
fn parent_sender() -> String {
    String::new()
}
