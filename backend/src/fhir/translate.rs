//! From a bundle to the equivalent JSON share, element by element, keeping for each share
//! field the FHIRPath it came from.

use super::bundle::{echo, Bundle, Resource, Target};
use super::values;
use super::{
    CodeMap, Intake, Issue, IssueCode, BSN_SYSTEM, DUE_DATE_CODE, GRAVIDITY_CODE, PARITY_CODE,
    PREGNANCY_CODE,
};
use domain::code_map::{LOINC, SNOMED};
use domain::share::{validate_share, ConsentStatus};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use time::Date;

/// The clinical resources whose code is looked up in the code map.
const CLINICAL: &[&str] = &[
    "Observation",
    "Condition",
    "AllergyIntolerance",
    "MedicationStatement",
    "Procedure",
];

/// Resources accepted as context (a reference may point at them); nothing of them is stored.
const CONTEXT: &[&str] = &[
    "Encounter",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "RelatedPerson",
    "Medication",
    "CareTeam",
    "Provenance",
];

/// Reads a bundle into an [`Intake`], or every problem found.
pub fn read_bundle(body: &Value, map: &CodeMap, today: Date) -> Result<Intake, Vec<Issue>> {
    let mut issues = Vec::new();
    let Some(bundle) = Bundle::index(body, &mut issues) else {
        return Err(issues);
    };
    let reader = Reader {
        bundle: &bundle,
        map,
        issues,
        paths: HashMap::new(),
        quiet: HashSet::new(),
    };
    reader.read(today)
}

/// Which pregnancy field a pregnancy observation feeds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PregnancyField {
    DueDate,
    Gravidity,
    Parity,
}

impl PregnancyField {
    fn of(r: &Resource) -> Option<Self> {
        [
            (DUE_DATE_CODE, PregnancyField::DueDate),
            (GRAVIDITY_CODE, PregnancyField::Gravidity),
            (PARITY_CODE, PregnancyField::Parity),
        ]
        .into_iter()
        .find(|(code, _)| has_coding(r.body.get("code"), LOINC, code))
        .map(|(_, field)| field)
    }

    fn key(self) -> &'static str {
        match self {
            PregnancyField::DueDate => "edd",
            PregnancyField::Gravidity => "gravidity",
            PregnancyField::Parity => "parity",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            PregnancyField::DueDate => "due date (LOINC 11778-8)",
            PregnancyField::Gravidity => "gravidity (LOINC 11996-6)",
            PregnancyField::Parity => "parity (LOINC 11977-6)",
        }
    }
}

struct Reader<'b, 'a> {
    bundle: &'b Bundle<'a>,
    map: &'b CodeMap,
    issues: Vec<Issue>,
    /// Share field (`entries[3].value`) → FHIRPath it came from.
    paths: HashMap<String, String>,
    /// Share items (`entries[3]`, `client`) whose problems are already reported in FHIR terms.
    quiet: HashSet<String>,
}

impl<'b, 'a> Reader<'b, 'a> {
    fn issue(&mut self, item: &str, code: IssueCode, at: String, text: impl Into<String>) {
        self.quiet.insert(item.to_owned());
        self.issues.push(Issue::new(code, at, text));
    }

    fn path(&mut self, field: String, at: String) {
        self.paths.insert(field, at);
    }

    fn read(mut self, today: Date) -> Result<Intake, Vec<Issue>> {
        let bundle = self.bundle;
        let resources = &bundle.resources;
        let mut patient = None;
        let mut consent = None;
        let mut pregnancies = Vec::new();
        let mut pregnancy_facts = Vec::new();
        let mut clinical = Vec::new();
        for (pos, r) in resources.iter().enumerate() {
            match r.kind {
                "Patient" if patient.is_some() => self.issue(
                    "client",
                    IssueCode::BusinessRule,
                    r.path(),
                    "a bundle holds exactly one Patient; this is a second one",
                ),
                "Patient" => patient = Some(pos),
                "Consent" if consent.is_some() => self.issue(
                    "consent",
                    IssueCode::BusinessRule,
                    r.path(),
                    "a bundle holds at most one Consent; this is a second one",
                ),
                "Consent" => consent = Some(pos),
                "EpisodeOfCare" => pregnancies.push(pos),
                "Condition" if has_coding(r.body.get("code"), SNOMED, PREGNANCY_CODE) => {
                    pregnancies.push(pos)
                }
                "Observation" if PregnancyField::of(r).is_some() => pregnancy_facts.push(pos),
                kind if CLINICAL.contains(&kind) => clinical.push(pos),
                kind if CONTEXT.contains(&kind) => {}
                kind => self.issue(
                    "bundle",
                    IssueCode::NotSupported,
                    r.at("resourceType"),
                    format!(
                        "'{}' is not accepted; accepted are Patient, Consent, EpisodeOfCare, {} and as context {}",
                        echo(kind),
                        CLINICAL.join(", "),
                        CONTEXT.join(", ")
                    ),
                ),
            }
        }
        let Some(patient) = patient else {
            self.issues.push(Issue::new(
                IssueCode::Required,
                "Bundle.entry",
                "exactly one Patient (with her BSN) is required",
            ));
            return Err(self.issues);
        };
        let (bsn, client) = self.read_patient(&resources[patient]);
        let consent = consent.and_then(|pos| self.read_consent(&resources[pos], patient));

        let withdrawal = consent == Some(ConsentStatus::Withdrawn);
        let consent_only = consent.is_some()
            && pregnancies.is_empty()
            && pregnancy_facts.is_empty()
            && clinical.is_empty();
        if withdrawal && !consent_only {
            let at = resources
                .iter()
                .find(|r| r.kind == "Consent")
                .map(|r| r.at("status"))
                .unwrap_or_default();
            self.issue(
                "consent",
                IssueCode::BusinessRule,
                at,
                "a withdrawal comes with the Patient only; this bundle also holds pregnancies or clinical resources",
            );
        }

        let pregnancy_json: Vec<Value> = pregnancies
            .iter()
            .enumerate()
            .map(|(k, &pos)| self.read_pregnancy(k, &resources[pos]))
            .collect();
        let pregnancy_ids: HashMap<usize, Option<&str>> = pregnancies
            .iter()
            .map(|&pos| (pos, resources[pos].id))
            .collect();
        let mut pregnancy_json = pregnancy_json;
        self.read_pregnancy_facts(&pregnancies, &pregnancy_facts, patient, &mut pregnancy_json);
        let mut entries = Vec::new();
        for &pos in &clinical {
            let r = &resources[pos];
            if retracted(r) {
                continue;
            }
            let n = entries.len();
            entries.push(self.read_entry(n, r, patient, &pregnancy_ids));
        }

        let read: Vec<String> = resources
            .iter()
            .filter(|r| !CONTEXT.contains(&r.kind))
            .map(Resource::location)
            .collect();
        if consent_only {
            let bsn = domain::Bsn::parse(&bsn).map_err(|e| {
                let at = self.paths.get("bsn").cloned().unwrap_or_default();
                self.issues
                    .push(Issue::new(IssueCode::Value, at, e.to_string()));
            });
            return match (bsn, self.issues.is_empty()) {
                (Ok(bsn), true) => Ok(Intake {
                    bsn,
                    consent,
                    share: None,
                    read,
                }),
                _ => Err(self.issues),
            };
        }
        let share = json!({
            "consent": "active",
            "client": client,
            "pregnancies": pregnancy_json,
            "entries": entries,
        });
        match validate_share(&bsn, &share, today) {
            Ok(share) if self.issues.is_empty() => Ok(Intake {
                bsn: share.bsn.clone(),
                consent,
                share: Some(share),
                read,
            }),
            Ok(_) => Err(self.issues),
            Err(problems) => {
                for problem in problems {
                    let item = problem.field.split('.').next().unwrap_or("");
                    if self.quiet.contains(item) {
                        continue;
                    }
                    let code = if problem.problem == "required" {
                        IssueCode::Required
                    } else if problem.problem.starts_with("duplicate") {
                        IssueCode::Duplicate
                    } else {
                        IssueCode::Value
                    };
                    let at = self.fhir_path(&problem.field);
                    let text = if problem.field.ends_with("observed_at")
                        && problem.problem.contains("RFC 3339")
                    {
                        "must be a FHIR dateTime with its time zone".to_owned()
                    } else {
                        problem.problem
                    };
                    self.issues.push(Issue::new(code, at, text));
                }
                Err(self.issues)
            }
        }
    }

    /// The FHIRPath of a share field: its own, else its item's, else the bundle.
    fn fhir_path(&self, field: &str) -> String {
        let mut key = field;
        loop {
            if let Some(path) = self.paths.get(key) {
                return path.clone();
            }
            match key.rfind('.') {
                Some(dot) => key = &key[..dot],
                None => return "Bundle".to_owned(),
            }
        }
    }

    /// Ties a share item to its resource, whose id it takes (`becomes` says what for).
    fn start_item(&mut self, item: &str, r: &Resource<'a>, becomes: &str) {
        self.path(item.to_owned(), r.path());
        self.path(format!("{item}.id"), r.at("id"));
        if r.id.is_none() {
            self.issue(
                item,
                IssueCode::Required,
                r.at("id"),
                format!("required: it becomes {becomes}"),
            );
        }
    }

    /// The BSN (as sent) and the share's `client`.
    fn read_patient(&mut self, p: &Resource<'a>) -> (String, Value) {
        let identifiers = p.body.get("identifier").and_then(Value::as_array);
        let found = identifiers.and_then(|ids| {
            ids.iter()
                .enumerate()
                .find(|(_, id)| id.get("system").and_then(Value::as_str) == Some(BSN_SYSTEM))
        });
        let bsn = match found {
            Some((j, identifier)) => {
                self.path("bsn".into(), p.at(&format!("identifier[{j}].value")));
                identifier
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            }
            None => {
                self.issue(
                    "bsn",
                    IssueCode::Required,
                    p.at("identifier"),
                    format!("a BSN identifier (system {BSN_SYSTEM}) is required"),
                );
                String::new()
            }
        };
        self.path("client.name".into(), p.at("name"));
        self.path("client.birth_date".into(), p.at("birthDate"));
        let name = human_name(p.body.get("name"));
        let birth_date = p.body.get("birthDate").cloned().unwrap_or(Value::Null);
        (bsn, json!({ "name": name, "birth_date": birth_date }))
    }

    fn read_consent(&mut self, r: &Resource<'a>, patient: usize) -> Option<ConsentStatus> {
        self.check_subject(r, "patient", patient, "consent");
        match r.body.get("status").and_then(Value::as_str) {
            Some("active") => Some(ConsentStatus::Active),
            Some("inactive" | "rejected") => Some(ConsentStatus::Withdrawn),
            _ => {
                self.issue(
                    "consent",
                    IssueCode::Value,
                    r.at("status"),
                    "must be 'active', or 'inactive' or 'rejected' for a withdrawal",
                );
                None
            }
        }
    }

    /// A pregnancy: a Condition 77386006 or an EpisodeOfCare. Due date, gravidity and parity
    /// are filled in from their observations afterwards.
    fn read_pregnancy(&mut self, k: usize, r: &Resource<'a>) -> Value {
        let item = format!("pregnancies[{k}]");
        self.start_item(&item, r, "the pregnancy's id");
        let (ended, end, end_at) = if r.kind == "EpisodeOfCare" {
            let ended = match r.body.get("status").and_then(Value::as_str) {
                Some("planned" | "waitlist" | "active" | "onhold") => Some(false),
                Some("finished" | "cancelled") => Some(true),
                _ => None,
            };
            let end = r.body.get("period").and_then(|p| p.get("end"));
            (ended, end, ("status", "period.end"))
        } else {
            let ended = match first_code(r.body.get("clinicalStatus")) {
                None | Some("active" | "recurrence" | "relapse") => Some(false),
                Some(status) if is_over(status) => Some(true),
                Some(_) => None,
            };
            let end = r
                .body
                .get("abatementDateTime")
                .or_else(|| r.body.get("abatementPeriod").and_then(|p| p.get("end")));
            (ended, end, ("clinicalStatus", "abatementDateTime"))
        };
        self.path(format!("{item}.status"), r.at(end_at.0));
        self.path(format!("{item}.ended_on"), r.at(end_at.1));
        let Some(ended) = ended else {
            self.issue(
                &item,
                IssueCode::Value,
                r.at(end_at.0),
                "must say whether the pregnancy is ongoing (active) or ended (finished, resolved)",
            );
            return Value::Null;
        };
        let ended_on = match end.and_then(Value::as_str) {
            Some(text) => match values::date_part(text) {
                Some(date) => Value::String(date),
                None => {
                    self.issue(
                        &item,
                        IssueCode::Value,
                        r.at(end_at.1),
                        "must be a FHIR date",
                    );
                    Value::Null
                }
            },
            None => Value::Null,
        };
        json!({
            "id": r.id,
            "status": if ended { "ended" } else { "active" },
            "ended_on": if ended { ended_on } else { Value::Null },
            "edd": null, "gravidity": null, "parity": null,
        })
    }

    /// Fills due date, gravidity and parity in from the observations pointing at each
    /// pregnancy; a missing one is named at the pregnancy.
    fn read_pregnancy_facts(
        &mut self,
        pregnancies: &[usize],
        facts: &[usize],
        patient: usize,
        json: &mut [Value],
    ) {
        let bundle = self.bundle;
        let resources = &bundle.resources;
        for &pos in facts {
            let r = &resources[pos];
            if retracted(r) {
                continue;
            }
            let Some(field) = PregnancyField::of(r) else {
                continue;
            };
            self.check_subject(r, "subject", patient, "pregnancies");
            let target = self
                .pregnancy_of(r, "pregnancies")
                .and_then(|(found, _)| pregnancies.iter().position(|&p| p == found));
            let Some(k) = target else {
                self.issue(
                    "pregnancies",
                    IssueCode::BusinessRule,
                    r.at("focus"),
                    format!(
                        "the {} must point at its pregnancy (focus)",
                        field.describe()
                    ),
                );
                continue;
            };
            let item = format!("pregnancies[{k}]");
            if json[k].is_null() {
                continue;
            }
            if !json[k][field.key()].is_null() {
                self.issue(
                    &item,
                    IssueCode::Duplicate,
                    r.path(),
                    format!("a second {} for the same pregnancy", field.describe()),
                );
                continue;
            }
            let (element, value) = match values::value_element(r.body) {
                Some(v) => v,
                None => ("value[x]", &Value::Null),
            };
            let element_path = r.at(element);
            self.path(format!("{item}.{}", field.key()), element_path.clone());
            let read = match field {
                PregnancyField::DueDate => value
                    .as_str()
                    .filter(|_| element == "valueDateTime")
                    .and_then(values::date_part)
                    .map(Value::String),
                PregnancyField::Gravidity | PregnancyField::Parity => match element {
                    "valueInteger" => Some(value.clone()),
                    "valueQuantity" => value.get("value").cloned(),
                    _ => None,
                },
            };
            match read {
                Some(v) => json[k][field.key()] = v,
                None => self.issue(
                    &item,
                    IssueCode::Value,
                    element_path,
                    match field {
                        PregnancyField::DueDate => "the due date must be a valueDateTime (a date)",
                        _ => "must be a valueInteger",
                    },
                ),
            }
        }
        for (k, &pos) in pregnancies.iter().enumerate() {
            if json[k].is_null() {
                continue;
            }
            for field in [
                PregnancyField::DueDate,
                PregnancyField::Gravidity,
                PregnancyField::Parity,
            ] {
                if json[k][field.key()].is_null() {
                    let item = format!("pregnancies[{k}]");
                    let at = resources[pos].path();
                    self.issue(
                        &item,
                        IssueCode::Required,
                        at,
                        format!(
                            "no {}: an Observation with that code whose focus is this pregnancy is required",
                            field.describe()
                        ),
                    );
                }
            }
        }
    }

    /// One clinical resource as a share entry.
    fn read_entry(
        &mut self,
        n: usize,
        r: &Resource<'a>,
        patient: usize,
        pregnancy_ids: &HashMap<usize, Option<&str>>,
    ) -> Value {
        let item = format!("entries[{n}]");
        self.start_item(&item, r, "the entry's id, so a resend changes nothing");
        let subject = if r.kind == "AllergyIntolerance" {
            "patient"
        } else {
            "subject"
        };
        self.check_subject(r, subject, patient, &item);

        // The code, looked up in the code map.
        let (code_element, concept) = self.code_of(r);
        let code_path = r.at(code_element);
        for field in ["code", "label", "category", "sensitivity"] {
            self.path(format!("{item}.{field}"), code_path.clone());
        }
        let codings = concept
            .and_then(|c| c.get("coding"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let map = self.map;
        let hit = codings.iter().find_map(|c| {
            let system = c.get("system")?.as_str()?;
            let code = c.get("code")?.as_str()?;
            Some((c, map.get(system, code)?))
        });
        let Some((coding, mapping)) = hit else {
            match codings.first() {
                None => self.issue(
                    &item,
                    IssueCode::Required,
                    format!("{code_path}.coding"),
                    "a coding (system and code) is required: the code map decides where the value lands",
                ),
                Some(first) => {
                    let text = |key: &str| first.get(key).and_then(Value::as_str).map(echo).unwrap_or_default();
                    let diagnostics = format!(
                        "code '{}' of system '{}' is not in Ooievaar's code map, so its category and sensitivity are unknown; it is refused, not guessed (the network's administrator can add it with `ooievaar codes add`)",
                        text("code"),
                        text("system"),
                    );
                    self.issue(&item, IssueCode::CodeInvalid, format!("{code_path}.coding[0]"), diagnostics);
                }
            }
            return Value::Null;
        };
        let display = concept
            .and_then(|c| c.get("text"))
            .or_else(|| coding.get("display"))
            .and_then(Value::as_str)
            .unwrap_or(mapping.label.as_str())
            .to_owned();

        // The value.
        let value = self.value_of(&item, r, display);
        // The time.
        let observed_at = self.observed_at(&item, r);
        // The pregnancy it belongs to.
        let pregnancy_id = self.pregnancy_of(r, &item).and_then(|(pos, at)| {
            let id = pregnancy_ids.get(&pos).copied().flatten()?;
            self.path(format!("{item}.pregnancy_id"), at);
            Some(id)
        });
        match value {
            Some((value, unit)) => json!({
                "id": r.id,
                "pregnancy_id": pregnancy_id,
                "category": mapping.category.as_str(),
                "code": mapping.code,
                "label": mapping.label,
                "value": value,
                "unit": unit,
                "observed_at": observed_at,
                "sensitivity": mapping.sensitivity.as_str(),
            }),
            None => Value::Null,
        }
    }

    /// The element holding the resource's code and its CodeableConcept.
    fn code_of(&self, r: &Resource<'a>) -> (&'static str, Option<&'a Value>) {
        if r.kind != "MedicationStatement" {
            return ("code", r.body.get("code"));
        }
        if let Some(concept) = r.body.get("medicationCodeableConcept") {
            return ("medicationCodeableConcept", Some(concept));
        }
        // A reference to a Medication in the bundle: its code.
        if let Some(Target::Found(pos)) = r
            .body
            .get("medicationReference")
            .map(|m| self.bundle.resolve(m))
        {
            let medication = &self.bundle.resources[pos];
            if medication.kind == "Medication" {
                return ("medicationReference", medication.body.get("code"));
            }
        }
        ("medicationCodeableConcept", None)
    }

    /// The value shown for a clinical resource, with its unit.
    fn value_of(
        &mut self,
        item: &str,
        r: &Resource<'a>,
        display: String,
    ) -> Option<(String, Option<String>)> {
        let text_of = |v: Option<&Value>| v.and_then(values::concept_text);
        match r.kind {
            "Observation" => {
                if let Some((element, value)) = values::value_element(r.body) {
                    self.path(format!("{item}.value"), r.at(element));
                    self.path(format!("{item}.unit"), r.at(element));
                    return match values::render(element, value) {
                        Ok(v) => Some(v),
                        Err(problem) => {
                            self.issue(item, IssueCode::Value, r.at(element), problem);
                            None
                        }
                    };
                }
                if let Some(components) = r.body.get("component").and_then(Value::as_array) {
                    self.path(format!("{item}.value"), r.at("component"));
                    let mut parts = Vec::new();
                    for (i, component) in components.iter().enumerate() {
                        let Some((element, value)) =
                            component.as_object().and_then(values::value_element)
                        else {
                            continue;
                        };
                        match values::render(element, value) {
                            Ok(part) => parts.push(part),
                            Err(problem) => {
                                self.issue(
                                    item,
                                    IssueCode::Value,
                                    r.at(&format!("component[{i}].{element}")),
                                    problem,
                                );
                                return None;
                            }
                        }
                    }
                    if !parts.is_empty() {
                        return Some(values::join_components(parts));
                    }
                }
                let absent = text_of(r.body.get("dataAbsentReason"));
                Some((
                    absent
                        .map(|a| format!("geen waarde: {a}"))
                        .unwrap_or_default(),
                    None,
                ))
            }
            "Condition" => {
                let inactive = first_code(r.body.get("clinicalStatus")).is_some_and(is_over);
                Some((
                    if inactive {
                        format!("{display} (niet meer actief)")
                    } else {
                        display
                    },
                    None,
                ))
            }
            "AllergyIntolerance" => {
                let reaction = r
                    .body
                    .get("reaction")
                    .and_then(|x| x.get(0))
                    .and_then(|x| x.get("manifestation"))
                    .and_then(|x| x.get(0));
                Some(match text_of(reaction) {
                    Some(reaction) => (format!("{display}; reactie: {reaction}"), None),
                    None => (display, None),
                })
            }
            "MedicationStatement" => {
                let dosage = r
                    .body
                    .get("dosage")
                    .and_then(|d| d.get(0))
                    .and_then(|d| d.get("text"))
                    .and_then(Value::as_str);
                Some(match dosage {
                    Some(dosage) => (format!("{display}, {dosage}"), None),
                    None => (display, None),
                })
            }
            _ => Some((display, None)),
        }
    }

    /// When the resource's fact holds, as RFC 3339.
    fn observed_at(&mut self, item: &str, r: &Resource<'a>) -> Value {
        let candidates: &[&str] = match r.kind {
            "Observation" => &[
                "effectiveDateTime",
                "effectiveInstant",
                "effectivePeriod.start",
                "issued",
            ],
            "Condition" => &["onsetDateTime", "onsetPeriod.start", "recordedDate"],
            "AllergyIntolerance" => &["onsetDateTime", "onsetPeriod.start", "recordedDate"],
            "MedicationStatement" => {
                &["effectiveDateTime", "effectivePeriod.start", "dateAsserted"]
            }
            _ => &["performedDateTime", "performedPeriod.start"],
        };
        for &element in candidates {
            let mut parts = element.split('.');
            let first = parts.next().and_then(|key| r.body.get(key));
            let Some(found) = parts.fold(first, |node, key| node.and_then(|n| n.get(key))) else {
                continue;
            };
            self.path(format!("{item}.observed_at"), r.at(element));
            return match found.as_str().and_then(values::moment) {
                Some(at) => Value::String(at),
                None => {
                    self.issue(
                        item,
                        IssueCode::Value,
                        r.at(element),
                        "must be a FHIR dateTime with its time zone",
                    );
                    Value::Null
                }
            };
        }
        let names = candidates.join(", ");
        self.issue(
            item,
            IssueCode::Required,
            r.path(),
            format!("when it was observed is required: one of {names}"),
        );
        Value::Null
    }

    /// The pregnancy a resource points at (`focus`, `encounter` or `context`), with the path of
    /// that reference. A reference to nothing in the bundle is a problem.
    fn pregnancy_of(&mut self, r: &Resource<'a>, item: &str) -> Option<(usize, String)> {
        let mut found = None;
        for key in ["focus", "encounter", "context"] {
            let references: Vec<(String, &Value)> = match r.body.get(key) {
                Some(Value::Array(list)) => list
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{key}[{i}]"), v))
                    .collect(),
                Some(single @ Value::Object(_)) => vec![(key.to_owned(), single)],
                _ => continue,
            };
            for (element, reference) in references {
                match self.bundle.resolve(reference) {
                    Target::Found(pos) => {
                        let kind = self.bundle.resources[pos].kind;
                        let is_pregnancy = kind == "EpisodeOfCare"
                            || (kind == "Condition"
                                && has_coding(
                                    self.bundle.resources[pos].body.get("code"),
                                    SNOMED,
                                    PREGNANCY_CODE,
                                ));
                        if is_pregnancy && found.is_none() {
                            found = Some((pos, r.at(&format!("{element}.reference"))));
                        }
                    }
                    Target::Dangling => self.issue(
                        item,
                        IssueCode::Invalid,
                        r.at(&format!("{element}.reference")),
                        "refers to no resource in this bundle",
                    ),
                    Target::Unresolvable => {}
                }
            }
        }
        found
    }

    /// A reference to the client must be to the bundle's Patient.
    fn check_subject(&mut self, r: &Resource<'a>, key: &str, patient: usize, item: &str) {
        let Some(reference) = r.body.get(key) else {
            return;
        };
        match self.bundle.resolve(reference) {
            Target::Found(pos) if pos == patient => {}
            Target::Found(_) => self.issue(
                item,
                IssueCode::Invalid,
                r.at(&format!("{key}.reference")),
                "must refer to the bundle's Patient",
            ),
            Target::Dangling => self.issue(
                item,
                IssueCode::Invalid,
                r.at(&format!("{key}.reference")),
                "refers to no resource in this bundle",
            ),
            Target::Unresolvable => {}
        }
    }
}

/// Whether a CodeableConcept has a coding with this system and code.
fn has_coding(concept: Option<&Value>, system: &str, code: &str) -> bool {
    concept
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .is_some_and(|codings| {
            codings.iter().any(|c| {
                c.get("system").and_then(Value::as_str) == Some(system)
                    && c.get("code").and_then(Value::as_str) == Some(code)
            })
        })
}

/// The first code of a CodeableConcept (a status such as `clinicalStatus`).
fn first_code(concept: Option<&Value>) -> Option<&str> {
    concept?
        .get("coding")?
        .as_array()?
        .iter()
        .find_map(|c| c.get("code")?.as_str())
}

/// A clinical status that says the condition no longer holds.
fn is_over(status: &str) -> bool {
    matches!(status, "inactive" | "remission" | "resolved")
}

/// A resource the source itself marked as an error or refuted: not stored.
fn retracted(r: &Resource) -> bool {
    let status = r.body.get("status").and_then(Value::as_str);
    let verification = first_code(r.body.get("verificationStatus"));
    status == Some("entered-in-error")
        || matches!(verification, Some("entered-in-error" | "refuted"))
}

/// A HumanName as one line: its `text`, else given names and family name (the official name
/// first when there are several).
fn human_name(names: Option<&Value>) -> Value {
    let Some(names) = names.and_then(Value::as_array) else {
        return Value::Null;
    };
    let chosen = names
        .iter()
        .find(|n| n.get("use").and_then(Value::as_str) == Some("official"))
        .or_else(|| names.first());
    let Some(name) = chosen else {
        return Value::Null;
    };
    if let Some(text) = name.get("text").and_then(Value::as_str) {
        return Value::String(text.to_owned());
    }
    let mut parts: Vec<&str> = name
        .get("given")
        .and_then(Value::as_array)
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(family) = name.get("family").and_then(Value::as_str) {
        parts.push(family);
    }
    if parts.is_empty() {
        Value::Null
    } else {
        Value::String(parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::code_map::CodeMapping;
    use domain::{Category, Sensitivity};
    use time::macros::date;

    fn map() -> CodeMap {
        CodeMap::new(vec![CodeMapping {
            system: LOINC.into(),
            code: "85354-9".into(),
            category: Category::Pregnancy,
            sensitivity: Sensitivity::Normal,
            label: "Bloeddruk".into(),
            source: "zib Bloeddruk".into(),
        }])
    }

    fn bundle(blood_pressure: Value) -> Value {
        let subject = json!({ "reference": "urn:uuid:p" });
        let fact = |id: &str, code: &str, value: Value| {
            let mut r = json!({ "resourceType": "Observation", "id": id, "subject": subject,
                "code": { "coding": [{ "system": LOINC, "code": code }] }, "focus": [{ "reference": "EpisodeOfCare/z" }] });
            r.as_object_mut()
                .unwrap()
                .extend(value.as_object().unwrap().clone());
            json!({ "resource": r })
        };
        json!({ "resourceType": "Bundle", "type": "collection", "entry": [
            { "fullUrl": "urn:uuid:p", "resource": { "resourceType": "Patient", "id": "p",
                "identifier": [{ "system": BSN_SYSTEM, "value": "111222333" }],
                "name": [{ "given": ["Sara"], "family": "Jansen" }], "birthDate": "1993-07-21" } },
            { "resource": { "resourceType": "EpisodeOfCare", "id": "z", "status": "active", "patient": subject } },
            fact("z-a", DUE_DATE_CODE, json!({ "valueDateTime": "2025-09-01" })),
            fact("z-g", GRAVIDITY_CODE, json!({ "valueInteger": 2 })),
            fact("z-p", PARITY_CODE, json!({ "valueQuantity": { "value": 1 } })),
            { "resource": blood_pressure },
        ]})
    }

    fn blood_pressure() -> Value {
        json!({ "resourceType": "Observation", "id": "rr", "status": "final",
            "code": { "coding": [{ "system": "http://example.org", "code": "x" }, { "system": LOINC, "code": "85354-9" }] },
            "focus": [{ "reference": "EpisodeOfCare/z" }], "effectiveDateTime": "2025-06-01T10:00:00+02:00",
            "component": [
                { "valueQuantity": { "value": 120, "unit": "mmHg" } },
                { "valueQuantity": { "value": 80, "unit": "mmHg" } }] })
    }

    const TODAY: Date = date!(2025 - 06 - 02);

    #[test]
    fn a_bundle_becomes_the_share_a_source_would_send_as_json() {
        let intake = read_bundle(&bundle(blood_pressure()), &map(), TODAY).unwrap();
        let share = intake.share.unwrap();
        assert_eq!(share.bsn.as_ref(), "111222333");
        assert_eq!(share.name, "Sara Jansen");
        assert_eq!(share.pregnancies.len(), 1);
        let p = &share.pregnancies[0];
        assert_eq!(
            (p.id.as_str(), p.gravidity, p.parity, p.ended_on),
            ("z", 2, 1, None)
        );
        assert_eq!(p.edd, date!(2025 - 09 - 01));
        let e = &share.entries[0];
        assert_eq!(
            share.entries.len(),
            1,
            "the pregnancy facts feed the pregnancy, not entries"
        );
        assert_eq!(
            (e.id.as_str(), e.code.as_str(), e.label.as_str()),
            ("rr", "85354-9", "Bloeddruk")
        );
        assert_eq!(
            (e.value.as_str(), e.unit.as_deref()),
            ("120/80", Some("mmHg"))
        );
        assert_eq!(
            (e.category, e.sensitivity),
            (Category::Pregnancy, Sensitivity::Normal)
        );
        assert_eq!(e.pregnancy_id.as_deref(), Some("z"));
        assert_eq!(intake.consent, None);
    }

    #[test]
    fn an_unmapped_code_is_refused_by_its_coding_not_guessed() {
        let mut bp = blood_pressure();
        bp["code"]["coding"].as_array_mut().unwrap().remove(1);
        let issues = read_bundle(&bundle(bp), &map(), TODAY).unwrap_err();
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].code, IssueCode::CodeInvalid);
        assert_eq!(
            issues[0].expression,
            "Bundle.entry[5].resource.code.coding[0]"
        );
        assert!(issues[0].diagnostics.contains("'x'"));
    }

    #[test]
    fn the_share_rules_answer_in_fhirpath() {
        let mut bp = blood_pressure();
        bp["effectiveDateTime"] = json!("2030-01-01T00:00:00Z");
        let issues = read_bundle(&bundle(bp), &map(), TODAY).unwrap_err();
        let at: Vec<&str> = issues.iter().map(|i| i.expression.as_str()).collect();
        assert!(
            at.contains(&"Bundle.entry[5].resource.effectiveDateTime"),
            "{issues:?}"
        );
        assert!(
            issues.iter().any(|i| i.diagnostics.contains("future")),
            "{issues:?}"
        );
    }
}
