//! Text from peers and from the relay is hostile: one sanitizer for every
//! place it reaches a terminal or a notification (chat-ctl's human output,
//! chat-tui, chatd's desktop notifications).
//!
//! The rule, the same everywhere: every character that can drive a terminal
//! or reorder what is shown is replaced by a visible stand-in, never passed
//! through and never silently dropped.
//!
//! - C0 controls other than newline and tab (ESC, CR, BEL, …) become their
//!   Control Pictures (`␛`, `␍`, `␇`, …), and DEL becomes `␡`;
//! - C1 controls (U+0080–U+009F, where CSI and OSC have one-byte forms),
//!   the bidirectional controls (U+061C, U+200E, U+200F, the embeddings and
//!   overrides U+202A–U+202E, the isolates U+2066–U+2069) and the invisible
//!   U+200B, U+2060 and U+FEFF become U+FFFD `�`.
//!
//! Kept: newline and tab, ZWNJ (U+200C) and ZWJ (U+200D), which emoji
//! sequences and several scripts need, and variation selectors.
//! `--json` output is not sanitized: JSON escaping already makes it exact
//! and safe.

use std::borrow::Cow;

/// Shown instead of a C1 control, a bidi control or an invisible character.
pub const REPLACEMENT: char = '\u{fffd}';

/// What `c` is shown as, when it must not be shown as itself.
fn stand_in(c: char) -> Option<char> {
    match c {
        '\n' | '\t' => None,
        '\0'..='\u{1f}' => char::from_u32(0x2400 + c as u32),
        '\u{7f}' => Some('\u{2421}'),
        '\u{80}'..='\u{9f}'
        | '\u{061c}'
        | '\u{200b}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}' => Some(REPLACEMENT),
        _ => None,
    }
}

/// `text` made safe for a terminal or a notification (see the module docs);
/// borrowed when nothing needed replacing.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    match text.char_indices().find(|&(_, c)| stand_in(c).is_some()) {
        None => Cow::Borrowed(text),
        Some((first, _)) => {
            let mut out = String::with_capacity(text.len() + 8);
            out.push_str(&text[..first]);
            out.extend(text[first..].chars().map(|c| stand_in(c).unwrap_or(c)));
            Cow::Owned(out)
        }
    }
}

/// True when [`sanitize`] would leave `text` unchanged.
pub fn is_clean(text: &str) -> bool {
    !text.chars().any(|c| stand_in(c).is_some())
}

/// `text` sanitized and with `&`, `<` and `>` escaped, for notification
/// servers that render a subset of HTML in the body (KDE, dunst, mako).
pub fn notification_body(text: &str) -> String {
    let clean = sanitize(text);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary.
pub fn cut_at_char(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A size as people read it, in SI units: `512 B`, `2.3 MB`, `1.0 GB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_become_visible_and_inert() {
        // OSC 52 (clipboard), OSC 8 (hidden link), CSI 2J (clear screen).
        let osc52 = "\x1b]52;c;cm0gLXJmIH4=\x07";
        assert_eq!(sanitize(osc52), "␛]52;c;cm0gLXJmIH4=␇");
        let osc8 = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\";
        assert!(!sanitize(osc8).contains('\x1b'));
        assert_eq!(sanitize("a\x1b[2Jb\rc"), "a␛[2Jb␍c");
        // The one-byte C1 forms of CSI and OSC, and DEL.
        assert_eq!(
            sanitize("\u{9b}2J\u{9d}0;x\u{7f}"),
            "\u{fffd}2J\u{fffd}0;x␡"
        );
        assert_eq!(sanitize("\0"), "␀");
    }

    #[test]
    fn bidi_controls_and_invisibles_are_replaced_but_joiners_stay() {
        assert_eq!(sanitize("abc\u{202e}gnp.exe"), "abc\u{fffd}gnp.exe");
        for c in [
            '\u{202a}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{061c}', '\u{200b}', '\u{feff}',
        ] {
            assert_eq!(
                sanitize(&format!("x{c}y")),
                "x\u{fffd}y",
                "{:04x}",
                c as u32
            );
        }
        // Family emoji (ZWJ sequence), Persian with ZWNJ, a variation selector.
        for kept in [
            "👨\u{200d}👩\u{200d}👧",
            "می\u{200c}خواهم",
            "❤\u{fe0f}",
            "日本語",
            "a\tb\nc",
        ] {
            assert!(matches!(sanitize(kept), Cow::Borrowed(_)), "{kept}");
            assert!(is_clean(kept));
        }
    }

    #[test]
    fn notification_bodies_escape_markup() {
        assert_eq!(
            notification_body("<a href=\"x\">hi</a> & \x1b[1m"),
            "&lt;a href=\"x\"&gt;hi&lt;/a&gt; &amp; ␛[1m"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(2_300_000), "2.3 MB");
        assert_eq!(human_size(104_857_600), "104.9 MB");
        assert_eq!(human_size(999_999), "1.0 MB");
        assert_eq!(human_size(5_000_000_000), "5.0 GB");
    }

    #[test]
    fn cuts_never_split_a_character() {
        assert_eq!(cut_at_char("héllo", 2), "h");
        assert_eq!(cut_at_char("héllo", 3), "hé");
        assert_eq!(cut_at_char("hi", 10), "hi");
    }
}
