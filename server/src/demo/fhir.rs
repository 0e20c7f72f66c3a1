//! The demo's FHIR source: the kraamzorg app shares its clients as FHIR bundles (DESIGN 8.2),
//! read by the same intake as `POST /api/v1/fhir`, so the demo shows both ways in. Its codes
//! are LOINC where one fits and otherwise the app's own code system, which the demo maps into
//! the code map with `codes add` (as a network's administrator would for a vendor).

use backend::codes;
use backend::store::Store;
use domain::code_map::{LOINC, SNOMED};
use domain::error::AppError;
use domain::share::{ValidEntry, ValidPregnancy};
use domain::Bsn;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::Date;

/// The kraamzorg app's own code system.
pub const APP_CODES: &str = "https://kraamhoek.example/fhir/CodeSystem/kraamzorg";

/// The app's codes that have a LOINC code in the seeded map (same category and sensitivity).
const LOINC_CODES: &[(&str, &str)] = &[
    ("geboortegewicht", "8339-4"),
    ("apgar5", "9274-2"),
    ("temperatuur", "8310-5"),
];

fn coding(code: &str) -> (&'static str, String) {
    match LOINC_CODES.iter().find(|(own, _)| *own == code) {
        Some((_, loinc)) => (LOINC, (*loinc).to_owned()),
        None => (APP_CODES, code.to_owned()),
    }
}

/// Maps the app's own codes of `entries` into the code map (each once; logged as
/// `code_map_changed`).
pub async fn map_app_codes(store: &Store, entries: &[ValidEntry]) -> Result<(), AppError> {
    let known = store.code_map().await?;
    for e in entries {
        let (system, code) = coding(&e.code);
        if known.iter().any(|m| m.system == system && m.code == code) || system != APP_CODES {
            continue;
        }
        match codes::add_code(
            store,
            system,
            &code,
            e.category.as_str(),
            e.sensitivity.as_str(),
            &e.label,
            "Kraamhoek-app, eigen codestelsel (demo)",
        )
        .await
        {
            // Another client's entries mapped it already.
            Err(AppError::Validation { .. }) => {}
            other => {
                other?;
            }
        }
    }
    Ok(())
}

/// The share as the kraamzorg app sends it: a transaction Bundle with the Patient, each
/// pregnancy as a Condition 77386006 with its due date, gravidity and parity, and each entry
/// as an Observation pointing at its pregnancy.
pub fn bundle(
    bsn: &Bsn,
    name: &str,
    birth_date: Date,
    pregnancies: &[ValidPregnancy],
    entries: &[ValidEntry],
) -> Value {
    let mut resources = vec![json!({
        "resourceType": "Patient", "id": "patient",
        "identifier": [{ "system": backend::fhir::BSN_SYSTEM, "value": bsn.as_ref() }],
        "name": [{ "text": name }],
        "birthDate": birth_date.to_string(),
    })];
    let subject = json!({ "reference": "Patient/patient" });
    for p in pregnancies {
        let status = if p.ended_on.is_some() {
            "resolved"
        } else {
            "active"
        };
        let mut condition = json!({
            "resourceType": "Condition", "id": p.id, "subject": subject,
            "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status }] },
            "code": { "coding": [{ "system": SNOMED, "code": backend::fhir::PREGNANCY_CODE, "display": "Zwangerschap" }] },
        });
        if let Some(end) = p.ended_on {
            condition["abatementDateTime"] = json!(end.to_string());
        }
        resources.push(condition);
        let focus = json!([{ "reference": format!("Condition/{}", p.id) }]);
        for (suffix, code, value) in [
            (
                "edd",
                backend::fhir::DUE_DATE_CODE,
                json!({ "valueDateTime": p.edd.to_string() }),
            ),
            (
                "g",
                backend::fhir::GRAVIDITY_CODE,
                json!({ "valueInteger": p.gravidity }),
            ),
            (
                "p",
                backend::fhir::PARITY_CODE,
                json!({ "valueInteger": p.parity }),
            ),
        ] {
            let mut observation = json!({
                "resourceType": "Observation", "id": format!("{}-{suffix}", p.id), "status": "final",
                "code": { "coding": [{ "system": LOINC, "code": code }] },
                "subject": subject, "focus": focus,
            });
            merge(&mut observation, value);
            resources.push(observation);
        }
    }
    for e in entries {
        let (system, code) = coding(&e.code);
        let mut observation = json!({
            "resourceType": "Observation", "id": e.id, "status": "final",
            "code": { "coding": [{ "system": system, "code": code, "display": e.label }] },
            "subject": subject,
            "effectiveDateTime": e.observed_at.format(&Rfc3339).unwrap_or_default(),
        });
        if let Some(p) = &e.pregnancy_id {
            observation["focus"] = json!([{ "reference": format!("Condition/{p}") }]);
        }
        let number = e
            .value
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| e.value.parse::<f64>().map(Value::from));
        let value = match (&e.unit, number) {
            (Some(unit), Ok(number)) => {
                json!({ "valueQuantity": { "value": number, "unit": unit } })
            }
            _ => json!({ "valueString": e.value }),
        };
        merge(&mut observation, value);
        resources.push(observation);
    }
    json!({
        "resourceType": "Bundle", "type": "transaction",
        "entry": resources.into_iter().map(|r| {
            let url = format!("{}/{}", r["resourceType"].as_str().unwrap_or(""), r["id"].as_str().unwrap_or(""));
            json!({ "resource": r, "request": { "method": "PUT", "url": url } })
        }).collect::<Vec<_>>(),
    })
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        target.extend(extra);
    }
}
