//! Calendar times for people: the one conversion from a timestamp (ms since
//! the Unix epoch) to a local date and time that chat-ctl and chat-tui share.
#![warn(missing_docs)]

/// A date and time of day, to the minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// E.g. 2026.
    pub year: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
    /// 0–23.
    pub hour: u32,
    /// 0–59.
    pub minute: u32,
}

impl Civil {
    /// `(year, month, day)`, to compare days.
    pub fn date(&self) -> (i64, u32, u32) {
        (self.year, self.month, self.day)
    }

    /// `HH:MM`.
    pub fn hh_mm(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }

    /// `YYYY-MM-DD HH:MM`.
    pub fn date_time(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }
}

/// Where times are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeZone {
    /// The system's zone (`TZ`, `/etc/localtime`), with daylight saving.
    Local,
    /// A fixed offset east of UTC in seconds (tests; `Fixed(0)` is UTC).
    Fixed(i32),
}

impl TimeZone {
    /// The calendar time of `ts_ms` in this zone.
    pub fn civil(self, ts_ms: u64) -> Civil {
        let secs = i64::try_from(ts_ms / 1000).unwrap_or(i64::MAX / 2);
        let offset = match self {
            TimeZone::Fixed(off) => i64::from(off),
            TimeZone::Local => local_offset(secs),
        };
        let t = secs.saturating_add(offset);
        let (year, month, day) = civil_from_days(t.div_euclid(86_400));
        let rem = t.rem_euclid(86_400);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
        }
    }
}

/// The local zone's offset from UTC at `secs`, from the C library.
#[cfg(unix)]
fn local_offset(secs: i64) -> i64 {
    // time_t is 64 bits on every target chat builds for.
    let t = secs as libc::time_t;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: both pointers are valid for the call; localtime_r is the
    // thread-safe variant and fills `tm` completely when it returns non-null.
    unsafe {
        if libc::localtime_r(&t, tm.as_mut_ptr()).is_null() {
            return 0;
        }
        tm.assume_init().tm_gmtoff
    }
}

#[cfg(not(unix))]
fn local_offset(_secs: i64) -> i64 {
    0
}

/// (year, month, day) of a count of days since 1970-01-01, by Howard
/// Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_times_in_fixed_zones() {
        // 2026-11-25 14:05:00 UTC
        let ts = 1_795_615_500_000;
        let utc = TimeZone::Fixed(0).civil(ts);
        assert_eq!(utc.date_time(), "2026-11-25 14:05");
        assert_eq!(TimeZone::Fixed(3600).civil(ts).hh_mm(), "15:05");
        assert_eq!(TimeZone::Fixed(-15 * 3600).civil(ts).date(), (2026, 11, 24));
        assert_eq!(TimeZone::Fixed(0).civil(0).date_time(), "1970-01-01 00:00");
        // Leap day, and the far future a hostile clock may claim.
        assert_eq!(
            TimeZone::Fixed(0).civil(951_782_400_000).date(),
            (2000, 2, 29)
        );
        let far = TimeZone::Fixed(0).civil(u64::MAX);
        assert!(far.year > 2026);
        let local = TimeZone::Local.civil(ts);
        assert!((1..=12).contains(&local.month));
    }
}
