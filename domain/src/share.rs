//! Validation of what a source sends (DESIGN section 8): the body of `PUT /api/v1/shares/{bsn}`
//! and of `PUT /api/v1/shares/{bsn}/consent`. The body arrives as a `serde_json::Value` so that
//! every problem (wrong types included) is reported per field, all at once, instead of stopping
//! at the first serde error. Problems are short English phrases: the API's readers are developers.

use std::collections::HashSet;

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::{Bsn, Category, FieldError, Sensitivity};

/// Most entries one share may hold.
pub const MAX_ENTRIES: usize = 5_000;
/// Most pregnancies one share may hold.
pub const MAX_PREGNANCIES: usize = 50;
/// Earliest date accepted anywhere in a share (birth, due and end dates, observations).
const OLDEST_DATE: Date = time::macros::date!(1900 - 01 - 01);

/// The latest due date accepted: one year from `today`. Bounded so that no grant, whose expiry
/// follows the due date (DESIGN 5.4), can live for ever.
fn latest_due_date(today: Date) -> Date {
    today
        .replace_year(today.year() + 1)
        .unwrap_or_else(|_| today.saturating_add(time::Duration::days(365)))
}

/// The latest observation time accepted: the end of tomorrow (UTC), a day of slack for clocks
/// and time zones.
fn latest_observation(today: Date) -> OffsetDateTime {
    today
        .saturating_add(time::Duration::days(2))
        .midnight()
        .assume_utc()
}

crate::string_enum! {
    /// Whether a source's consent to share a client's data stands.
    ConsentStatus {
        Active => "active",
        Withdrawn => "withdrawn",
    }
}

/// A share that passed every rule; only [`validate_share`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidShare {
    pub bsn: Bsn,
    /// Trimmed.
    pub name: String,
    pub birth_date: Date,
    pub pregnancies: Vec<ValidPregnancy>,
    pub entries: Vec<ValidEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidPregnancy {
    pub id: String,
    pub edd: Date,
    pub gravidity: i32,
    pub parity: i32,
    /// `None` while the pregnancy is active.
    pub ended_on: Option<Date>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidEntry {
    pub id: String,
    /// Always the id of one of the share's pregnancies when set.
    pub pregnancy_id: Option<String>,
    pub category: Category,
    pub code: String,
    pub label: String,
    pub value: String,
    pub unit: Option<String>,
    pub observed_at: OffsetDateTime,
    pub sensitivity: Sensitivity,
}

/// Validates the body of `PUT /api/v1/shares/{bsn}` against the path's `bsn`. `today` (the Dutch
/// calendar date) bounds the dates: birth and end dates from 1900-01-01 to today, due dates
/// from 1900-01-01 to one year from today, observations from 1900 to the end of tomorrow. On
/// failure returns every problem found, never an empty list.
pub fn validate_share(bsn: &str, body: &Value, today: Date) -> Result<ValidShare, Vec<FieldError>> {
    let mut p = Problems::default();
    let bsn = Bsn::parse(bsn)
        .map_err(|e| p.push("bsn", e.to_string()))
        .ok();
    let Some(top) = Obj::root(body) else {
        p.push("body", "must be an object");
        return Err(p.0);
    };
    let consent = top.keyword(
        &mut p,
        "consent",
        |s| (s == "active").then_some(()),
        |_| "must be \"active\"; use PUT /api/v1/shares/{bsn}/consent to withdraw".into(),
    );
    let client = top
        .object(&mut p, "client")
        .and_then(|client| validate_client(&mut p, &client, today));
    let raw_pregnancies = top.array(&mut p, "pregnancies", MAX_PREGNANCIES);
    let pregnancies = raw_pregnancies.map(|items| {
        let mut seen = HashSet::new();
        top.items(&mut p, "pregnancies", items, |p, o| {
            validate_pregnancy(p, o, &mut seen, today)
        })
    });
    // The pregnancy ids as sent, valid or not, so a bad pregnancy does not also fail every entry
    // pointing at it; `None` (no reference check) when some pregnancy has no id to point at.
    let known: Option<HashSet<&str>> = raw_pregnancies
        .and_then(|items| items.iter().map(|item| item.get("id")?.as_str()).collect());
    let entries = top.array(&mut p, "entries", MAX_ENTRIES).map(|items| {
        let mut seen = HashSet::new();
        top.items(&mut p, "entries", items, |p, o| {
            validate_entry(p, o, known.as_ref(), &mut seen, today)
        })
    });
    match (
        bsn,
        consent,
        client,
        pregnancies.flatten(),
        entries.flatten(),
    ) {
        (Some(bsn), Some(()), Some((name, birth_date)), Some(pregnancies), Some(entries))
            if p.0.is_empty() =>
        {
            Ok(ValidShare {
                bsn,
                name,
                birth_date,
                pregnancies,
                entries,
            })
        }
        _ => Err(p.into_errors()),
    }
}

/// Validates the body of `PUT /api/v1/shares/{bsn}/consent`: `{"status": "active" | "withdrawn"}`.
pub fn validate_consent(body: &Value) -> Result<ConsentStatus, Vec<FieldError>> {
    let mut p = Problems::default();
    let Some(top) = Obj::root(body) else {
        p.push("body", "must be an object");
        return Err(p.0);
    };
    top.keyword(&mut p, "status", ConsentStatus::parse, |_| {
        "must be \"active\" or \"withdrawn\"".into()
    })
    .ok_or_else(|| p.into_errors())
}

fn validate_client(p: &mut Problems, o: &Obj, today: Date) -> Option<(String, Date)> {
    let name = o.text(p, "name", NAME);
    let birth_date = o
        .date(p, "birth_date")
        .and_then(|date| o.date_within(p, "birth_date", date, today, "must not be in the future"));
    Some((name?, birth_date?))
}

fn validate_pregnancy(
    p: &mut Problems,
    o: &Obj,
    seen: &mut HashSet<String>,
    today: Date,
) -> Option<ValidPregnancy> {
    let id = o
        .text(p, "id", ID)
        .and_then(|id| unique(p, o, id, seen, "pregnancy"));
    let edd = o.date(p, "edd").and_then(|date| {
        o.date_within(
            p,
            "edd",
            date,
            latest_due_date(today),
            "must not be more than one year from today",
        )
    });
    let gravidity = o.integer(p, "gravidity", 1, 30);
    let parity = o.integer(p, "parity", 0, 29).and_then(|parity| {
        if gravidity.is_some_and(|g| parity > g) {
            p.push(o.path("parity"), "must not exceed gravidity");
            return None;
        }
        Some(parity)
    });
    let ended = o.keyword(
        p,
        "status",
        |s| match s {
            "active" => Some(false),
            "ended" => Some(true),
            _ => None,
        },
        |_| "must be \"active\" or \"ended\"".into(),
    );
    let ended_on = o
        .optional(p, "ended_on", |o, p, key| {
            let date = o.date(p, key)?;
            o.date_within(p, key, date, today, "must not be in the future")
        })
        .and_then(|date| match (ended, date) {
            (Some(true), None) => {
                p.push(o.path("ended_on"), "required when status is \"ended\"");
                None
            }
            (Some(false), Some(_)) => {
                p.push(o.path("ended_on"), "must be null when status is \"active\"");
                None
            }
            _ => Some(date),
        });
    ended?;
    Some(ValidPregnancy {
        id: id?,
        edd: edd?,
        gravidity: gravidity?,
        parity: parity?,
        ended_on: ended_on?,
    })
}

fn validate_entry(
    p: &mut Problems,
    o: &Obj,
    known_pregnancies: Option<&HashSet<&str>>,
    seen: &mut HashSet<String>,
    today: Date,
) -> Option<ValidEntry> {
    let id = o
        .text(p, "id", ID)
        .and_then(|id| unique(p, o, id, seen, "entry"));
    let pregnancy_id = o
        .optional(p, "pregnancy_id", |o, p, key| o.text(p, key, ID))
        .and_then(|id| match (id, known_pregnancies) {
            (Some(id), Some(known)) if !known.contains(id.as_str()) => {
                p.push(
                    o.path("pregnancy_id"),
                    "refers to no pregnancy in this share",
                );
                None
            }
            (id, _) => Some(id),
        });
    let category = o.keyword(p, "category", Category::parse, |s| {
        format!("unknown category '{}'", quoted(s))
    });
    let code = o.text(p, "code", ID);
    let label = o.text(p, "label", LABEL);
    let value = o.text(p, "value", VALUE);
    let unit = o.optional(p, "unit", |o, p, key| o.text(p, key, UNIT));
    let observed_at = o.date_time(p, "observed_at").and_then(|moment| {
        if moment < OLDEST_DATE.midnight().assume_utc() {
            p.push(o.path("observed_at"), "must not be before 1900-01-01");
            None
        } else if moment >= latest_observation(today) {
            p.push(o.path("observed_at"), "must not be in the future");
            None
        } else {
            Some(moment)
        }
    });
    let sensitivity = o.keyword(p, "sensitivity", Sensitivity::parse, |_| {
        "must be \"normal\", \"elevated\" or \"high\"".into()
    });
    Some(ValidEntry {
        id: id?,
        pregnancy_id: pregnancy_id?,
        category: category?,
        code: code?,
        label: label?,
        value: value?,
        unit: unit?,
        observed_at: observed_at?,
        sensitivity: sensitivity?,
    })
}

/// Refuses the second and later use of an id within one list.
fn unique(
    p: &mut Problems,
    o: &Obj,
    id: String,
    seen: &mut HashSet<String>,
    what: &str,
) -> Option<String> {
    if seen.insert(id.clone()) {
        Some(id)
    } else {
        p.push(
            o.path("id"),
            format!("duplicate {what} id '{}'", quoted(&id)),
        );
        None
    }
}

/// Bounds of a text field, in characters.
#[derive(Clone, Copy)]
pub(crate) struct TextRule {
    min: usize,
    max: usize,
    /// Whether `\n` and `\t` are allowed; other control characters never are.
    multiline: bool,
    /// Whether surrounding whitespace is dropped before checking.
    trim: bool,
}

const ID: TextRule = TextRule {
    min: 1,
    max: 64,
    multiline: false,
    trim: false,
};
const UNIT: TextRule = TextRule { max: 32, ..ID };
const LABEL: TextRule = TextRule {
    max: 200,
    multiline: true,
    ..ID
};
const NAME: TextRule = TextRule {
    trim: true,
    ..LABEL
};
const VALUE: TextRule = TextRule {
    min: 0,
    max: 4_000,
    ..LABEL
};

/// Every problem found so far.
#[derive(Default)]
pub(crate) struct Problems(pub(crate) Vec<FieldError>);

impl Problems {
    pub(crate) fn push(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push(FieldError::new(field, problem));
    }

    /// The list of problems of a refused input; never empty, since every validator that gives
    /// up records why.
    pub(crate) fn into_errors(self) -> Vec<FieldError> {
        debug_assert!(!self.0.is_empty(), "refused without a reason");
        self.0
    }
}

/// A JSON object together with its path in the body, for reading fields with their full path.
pub(crate) struct Obj<'a> {
    pub(crate) map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    pub(crate) fn root(body: &'a Value) -> Option<Self> {
        Some(Self {
            map: body.as_object()?,
            path: String::new(),
        })
    }

    pub(crate) fn path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// A field that must be present; `null` counts as absent.
    pub(crate) fn required(&self, p: &mut Problems, key: &str) -> Option<&'a Value> {
        let value = self.map.get(key).filter(|v| !v.is_null());
        if value.is_none() {
            p.push(self.path(key), "required");
        }
        value
    }

    /// A field that may be absent or `null` (`Some(None)`); otherwise read with `read`.
    pub(crate) fn optional<T>(
        &self,
        p: &mut Problems,
        key: &str,
        read: impl FnOnce(&Self, &mut Problems, &str) -> Option<T>,
    ) -> Option<Option<T>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(_) => read(self, p, key).map(Some),
        }
    }

    pub(crate) fn string(&self, p: &mut Problems, key: &str) -> Option<&'a str> {
        let value = self.required(p, key)?;
        let text = value.as_str();
        if text.is_none() {
            p.push(self.path(key), "must be a string");
        }
        text
    }

    pub(crate) fn text(&self, p: &mut Problems, key: &str, rule: TextRule) -> Option<String> {
        let raw = self.string(p, key)?;
        let text = if rule.trim { raw.trim() } else { raw };
        let len = text.chars().count();
        let problem = if len < rule.min {
            "must not be empty".to_owned()
        } else if len > rule.max {
            format!("at most {} characters", rule.max)
        } else if text
            .chars()
            .any(|c| c.is_control() && !(rule.multiline && matches!(c, '\n' | '\t')))
        {
            "contains control characters".to_owned()
        } else {
            return Some(text.to_owned());
        };
        p.push(self.path(key), problem);
        None
    }

    /// A string that must be one of a closed set of keys.
    pub(crate) fn keyword<T>(
        &self,
        p: &mut Problems,
        key: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        unknown: impl FnOnce(&str) -> String,
    ) -> Option<T> {
        let text = self.string(p, key)?;
        let parsed = parse(text);
        if parsed.is_none() {
            p.push(self.path(key), unknown(text));
        }
        parsed
    }

    fn integer(&self, p: &mut Problems, key: &str, min: i32, max: i32) -> Option<i32> {
        let value = self.required(p, key)?;
        if !(value.is_i64() || value.is_u64()) {
            p.push(self.path(key), "must be an integer");
            return None;
        }
        let number = value
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .filter(|n| (min..=max).contains(n));
        if number.is_none() {
            p.push(self.path(key), format!("must be between {min} and {max}"));
        }
        number
    }

    fn date(&self, p: &mut Problems, key: &str) -> Option<Date> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = self
            .required(p, key)?
            .as_str()
            .filter(|s| s.len() == 10 && s.starts_with(|c: char| c.is_ascii_digit()))
            .and_then(|s| Date::parse(s, format).ok());
        if date.is_none() {
            p.push(self.path(key), "must be a date YYYY-MM-DD");
        }
        date
    }

    /// `date` when it lies from 1900-01-01 to `latest`; otherwise a problem (`too_late` when
    /// after `latest`).
    fn date_within(
        &self,
        p: &mut Problems,
        key: &str,
        date: Date,
        latest: Date,
        too_late: &str,
    ) -> Option<Date> {
        if date < OLDEST_DATE {
            p.push(self.path(key), "must not be before 1900-01-01");
            None
        } else if date > latest {
            p.push(self.path(key), too_late);
            None
        } else {
            Some(date)
        }
    }

    fn date_time(&self, p: &mut Problems, key: &str) -> Option<OffsetDateTime> {
        let moment = self
            .required(p, key)?
            .as_str()
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
        if moment.is_none() {
            p.push(self.path(key), "must be an RFC 3339 date-time");
        }
        moment
    }

    fn object(&self, p: &mut Problems, key: &str) -> Option<Obj<'a>> {
        let map = self.required(p, key)?.as_object();
        if map.is_none() {
            p.push(self.path(key), "must be an object");
        }
        Some(Obj {
            map: map?,
            path: self.path(key),
        })
    }

    /// An array of at most `max` items; a longer one is one problem and its items are not read.
    pub(crate) fn array(&self, p: &mut Problems, key: &str, max: usize) -> Option<&'a Vec<Value>> {
        let Some(items) = self.required(p, key)?.as_array() else {
            p.push(self.path(key), "must be an array");
            return None;
        };
        if items.len() > max {
            p.push(self.path(key), format!("at most {max} items"));
            return None;
        }
        Some(items)
    }

    /// Validates each item of the array at `key` as an object; `None` if any item failed.
    fn items<T>(
        &self,
        p: &mut Problems,
        key: &str,
        items: &'a [Value],
        mut validate: impl FnMut(&mut Problems, &Obj<'a>) -> Option<T>,
    ) -> Option<Vec<T>> {
        let mut valid = Vec::with_capacity(items.len());
        let mut all_valid = true;
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}[{i}]", self.path(key));
            let result = match item.as_object() {
                Some(map) => validate(p, &Obj { map, path }),
                None => {
                    p.push(path, "must be an object");
                    None
                }
            };
            match result {
                Some(item) => valid.push(item),
                None => all_valid = false,
            }
        }
        all_valid.then_some(valid)
    }
}

/// Input echoed in a problem: at most 40 characters, control characters shown as `?`.
pub fn quoted(text: &str) -> String {
    let mut shown: String = text
        .chars()
        .take(40)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().nth(40).is_some() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use time::macros::{date, datetime};

    const BSN: &str = "123456782";
    const TODAY: Date = date!(2025 - 06 - 01);

    fn valid_body() -> Value {
        json!({
            "consent": "active",
            "client": {"name": "  Anna de Vries ", "birth_date": "1992-03-14"},
            "pregnancies": [{
                "id": "p1", "edd": "2025-09-20", "gravidity": 2, "parity": 1,
                "status": "active", "ended_on": null
            }],
            "entries": [
                {
                    "id": "e1", "pregnancy_id": "p1", "category": "lab_screening",
                    "code": "bloedgroep", "label": "Bloedgroep", "value": "O",
                    "unit": null, "observed_at": "2025-02-03T10:15:00+01:00",
                    "sensitivity": "normal"
                },
                {
                    "id": "e2", "category": "medical_history", "code": "allergie",
                    "label": "Allergie", "value": "Penicilline\n(uitslag)", "unit": "mg",
                    "observed_at": "2024-12-01T08:00:00Z", "sensitivity": "elevated"
                }
            ]
        })
    }

    /// All problems of the valid body after `mutate`.
    fn errors(mutate: impl FnOnce(&mut Value)) -> Vec<FieldError> {
        let mut body = valid_body();
        mutate(&mut body);
        match validate_share(BSN, &body, TODAY) {
            Ok(_) => Vec::new(),
            Err(errors) => {
                assert!(!errors.is_empty());
                errors
            }
        }
    }

    /// The field paths reported for the valid body after `mutate`.
    fn paths(mutate: impl FnOnce(&mut Value)) -> Vec<String> {
        errors(mutate).into_iter().map(|e| e.field).collect()
    }

    /// The one problem reported at `field`, after `mutate`.
    fn problem(field: &str, mutate: impl FnOnce(&mut Value)) -> String {
        let errors = errors(mutate);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, field);
        errors[0].problem.clone()
    }

    /// For each `(value, expected)`: `mutate(value)` gives the one problem `expected` at `field`.
    fn assert_problems<M: FnOnce(&mut Value)>(
        field: &str,
        mutate: impl Fn(&str) -> M,
        cases: &[(&str, &str)],
    ) {
        for (value, expected) in cases {
            assert_eq!(problem(field, mutate(value)), *expected, "{value}");
        }
    }

    fn set(path: &str, value: Value) -> impl FnOnce(&mut Value) {
        let path = path.to_owned();
        move |body| *body.pointer_mut(&path).expect("path in body") = value
    }

    fn remove(path: &str, key: &'static str) -> impl FnOnce(&mut Value) {
        let path = path.to_owned();
        move |body| {
            body.pointer_mut(&path)
                .and_then(Value::as_object_mut)
                .expect("object in body")
                .remove(key);
        }
    }

    #[test]
    fn a_valid_body_passes_and_maps_every_field() {
        let share = validate_share(BSN, &valid_body(), TODAY).expect("valid");
        assert_eq!(share.bsn, Bsn::parse(BSN).unwrap());
        assert_eq!(share.name, "Anna de Vries");
        assert_eq!(share.birth_date, date!(1992 - 03 - 14));
        assert_eq!(
            share.pregnancies,
            vec![ValidPregnancy {
                id: "p1".into(),
                edd: date!(2025 - 09 - 20),
                gravidity: 2,
                parity: 1,
                ended_on: None,
            }]
        );
        assert_eq!(
            share.entries,
            vec![
                ValidEntry {
                    id: "e1".into(),
                    pregnancy_id: Some("p1".into()),
                    category: Category::LabScreening,
                    code: "bloedgroep".into(),
                    label: "Bloedgroep".into(),
                    value: "O".into(),
                    unit: None,
                    observed_at: datetime!(2025-02-03 10:15:00 +01:00),
                    sensitivity: Sensitivity::Normal,
                },
                ValidEntry {
                    id: "e2".into(),
                    pregnancy_id: None,
                    category: Category::MedicalHistory,
                    code: "allergie".into(),
                    label: "Allergie".into(),
                    value: "Penicilline\n(uitslag)".into(),
                    unit: Some("mg".into()),
                    observed_at: datetime!(2024-12-01 08:00:00 UTC),
                    sensitivity: Sensitivity::Elevated,
                },
            ]
        );
    }

    #[test]
    fn empty_arrays_are_valid() {
        let share = validate_share(
            BSN,
            &json!({"consent": "active", "client": {"name": "A", "birth_date": "2000-01-01"},
                    "pregnancies": [], "entries": []}),
            TODAY,
        )
        .expect("valid");
        assert!(share.pregnancies.is_empty() && share.entries.is_empty());
    }

    #[test]
    fn the_body_must_be_an_object() {
        for body in [json!([]), json!("x"), json!(null), json!(3)] {
            assert_eq!(paths(|b| *b = body), ["body"]);
        }
        let err = validate_consent(&json!([1])).unwrap_err();
        assert_eq!(err, [FieldError::new("body", "must be an object")]);
    }

    #[test]
    fn a_bad_bsn_is_reported_with_its_dutch_reason_and_other_problems_too() {
        let err = validate_share("123456789", &valid_body(), TODAY).unwrap_err();
        assert_eq!(
            err,
            [FieldError::new(
                "bsn",
                crate::bsn::BsnError::ElevenCheck.to_string()
            )]
        );
        let err = validate_share("12", &json!({}), TODAY).unwrap_err();
        let fields: Vec<_> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["bsn", "consent", "client", "pregnancies", "entries"]
        );
    }

    #[test]
    fn all_four_top_level_fields_are_required() {
        for key in ["consent", "client", "pregnancies", "entries"] {
            assert_eq!(problem(key, remove("", key)), "required");
            assert_eq!(
                problem(key, set(&format!("/{key}"), Value::Null)),
                "required"
            );
        }
    }

    #[test]
    fn consent_must_be_the_string_active() {
        assert_eq!(
            problem("consent", set("/consent", json!("withdrawn"))),
            "must be \"active\"; use PUT /api/v1/shares/{bsn}/consent to withdraw"
        );
        assert_eq!(
            problem("consent", set("/consent", json!(true))),
            "must be a string"
        );
    }

    #[test]
    fn wrong_container_types_are_named() {
        assert_eq!(
            problem("client", set("/client", json!("x"))),
            "must be an object"
        );
        assert_eq!(
            problem("pregnancies", set("/pregnancies", json!({}))),
            "must be an array"
        );
        assert_eq!(
            problem("entries", set("/entries", json!("e"))),
            "must be an array"
        );
        // The entry that points at the broken pregnancy is not blamed as well.
        assert_eq!(
            problem("pregnancies[0]", set("/pregnancies/0", json!(1))),
            "must be an object"
        );
        assert_eq!(paths(set("/entries/1", json!([]))), ["entries[1]"]);
    }

    #[test]
    fn the_client_name_is_required_bounded_and_printable() {
        assert_eq!(
            problem("client.name", remove("/client", "name")),
            "required"
        );
        assert_eq!(
            problem("client.name", set("/client/name", json!("   "))),
            "must not be empty"
        );
        assert_eq!(
            problem("client.name", set("/client/name", json!("é".repeat(201)))),
            "at most 200 characters"
        );
        assert!(paths(set("/client/name", json!("é".repeat(200)))).is_empty());
        assert_eq!(
            problem("client.name", set("/client/name", json!("Anna\u{7}"))),
            "contains control characters"
        );
        assert_eq!(
            problem("client.name", set("/client/name", json!(7))),
            "must be a string"
        );
    }

    #[test]
    fn the_birth_date_is_a_real_past_date_since_1900() {
        let field = "client.birth_date";
        for bad in [
            json!("14-03-1992"),
            json!("1992-02-30"),
            json!("+1992-03-14"),
            json!(1992),
        ] {
            assert_eq!(
                problem(field, set("/client/birth_date", bad)),
                "must be a date YYYY-MM-DD"
            );
        }
        assert_eq!(
            problem(field, set("/client/birth_date", json!("2025-06-02"))),
            "must not be in the future"
        );
        assert_eq!(
            problem(field, set("/client/birth_date", json!("1899-12-31"))),
            "must not be before 1900-01-01"
        );
        assert!(paths(set("/client/birth_date", json!("2025-06-01"))).is_empty());
        assert!(paths(set("/client/birth_date", json!("1900-01-01"))).is_empty());
    }

    #[test]
    fn too_many_pregnancies_is_one_problem() {
        let many: Vec<_> = (0..=MAX_PREGNANCIES).map(|_| json!("junk")).collect();
        assert_eq!(
            paths(|b| {
                b["pregnancies"] = json!(many);
                b["entries"] = json!([]);
            }),
            ["pregnancies"]
        );
    }

    #[test]
    fn pregnancy_ids_are_required_bounded_and_unique() {
        let field = "pregnancies[0].id";
        assert_eq!(problem(field, remove("/pregnancies/0", "id")), "required");
        // The entry stops pointing at the pregnancy, so only the pregnancy's id is blamed.
        let renamed = |id: &str| {
            let id = json!(id);
            move |b: &mut Value| {
                b["pregnancies"][0]["id"] = id;
                b["entries"][0]["pregnancy_id"] = Value::Null;
            }
        };
        assert_eq!(problem(field, renamed("")), "must not be empty");
        assert_eq!(
            problem(field, renamed(&"x".repeat(65))),
            "at most 64 characters"
        );
        assert_eq!(
            problem(field, renamed("p\n1")),
            "contains control characters"
        );
        // Renaming only the pregnancy leaves the entry pointing at nothing.
        assert_eq!(
            paths(set("/pregnancies/0/id", json!("p2"))),
            ["entries[0].pregnancy_id"]
        );
        let dup = |b: &mut Value| {
            let first = b["pregnancies"][0].clone();
            b["pregnancies"].as_array_mut().unwrap().push(first);
        };
        assert_eq!(
            problem("pregnancies[1].id", dup),
            "duplicate pregnancy id 'p1'"
        );
    }

    #[test]
    fn the_due_date_must_be_a_date() {
        assert_eq!(
            problem(
                "pregnancies[0].edd",
                set("/pregnancies/0/edd", json!("2025-13-01"))
            ),
            "must be a date YYYY-MM-DD"
        );
    }

    /// Issue 9 (rule 2: no grant can live for ever through a far due date): the due date lies
    /// from 1900-01-01 to one year from today.
    #[test]
    fn the_due_date_lies_between_1900_and_one_year_from_today() {
        assert_problems(
            "pregnancies[0].edd",
            |edd| set("/pregnancies/0/edd", json!(edd)),
            &[
                ("2026-06-02", "must not be more than one year from today"),
                ("9999-12-31", "must not be more than one year from today"),
                ("1899-12-31", "must not be before 1900-01-01"),
            ],
        );
        assert!(paths(set("/pregnancies/0/edd", json!("2026-06-01"))).is_empty());
        assert!(paths(set("/pregnancies/0/edd", json!("1900-01-01"))).is_empty());
        assert_eq!(
            latest_due_date(date!(2028 - 02 - 29)),
            date!(2029 - 02 - 28)
        );
    }

    /// Issue 9: an end date lies from 1900-01-01 to today.
    #[test]
    fn the_end_date_lies_between_1900_and_today() {
        let ended = |on: &str| {
            let on = json!(on);
            move |b: &mut Value| {
                b["pregnancies"][0]["status"] = json!("ended");
                b["pregnancies"][0]["ended_on"] = on;
            }
        };
        assert_problems(
            "pregnancies[0].ended_on",
            ended,
            &[
                ("2025-06-02", "must not be in the future"),
                ("3000-01-01", "must not be in the future"),
                ("1899-12-31", "must not be before 1900-01-01"),
            ],
        );
        assert!(paths(ended("2025-06-01")).is_empty());
    }

    /// Issue 9: an observation lies from 1900 to the end of tomorrow (UTC).
    #[test]
    fn observed_at_lies_between_1900_and_tomorrow() {
        let at = |t: &str| set("/entries/1/observed_at", json!(t));
        assert_problems(
            "entries[1].observed_at",
            at,
            &[
                ("2025-06-03T00:00:00Z", "must not be in the future"),
                ("9999-12-31T23:59:59Z", "must not be in the future"),
                ("1899-12-31T23:59:59Z", "must not be before 1900-01-01"),
                ("0001-01-01T00:00:00Z", "must not be before 1900-01-01"),
            ],
        );
        assert!(paths(at("2025-06-02T23:59:59Z")).is_empty());
        assert!(paths(at("1900-01-01T00:00:00Z")).is_empty());
    }

    #[test]
    fn gravidity_is_an_integer_from_1_to_30() {
        let field = "pregnancies[0].gravidity";
        for bad in [json!(0), json!(31), json!(-1), json!(u64::MAX)] {
            assert_eq!(
                problem(field, set("/pregnancies/0/gravidity", bad)),
                "must be between 1 and 30"
            );
        }
        for bad in [json!("2"), json!(2.5), json!(2.0), json!(true)] {
            assert_eq!(
                problem(field, set("/pregnancies/0/gravidity", bad)),
                "must be an integer"
            );
        }
    }

    #[test]
    fn parity_is_at_most_29_and_at_most_gravidity() {
        let field = "pregnancies[0].parity";
        assert_eq!(
            problem(field, set("/pregnancies/0/parity", json!(3))),
            "must not exceed gravidity"
        );
        assert_eq!(
            problem(field, set("/pregnancies/0/parity", json!(-1))),
            "must be between 0 and 29"
        );
        assert_eq!(
            paths(|b| {
                b["pregnancies"][0]["gravidity"] = json!(30);
                b["pregnancies"][0]["parity"] = json!(30);
            }),
            [field]
        );
        assert!(paths(set("/pregnancies/0/parity", json!(0))).is_empty());
    }

    #[test]
    fn the_status_is_active_or_ended() {
        assert_eq!(
            problem(
                "pregnancies[0].status",
                set("/pregnancies/0/status", json!("gone"))
            ),
            "must be \"active\" or \"ended\""
        );
    }

    #[test]
    fn ended_on_is_required_exactly_when_the_pregnancy_ended() {
        let field = "pregnancies[0].ended_on";
        assert_eq!(
            problem(field, set("/pregnancies/0/status", json!("ended"))),
            "required when status is \"ended\""
        );
        assert_eq!(
            problem(field, set("/pregnancies/0/ended_on", json!("2025-05-01"))),
            "must be null when status is \"active\""
        );
        assert_eq!(
            problem(field, set("/pregnancies/0/ended_on", json!("gisteren"))),
            "must be a date YYYY-MM-DD"
        );
        assert!(paths(remove("/pregnancies/0", "ended_on")).is_empty());
        let mut body = valid_body();
        body["pregnancies"][0]["status"] = json!("ended");
        body["pregnancies"][0]["ended_on"] = json!("2025-05-01");
        let share = validate_share(BSN, &body, TODAY).expect("valid");
        assert_eq!(share.pregnancies[0].ended_on, Some(date!(2025 - 05 - 01)));
    }

    #[test]
    fn too_many_entries_is_one_problem_and_items_are_not_read() {
        let many: Vec<_> = (0..=MAX_ENTRIES).map(|_| json!(null)).collect();
        assert_eq!(
            problem("entries", |b| b["entries"] = json!(many)),
            "at most 5000 items"
        );
    }

    #[test]
    fn a_later_duplicate_entry_id_is_reported() {
        assert_eq!(
            problem("entries[1].id", set("/entries/1/id", json!("e1"))),
            "duplicate entry id 'e1'"
        );
    }

    #[test]
    fn pregnancy_id_must_refer_to_a_pregnancy_of_this_share() {
        let field = "entries[0].pregnancy_id";
        assert_eq!(
            problem(field, set("/entries/0/pregnancy_id", json!("p2"))),
            "refers to no pregnancy in this share"
        );
        assert_eq!(
            problem(field, set("/entries/0/pregnancy_id", json!(1))),
            "must be a string"
        );
        assert!(paths(set("/entries/0/pregnancy_id", Value::Null)).is_empty());
        assert!(paths(remove("/entries/0", "pregnancy_id")).is_empty());
        // A pregnancy that is itself invalid is still one the entry may point at.
        assert_eq!(
            paths(set("/pregnancies/0/edd", json!("x"))),
            ["pregnancies[0].edd"]
        );
    }

    #[test]
    fn the_category_is_one_of_the_fourteen_keys() {
        assert_eq!(
            problem(
                "entries[0].category",
                set("/entries/0/category", json!("x"))
            ),
            "unknown category 'x'"
        );
        assert_eq!(Category::ALL.len(), 14);
        for category in Category::ALL {
            assert!(paths(set("/entries/0/category", json!(category.as_str()))).is_empty());
        }
    }

    #[test]
    fn code_and_label_are_bounded() {
        assert_eq!(
            problem("entries[0].code", set("/entries/0/code", json!(""))),
            "must not be empty"
        );
        assert_eq!(
            problem(
                "entries[0].code",
                set("/entries/0/code", json!("c".repeat(65)))
            ),
            "at most 64 characters"
        );
        assert_eq!(
            problem(
                "entries[1].label",
                set("/entries/1/label", json!("l".repeat(201)))
            ),
            "at most 200 characters"
        );
        assert_eq!(
            problem("entries[1].label", remove("/entries/1", "label")),
            "required"
        );
    }

    #[test]
    fn labels_and_values_allow_newlines_and_tabs_but_no_other_control_characters() {
        assert!(paths(set("/entries/0/label", json!("a\n\tb"))).is_empty());
        assert_eq!(
            problem(
                "entries[0].label",
                set("/entries/0/label", json!("a\u{0}b"))
            ),
            "contains control characters"
        );
        assert_eq!(
            problem("entries[0].value", set("/entries/0/value", json!("a\rb"))),
            "contains control characters"
        );
    }

    #[test]
    fn the_value_is_a_string_of_at_most_4000_characters() {
        let field = "entries[0].value";
        for bad in [json!(5), json!(true), json!(["O"])] {
            assert_eq!(
                problem(field, set("/entries/0/value", bad)),
                "must be a string"
            );
        }
        assert_eq!(
            problem(field, set("/entries/0/value", json!("v".repeat(4_001)))),
            "at most 4000 characters"
        );
        assert!(paths(set("/entries/0/value", json!("v".repeat(4_000)))).is_empty());
        assert!(paths(set("/entries/0/value", json!(""))).is_empty());
    }

    #[test]
    fn the_unit_is_absent_null_or_1_to_32_characters() {
        let field = "entries[1].unit";
        assert_eq!(
            problem(field, set("/entries/1/unit", json!(""))),
            "must not be empty"
        );
        assert_eq!(
            problem(field, set("/entries/1/unit", json!("u".repeat(33)))),
            "at most 32 characters"
        );
        assert!(paths(remove("/entries/1", "unit")).is_empty());
    }

    #[test]
    fn observed_at_is_an_rfc3339_date_time() {
        let field = "entries[0].observed_at";
        for bad in [
            json!("2025-02-03"),
            json!("2025-02-03 10:15"),
            json!(1_700_000_000),
        ] {
            assert_eq!(
                problem(field, set("/entries/0/observed_at", bad)),
                "must be an RFC 3339 date-time"
            );
        }
    }

    #[test]
    fn the_sensitivity_is_normal_elevated_or_high() {
        assert_eq!(
            problem(
                "entries[1].sensitivity",
                set("/entries/1/sensitivity", json!("secret"))
            ),
            "must be \"normal\", \"elevated\" or \"high\""
        );
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let found = paths(|b| {
            b["consent"] = json!("withdrawn");
            b["client"]["birth_date"] = json!("2030-01-01");
            b["pregnancies"][0]["gravidity"] = json!("two");
            b["entries"][0]["category"] = json!("x");
            b["entries"][1]["id"] = json!("e1");
        });
        assert_eq!(
            found,
            [
                "consent",
                "client.birth_date",
                "pregnancies[0].gravidity",
                "entries[0].category",
                "entries[1].id",
            ]
        );
    }

    #[test]
    fn long_input_is_echoed_shortened() {
        let problem = problem(
            "entries[0].category",
            set("/entries/0/category", json!("x".repeat(100))),
        );
        assert_eq!(problem, format!("unknown category '{}…'", "x".repeat(40)));
    }

    #[test]
    fn consent_changes_are_active_or_withdrawn() {
        assert_eq!(
            validate_consent(&json!({"status": "withdrawn"})),
            Ok(ConsentStatus::Withdrawn)
        );
        assert_eq!(
            validate_consent(&json!({"status": "active"})),
            Ok(ConsentStatus::Active)
        );
        assert_eq!(
            validate_consent(&json!({"status": "paused"})),
            Err(vec![FieldError::new(
                "status",
                "must be \"active\" or \"withdrawn\""
            )])
        );
        assert_eq!(
            validate_consent(&json!({})),
            Err(vec![FieldError::new("status", "required")])
        );
    }

    /// Arbitrary JSON, at most three levels deep; keys are often the real ones so the validator
    /// gets past the first checks. Strings never look like dates, so no value can be valid.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-z]{0,8}".prop_map(Value::from),
            prop::sample::select(vec!["active", "ended", "normal", "p1", "identity"])
                .prop_map(Value::from),
        ];
        let key = prop_oneof![
            prop::sample::select(vec![
                "consent",
                "client",
                "pregnancies",
                "entries",
                "name",
                "birth_date",
                "id",
                "edd",
                "gravidity",
                "parity",
                "status",
                "ended_on",
                "pregnancy_id",
                "category",
                "code",
                "label",
                "value",
                "unit",
                "observed_at",
                "sensitivity",
            ])
            .prop_map(String::from),
            "[a-z]{1,6}",
        ];
        leaf.prop_recursive(3, 32, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(key.clone(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn random_json_never_panics_and_is_refused(body in any_json(), bsn in "[0-9]{0,10}") {
            let errors = validate_share(&bsn, &body, TODAY).unwrap_err();
            prop_assert!(!errors.is_empty());
            let _ = validate_consent(&body);
        }

        #[test]
        fn replacing_any_field_of_a_valid_body_never_panics(
            target in prop::sample::select(vec![
                "/consent", "/client", "/client/name", "/client/birth_date", "/pregnancies",
                "/pregnancies/0", "/pregnancies/0/id", "/pregnancies/0/edd",
                "/pregnancies/0/gravidity", "/pregnancies/0/parity", "/pregnancies/0/status",
                "/pregnancies/0/ended_on", "/entries", "/entries/0", "/entries/0/id",
                "/entries/0/pregnancy_id", "/entries/0/category", "/entries/0/code",
                "/entries/0/label", "/entries/0/value", "/entries/1/unit",
                "/entries/1/observed_at", "/entries/1/sensitivity",
            ]),
            replacement in any_json(),
        ) {
            let mut body = valid_body();
            *body.pointer_mut(target).unwrap() = replacement;
            if let Err(errors) = validate_share(BSN, &body, TODAY) {
                prop_assert!(!errors.is_empty());
            }
        }
    }
}
