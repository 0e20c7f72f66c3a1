//! How numbers and dates read in Dutch (issue 14): `06-04-1991`, optionally `6 april 1991` beside
//! it, decimal comma (`37,1`) and a dot between thousands (`1.000`). Pure text, used by every page
//! on the server and in the browser; ISO dates stay only in form fields, filters and exports.

use time::Date;

const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// `06-04-1991`.
pub fn date(d: Date) -> String {
    format!("{:02}-{:02}-{:04}", d.day(), u8::from(d.month()), d.year())
}

/// `6 april 1991`: only ever shown in addition to [`date`].
pub fn date_long(d: Date) -> String {
    format!(
        "{} {} {}",
        d.day(),
        MONTHS[usize::from(u8::from(d.month())) - 1],
        d.year()
    )
}

/// An ISO date (`1991-04-06`) as `06-04-1991`; text that is not one stays as it is.
pub fn iso_date(text: &str) -> String {
    parse_iso(text).map(date).unwrap_or_else(|| text.to_owned())
}

/// `YYYY-MM-DD`, nothing else.
pub fn parse_iso(text: &str) -> Option<Date> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// A count with a dot between thousands: `1.000`, `12.345.678`, `-1.200`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// A value as a source sent it, with a decimal comma when it is a plain number (`37.1` ->
/// `37,1`). Anything else (text, `118/76`, a value that already has a comma) stays as sent.
pub fn value(text: &str) -> String {
    match number(text) {
        Some(_) if text.contains('.') => text.replacen('.', ",", 1),
        _ => text.to_owned(),
    }
}

/// A plain decimal number as sources send it: `37.1`, `37,1`, `-2`, `3450`. Not `1.000`
/// (ambiguous), not `118/76`, not `7e3`.
pub fn number(text: &str) -> Option<f64> {
    let t = text.trim();
    let body = t.strip_prefix('-').unwrap_or(t);
    let separators = body.chars().filter(|c| matches!(c, '.' | ',')).count();
    let well_formed = !body.is_empty()
        && separators <= 1
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        && body.starts_with(|c: char| c.is_ascii_digit())
        && body.ends_with(|c: char| c.is_ascii_digit());
    well_formed
        .then(|| t.replace(',', ".").parse().ok())
        .flatten()
}

/// A number for a chart axis or table: at most `decimals` decimals, decimal comma.
pub fn decimal(n: f64, decimals: usize) -> String {
    let text = format!("{n:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    text.replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_read_day_month_year_with_leading_zeros() {
        assert_eq!(date(date!(1991 - 04 - 06)), "06-04-1991");
        assert_eq!(date_long(date!(1991 - 04 - 06)), "6 april 1991");
        assert_eq!(date_long(date!(2026 - 12 - 31)), "31 december 2026");
        assert_eq!(iso_date("2026-01-02"), "02-01-2026");
        assert_eq!(iso_date("onbekend"), "onbekend");
        assert_eq!(parse_iso("2026-02-30"), None);
        assert_eq!(parse_iso("2026-2-3"), None);
    }

    #[test]
    fn counts_get_a_dot_between_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1.000");
        assert_eq!(count(12_345_678), "12.345.678");
        assert_eq!(count(-1200), "-1.200");
    }

    #[test]
    fn plain_numbers_get_a_decimal_comma_and_text_stays() {
        assert_eq!(value("37.1"), "37,1");
        assert_eq!(value("7.4"), "7,4");
        assert_eq!(value("3450"), "3450");
        assert_eq!(value("118/76"), "118/76");
        assert_eq!(value("0,4 mg 1x per dag"), "0,4 mg 1x per dag");
        assert_eq!(value("v1.2.3"), "v1.2.3");
        assert_eq!(number("37,1"), Some(37.1));
        assert_eq!(number("-2"), Some(-2.0));
        assert_eq!(number("1.000.000"), None);
        assert_eq!(number("."), None);
        assert_eq!(number("7e3"), None);
        assert_eq!(decimal(7.26, 1), "7,3");
        assert_eq!(decimal(3450.0, 1), "3450");
        assert_eq!(decimal(37.10, 2), "37,1");
    }
}
