//! FHIR values as Ooievaar shows them: `value[x]` of any type as text with its unit, and FHIR
//! dates and date-times as the share's dates and RFC 3339 times.

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime};

/// The `value[x]` element of an Observation or a component: `(element name, value)`.
pub fn value_element(resource: &Map<String, Value>) -> Option<(&str, &Value)> {
    resource.iter().find_map(|(key, value)| {
        let suffix = key.strip_prefix("value")?;
        suffix
            .starts_with(|c: char| c.is_ascii_uppercase())
            .then_some((key.as_str(), value))
    })
}

/// Renders `value[x]`; `Err` names what is wrong with it.
pub fn render(element: &str, value: &Value) -> Result<(String, Option<String>), String> {
    let kind = &element["value".len()..];
    let wrong = || format!("is not a valid {kind}");
    Ok(match kind {
        "Quantity" | "Age" | "Duration" | "Count" | "Distance" => {
            quantity(value).ok_or_else(wrong)?
        }
        "CodeableConcept" => (concept_text(value).ok_or_else(wrong)?, None),
        "Coding" => (coding_text(value).ok_or_else(wrong)?, None),
        "String" | "Markdown" | "Code" | "Id" | "Uri" | "Url" | "Canonical" | "Oid" | "Uuid" => {
            (value.as_str().ok_or_else(wrong)?.to_owned(), None)
        }
        "Integer" | "UnsignedInt" | "PositiveInt" | "Decimal" => {
            (number(value).ok_or_else(wrong)?, None)
        }
        "Boolean" => (
            if value.as_bool().ok_or_else(wrong)? {
                "ja"
            } else {
                "nee"
            }
            .to_owned(),
            None,
        ),
        "DateTime" | "Date" | "Instant" => (
            readable_moment(value.as_str().ok_or_else(wrong)?).ok_or_else(wrong)?,
            None,
        ),
        "Time" => {
            let t = value.as_str().filter(|t| t.len() >= 5).ok_or_else(wrong)?;
            (t[..5].to_owned(), None)
        }
        "Period" => {
            let end = |key: &str| {
                value
                    .get(key)
                    .and_then(Value::as_str)
                    .and_then(readable_moment)
            };
            match (end("start"), end("end")) {
                (Some(s), Some(e)) => (format!("{s} – {e}"), None),
                (Some(s), None) => (format!("vanaf {s}"), None),
                (None, Some(e)) => (format!("tot {e}"), None),
                (None, None) => return Err(wrong()),
            }
        }
        "Range" => {
            let low = value.get("low").and_then(quantity);
            let high = value.get("high").and_then(quantity);
            match (low, high) {
                (Some((l, lu)), Some((h, hu))) if lu == hu => (format!("{l}–{h}"), lu),
                (Some((l, lu)), Some((h, hu))) => (
                    format!(
                        "{} – {}",
                        with_unit(&l, lu.as_deref()),
                        with_unit(&h, hu.as_deref())
                    ),
                    None,
                ),
                (Some((l, lu)), None) => (format!("≥ {l}"), lu),
                (None, Some((h, hu))) => (format!("≤ {h}"), hu),
                (None, None) => return Err(wrong()),
            }
        }
        "Ratio" => {
            let n = value
                .get("numerator")
                .and_then(quantity)
                .ok_or_else(wrong)?;
            let d = value
                .get("denominator")
                .and_then(quantity)
                .ok_or_else(wrong)?;
            (
                format!(
                    "{}/{}",
                    with_unit(&n.0, n.1.as_deref()),
                    with_unit(&d.0, d.1.as_deref())
                ),
                None,
            )
        }
        // Shapes a person cannot read in a line; the entry still says that a value exists.
        "SampledData" | "Attachment" | "Reference" => (format!("(waarde van type {kind})"), None),
        _ => return Err(format!("'{element}' is not a FHIR value type")),
    })
}

/// The text of a `CodeableConcept`: its `text`, else its first coding's display or code.
pub fn concept_text(value: &Value) -> Option<String> {
    if let Some(text) = value.get("text").and_then(Value::as_str) {
        return Some(text.to_owned());
    }
    value
        .get("coding")?
        .as_array()?
        .iter()
        .find_map(coding_text)
}

fn coding_text(coding: &Value) -> Option<String> {
    coding
        .get("display")
        .or_else(|| coding.get("code"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A `Quantity` as (number with comparator, unit).
fn quantity(value: &Value) -> Option<(String, Option<String>)> {
    let number = number(value.get("value")?)?;
    let comparator = value
        .get("comparator")
        .and_then(Value::as_str)
        .unwrap_or("");
    let unit = value
        .get("unit")
        .or_else(|| value.get("code"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some((format!("{comparator}{number}"), unit))
}

fn number(value: &Value) -> Option<String> {
    value.as_number().map(|n| n.to_string())
}

fn with_unit(number: &str, unit: Option<&str>) -> String {
    match unit {
        Some(unit) => format!("{number} {unit}"),
        None => number.to_owned(),
    }
}

/// Renders components (a blood pressure panel) as one value: `120/80` with unit `mmHg` when
/// they share a unit, else each with its own (`120 mmHg; 80 mmHg`).
pub fn join_components(parts: Vec<(String, Option<String>)>) -> (String, Option<String>) {
    let first_unit = parts.first().and_then(|p| p.1.clone());
    if first_unit.is_some() && parts.iter().all(|p| p.1 == first_unit) {
        let text = parts.into_iter().map(|p| p.0).collect::<Vec<_>>().join("/");
        return (text, first_unit);
    }
    let text = parts
        .iter()
        .map(|(v, u)| with_unit(v, u.as_deref()))
        .collect::<Vec<_>>()
        .join("; ");
    (text, None)
}

/// A FHIR `date` or `dateTime` as a calendar date `YYYY-MM-DD` (the share's date format);
/// partial dates take the first day. `None` when it is not one.
pub fn date_part(text: &str) -> Option<String> {
    fhir_date(text).map(|d| d.to_string())
}

/// The calendar date a FHIR date or date-time starts with (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`).
fn fhir_date(text: &str) -> Option<Date> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let date = text.split('T').next()?;
    let mut parts = date.split('-');
    let year = parts
        .next()
        .filter(|y| y.len() == 4 && digits(y))?
        .parse()
        .ok()?;
    let month = match parts.next() {
        Some(m) if m.len() == 2 && digits(m) => Month::try_from(m.parse::<u8>().ok()?).ok()?,
        Some(_) => return None,
        None => Month::January,
    };
    let day = match parts.next() {
        Some(d) if d.len() == 2 && digits(d) => d.parse().ok()?,
        Some(_) => return None,
        None => 1,
    };
    if parts.next().is_some() {
        return None;
    }
    Date::from_calendar_date(year, month, day).ok()
}

/// A FHIR `dateTime` as an RFC 3339 time: a date-time as sent (FHIR requires its zone), a date
/// (or partial date) as the start of that Dutch day. `None` when it is neither.
pub fn moment(text: &str) -> Option<String> {
    if text.contains('T') {
        return OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .map(|_| text.to_owned());
    }
    let day = fhir_date(text)?;
    let ms = crate::clock::start_of_local_day(day);
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// A date or date-time for a person: `06-04-1991`, or `06-04-1991 14:05` (Dutch time).
fn readable_moment(text: &str) -> Option<String> {
    if text.contains('T') {
        let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        let ms = (at.unix_timestamp_nanos() / 1_000_000) as i64;
        let local = crate::clock::amsterdam(ms);
        return Some(format!(
            "{} {:02}:{:02}",
            crate::clock::dutch_date(ms),
            local.hour(),
            local.minute()
        ));
    }
    let d = fhir_date(text)?;
    Some(format!(
        "{:02}-{:02}-{}",
        d.day(),
        d.month() as u8,
        d.year()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_of_every_common_type_read_as_a_person_expects() {
        let r = |k: &str, v: Value| render(k, &v).unwrap();
        assert_eq!(
            r("valueQuantity", json!({"value": 7.4, "unit": "mmol/l"})),
            ("7.4".into(), Some("mmol/l".into()))
        );
        assert_eq!(
            r(
                "valueQuantity",
                json!({"value": 3, "comparator": "<", "code": "g/L"})
            ),
            ("<3".into(), Some("g/L".into()))
        );
        assert_eq!(
            r(
                "valueCodeableConcept",
                json!({"coding": [{"code": "260385009", "display": "negatief"}]})
            ),
            ("negatief".into(), None)
        );
        assert_eq!(r("valueBoolean", json!(false)), ("nee".into(), None));
        assert_eq!(r("valueInteger", json!(9)), ("9".into(), None));
        assert_eq!(
            r("valueDateTime", json!("2026-04-06")),
            ("06-04-2026".into(), None)
        );
        assert_eq!(
            r(
                "valueRange",
                json!({"low": {"value": 2, "unit": "cm"}, "high": {"value": 3, "unit": "cm"}})
            ),
            ("2–3".into(), Some("cm".into()))
        );
        assert!(render("valueQuantity", &json!("7,4"))
            .unwrap_err()
            .contains("Quantity"));
        assert!(render("valueFoo", &json!(1)).is_err());
    }

    #[test]
    fn components_with_one_unit_read_as_a_blood_pressure() {
        assert_eq!(
            join_components(vec![
                ("120".into(), Some("mmHg".into())),
                ("80".into(), Some("mmHg".into()))
            ]),
            ("120/80".into(), Some("mmHg".into()))
        );
        assert_eq!(
            join_components(vec![("1".into(), Some("a".into())), ("2".into(), None)]),
            ("1 a; 2".into(), None)
        );
    }

    #[test]
    fn fhir_dates_become_share_dates_and_times() {
        assert_eq!(date_part("2026-03-01").as_deref(), Some("2026-03-01"));
        assert_eq!(date_part("2026-03").as_deref(), Some("2026-03-01"));
        assert_eq!(
            date_part("2026-03-01T10:00:00+01:00").as_deref(),
            Some("2026-03-01")
        );
        assert_eq!(date_part("2026-02-30"), None);
        assert_eq!(date_part("01-03-2026"), None);
        assert_eq!(
            moment("2026-10-02T09:30:00+02:00").as_deref(),
            Some("2026-10-02T09:30:00+02:00")
        );
        // A date is the start of that Dutch day: 23:00 UTC in winter.
        assert_eq!(
            moment("2026-01-15").as_deref(),
            Some("2026-01-14T23:00:00Z")
        );
        assert_eq!(moment("2026-10-02T09:30:00"), None, "a time needs its zone");
    }
}
