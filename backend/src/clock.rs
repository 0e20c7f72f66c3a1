//! Times as the users read them: stored times are UTC milliseconds, shown in Europe/Amsterdam
//! (DESIGN flow 7).

use time::{Date, OffsetDateTime};

pub const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");
const DATE_TIME: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
const DATE_TIME_SECONDS: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// A stored time in Dutch local time.
pub fn amsterdam(ms: i64) -> OffsetDateTime {
    use time_tz::{timezones, OffsetDateTimeExt};
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_timezone(timezones::db::europe::AMSTERDAM)
}

/// A date as a Dutch reader writes it: `06-04-1991` (pages; ISO stays for filters and exports).
const DUTCH_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[day]-[month]-[year]");

pub fn dutch_date(ms: i64) -> String {
    amsterdam(ms).format(DUTCH_DATE).unwrap_or_default()
}

const DUTCH_DATE_TIME: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[day]-[month]-[year] [hour]:[minute]");

/// `06-04-1991 14:05`, Amsterdam time: how pages show a moment.
pub fn dutch_date_time(ms: i64) -> String {
    amsterdam(ms).format(DUTCH_DATE_TIME).unwrap_or_default()
}

pub fn local_date(ms: i64) -> String {
    amsterdam(ms).format(DATE).unwrap_or_default()
}

pub fn local_date_time(ms: i64) -> String {
    amsterdam(ms).format(DATE_TIME).unwrap_or_default()
}

pub fn local_date_time_seconds(ms: i64) -> String {
    amsterdam(ms).format(DATE_TIME_SECONDS).unwrap_or_default()
}

/// `YYYY-MM-DD`, nothing else.
pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, DATE).ok()
}

pub fn today() -> Date {
    amsterdam(super::store::now_ms()).date()
}

/// The first millisecond of a local calendar day (UTC milliseconds).
pub fn start_of_local_day(date: Date) -> i64 {
    use time_tz::{timezones, PrimitiveDateTimeExt};
    let local = date
        .midnight()
        .assume_timezone(timezones::db::europe::AMSTERDAM)
        .take_first()
        .unwrap_or_else(|| date.midnight().assume_utc());
    (local.unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_show_amsterdam_time_on_both_sides_of_a_dst_change() {
        // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST (01:00 UTC).
        assert_eq!(dutch_date_time(1_774_745_940_000), "29-03-2026 01:59"); // 00:59 UTC
        assert_eq!(dutch_date_time(1_774_746_000_000), "29-03-2026 03:00"); // 01:00 UTC
                                                                            // 2026-10-25: back from 03:00 CEST to 02:00 CET (01:00 UTC).
        assert_eq!(dutch_date_time(1_792_889_940_000), "25-10-2026 02:59"); // 00:59 UTC
        assert_eq!(dutch_date_time(1_792_890_000_000), "25-10-2026 02:00"); // 01:00 UTC
                                                                            // Late in the evening UTC is already the next day in Amsterdam.
        assert_eq!(dutch_date(1_767_222_000_000), "01-01-2026"); // 2025-12-31T23:00Z
    }

    #[test]
    fn a_local_day_starts_at_local_midnight_in_winter_and_summer() {
        let winter = parse_date("2026-01-15").unwrap();
        assert_eq!(
            local_date_time(start_of_local_day(winter)),
            "2026-01-15 00:00"
        );
        assert_eq!(
            start_of_local_day(winter),
            1_768_431_600_000 // 2026-01-14T23:00:00Z
        );
        let summer = parse_date("2026-07-15").unwrap();
        assert_eq!(
            local_date_time(start_of_local_day(summer)),
            "2026-07-15 00:00"
        );
    }
}
