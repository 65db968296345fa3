//! `chat-ctl contact list` and `contact add`.

use std::fmt::Write as _;

use ipc_schema::fingerprint;
use ipc_schema::methods::Contact;

fn verified_label(verified: bool) -> &'static str {
    if verified {
        "✓ verified"
    } else {
        "unverified"
    }
}

/// A fingerprint grouped on one line (as chatd sends it, normalized).
fn one_line(fp: &str) -> String {
    fingerprint::normalize(fp).unwrap_or_else(|| fp.to_owned())
}

/// `contact list` for humans: name, verified or not, fingerprint.
pub fn contacts_human(contacts: &[Contact]) -> String {
    if contacts.is_empty() {
        return "no contacts yet (chat-ctl contact add FILE)".to_owned();
    }
    let w = contacts
        .iter()
        .map(|c| c.user.chars().count())
        .max()
        .unwrap_or(0);
    contacts
        .iter()
        .map(|c| {
            let mut line = format!(
                "{:<w$}  {:<10}  {}",
                c.user,
                verified_label(c.verified),
                one_line(&c.fingerprint)
            );
            if c.rotated {
                line.push_str("  (continued by signed rotation: verify the new fingerprint)");
            }
            if c.dropped > 0 {
                let _ = write!(line, "  {} dropped", c.dropped);
            }
            line.push('\n');
            if let (true, Some(other)) = (c.frozen, &c.pending_fingerprint) {
                let _ = writeln!(
                    line,
                    "{:<w$}  FROZEN: two different rotations came from {}'s previous key; someone else may hold it.\n\
                     {:<w$}  nothing is sent or opened ({} message(s) wait) until you accept one, after comparing with {}:\n\
                     {:<w$}    chat-ctl contact accept-key {} --fingerprint {}\n\
                     {:<w$}    chat-ctl contact accept-key {} --fingerprint {}",
                    "",
                    c.user,
                    "",
                    c.quarantined,
                    c.user,
                    "",
                    c.user,
                    one_line(&c.fingerprint).replace(' ', ""),
                    "",
                    c.user,
                    one_line(other).replace(' ', ""),
                );
            } else if let Some(new) = &c.pending_fingerprint {
                let _ = writeln!(
                    line,
                    "{:<w$}  KEY CHANGED: the relay now has {}; {} message(s) wait.\n{:<w$}  compare it with {}, then: chat-ctl contact accept-key {} --fingerprint {} (or refuse-key)",
                    "",
                    one_line(new),
                    c.quarantined,
                    "",
                    c.user,
                    c.user,
                    one_line(new).replace(' ', ""),
                );
            } else if c.quarantined > 0 {
                let _ = writeln!(
                    line,
                    "{:<w$}  {} message(s) did not verify with the pinned key; checking the relay's directory",
                    "", c.quarantined
                );
            }
            line
        })
        .collect()
}

/// What `contact add` says: the new contact, its fingerprint, and how to verify it.
pub fn contact_added_human(c: &Contact) -> String {
    let mut out = format!("added {} ({})\n", c.user, verified_label(c.verified));
    for line in fingerprint::lines(&c.fingerprint) {
        let _ = writeln!(out, "  {line}");
    }
    if !c.verified {
        let _ = writeln!(
            out,
            "compare it with {} in person, then: chat-ctl contact verify {} '{}'",
            c.user,
            c.user,
            one_line(&c.fingerprint)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::samples::{FP, T0};
    use super::*;

    #[test]
    fn contacts_show_grouped_fingerprints() {
        let contacts = vec![
            Contact {
                user: "bob".into(),
                fingerprint: FP.into(),
                verified: true,
                added_at: T0,
                pending_fingerprint: None,
                quarantined: 0,
                dropped: 0,
                rotated: false,
                frozen: false,
            },
            Contact {
                user: "carol".into(),
                fingerprint: FP.replace(' ', ""),
                verified: false,
                added_at: T0,
                pending_fingerprint: None,
                quarantined: 0,
                dropped: 0,
                rotated: false,
                frozen: false,
            },
        ];
        assert_eq!(
            contacts_human(&contacts),
            format!("bob    ✓ verified  {FP}\ncarol  unverified  {FP}\n")
        );
        let added = contact_added_human(&contacts[1]);
        assert!(
            added.starts_with("added carol (unverified)\n  c7e1"),
            "{added}"
        );
        assert!(added.contains(&format!("chat-ctl contact verify carol '{FP}'")));
    }

    #[test]
    fn a_changed_or_rotated_key_and_lost_messages_are_said() {
        let bob = Contact {
            user: "bob".into(),
            fingerprint: FP.into(),
            verified: true,
            added_at: T0,
            pending_fingerprint: Some(FP.replace("c7e1", "0000")),
            quarantined: 3,
            dropped: 2,
            rotated: true,
            frozen: false,
        };
        let text = contacts_human(&[bob]);
        assert!(text.contains("continued by signed rotation"), "{text}");
        assert!(text.contains("2 dropped"), "{text}");
        assert!(text.contains("KEY CHANGED"), "{text}");
        assert!(text.contains("3 message(s) wait"), "{text}");
        assert!(
            text.contains("chat-ctl contact accept-key bob --fingerprint 0000"),
            "{text}"
        );
    }

    #[test]
    fn a_frozen_contact_shows_both_fingerprints_to_choose_from() {
        let other = FP.replace("c7e1", "0000");
        let carol = Contact {
            user: "carol".into(),
            fingerprint: FP.into(),
            verified: false,
            added_at: T0,
            pending_fingerprint: Some(other.clone()),
            quarantined: 2,
            dropped: 0,
            rotated: true,
            frozen: true,
        };
        let text = contacts_human(&[carol]);
        assert!(text.contains("FROZEN"), "{text}");
        assert!(!text.contains("KEY CHANGED"), "{text}");
        assert!(text.contains("2 message(s) wait"), "{text}");
        for fp in [FP, other.as_str()] {
            let choice = format!(
                "chat-ctl contact accept-key carol --fingerprint {}",
                fp.replace(' ', "")
            );
            assert!(text.contains(&choice), "{text}");
        }
    }
}
