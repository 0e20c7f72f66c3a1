//! Access grants: the grounds for requesting access and how long a grant is valid
//! (DESIGN 5.3 and 5.4).

use time::{Date, Duration, OffsetDateTime};

crate::string_enum! {
    /// The ground stated in an access request.
    Ground {
        Behandelrelatie => "behandelrelatie",
        Verwijzing => "verwijzing",
        Waarneming => "waarneming",
        Spoed => "spoed",
    }
}

impl Ground {
    pub fn label(self) -> &'static str {
        match self {
            Ground::Behandelrelatie => "Behandelrelatie (ik behandel deze cliënt)",
            Ground::Verwijzing => "Verwijzing ontvangen",
            Ground::Waarneming => "Waarneming (ik neem waar of heb dienst)",
            Ground::Spoed => "Spoed (acute situatie)",
        }
    }
}

/// The configurable periods of DESIGN 5.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantPeriods {
    pub minimum: Duration,
    pub after_due_date: Duration,
    pub after_pregnancy_end: Duration,
    pub emergency: Duration,
}

impl Default for GrantPeriods {
    fn default() -> Self {
        Self {
            minimum: Duration::days(30),
            after_due_date: Duration::weeks(10),
            after_pregnancy_end: Duration::weeks(8),
            emergency: Duration::hours(24),
        }
    }
}

/// What grant validity depends on in the client's pregnancies.
#[derive(Debug, Clone, Copy, Default)]
pub struct PregnancyDates {
    /// Expected due date of an active pregnancy (the latest, if several sources disagree).
    pub active_due_date: Option<Date>,
    /// End date of the most recently ended pregnancy.
    pub latest_end: Option<Date>,
}

/// The expiry fixed when a grant is created: the latest of now + minimum, due date + 10 weeks
/// and end + 8 weeks; a `spoed` grant lasts 24 hours.
pub fn grant_expiry(
    ground: Ground,
    now: OffsetDateTime,
    dates: PregnancyDates,
    periods: GrantPeriods,
) -> OffsetDateTime {
    if ground == Ground::Spoed {
        return now + periods.emergency;
    }
    let end_of_day = |d: Date| d.with_hms(23, 59, 59).expect("valid time").assume_utc();
    let mut expiry = now + periods.minimum;
    if let Some(due) = dates.active_due_date {
        expiry = expiry.max(end_of_day(due) + periods.after_due_date);
    }
    if let Some(end) = dates.latest_end {
        expiry = expiry.max(end_of_day(end) + periods.after_pregnancy_end);
    }
    expiry
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-24 10:00 UTC);

    #[test]
    fn without_pregnancies_a_grant_lasts_thirty_days() {
        let expiry = grant_expiry(
            Ground::Behandelrelatie,
            NOW,
            PregnancyDates::default(),
            GrantPeriods::default(),
        );
        assert_eq!(expiry, NOW + Duration::days(30));
    }

    #[test]
    fn an_active_pregnancy_extends_to_ten_weeks_after_the_due_date() {
        let dates = PregnancyDates {
            active_due_date: Some(date!(2027 - 03 - 01)),
            latest_end: None,
        };
        let expiry = grant_expiry(Ground::Verwijzing, NOW, dates, GrantPeriods::default());
        assert_eq!(expiry.date(), date!(2027 - 05 - 10));
    }

    #[test]
    fn a_recent_birth_extends_to_eight_weeks_after_it() {
        let dates = PregnancyDates {
            active_due_date: None,
            latest_end: Some(date!(2026 - 11 - 20)),
        };
        let expiry = grant_expiry(Ground::Waarneming, NOW, dates, GrantPeriods::default());
        assert_eq!(expiry.date(), date!(2027 - 01 - 15));
    }

    #[test]
    fn an_emergency_grant_lasts_a_day_whatever_the_pregnancy() {
        let dates = PregnancyDates {
            active_due_date: Some(date!(2027 - 03 - 01)),
            latest_end: None,
        };
        let expiry = grant_expiry(Ground::Spoed, NOW, dates, GrantPeriods::default());
        assert_eq!(expiry, NOW + Duration::hours(24));
    }
}
