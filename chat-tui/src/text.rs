//! Text helpers shared by `update` and `draw`: wrapping by display width and local times.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Replaces control characters (except newlines) so a peer cannot drive the terminal.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => '\n',
            '\t' => ' ',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// Wraps `text` into rows at most `width` columns wide: at spaces when it can,
/// inside a word when a word is wider than a row; `\n` starts a new row. A wide
/// character (CJK, emoji) is never split across rows.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
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
    if text.width() <= width {
        return text.to_owned();
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

/// How times are shown: the machine's local zone, or a fixed offset (tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeZone {
    /// The local zone, with its daylight-saving rules (via `localtime_r`).
    Local,
    /// A fixed offset from UTC in seconds.
    Fixed(i32),
}

/// A point in civil time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
}

impl TimeZone {
    fn offset_secs(self, secs: i64) -> i64 {
        match self {
            TimeZone::Fixed(off) => i64::from(off),
            TimeZone::Local => local_offset(secs),
        }
    }

    /// The civil time of `ts_ms` (ms since the epoch) in this zone.
    pub fn civil(self, ts_ms: u64) -> Civil {
        let secs = (ts_ms / 1000) as i64;
        let t = secs + self.offset_secs(secs);
        let days = t.div_euclid(86_400);
        let rem = t.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
        }
    }

    /// `HH:MM` of `ts_ms`.
    pub fn hh_mm(self, ts_ms: u64) -> String {
        let c = self.civil(ts_ms);
        format!("{:02}:{:02}", c.hour, c.minute)
    }

    /// `HH:MM` when `ts_ms` is on the same day as `now_ms`, else `MM-DD`.
    pub fn short(self, ts_ms: u64, now_ms: u64) -> String {
        let (c, n) = (self.civil(ts_ms), self.civil(now_ms));
        if (c.year, c.month, c.day) == (n.year, n.month, n.day) {
            format!("{:02}:{:02}", c.hour, c.minute)
        } else if c.year == n.year {
            format!("{:02}-{:02}", c.month, c.day)
        } else {
            format!("{}", c.year)
        }
    }
}

#[cfg(unix)]
fn local_offset(secs: i64) -> i64 {
    let t = secs as libc::time_t;
    // SAFETY: `localtime_r` only writes into the `tm` we own.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            0
        } else {
            tm.tm_gmtoff
        }
    }
}

#[cfg(not(unix))]
fn local_offset(_secs: i64) -> i64 {
    0
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
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
    fn civil_times_in_a_fixed_zone() {
        // 2026-11-25 14:05:00 UTC
        let ts = 1_795_615_500_000;
        assert_eq!(TimeZone::Fixed(0).hh_mm(ts), "14:05");
        assert_eq!(TimeZone::Fixed(3600).hh_mm(ts), "15:05");
        assert_eq!(TimeZone::Fixed(0).short(ts, ts + 60_000), "14:05");
        assert_eq!(TimeZone::Fixed(0).short(ts, ts + 86_400_000), "11-25");
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(sanitize("a\x1b[2Jb\nc\td"), "a\u{fffd}[2Jb\nc d");
    }
}
