//! Unusual access (issue "privacy officer", DESIGN flow 7): which events a privacy officer
//! should look at, and why. The rules are pure; the backend gathers the facts when it writes
//! the event and stores the result beside it.

use super::AuditAction;
use serde::{Deserialize, Serialize};

crate::string_enum! {
    /// Why an event deserves a second look.
    Flag {
        /// Access on the `spoed` ground (the grant request and every view under it).
        Spoed => "spoed",
        /// Access outside working hours (local time).
        OutOfHours => "out_of_hours",
        /// More distinct clients within an hour than a day's work explains.
        Bulk => "bulk",
        /// A view refused for lack of a valid grant, not reached through a search just before.
        AccessDenied => "access_denied",
        /// A view soon after the grant was created, by a user whose organisation shares no data
        /// of this client (informational: usual for a referral, unusual otherwise).
        NewGrantOtherOrganisation => "new_grant_other_organisation",
        /// Many searches of one BSN by one user within an hour: someone guessing the birth date.
        RepeatedSearches => "repeated_searches",
    }
}

impl Flag {
    pub fn label(self) -> &'static str {
        match self {
            Flag::Spoed => "Spoed",
            Flag::OutOfHours => "Buiten werktijd",
            Flag::Bulk => "Veel cliënten",
            Flag::AccessDenied => "Geweigerd",
            Flag::NewGrantOtherOrganisation => "Nieuwe toegang, andere organisatie",
            Flag::RepeatedSearches => "Herhaald gezocht",
        }
    }
}

/// A flag with the reason shown to the officer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagHit {
    pub flag: Flag,
    pub why: String,
}

/// The thresholds, configurable per installation (`OOIEVAAR_FLAG_*`, see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagRules {
    /// Working hours end at this local hour (0-23)...
    pub night_starts: u8,
    /// ...and start again at this one.
    pub night_ends: u8,
    /// More distinct clients than this per user within one hour is bulk access.
    pub bulk_clients_per_hour: u32,
    /// A view this many minutes or less after the grant was created counts as "soon after".
    pub new_grant_minutes: u32,
    /// This many searches of one BSN by one user within one hour (this one included) raise a
    /// flag, on that search and every further one (0: never).
    pub repeated_searches_per_hour: u32,
}

impl Default for FlagRules {
    fn default() -> Self {
        Self {
            night_starts: 22,
            night_ends: 7,
            bulk_clients_per_hour: 20,
            new_grant_minutes: 60,
            repeated_searches_per_hour: 50,
        }
    }
}

/// What the backend knows about an event when it writes it.
#[derive(Debug, Clone, Default)]
pub struct FlagFacts {
    /// Local (Europe/Amsterdam) hour and minute of the event.
    pub local_time: (u8, u8),
    pub ground_is_spoed: bool,
    /// Distinct clients this user accessed in the hour up to and including this event.
    pub distinct_clients_last_hour: Option<u32>,
    /// Minutes since the grant of this view was created.
    pub grant_age_minutes: Option<i64>,
    /// Whether a source of the user's organisation shares this client.
    pub own_organisation_shares: Option<bool>,
    /// For a refused view: the user found this client by search within the last hour (the
    /// ordinary way to the access request, not a guessed or stale link).
    pub found_by_search: bool,
    /// For a search: the user's searches of this BSN in the hour up to and including it.
    pub same_bsn_searches_last_hour: Option<u32>,
}

/// Actions by which a professional reaches a client's data; the time and bulk rules look at
/// these only.
pub fn is_client_access(action: AuditAction) -> bool {
    matches!(
        action,
        AuditAction::Search | AuditAction::Read | AuditAction::AccessRequest
    )
}

impl FlagRules {
    fn is_night(&self, hour: u8) -> bool {
        if self.night_starts > self.night_ends {
            hour >= self.night_starts || hour < self.night_ends
        } else {
            hour >= self.night_starts && hour < self.night_ends
        }
    }

    /// The flags of one event (empty on a normal day).
    pub fn evaluate(&self, action: AuditAction, facts: &FlagFacts) -> Vec<FlagHit> {
        let mut hits = Vec::new();
        let access = is_client_access(action);
        if facts.ground_is_spoed && matches!(action, AuditAction::Read | AuditAction::AccessRequest)
        {
            hits.push(FlagHit {
                flag: Flag::Spoed,
                why: "toegang op grond van spoed".into(),
            });
        }
        let (hour, minute) = facts.local_time;
        if access && self.is_night(hour) {
            hits.push(FlagHit {
                flag: Flag::OutOfHours,
                why: format!(
                    "om {hour:02}:{minute:02}, buiten werktijd ({:02}:00-{:02}:00)",
                    self.night_ends, self.night_starts
                ),
            });
        }
        if let Some(count) = facts.distinct_clients_last_hour {
            if access && count > self.bulk_clients_per_hour {
                hits.push(FlagHit {
                    flag: Flag::Bulk,
                    why: format!(
                        "{count} verschillende cliënten binnen een uur (grens {})",
                        self.bulk_clients_per_hour
                    ),
                });
            }
        }
        if let (AuditAction::Search, Some(count)) = (action, facts.same_bsn_searches_last_hour) {
            let limit = self.repeated_searches_per_hour;
            if limit > 0 && count >= limit {
                hits.push(FlagHit {
                    flag: Flag::RepeatedSearches,
                    why: format!(
                        "{count} keer binnen een uur naar hetzelfde BSN gezocht (grens {limit}): \
                         mogelijk wordt de geboortedatum geraden"
                    ),
                });
            }
        }
        if action == AuditAction::AccessDenied && !facts.found_by_search {
            hits.push(FlagHit {
                flag: Flag::AccessDenied,
                why: "inzage zonder geldige toegang geprobeerd".into(),
            });
        }
        if let (AuditAction::Read, Some(age), Some(false)) = (
            action,
            facts.grant_age_minutes,
            facts.own_organisation_shares,
        ) {
            if age <= i64::from(self.new_grant_minutes) {
                hits.push(FlagHit {
                    flag: Flag::NewGrantOtherOrganisation,
                    why: format!(
                        "inzage {age} min na het aanvragen van toegang; de eigen organisatie deelt geen gegevens van deze cliënt"
                    ),
                });
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> FlagFacts {
        FlagFacts {
            local_time: (10, 30),
            ground_is_spoed: false,
            distinct_clients_last_hour: Some(3),
            grant_age_minutes: Some(60 * 24 * 3),
            own_organisation_shares: Some(true),
            found_by_search: false,
            same_bsn_searches_last_hour: Some(1),
        }
    }

    fn flags(action: AuditAction, facts: &FlagFacts) -> Vec<Flag> {
        FlagRules::default()
            .evaluate(action, facts)
            .into_iter()
            .map(|h| h.flag)
            .collect()
    }

    #[test]
    fn a_normal_day_raises_nothing() {
        for action in AuditAction::ALL {
            if *action != AuditAction::AccessDenied {
                assert!(flags(*action, &day()).is_empty(), "{action}");
            }
        }
    }

    #[test]
    fn spoed_flags_the_request_and_the_views_under_it() {
        let facts = FlagFacts {
            ground_is_spoed: true,
            ..day()
        };
        assert_eq!(flags(AuditAction::Read, &facts), vec![Flag::Spoed]);
        assert_eq!(flags(AuditAction::AccessRequest, &facts), vec![Flag::Spoed]);
        assert!(flags(AuditAction::GrantEnded, &facts).is_empty());
    }

    #[test]
    fn night_is_from_22_to_7_by_default() {
        for (hour, night) in [(6, true), (7, false), (21, false), (22, true), (0, true)] {
            let facts = FlagFacts {
                local_time: (hour, 59),
                ..day()
            };
            assert_eq!(
                flags(AuditAction::Read, &facts) == vec![Flag::OutOfHours],
                night,
                "{hour}"
            );
        }
        let facts = FlagFacts {
            local_time: (23, 0),
            ..day()
        };
        assert!(flags(AuditAction::Login, &facts).is_empty());
    }

    #[test]
    fn a_daytime_night_shift_setting_works_too() {
        let rules = FlagRules {
            night_starts: 1,
            night_ends: 5,
            ..FlagRules::default()
        };
        assert!(rules.is_night(3));
        assert!(!rules.is_night(23));
    }

    #[test]
    fn bulk_is_more_than_the_threshold() {
        let at = |n| FlagFacts {
            distinct_clients_last_hour: Some(n),
            ..day()
        };
        assert!(flags(AuditAction::Search, &at(20)).is_empty());
        assert_eq!(flags(AuditAction::Search, &at(21)), vec![Flag::Bulk]);
    }

    #[test]
    fn denied_access_is_flagged_unless_the_client_was_just_found_by_search() {
        assert_eq!(
            flags(AuditAction::AccessDenied, &day()),
            vec![Flag::AccessDenied]
        );
        let after_search = FlagFacts {
            found_by_search: true,
            ..day()
        };
        assert!(flags(AuditAction::AccessDenied, &after_search).is_empty());
    }

    #[test]
    fn a_fresh_grant_of_a_non_sharing_organisation_is_informational() {
        let fresh = FlagFacts {
            grant_age_minutes: Some(5),
            own_organisation_shares: Some(false),
            ..day()
        };
        assert_eq!(
            flags(AuditAction::Read, &fresh),
            vec![Flag::NewGrantOtherOrganisation]
        );
        let sharing = FlagFacts {
            own_organisation_shares: Some(true),
            ..fresh.clone()
        };
        assert!(flags(AuditAction::Read, &sharing).is_empty());
        let old = FlagFacts {
            grant_age_minutes: Some(61),
            ..fresh
        };
        assert!(flags(AuditAction::Read, &old).is_empty());
    }

    #[test]
    fn repeated_searches_of_one_bsn_are_flagged_from_the_threshold_on() {
        let at = |n| FlagFacts {
            same_bsn_searches_last_hour: Some(n),
            ..day()
        };
        assert!(flags(AuditAction::Search, &at(49)).is_empty());
        assert_eq!(
            flags(AuditAction::Search, &at(50)),
            vec![Flag::RepeatedSearches]
        );
        assert_eq!(
            flags(AuditAction::Search, &at(51)),
            vec![Flag::RepeatedSearches]
        );
        assert!(
            flags(AuditAction::Read, &at(50)).is_empty(),
            "searches only"
        );
        let off = FlagRules {
            repeated_searches_per_hour: 0,
            ..FlagRules::default()
        };
        assert!(off.evaluate(AuditAction::Search, &at(500)).is_empty());
        let hit = &FlagRules::default().evaluate(AuditAction::Search, &at(50))[0];
        assert!(hit.why.contains("50 keer"), "{}", hit.why);
    }
}
