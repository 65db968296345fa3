//! Group rosters (docs/PROTOCOL.md §9): who may change them, what a change
//! may change, and that members who saw the same changes follow the same
//! roster whatever order they arrived in.

mod common;

use chatd::crypto::Card;
use chatd::groups::log::{MAX_WAITING, WAIT_MS};
use chatd::groups::{Edit, GroupLog, Offered, Roster, RosterError, RosterHash};
use common::{identity, load_vectors};

const GROUP: &str = "0123456789abcdef0123456789abcdef";

/// A card for `user` (the vectors' alice keys under any name: rosters only
/// check that a card is valid and names its member).
fn card(user: &str) -> Card {
    let alice = identity(&load_vectors(), "alice");
    Card::from_der(user, alice.card().enc_der(), alice.card().sig_der()).unwrap()
}

fn cards(users: &[&str]) -> Vec<Card> {
    users.iter().map(|u| card(u)).collect()
}

/// A roster's text and hash.
fn sealed(r: &Roster) -> (String, RosterHash) {
    let text = r.to_text();
    let hash = RosterHash::of(text.as_bytes());
    (text, hash)
}

/// The first roster: alice creates the group with `others`; `admins` are
/// promoted in the genesis itself.
fn genesis(others: &[&str]) -> (Roster, String, RosterHash) {
    let r = Roster::genesis(GROUP, "ops", &card("alice"), &cards(others));
    let (text, hash) = sealed(&r);
    (r, text, hash)
}

/// `parent` (hash `ph`) changed by `author` with `edit`.
fn change(
    parent: &Roster,
    ph: RosterHash,
    author: &str,
    edit: Edit,
) -> (Roster, String, RosterHash) {
    let r = edit.apply(parent, ph, author);
    let (text, hash) = sealed(&r);
    (r, text, hash)
}

fn add(users: &[&str]) -> Edit {
    Edit {
        add: cards(users),
        ..Edit::default()
    }
}

fn remove(users: &[&str]) -> Edit {
    Edit {
        remove: users.iter().map(|u| u.to_string()).collect(),
        ..Edit::default()
    }
}

fn promote(users: &[&str]) -> Edit {
    Edit {
        promote: users.iter().map(|u| u.to_string()).collect(),
        ..Edit::default()
    }
}

fn members(r: &Roster) -> Vec<&str> {
    r.members.keys().map(String::as_str).collect()
}

/// A log for alice's group where bob is a second admin (v1), with carol.
fn two_admins() -> (GroupLog, Vec<(String, String)>, Roster, RosterHash) {
    let (g, gt, gh) = genesis(&["bob", "carol"]);
    let mut log = GroupLog::start(&gt, "alice").unwrap();
    let (r1, t1, h1) = change(&g, gh, "alice", promote(&["bob"]));
    assert_eq!(
        log.offer(&t1, "alice", 0).unwrap(),
        Offered::Accepted(vec![h1])
    );
    (
        log,
        vec![(gt, "alice".into()), (t1, "alice".into())],
        r1,
        h1,
    )
}

#[test]
fn a_roster_round_trips_and_is_named_by_the_hash_of_its_exact_text() {
    let (g, text, hash) = genesis(&["carol", "bob"]);
    assert_eq!(members(&g), ["alice", "bob", "carol"]);
    let parsed = Roster::parse(text.as_bytes()).unwrap();
    assert_eq!(parsed, g);
    assert_eq!(parsed.to_text(), text);
    assert_eq!(RosterHash::parse(&hash.to_hex()), Some(hash));
    // Another text of the same roster (spaces) is another roster.
    let spaced = text.replace(",\"version\"", ", \"version\"");
    assert_eq!(Roster::parse(spaced.as_bytes()).unwrap(), g);
    assert_ne!(RosterHash::of(spaced.as_bytes()), hash);
}

#[test]
fn only_an_admin_changes_a_roster_and_anyone_may_leave() {
    let (g, gt, gh) = genesis(&["bob", "carol"]);
    let mut log = GroupLog::start(&gt, "alice").unwrap();
    // bob is no admin: he cannot add dave, rename, or leave with extras.
    let (_, t, _) = change(&g, gh, "bob", add(&["dave"]));
    assert_eq!(log.offer(&t, "bob", 1), Err(RosterError::NotAnAdmin));
    let mut leave_and_rename = g.leave(gh, "bob");
    leave_and_rename.name = "mine".into();
    assert_eq!(
        log.offer(&leave_and_rename.to_text(), "bob", 1),
        Err(RosterError::NotAnAdmin)
    );
    // Someone else cannot send bob's leave.
    let (_, lt, lh) = sealed_leave(&g, gh, "bob");
    assert_eq!(log.offer(&lt, "carol", 1), Err(RosterError::NotTheAuthor));
    // bob's own exact leave is fine.
    assert_eq!(
        log.offer(&lt, "bob", 1).unwrap(),
        Offered::Accepted(vec![lh])
    );
    assert_eq!(members(log.head().1), ["alice", "carol"]);
    // A first roster must name its sender as author and only admin.
    assert_eq!(
        GroupLog::start(&gt, "bob").err(),
        Some(RosterError::NotTheAuthor)
    );
}

fn sealed_leave(r: &Roster, h: RosterHash, user: &str) -> (Roster, String, RosterHash) {
    let left = r.leave(h, user);
    let (text, hash) = sealed(&left);
    (left, text, hash)
}

#[test]
fn forged_rewritten_and_replayed_rosters_are_refused() {
    let (g, gt, gh) = genesis(&["bob", "carol"]);
    let mut log = GroupLog::start(&gt, "alice").unwrap();
    // A kept member's card swapped for another key.
    let bob = identity(&load_vectors(), "bob");
    let mut swapped = g.child(gh, "alice");
    swapped.members.get_mut("carol").unwrap().card =
        Card::from_der("carol", bob.card().enc_der(), bob.card().sig_der()).unwrap();
    assert_eq!(
        log.offer(&swapped.to_text(), "alice", 0),
        Err(RosterError::MemberRewritten)
    );
    // A new member claiming to be long-standing.
    let mut old_timer = add(&["dave"]).apply(&g, gh, "alice");
    old_timer.members.get_mut("dave").unwrap().since = 0;
    assert_eq!(
        log.offer(&old_timer.to_text(), "alice", 0),
        Err(RosterError::MemberRewritten)
    );
    // A member whose card names someone else.
    let text = add(&["dave"]).apply(&g, gh, "alice").to_text();
    let forged = text.replace(r#""user":"dave","v":1}"#, r#""user":"erin","v":1}"#);
    assert_ne!(forged, text);
    assert!(matches!(
        log.offer(&forged, "alice", 0),
        Err(RosterError::Malformed(_))
    ));
    // Skipping a version, or a second first roster for the group.
    let mut skip = add(&["dave"]).apply(&g, gh, "alice");
    skip.version += 1;
    assert!(log.offer(&skip.to_text(), "alice", 0).is_err());
    let (_, other_genesis, _) = {
        let r = Roster::genesis(GROUP, "other", &card("alice"), &cards(&["mallory"]));
        let (t, h) = sealed(&r);
        (r, t, h)
    };
    assert_eq!(
        log.offer(&other_genesis, "alice", 0),
        Err(RosterError::NotAChild)
    );
    // Replays change nothing.
    let (_, t1, h1) = change(&g, gh, "alice", add(&["dave"]));
    assert_eq!(
        log.offer(&t1, "alice", 0).unwrap(),
        Offered::Accepted(vec![h1])
    );
    assert_eq!(log.offer(&t1, "alice", 5).unwrap(), Offered::Duplicate);
    assert_eq!(log.offer(&gt, "alice", 5).unwrap(), Offered::Duplicate);
    assert_eq!(log.head().0, h1);
}

#[test]
fn the_last_admin_leaving_promotes_the_longest_standing_member() {
    let (g, gt, gh) = genesis(&["carol", "bob"]);
    let mut log = GroupLog::start(&gt, "alice").unwrap();
    let (r1, t1, h1) = change(&g, gh, "alice", add(&["aaron"]));
    log.offer(&t1, "alice", 0).unwrap();
    // aaron sorts first but joined later: bob (since 0, before carol) wins.
    let (left, lt, _) = sealed_leave(&r1, h1, "alice");
    assert_eq!(left.admins, ["bob"]);
    assert!(log.offer(&lt, "alice", 0).is_ok());
    assert_eq!(log.head().1.admins, ["bob"]);
    assert_eq!(members(log.head().1), ["aaron", "bob", "carol"]);
}

/// Every member's log, fed the same rosters in every given order, ends at
/// the same head; returns it.
fn converge(
    base: &[(String, String)],
    changes: &[(String, String)],
    orders: &[Vec<usize>],
) -> (RosterHash, Roster) {
    let mut heads = Vec::new();
    for order in orders {
        let mut log = GroupLog::start(&base[0].0, &base[0].1).unwrap();
        for (t, s) in &base[1..] {
            log.offer(t, s, 0).unwrap();
        }
        for &i in order {
            let (t, s) = &changes[i];
            log.offer(t, s, 0).unwrap();
        }
        let (h, r) = log.head();
        heads.push((h, r.clone()));
    }
    for h in &heads[1..] {
        assert_eq!(h.0, heads[0].0, "members disagree on the roster");
    }
    heads.remove(0)
}

#[test]
fn an_admin_removed_while_adding_someone_is_removed_whatever_the_order() {
    // The fork of the issue: alice removes bob while bob adds dave.
    let (_, base, r1, h1) = two_admins();
    let (_, ta, ha) = change(&r1, h1, "alice", remove(&["bob"]));
    let (_, tb, hb) = change(&r1, h1, "bob", add(&["dave"]));
    let changes = [(ta, "alice".to_owned()), (tb, "bob".to_owned())];
    let (head, roster) = converge(&base, &changes, &[vec![0, 1], vec![1, 0]]);
    // Removal wins over the removed admin's change, whichever hash is lower.
    assert_eq!(head, ha, "alice's removal wins (hashes: a {ha:?} b {hb:?})");
    assert_eq!(members(&roster), ["alice", "carol"]);
    // bob is no longer there to make his change again.
    let mut bobs = GroupLog::start(&base[0].0, "alice").unwrap();
    bobs.offer(&base[1].0, "alice", 0).unwrap();
    bobs.offer(&changes[1].0, "bob", 0).unwrap();
    bobs.offer(&changes[0].0, "alice", 0).unwrap();
    assert_eq!(bobs.rebase_for("bob"), None);
}

#[test]
fn of_two_concurrent_changes_the_lower_hash_wins_and_the_other_is_made_again() {
    let (_, base, r1, h1) = two_admins();
    let (_, ta, ha) = change(&r1, h1, "alice", add(&["dave"]));
    let (_, tb, hb) = change(
        &r1,
        h1,
        "bob",
        Edit {
            rename: Some("ops-2".into()),
            ..Edit::default()
        },
    );
    let changes = [(ta, "alice".to_owned()), (tb, "bob".to_owned())];
    let (head, _) = converge(&base, &changes, &[vec![0, 1], vec![1, 0]]);
    assert_eq!(head, ha.min(hb));
    let loser = if head == ha { "bob" } else { "alice" };
    // The loser makes its change again on top of the winner...
    let mut log = GroupLog::start(&base[0].0, "alice").unwrap();
    log.offer(&base[1].0, "alice", 0).unwrap();
    for (t, s) in &changes {
        log.offer(t, s, 0).unwrap();
    }
    let again = log
        .rebase_for(loser)
        .expect("the loser re-applies its change");
    let winner_only = if loser == "bob" { "alice" } else { "bob" };
    assert_eq!(log.rebase_for(winner_only), None);
    let text = again.to_text();
    log.offer(&text, loser, 0).unwrap();
    // ...and then both changes hold, and nothing is left to redo.
    let head = log.head().1;
    assert_eq!(members(head), ["alice", "bob", "carol", "dave"]);
    assert_eq!(head.name, "ops-2");
    assert_eq!(log.rebase_for(loser), None);
}

#[test]
fn a_removed_admin_cannot_undo_its_removal_by_forking_from_the_past() {
    let (log0, mut base, r1, h1) = two_admins();
    drop(log0);
    let (r2, t2, h2) = change(&r1, h1, "alice", add(&["erin"]));
    let (_, t3, h3) = change(&r2, h2, "alice", remove(&["bob"]));
    base.push((t2, "alice".into()));
    base.push((t3, "alice".into()));
    // bob, admin in r1 and r2, forks from both with many variants: some
    // have a lower hash than alice's changes at those points.
    let mut forks = Vec::new();
    let mut lower = 0;
    for i in 0..20 {
        let name = format!("mallory{i:02}");
        for (parent, ph, winner) in [(&r1, h1, h2), (&r2, h2, h3)] {
            let (_, t, h) = change(parent, ph, "bob", add(&[&name]));
            lower += usize::from(h < winner);
            forks.push((t, "bob".to_owned()));
        }
    }
    assert!(
        lower > 0,
        "some forks have a lower hash than the real change"
    );
    let n = forks.len();
    let (head, roster) = converge(&base, &forks, &[(0..n).collect(), (0..n).rev().collect()]);
    assert_eq!(head, h3);
    assert_eq!(members(&roster), ["alice", "carol", "erin"]);
}

#[test]
fn a_change_waits_for_its_parent_within_bounds() {
    let (g, gt, gh) = genesis(&["bob"]);
    let (r1, t1, h1) = change(&g, gh, "alice", add(&["carol"]));
    let (_, t2, h2) = change(&r1, h1, "alice", add(&["dave"]));
    let mut log = GroupLog::start(&gt, "alice").unwrap();
    assert_eq!(log.offer(&t2, "alice", 0).unwrap(), Offered::Waiting);
    assert_eq!(log.head().0, gh);
    assert_eq!(
        log.offer(&t1, "alice", 1).unwrap(),
        Offered::Accepted(vec![h1, h2])
    );
    assert_eq!(log.head().0, h2);

    // Orphans: at most MAX_WAITING wait, each at most WAIT_MS.
    let stranger = Roster::genesis(GROUP, "elsewhere", &card("alice"), &cards(&["zed"]));
    let (_, sh) = sealed(&stranger);
    for i in 0..MAX_WAITING + 5 {
        let orphan = add(&[&format!("user{i:03}")]).apply(&stranger, sh, "alice");
        assert_eq!(
            log.offer(&orphan.to_text(), "alice", i as u64).unwrap(),
            Offered::Waiting
        );
    }
    assert_eq!(log.waiting(), MAX_WAITING);
    // Kept: those offered at 5..=68; at WAIT_MS + 63 those up to 63 are too old.
    assert_eq!(log.expire_waiting(WAIT_MS + 63), MAX_WAITING - 5);
    assert_eq!(log.waiting(), 5);
}

#[test]
fn a_new_member_anchors_on_the_roster_the_admin_added_it_to() {
    let (g, gt, gh) = genesis(&["bob"]);
    let (_, t1, h1) = change(&g, gh, "alice", add(&["dave"]));
    let log = GroupLog::joined(&gt, &t1, "alice", "dave").unwrap();
    assert_eq!(log.head().0, h1);
    assert!(log.head().1.is_member("dave"));
    // Not a change that adds dave, or not by an admin: refused.
    assert!(GroupLog::joined(&gt, &t1, "alice", "erin").is_err());
    let (_, tb, _) = change(&g, gh, "bob", add(&["dave"]));
    assert_eq!(
        GroupLog::joined(&gt, &tb, "bob", "dave").err(),
        Some(RosterError::NotAnAdmin)
    );
}

#[test]
fn a_removed_admin_cannot_win_back_by_removing_its_remover_from_the_past() {
    // alice (creator, since 0) made bob admin; later she removes him. bob
    // answers from the roster before, removing or demoting alice, in many
    // spellings: both branches then lose a right, and seniority, not a
    // hash bob can grind, decides.
    let (_, mut base, r1, h1) = two_admins();
    let (r2, t2, h2) = change(&r1, h1, "alice", add(&["erin"]));
    let (_, t3, h3) = change(&r2, h2, "alice", remove(&["bob"]));
    base.push((t2, "alice".into()));
    base.push((t3, "alice".into()));
    let mut forks = Vec::new();
    for i in 0..20 {
        let mut edit = if i % 2 == 0 {
            remove(&["alice"])
        } else {
            Edit {
                demote: vec!["alice".into()],
                ..Edit::default()
            }
        };
        edit.rename = Some(format!("ours{i}"));
        let (_, t, _) = change(&r2, h2, "bob", edit);
        forks.push((t, "bob".to_owned()));
    }
    let n = forks.len();
    let (head, roster) = converge(&base, &forks, &[(0..n).collect(), (0..n).rev().collect()]);
    assert_eq!(head, h3);
    assert_eq!(members(&roster), ["alice", "carol", "erin"]);
}

/// carol's identity as the rosters name her (alice's vector keys), and the
/// one she rotates to (bob's vector keys), with the transition between.
fn carol_rotates() -> (chatd::crypto::Identity, chatd::crypto::Identity, String) {
    use chatd::crypto::Identity;
    let v = load_vectors();
    let der = |who: &str, field: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(v["keys"][who][field].as_str().unwrap())
            .unwrap()
    };
    let old = Identity::from_pkcs8(
        "carol",
        &der("alice", "enc_private_pkcs8"),
        &der("alice", "sig_private_pkcs8"),
    )
    .unwrap();
    let new = Identity::from_pkcs8(
        "carol",
        &der("bob", "enc_private_pkcs8"),
        &der("bob", "sig_private_pkcs8"),
    )
    .unwrap();
    let text = chatd::crypto::transition::make(&old, &new, 1, 1_764_000_000_000, &mut rand::rng())
        .unwrap();
    (old, new, text)
}

#[test]
fn a_member_moves_itself_to_new_keys_with_its_transition_and_nothing_else() {
    let (_, base, r1, h1) = two_admins();
    let (old, new, text) = carol_rotates();
    assert_eq!(r1.members["carol"].card, *old.card());
    let mut log = GroupLog::start(&base[0].0, "alice").unwrap();
    log.offer(&base[1].0, "alice", 0).unwrap();
    // carol is no admin, yet may change her own card with her transition.
    let moved = r1.key_change(h1, "carol", &text, new.card());
    let (mt, mh) = sealed(&moved);
    // The transition travels in the roster text and is read back.
    assert_eq!(Roster::parse(mt.as_bytes()).unwrap(), moved);
    // Not sent by carol: refused.
    assert_eq!(log.offer(&mt, "bob", 0), Err(RosterError::NotTheAuthor));
    // Something else changed too: refused.
    let mut greedy = moved.clone();
    greedy.name = "carol's".into();
    assert!(matches!(
        log.offer(&greedy.to_text(), "carol", 0),
        Err(RosterError::BadKeyChange(_))
    ));
    let mut promoted = moved.clone();
    promoted.admins.push("carol".into());
    assert!(matches!(
        log.offer(&promoted.to_text(), "carol", 0),
        Err(RosterError::BadKeyChange(_))
    ));
    // A card other than the transition's: refused.
    let mut other = moved.clone();
    other.members.get_mut("carol").unwrap().card = card("carol");
    assert!(matches!(
        log.offer(&other.to_text(), "carol", 0),
        Err(RosterError::BadKeyChange(_))
    ));
    // bob cannot move carol, nor himself with carol's transition.
    let as_bob = Card::from_der("bob", new.card().enc_der(), new.card().sig_der()).unwrap();
    let bobs = r1.key_change(h1, "bob", &text, &as_bob);
    assert_eq!(
        log.offer(&bobs.to_text(), "bob", 0),
        Err(RosterError::BadKeyChange("wrong_user"))
    );
    // A transition whose old key is not carol's card in the parent.
    let (_, _, again) = carol_rotates();
    let swapped = chatd::crypto::transition::make(&new, &old, 2, 1, &mut rand::rng()).unwrap();
    let back = r1.key_change(h1, "carol", &swapped, old.card());
    assert_eq!(
        log.offer(&back.to_text(), "carol", 0),
        Err(RosterError::BadKeyChange("not_pinned"))
    );
    // A tampered transition: refused.
    let tampered = again.replacen("\"counter\":1", "\"counter\":7", 1);
    let forged = r1.key_change(h1, "carol", &tampered, new.card());
    assert_eq!(
        log.offer(&forged.to_text(), "carol", 0),
        Err(RosterError::BadKeyChange("bad_signature"))
    );
    // The real one counts; the next change by an admin keeps the new card
    // and carries no transition.
    assert_eq!(
        log.offer(&mt, "carol", 0).unwrap(),
        Offered::Accepted(vec![mh])
    );
    assert_eq!(log.head().1.members["carol"].card, *new.card());
    let (r3, t3, h3) = change(&moved, mh, "alice", add(&["dave"]));
    assert_eq!(r3.transition, None);
    assert_eq!(r3.members["carol"].card, *new.card());
    assert_eq!(
        log.offer(&t3, "alice", 0).unwrap(),
        Offered::Accepted(vec![h3])
    );
    // An admin cannot put carol's old card back.
    let mut undo = r3.child(h3, "alice");
    undo.members.get_mut("carol").unwrap().card = old.card().clone();
    assert_eq!(
        log.offer(&undo.to_text(), "alice", 0),
        Err(RosterError::MemberRewritten)
    );
    // A first roster cannot carry a transition.
    let mut first = Roster::parse(base[0].0.as_bytes()).unwrap();
    first.transition = Some(text.clone());
    assert_eq!(
        GroupLog::start(&first.to_text(), "alice").err(),
        Some(RosterError::BadGenesis)
    );
}

#[test]
fn a_key_change_that_lost_a_fork_is_made_again_and_needs_only_membership() {
    let (_, base, r1, h1) = two_admins();
    let (_, new, text) = carol_rotates();
    let moved = r1.key_change(h1, "carol", &text, new.card());
    let (mt, mh) = sealed(&moved);
    // Concurrently alice renames the group.
    let (_, rt, rh) = change(
        &r1,
        h1,
        "alice",
        Edit {
            rename: Some("ops-2".into()),
            ..Edit::default()
        },
    );
    let changes = [(mt, "carol".to_owned()), (rt, "alice".to_owned())];
    let (head, _) = converge(&base, &changes, &[vec![0, 1], vec![1, 0]]);
    assert_eq!(
        head,
        mh.min(rh),
        "neither lost its right: the lower hash wins"
    );
    let mut log = GroupLog::start(&base[0].0, "alice").unwrap();
    log.offer(&base[1].0, "alice", 0).unwrap();
    for (t, s) in &changes {
        log.offer(t, s, 0).unwrap();
    }
    // Whoever lost makes it again, and then both hold.
    let loser = if head == mh { "alice" } else { "carol" };
    let again = log
        .rebase_for(loser)
        .expect("the loser makes its change again");
    if loser == "carol" {
        assert_eq!(again.transition.as_deref(), Some(text.as_str()));
    }
    log.offer(&again.to_text(), loser, 0).unwrap();
    let head = log.head().1;
    assert_eq!(head.name, "ops-2");
    assert_eq!(head.members["carol"].card, *new.card());
    assert_eq!(log.rebase_for("carol"), None);
    assert_eq!(log.rebase_for("alice"), None);

    // carol's key change against bob demoting... bob removing carol: the
    // removal wins, and there is nothing for carol to make again.
    let (_, xt, xh) = change(&r1, h1, "bob", remove(&["carol"]));
    let (mt, _) = sealed(&moved);
    let changes = [(mt, "carol".to_owned()), (xt, "bob".to_owned())];
    let (head, roster) = converge(&base, &changes, &[vec![0, 1], vec![1, 0]]);
    assert_eq!(head, xh, "a removal beats the removed member's key change");
    assert!(!roster.is_member("carol"));
}
