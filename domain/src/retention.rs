//! How long a source's shared copy of a client is kept (storage limitation, AVG art. 5; seed
//! 001). The copy is removed once its term has run and no access grant for the client is open.
//!
//! The term counts from the moment the copy stopped describing current care: the end of its
//! last pregnancy when every pregnancy in it has ended, and otherwise (no pregnancy, or one
//! still running) the copy's last update. A running pregnancy thus keeps the term from
//! starting until the source stops updating the copy.

use crate::share::ValidShare;
use crate::FieldError;
use time::{Date, Month};

/// The default term: the Wgbo term for the medical record the seeds cite (20 years).
pub const DEFAULT_YEARS: u16 = 20;
/// The longest term that can be configured.
pub const MAX_YEARS: u16 = 115;

/// A retention term in whole years (1 to [`MAX_YEARS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionTerm(u16);

impl Default for RetentionTerm {
    fn default() -> Self {
        Self(DEFAULT_YEARS)
    }
}

impl RetentionTerm {
    pub fn years(years: u16) -> Option<Self> {
        (1..=MAX_YEARS).contains(&years).then_some(Self(years))
    }

    pub fn as_years(self) -> u16 {
        self.0
    }

    /// The first day on which a copy whose term started on `start` is past its term: the same
    /// day `years` later (29 February counts to 28 February in a year without it).
    pub fn ends_on(self, start: Date) -> Date {
        let year = start.year() + i32::from(self.0);
        Date::from_calendar_date(year, start.month(), start.day())
            .or_else(|_| Date::from_calendar_date(year, Month::February, 28))
            .unwrap_or(Date::MAX)
    }

    /// Whether a copy whose term started on `start` is past its term on `today`.
    pub fn has_passed(self, start: Date, today: Date) -> bool {
        today >= self.ends_on(start)
    }
}

/// Where a copy's term starts: the end of its last pregnancy when every pregnancy has ended
/// (`ended_on` of each; `None` for a running one), otherwise its last update.
pub fn term_start(pregnancies_ended_on: &[Option<Date>], last_update: Date) -> Date {
    let ended: Option<Vec<Date>> = pregnancies_ended_on.iter().copied().collect();
    match ended.and_then(|dates| dates.into_iter().max()) {
        Some(last_end) => last_end,
        None => last_update,
    }
}

/// A share arriving on `today` whose term has already run: refused (422 "past retention"), so
/// a source's re-send cannot bring purged data back. The field is the pregnancy whose end
/// started the term.
pub fn past_term_on_arrival(
    share: &ValidShare,
    term: RetentionTerm,
    today: Date,
) -> Option<FieldError> {
    let ended: Vec<Option<Date>> = share.pregnancies.iter().map(|p| p.ended_on).collect();
    let start = term_start(&ended, today);
    if !term.has_passed(start, today) {
        return None;
    }
    let index = share
        .pregnancies
        .iter()
        .position(|p| p.ended_on == Some(start))
        .unwrap_or_default();
    Some(FieldError::new(
        format!("pregnancies[{index}].ended_on"),
        format!(
            "past retention: the term of {} years after this date has run",
            term.as_years()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_term_ends_on_the_anniversary_and_not_a_day_before() {
        let term = RetentionTerm::years(20).unwrap();
        assert_eq!(term.ends_on(date!(2006 - 03 - 15)), date!(2026 - 03 - 15));
        assert!(!term.has_passed(date!(2006 - 03 - 15), date!(2026 - 03 - 14)));
        assert!(term.has_passed(date!(2006 - 03 - 15), date!(2026 - 03 - 15)));
        assert_eq!(term.ends_on(date!(2004 - 02 - 29)), date!(2024 - 02 - 29));
        assert_eq!(
            RetentionTerm::years(1)
                .unwrap()
                .ends_on(date!(2024 - 02 - 29)),
            date!(2025 - 02 - 28)
        );
    }

    #[test]
    fn terms_are_bounded() {
        assert_eq!(RetentionTerm::years(0), None);
        assert_eq!(RetentionTerm::years(MAX_YEARS + 1), None);
        assert_eq!(RetentionTerm::default().as_years(), 20);
    }

    #[test]
    fn the_term_starts_at_the_last_end_only_when_every_pregnancy_ended() {
        let update = date!(2026 - 11 - 01);
        assert_eq!(term_start(&[], update), update);
        assert_eq!(
            term_start(
                &[Some(date!(2001 - 05 - 01)), Some(date!(2004 - 01 - 09))],
                update
            ),
            date!(2004 - 01 - 09)
        );
        assert_eq!(
            term_start(&[Some(date!(2001 - 05 - 01)), None], update),
            update
        );
    }

    #[test]
    fn a_share_whose_pregnancies_ended_a_term_ago_is_refused_on_arrival() {
        let body = serde_json::json!({
            "client": {"name": "A", "birth_date": "1980-01-01"}, "consent": "active",
            "pregnancies": [
                {"id": "p1", "edd": "2000-01-01", "gravidity": 1, "parity": 0, "status": "ended", "ended_on": "2000-01-03"},
                {"id": "p2", "edd": "2003-01-01", "gravidity": 2, "parity": 1, "status": "ended", "ended_on": "2003-01-05"}
            ],
            "entries": []
        });
        let share =
            crate::share::validate_share("111222333", &body, date!(2026 - 11 - 30)).unwrap();
        let term = RetentionTerm::years(20).unwrap();
        let refused = past_term_on_arrival(&share, term, date!(2026 - 11 - 30)).unwrap();
        assert_eq!(refused.field, "pregnancies[1].ended_on");
        assert!(refused.problem.starts_with("past retention"));
        assert_eq!(
            past_term_on_arrival(&share, term, date!(2023 - 01 - 04)),
            None
        );
        assert_eq!(
            past_term_on_arrival(
                &share,
                RetentionTerm::years(30).unwrap(),
                date!(2026 - 11 - 30)
            ),
            None
        );
    }
}
