//! Fingerprints as people type and read them. chatd computes them
//! (`chatd::crypto::Fingerprint`); this is the one parser and the one
//! layout that chatd, chat-ctl and chat-tui share.
#![warn(missing_docs)]

/// Characters people put between hex digits: ignored when parsing.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, ':' | '-')
}

/// The 32 bytes of a fingerprint typed as 64 hex digits, in any case, with
/// any spaces, tabs, colons or dashes between them; `None` otherwise.
pub fn parse(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut n = 0usize;
    for c in text.chars().filter(|c| !is_separator(*c)) {
        let digit = c.to_digit(16)? as u8;
        let byte = out.get_mut(n / 2)?;
        *byte = (*byte << 4) | digit;
        n += 1;
    }
    (n == 64).then_some(out)
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// 16 groups of 4 lowercase hex digits separated by spaces.
pub fn grouped(bytes: &[u8; 32]) -> String {
    let hex = to_hex(bytes);
    let groups: Vec<&str> = (0..16).map(|i| &hex[i * 4..i * 4 + 4]).collect();
    groups.join(" ")
}

/// Any accepted form of a fingerprint, grouped; `None` if `text` is not one.
pub fn normalize(text: &str) -> Option<String> {
    parse(text).map(|b| grouped(&b))
}

/// A fingerprint as two lines of 8 groups, which is how people read them
/// aloud; anything that is not a fingerprint comes back as one line.
pub fn lines(text: &str) -> Vec<String> {
    match normalize(text) {
        Some(g) => vec![g[..39].to_owned(), g[40..].to_owned()],
        None => vec![text.to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn every_spelling_people_use_parses_to_the_same_bytes() {
        let want = parse(HEX).unwrap();
        assert_eq!(to_hex(&want), HEX);
        let grouped = grouped(&want);
        assert_eq!(&grouped[..14], "0123 4567 89ab");
        for spelling in [
            grouped.clone(),
            HEX.to_uppercase(),
            grouped.replace(' ', ":"),
            grouped.replace(' ', "-"),
            grouped.replace(' ', "\t"),
            format!("  {grouped}\n"),
        ] {
            assert_eq!(parse(&spelling), Some(want), "{spelling:?}");
        }
        for bad in [
            "",
            &HEX[1..],
            &format!("{HEX}0"),
            &HEX.replace('a', "g"),
            &HEX.replace('0', "٠"),
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn two_lines_of_eight_groups() {
        let l = lines(HEX);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0], "0123 4567 89ab cdef 0123 4567 89ab cdef");
        assert_eq!(l[1], l[0]);
        assert_eq!(lines("not one"), vec!["not one".to_owned()]);
    }
}
