//! Timestamps on the wire (RFC 3339, UTC, milliseconds) and the time bounds filters accept.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, TimeZone, Utc,
};
use std::fmt;

/// Formats a timestamp the way the API always does: `2026-11-21T09:14:03.120Z`.
pub fn format_ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 timestamp in any offset and returns it in UTC, cut to milliseconds.
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    Some(from_millis(t.timestamp_millis()))
}

/// Milliseconds since the Unix epoch: how the store keeps time.
pub fn to_millis(t: &DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The inverse of [`to_millis`]; out-of-range values clamp to the epoch.
pub fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// One end of a time range as the user wrote it, kept so a filter formats back exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeBound {
    /// An instant (`2026-11-21T09:14:03Z`, `2026-11-01T08:00Z`).
    Instant(DateTime<Utc>),
    /// A whole day: `from` means its start, `to` its end.
    Date(NaiveDate),
    /// An age before now: `15m`, `2h`, `7d`, `4w` (kept with its unit for formatting).
    Ago { amount: u32, unit: char },
    /// `today` or `yesterday`: a day relative to now.
    DayWord(DayWord),
}

/// The years a timestamp can be written in (RFC 3339 has four digits).
const RFC3339_YEARS: std::ops::RangeInclusive<i32> = 0..=9999;

/// The named days a time bound accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayWord {
    Today,
    Yesterday,
}

impl TimeBound {
    /// Parses every form API.md and TUI.md accept; `None` when it is none of them.
    pub fn parse(s: &str) -> Option<TimeBound> {
        let s = s.trim();
        match s.to_ascii_lowercase().as_str() {
            "today" => return Some(TimeBound::DayWord(DayWord::Today)),
            "yesterday" => return Some(TimeBound::DayWord(DayWord::Yesterday)),
            "now" => {
                return Some(TimeBound::Ago {
                    amount: 0,
                    unit: 'm',
                });
            }
            _ => {}
        }
        if let Some(unit) = s.chars().last().filter(|c| "smhdw".contains(*c)) {
            let digits = &s[..s.len() - 1];
            if !digits.is_empty() && digits.len() <= 6 && digits.bytes().all(|b| b.is_ascii_digit())
            {
                let amount = digits.parse().ok()?;
                // No time ago is `now` whatever the unit, so `0d` formats and parses back as
                // the same bound (found by the query_language fuzz target).
                let unit = if amount == 0 { 'm' } else { unit };
                return Some(TimeBound::Ago { amount, unit });
            }
        }
        // Years outside 0000–9999 have no RFC 3339 form, so they could not be formatted and
        // parsed back (found by the query_language fuzz target: `from:-025-11-200:04`).
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
            && RFC3339_YEARS.contains(&d.year())
        {
            return Some(TimeBound::Date(d));
        }
        if let Some(t) = parse_ts(s) {
            return Some(TimeBound::Instant(t));
        }
        // Minutes-only forms people type: 2026-11-01T08:00Z, 2026-11-01 08:00.
        let trimmed = s.trim_end_matches(['Z', 'z']);
        for fmt in [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
        ] {
            if let Ok(t) = NaiveDateTime::parse_from_str(trimmed, fmt)
                && RFC3339_YEARS.contains(&t.year())
            {
                // Through milliseconds, as parse_ts does: a leap second (`09:00:60`) becomes the
                // next minute here rather than after a round trip (found by the fuzz target).
                let t = Utc.from_utc_datetime(&t).timestamp_millis();
                return Some(TimeBound::Instant(from_millis(t)));
            }
        }
        None
    }

    /// Resolves the bound against `now`: the start of a day for `from`, its end for `to`.
    pub fn resolve(&self, now: DateTime<Utc>, is_end: bool) -> DateTime<Utc> {
        let day_bound = |d: NaiveDate| {
            let start = Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN));
            if is_end {
                start + Duration::days(1) - Duration::milliseconds(1)
            } else {
                start
            }
        };
        match self {
            TimeBound::Instant(t) => *t,
            TimeBound::Date(d) => day_bound(*d),
            TimeBound::DayWord(DayWord::Today) => day_bound(now.date_naive()),
            TimeBound::DayWord(DayWord::Yesterday) => {
                day_bound(now.date_naive() - Duration::days(1))
            }
            TimeBound::Ago { amount, unit } => {
                let n = i64::from(*amount);
                let age = match unit {
                    's' => Duration::seconds(n),
                    'm' => Duration::minutes(n),
                    'h' => Duration::hours(n),
                    'd' => Duration::days(n),
                    _ => Duration::weeks(n),
                };
                from_millis(to_millis(&(now - age)))
            }
        }
    }
}

impl fmt::Display for TimeBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeBound::Instant(t) => f.write_str(&format_ts(t)),
            TimeBound::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            TimeBound::Ago { amount: 0, .. } => f.write_str("now"),
            TimeBound::Ago { amount, unit } => write!(f, "{amount}{unit}"),
            TimeBound::DayWord(DayWord::Today) => f.write_str("today"),
            TimeBound::DayWord(DayWord::Yesterday) => f.write_str("yesterday"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let now = parse_ts("2026-11-21T12:00:00Z").unwrap();
        let r = |s: &str, end| TimeBound::parse(s).unwrap().resolve(now, end);
        assert_eq!(format_ts(&r("7d", false)), "2026-11-14T12:00:00.000Z");
        assert_eq!(
            format_ts(&r("2026-11-01", false)),
            "2026-11-01T00:00:00.000Z"
        );
        assert_eq!(
            format_ts(&r("2026-11-01", true)),
            "2026-11-01T23:59:59.999Z"
        );
        assert_eq!(
            format_ts(&r("2026-11-01T08:00Z", false)),
            "2026-11-01T08:00:00.000Z"
        );
        assert_eq!(format_ts(&r("yesterday", true)), "2026-11-20T23:59:59.999Z");
        assert_eq!(
            format_ts(&r("2026-11-21T10:00:00+02:00", false)),
            "2026-11-21T08:00:00.000Z"
        );
        assert!(TimeBound::parse("last tuesday").is_none());
        assert!(TimeBound::parse("2026-13-01").is_none());
    }
}
