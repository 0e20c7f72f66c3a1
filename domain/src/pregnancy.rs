//! Pregnancy arithmetic shown to clinicians: gestational age and age in years.

use time::{Date, Duration};

/// Gestational age on `today` for a pregnancy due on `edd` (term = 40+0 weeks), as
/// `(weeks, days)`; `None` before conception or more than 45 weeks on.
pub fn gestational_age(edd: Date, today: Date) -> Option<(i64, i64)> {
    let conception_reference = edd - Duration::days(280);
    let days = (today - conception_reference).whole_days();
    (0..=45 * 7).contains(&days).then_some((days / 7, days % 7))
}

/// Whole years between `birth` and `today`.
pub fn age_in_years(birth: Date, today: Date) -> i32 {
    let mut years = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    years
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn gestational_age_counts_from_forty_weeks_before_the_due_date() {
        assert_eq!(
            gestational_age(date!(2027 - 01 - 01), date!(2027 - 01 - 01)),
            Some((40, 0))
        );
        assert_eq!(
            gestational_age(date!(2027 - 01 - 01), date!(2026 - 12 - 29)),
            Some((39, 4))
        );
        assert_eq!(
            gestational_age(date!(2027 - 01 - 01), date!(2026 - 01 - 01)),
            None
        );
    }

    #[test]
    fn age_changes_on_the_birthday() {
        assert_eq!(
            age_in_years(date!(1990 - 05 - 01), date!(2026 - 04 - 30)),
            35
        );
        assert_eq!(
            age_in_years(date!(1990 - 05 - 01), date!(2026 - 05 - 01)),
            36
        );
    }
}
