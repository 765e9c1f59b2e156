//! Wall-clock time for the emulator, formatted the way IBM's APIs format it.
//!
//! No date crate: the emulator only ever needs "now" as epoch seconds/milliseconds and as
//! ISO-8601 UTC (`2026-01-05T10:00:00.000Z`); the calendar is `model::Date`'s.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    milli: u64,
}

fn parts(epoch_ms: u64) -> Parts {
    let secs = epoch_ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    // The model's calendar; days before year 1 or after 9999 cannot come from a u64 clock.
    let date =
        crate::model::Date::from_days_since_epoch(days).unwrap_or(crate::model::Date::UNIX_EPOCH);
    let (year, month, day) = (
        i64::from(date.year()),
        u32::from(date.month()),
        u32::from(date.day()),
    );
    let rem = secs % 86_400;
    Parts {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
        milli: epoch_ms % 1000,
    }
}

/// ISO-8601 UTC with milliseconds, as in IBM's Access Groups responses.
pub fn iso(epoch_ms: u64) -> String {
    crate::model::format_timestamp_ms(epoch_ms)
}

/// An ISO-8601 timestamp without its fraction of a second (`…T10:00:00.123Z` →
/// `…T10:00:00Z`), as IBM writes verbose member listings; other text is kept as is.
pub fn whole_seconds(timestamp: &str) -> String {
    if let Some(body) = timestamp.strip_suffix('Z')
        && let Some((seconds, fraction)) = body.rsplit_once('.')
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && seconds.contains('T')
    {
        return format!("{seconds}Z");
    }
    timestamp.to_string()
}

/// The token service's own time format in error contexts: `30.05.2025 15:46:38:151 UTC`.
pub fn iam_context(epoch_ms: u64) -> String {
    let p = parts(epoch_ms);
    format!(
        "{:02}.{:02}.{:04} {:02}:{:02}:{:02}:{:03} UTC",
        p.day, p.month, p.year, p.hour, p.minute, p.second, p.milli
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T23:59:59.123Z: a leap day, end of day.
        assert_eq!(iso(1_709_251_199_123), "2024-02-29T23:59:59.123Z");
        assert_eq!(iso(1_767_607_200_000), "2026-01-05T10:00:00.000Z");
        assert_eq!(
            iam_context(1_748_619_998_151),
            "30.05.2025 15:46:38:151 UTC"
        );
    }

    #[test]
    fn whole_seconds_drops_only_a_fraction() {
        assert_eq!(
            whole_seconds("2024-02-29T23:59:59.123Z"),
            "2024-02-29T23:59:59Z"
        );
        assert_eq!(
            whole_seconds("2021-10-20T00:30:59Z"),
            "2021-10-20T00:30:59Z"
        );
        assert_eq!(whole_seconds("yesterday.5Z"), "yesterday.5Z");
        assert_eq!(whole_seconds(""), "");
    }
}
