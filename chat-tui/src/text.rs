//! Text helpers shared by the layout and `draw`: making text safe to draw,
//! wrapping and cutting it by display width, and chat-tui's time formats.
//!
//! Names, bodies, previews, failure reasons and error messages come from
//! peers, the relay or chatd. [`wrap`] and [`truncate`], which lay out
//! nearly everything drawn, make their input [`drawable`] first; the few
//! places that draw text otherwise call [`drawable`] themselves.

use std::borrow::Cow;

use ipc_schema::text::sanitize;
use ipc_schema::time::TimeZone;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `text` as it may be drawn: escape sequences, other controls and bidi
/// overrides replaced by visible stand-ins (`ipc_schema::text::sanitize`,
/// docs/IPC.md §9), and tabs as spaces, since a cell holds one column.
pub fn drawable(text: &str) -> Cow<'_, str> {
    match sanitize(text) {
        clean if clean.contains('\t') => Cow::Owned(clean.replace('\t', " ")),
        clean => clean,
    }
}

/// Wraps `text` into rows at most `width` columns wide: at spaces when it can,
/// inside a word when a word is wider than a row; `\n` starts a new row. A wide
/// character (CJK, emoji) is never split across rows.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let text = drawable(text);
    let width = width.max(1);
    let mut rows = Vec::new();
    for paragraph in text.split('\n') {
        let mut row = String::new();
        let mut row_w = 0;
        for word in paragraph.split(' ') {
            let word_w = word.width();
            let sep = usize::from(!row.is_empty() || row_w > 0);
            if row_w + sep + word_w <= width {
                if sep == 1 {
                    row.push(' ');
                }
                row.push_str(word);
                row_w += sep + word_w;
                continue;
            }
            if word_w <= width {
                rows.push(std::mem::take(&mut row));
                row.push_str(word);
                row_w = word_w;
                continue;
            }
            // A word wider than a row: fill the current row, then break by character.
            if row_w > 0 && row_w < width {
                row.push(' ');
                row_w += 1;
            } else if row_w > 0 {
                rows.push(std::mem::take(&mut row));
                row_w = 0;
            }
            for c in word.chars() {
                let w = c.width().unwrap_or(0);
                if row_w + w > width {
                    rows.push(std::mem::take(&mut row));
                    row_w = 0;
                }
                row.push(c);
                row_w += w;
            }
        }
        rows.push(row);
    }
    rows
}

/// Cuts `text` to at most `width` columns, ending in `…` when it was cut.
pub fn truncate(text: &str, width: usize) -> String {
    let text = drawable(text);
    if text.width() <= width {
        return text.into_owned();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in text.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// A conversation's time in the list: `HH:MM` on the day of `now_ms`, `MM-DD`
/// earlier that year, else the year (chat-tui's own choice; the conversion
/// is ipc-schema's).
pub fn list_time(tz: TimeZone, ts_ms: u64, now_ms: u64) -> String {
    let (c, n) = (tz.civil(ts_ms), tz.civil(now_ms));
    if c.date() == n.date() {
        c.hh_mm()
    } else if c.year == n.year {
        format!("{:02}-{:02}", c.month, c.day)
    } else {
        format!("{}", c.year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_inside_long_words() {
        assert_eq!(wrap("hello world foo", 11), vec!["hello world", "foo"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\n\nb", 5), vec!["a", "", "b"]);
        assert_eq!(wrap("", 5), vec![""]);
    }

    #[test]
    fn wide_characters_are_never_split_and_rows_fit() {
        let rows = wrap("日本語のテキスト 🎉🎉🎉 done", 5);
        for row in &rows {
            assert!(row.width() <= 5, "{row:?} in {rows:?}");
        }
        assert_eq!(rows.concat().replace(' ', ""), "日本語のテキスト🎉🎉🎉done");
    }

    #[test]
    fn truncates_with_an_ellipsis() {
        assert_eq!(truncate("hello", 5), "hello");
        assert_eq!(truncate("hello world", 6), "hello…");
        assert_eq!(truncate("日本語", 4), "日…");
    }

    #[test]
    fn list_times_are_the_time_today_the_day_this_year_else_the_year() {
        // 2026-11-25 14:05:00 UTC
        let ts = 1_795_615_500_000;
        let utc = TimeZone::Fixed(0);
        assert_eq!(list_time(utc, ts, ts + 60_000), "14:05");
        assert_eq!(list_time(TimeZone::Fixed(3600), ts, ts + 60_000), "15:05");
        assert_eq!(list_time(utc, ts, ts + 86_400_000), "11-25");
        assert_eq!(list_time(utc, ts, ts + 400 * 86_400_000), "2026");
    }

    #[test]
    fn what_is_laid_out_is_drawable() {
        assert_eq!(drawable("a\x1b[2Jb\nc\td\u{202e}"), "a␛[2Jb\nc d\u{fffd}");
        assert_eq!(wrap("a\x1b]52;c;x\x07 b", 20), vec!["a␛]52;c;x␇ b"]);
        assert_eq!(truncate("\u{9b}2J\tx", 10), "\u{fffd}2J x");
        assert!(matches!(drawable("plain"), Cow::Borrowed(_)));
    }
}
