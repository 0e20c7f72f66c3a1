//! The FHIR intake (DESIGN 8.2): a corpus of realistic bundles lands where the code map and the
//! policy say, for every clinical role; the same content as JSON share and as bundle gives the
//! same page; hostile bundles are refused with an OperationOutcome and change nothing; consent
//! withdrawal and restoration work as in the JSON API.

use crate::helpers::{Backend, TestApp};
use crate::source_api::{app_with_keys, wieg_token};
use crate::viewing::ROLE_USERS;
use backend::on_both_backends;
use domain::code_map::CodeMapping;
use domain::{Category, Policy, Role, Sensitivity};
use serde_json::{json, Value};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fhir");
const FHIR: &str = "application/fhir+json";

pub fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every data bundle of the corpus (the consent-only ones excluded), by file name.
fn data_fixtures() -> Vec<(String, Value)> {
    let mut names: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let bundle = fixture(&n);
            (n, bundle)
        })
        .filter(|(_, b)| {
            resources(b).any(|r| r["resourceType"] != "Patient" && r["resourceType"] != "Consent")
        })
        .collect()
}

fn resources(bundle: &Value) -> impl Iterator<Item = &Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
}

fn patient(bundle: &Value) -> &Value {
    resources(bundle)
        .find(|r| r["resourceType"] == "Patient")
        .unwrap()
}

pub fn bsn_of(bundle: &Value) -> String {
    patient(bundle)["identifier"][0]["value"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn birth_of(bundle: &Value) -> String {
    patient(bundle)["birthDate"].as_str().unwrap().to_owned()
}

impl TestApp {
    pub async fn post_fhir(
        &self,
        token: &str,
        content_type: &str,
        body: String,
    ) -> reqwest::Response {
        reqwest::Client::new()
            .post(self.url("/api/v1/fhir"))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request")
    }

    async fn post_bundle(&self, bundle: &Value) -> reqwest::Response {
        self.post_fhir(&wieg_token(), FHIR, bundle.to_string())
            .await
    }

    /// The sections of the client page as `c`'s user sees it (after her access request):
    /// sorted (category, label, value, unit) rows.
    async fn seen(
        &self,
        c: &reqwest::Client,
        bsn: &str,
        birth: &str,
    ) -> Vec<(String, String, String, String)> {
        let found: Value = self.search(c, bsn, birth).await.json().await.unwrap();
        let client_id = found["found"]["client_id"]
            .as_str()
            .expect("found")
            .to_owned();
        let granted = self
            .request_access(c, &client_id, "behandelrelatie", "")
            .await;
        assert!(granted.status().is_success() || granted.status().is_redirection());
        let page: Value = self.client_page(c, &client_id).await.json().await.unwrap();
        // Every entry of the page, wherever it is grouped (pregnancies, or none).
        let granted = &page["Granted"];
        let blocks = granted["pregnancies"].as_array().expect("granted page");
        let mut rows: Vec<_> = blocks
            .iter()
            .flat_map(|b| b["entries"].as_array().unwrap().iter())
            .chain(granted["other_entries"].as_array().unwrap().iter())
            .map(|e| {
                (
                    e["category"].as_str().unwrap().to_owned(),
                    e["label"].as_str().unwrap().to_owned(),
                    e["value"].as_str().unwrap().to_owned(),
                    e["unit"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        rows.sort();
        rows
    }
}

/// What the code map and the policy say `role` sees of a bundle: sorted (category, label).
fn expected(
    bundle: &Value,
    map: &[CodeMapping],
    policy: &Policy,
    role: Role,
) -> Vec<(String, String)> {
    let pregnancy_codes = ["77386006", "11778-8", "11996-6", "11977-6"];
    let mut rows: Vec<(String, String)> = resources(bundle)
        .filter(|r| {
            [
                "Observation",
                "Condition",
                "AllergyIntolerance",
                "MedicationStatement",
                "Procedure",
            ]
            .contains(&r["resourceType"].as_str().unwrap())
        })
        .filter(|r| r["status"] != "entered-in-error")
        .filter_map(|r| {
            let concept = if r["resourceType"] == "MedicationStatement" {
                &r["medicationCodeableConcept"]
            } else {
                &r["code"]
            };
            let codings = concept["coding"].as_array()?;
            if codings
                .iter()
                .any(|c| pregnancy_codes.contains(&c["code"].as_str().unwrap_or("")))
            {
                return None;
            }
            let mapping = codings.iter().find_map(|c| {
                map.iter()
                    .find(|m| c["system"] == m.system.as_str() && c["code"] == m.code.as_str())
            })?;
            policy
                .cell(role, mapping.category)
                .admits(mapping.sensitivity)
                .then(|| (mapping.category.as_str().to_owned(), mapping.label.clone()))
        })
        .collect();
    rows.sort();
    rows
}

on_both_backends!(every_bundle_of_the_corpus_lands_where_the_code_map_and_the_policy_say);

async fn every_bundle_of_the_corpus_lands_where_the_code_map_and_the_policy_say(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    let map = app.store.code_map().await.unwrap();
    let policy = app.store.policy().await.unwrap();
    let corpus = data_fixtures();
    assert!(corpus.len() >= 15, "{} bundles", corpus.len());
    let mut sessions = Vec::new();
    for (role, username) in ROLE_USERS {
        sessions.push((role, app.logged_in(username).await));
    }
    let mut seen_categories = std::collections::HashSet::new();
    for (name, bundle) in &corpus {
        let response = app.post_bundle(bundle).await;
        assert_eq!(response.status(), 200, "{name}");
        assert_eq!(response.headers()["content-type"], FHIR, "{name}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["resourceType"], "Bundle", "{name}");
        assert_eq!(answer["type"], "transaction-response", "{name}");
        let (bsn, birth) = (bsn_of(bundle), birth_of(bundle));
        for (role, c) in &sessions {
            let shown: Vec<(String, String)> = app
                .seen(c, &bsn, &birth)
                .await
                .into_iter()
                .map(|(category, label, ..)| (category, label))
                .collect();
            let expected = expected(bundle, &map, &policy, *role);
            assert_eq!(shown, expected, "{name} as {role:?}");
            seen_categories.extend(shown.into_iter().map(|(c, _)| c));
        }
        // Sending the same bundle again changes nothing: resource ids are entry ids.
        let again: Value = app.post_bundle(bundle).await.json().await.unwrap();
        let summary = again["entry"][0]["response"]["outcome"]["issue"][0]["diagnostics"]
            .as_str()
            .unwrap();
        assert!(
            summary.contains("(0 added, 0 changed, 0 removed)"),
            "{name}: {summary}"
        );
    }
    assert!(
        seen_categories.len() >= 10,
        "the corpus reaches most categories: {seen_categories:?}"
    );
    app.assert_chain_intact().await;
}

/// One client's content twice: as a JSON share and as a FHIR bundle, for two clients of the
/// same source.
fn equivalent_pair(json_bsn: &str, fhir_bsn: &str) -> (Value, Value) {
    let share = json!({
        "consent": "active",
        "client": { "name": "Romy Dekker", "birth_date": "1994-02-11" },
        "pregnancies": [
            { "id": "zw-1", "edd": "2027-03-01", "gravidity": 2, "parity": 1, "status": "active", "ended_on": null },
            { "id": "zw-0", "edd": "2023-05-02", "gravidity": 1, "parity": 0, "status": "ended", "ended_on": "2023-04-28" }
        ],
        "entries": [
            { "id": "bd1", "pregnancy_id": "zw-1", "category": "pregnancy", "code": "85354-9", "label": "Bloeddruk",
              "value": "118/76", "unit": "mmHg", "observed_at": "2026-10-02T09:30:00+02:00", "sensitivity": "normal" },
            { "id": "hb1", "pregnancy_id": "zw-1", "category": "lab_screening", "code": "718-7", "label": "Hemoglobine",
              "value": "7.4", "unit": "mmol/l", "observed_at": "2026-09-01T08:00:00+02:00", "sensitivity": "normal" },
            { "id": "hiv1", "pregnancy_id": "zw-1", "category": "lab_screening", "code": "7917-8", "label": "HIV-1-antistoffen",
              "value": "negatief", "unit": null, "observed_at": "2026-09-01T08:00:00+02:00", "sensitivity": "high" },
            { "id": "dep1", "pregnancy_id": null, "category": "psychosocial", "code": "35489007", "label": "Depressie",
              "value": "Depressie (niet meer actief)", "unit": null, "observed_at": "2019-03-01T00:00:00+01:00", "sensitivity": "high" },
            { "id": "fz1", "pregnancy_id": null, "category": "medication", "code": "B03BB01", "label": "Foliumzuur",
              "value": "Foliumzuur, 1 dd 0,4 mg", "unit": null, "observed_at": "2026-06-01T00:00:00+02:00", "sensitivity": "normal" },
            { "id": "gg0", "pregnancy_id": "zw-0", "category": "newborn", "code": "8339-4", "label": "Geboortegewicht",
              "value": "3450", "unit": "g", "observed_at": "2023-04-28T14:10:00+02:00", "sensitivity": "normal" }
        ]
    });
    let patient = "urn:uuid:2b0c3a4e-0000-4000-8000-000000000001";
    let subject = json!({ "reference": patient });
    let focus = |p: &str| json!([{ "reference": format!("Condition/{p}") }]);
    let loinc = |code: &str| json!({ "coding": [{ "system": "http://loinc.org", "code": code }] });
    let pregnancy = |id: &str, status: &str| {
        json!({
            "resourceType": "Condition", "id": id, "subject": subject,
            "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status }] },
            "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "77386006" }] }
        })
    };
    let mut ended = pregnancy("zw-0", "resolved");
    ended["abatementDateTime"] = json!("2023-04-28");
    let fact = |id: &str, p: &str, code: &str, value: Value| {
        let mut r = json!({ "resourceType": "Observation", "id": id, "status": "final", "code": loinc(code), "subject": subject, "focus": focus(p) });
        r.as_object_mut()
            .unwrap()
            .extend(value.as_object().unwrap().clone());
        r
    };
    let resources = vec![
        json!({ "resourceType": "Patient", "id": "pt", "identifier": [{ "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": fhir_bsn }],
                "name": [{ "family": "Dekker", "given": ["Romy"] }], "birthDate": "1994-02-11" }),
        pregnancy("zw-1", "active"),
        ended,
        fact(
            "zw-1-a",
            "zw-1",
            "11778-8",
            json!({ "valueDateTime": "2027-03-01" }),
        ),
        fact("zw-1-g", "zw-1", "11996-6", json!({ "valueInteger": 2 })),
        fact("zw-1-p", "zw-1", "11977-6", json!({ "valueInteger": 1 })),
        fact(
            "zw-0-a",
            "zw-0",
            "11778-8",
            json!({ "valueDateTime": "2023-05-02" }),
        ),
        fact("zw-0-g", "zw-0", "11996-6", json!({ "valueInteger": 1 })),
        fact("zw-0-p", "zw-0", "11977-6", json!({ "valueInteger": 0 })),
        json!({ "resourceType": "Observation", "id": "bd1", "status": "final", "code": loinc("85354-9"), "subject": subject, "focus": focus("zw-1"),
                "effectiveDateTime": "2026-10-02T09:30:00+02:00",
                "component": [
                    { "code": loinc("8480-6"), "valueQuantity": { "value": 118, "unit": "mmHg" } },
                    { "code": loinc("8462-4"), "valueQuantity": { "value": 76, "unit": "mmHg" } }
                ] }),
        json!({ "resourceType": "Observation", "id": "hb1", "status": "final", "code": loinc("718-7"), "subject": subject, "focus": focus("zw-1"),
                "effectiveDateTime": "2026-09-01T08:00:00+02:00", "valueQuantity": { "value": 7.4, "unit": "mmol/l" } }),
        json!({ "resourceType": "Observation", "id": "hiv1", "status": "final", "code": loinc("7917-8"), "subject": subject, "focus": focus("zw-1"),
                "effectiveDateTime": "2026-09-01T08:00:00+02:00",
                "valueCodeableConcept": { "coding": [{ "system": "http://snomed.info/sct", "code": "260385009", "display": "negatief" }] } }),
        json!({ "resourceType": "Condition", "id": "dep1", "subject": subject,
                "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved" }] },
                "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "35489007", "display": "Depressie" }] },
                "onsetDateTime": "2019-03-01" }),
        json!({ "resourceType": "MedicationStatement", "id": "fz1", "status": "active", "subject": subject,
                "medicationCodeableConcept": { "coding": [{ "system": "http://www.whocc.no/atc", "code": "B03BB01", "display": "Foliumzuur" }] },
                "effectivePeriod": { "start": "2026-06-01" }, "dosage": [{ "text": "1 dd 0,4 mg" }] }),
        json!({ "resourceType": "Observation", "id": "gg0", "status": "final", "code": loinc("8339-4"), "subject": subject, "focus": focus("zw-0"),
                "effectiveDateTime": "2023-04-28T14:10:00+02:00", "valueQuantity": { "value": 3450, "unit": "g" } }),
    ];
    let bundle = json!({
        "resourceType": "Bundle", "type": "collection",
        "entry": resources.into_iter().enumerate().map(|(i, r)| {
            if i == 0 { json!({ "fullUrl": patient, "resource": r }) } else { json!({ "resource": r }) }
        }).collect::<Vec<_>>()
    });
    let _ = json_bsn;
    (share, bundle)
}

on_both_backends!(the_same_content_as_json_and_as_fhir_gives_the_same_page_for_every_role);

async fn the_same_content_as_json_and_as_fhir_gives_the_same_page_for_every_role(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    let json_bsn = "999990202";
    let fhir_bsn = "999990214";
    let (share, bundle) = equivalent_pair(json_bsn, fhir_bsn);
    assert_eq!(
        app.put_share(&wieg_token(), json_bsn, &share)
            .await
            .status(),
        200
    );
    assert_eq!(app.post_bundle(&bundle).await.status(), 200);
    let mut compared = 0;
    for (role, username) in ROLE_USERS {
        let c = app.logged_in(username).await;
        let via_json = app.seen(&c, json_bsn, "1994-02-11").await;
        let via_fhir = app.seen(&c, fhir_bsn, "1994-02-11").await;
        assert_eq!(via_fhir, via_json, "{role:?}");
        compared += via_json.len();
        if role == Role::Verloskundige {
            assert!(
                via_fhir.contains(&(
                    "pregnancy".into(),
                    "Bloeddruk".into(),
                    "118/76".into(),
                    "mmHg".into()
                )),
                "{via_fhir:?}"
            );
            assert_eq!(
                via_fhir.len(),
                6,
                "the midwife sees everything: {via_fhir:?}"
            );
        }
        if role == Role::Kraamverzorgende {
            assert!(
                !via_fhir.iter().any(|r| r.1.contains("HIV")),
                "HIV is high: {via_fhir:?}"
            );
        }
    }
    assert!(compared > 10);
    app.assert_chain_intact().await;
}

on_both_backends!(a_consent_bundle_withdraws_purges_and_restores);

async fn a_consent_bundle_withdraws_purges_and_restores(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    let (_, bundle) = equivalent_pair("", "999990226");
    assert_eq!(app.post_bundle(&bundle).await.status(), 200);
    let consent = |status: &str| {
        json!({
            "resourceType": "Bundle", "type": "transaction",
            "entry": [
                { "fullUrl": "urn:uuid:aa", "resource": { "resourceType": "Patient", "id": "pt",
                  "identifier": [{ "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999990226" }] } },
                { "resource": { "resourceType": "Consent", "id": "c1", "status": status, "patient": { "reference": "urn:uuid:aa" } } }
            ]
        })
    };
    let before = app.store.shared_data_counts().await.unwrap();
    // A withdrawal is never refused for rate (rule 9), so it is asked before the limit.
    let response = app.post_bundle(&consent("inactive")).await;
    assert_eq!(response.status(), 200);
    let after = app.store.shared_data_counts().await.unwrap();
    assert!(
        after[2] < before[2] && after[3] < before[3],
        "pregnancies and entries purged: {before:?} -> {after:?}"
    );
    // While withdrawn, data is refused with 409 and an OperationOutcome.
    let refused = app.post_bundle(&bundle).await;
    assert_eq!(refused.status(), 409);
    let outcome: Value = refused.json().await.unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "conflict");
    // The data with an active Consent restores and shares in one go.
    let mut restoring = bundle.clone();
    restoring["entry"].as_array_mut().unwrap().push(json!({ "resource": {
        "resourceType": "Consent", "id": "c1", "status": "active", "patient": { "reference": "Patient/pt" } } }));
    let answer: Value = app.post_bundle(&restoring).await.json().await.unwrap();
    let summary = answer["entry"][0]["response"]["outcome"]["issue"][0]["diagnostics"]
        .as_str()
        .unwrap();
    assert!(
        summary.starts_with("consent restored; share replaced"),
        "{summary}"
    );
    assert_eq!(app.store.shared_data_counts().await.unwrap(), before);
    let actions: Vec<String> = app
        .audit_events()
        .await
        .into_iter()
        .map(|e| e.action.as_str().to_owned())
        .collect();
    let tail = &actions[actions.len() - 4..];
    assert_eq!(
        tail,
        [
            "consent_withdrawn",
            "share_refused",
            "consent_restored",
            "share_received"
        ]
    );
    app.assert_chain_intact().await;
}

on_both_backends!(metadata_is_a_capability_statement_and_the_openapi_document_names_the_intake);

async fn metadata_is_a_capability_statement_and_the_openapi_document_names_the_intake(
    backend: Backend,
) {
    let app = crate::helpers::spawn_app(backend).await;
    let c = reqwest::Client::new();
    let metadata: Value = c
        .get(app.url("/api/v1/fhir/metadata"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resourceType"], "CapabilityStatement");
    assert_eq!(metadata["fhirVersion"], "4.0.1");
    let kinds: Vec<&str> = metadata["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    for kind in [
        "Patient",
        "Consent",
        "Observation",
        "Condition",
        "EpisodeOfCare",
        "MedicationStatement",
    ] {
        assert!(kinds.contains(&kind), "{kind}");
    }
    let doc: Value = c
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/fhir"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/fhir/metadata"]["get"].is_object());
}

// ----- hostile and malformed bundles -----------------------------------------------------------

/// (what, content type, body, an expression the OperationOutcome must name if 422)
type Case = (String, &'static str, String, Option<String>);

fn base() -> Value {
    equivalent_pair("", "999990238").1
}

fn changed(change: impl FnOnce(&mut Value)) -> String {
    let mut b = base();
    change(&mut b);
    b.to_string()
}

fn res(b: &mut Value, i: usize) -> &mut Value {
    &mut b["entry"][i]["resource"]
}

fn corpus() -> Vec<Case> {
    let f = FHIR;
    let at = |s: &str| Some(s.to_owned());
    let c = |what: &str, body: String, expression: Option<String>| {
        (what.to_owned(), f, body, expression)
    };
    let mut cases = vec![
        c(
            "a Patient, not a Bundle",
            json!({"resourceType": "Patient"}).to_string(),
            at("Bundle.resourceType"),
        ),
        c(
            "no resourceType",
            changed(|b| {
                b.as_object_mut().unwrap().remove("resourceType");
            }),
            at("Bundle.resourceType"),
        ),
        c(
            "a searchset",
            changed(|b| b["type"] = json!("searchset")),
            at("Bundle.type"),
        ),
        c(
            "no entries",
            changed(|b| {
                b.as_object_mut().unwrap().remove("entry");
            }),
            at("Bundle.entry"),
        ),
        c(
            "entry an object",
            changed(|b| b["entry"] = json!({})),
            at("Bundle.entry"),
        ),
        c(
            "an entry a number",
            changed(|b| b["entry"][3] = json!(7)),
            at("Bundle.entry[3]"),
        ),
        c(
            "an entry without resource",
            changed(|b| {
                b["entry"][3].as_object_mut().unwrap().remove("resource");
            }),
            at("Bundle.entry[3].resource"),
        ),
        c(
            "a resource without resourceType",
            changed(|b| {
                res(b, 3).as_object_mut().unwrap().remove("resourceType");
            }),
            at("Bundle.entry[3].resource.resourceType"),
        ),
        c(
            "no Patient",
            changed(|b| {
                b["entry"].as_array_mut().unwrap().remove(0);
            }),
            at("Bundle.entry"),
        ),
        c(
            "two Patients",
            changed(|b| {
                let p = b["entry"][0].clone();
                let mut p2 = p.clone();
                p2["resource"]["id"] = json!("pt2");
                p2.as_object_mut().unwrap().remove("fullUrl");
                b["entry"].as_array_mut().unwrap().push(p2);
            }),
            at("Bundle.entry[15].resource"),
        ),
        c(
            "no BSN identifier",
            changed(|b| res(b, 0)["identifier"][0]["system"] = json!("http://example.org/mrn")),
            at("Bundle.entry[0].resource.identifier"),
        ),
        c(
            "BSN failing the 11-check",
            changed(|b| res(b, 0)["identifier"][0]["value"] = json!("123456789")),
            at("Bundle.entry[0].resource.identifier[0].value"),
        ),
        c(
            "BSN with letters",
            changed(|b| res(b, 0)["identifier"][0]["value"] = json!("12345678a")),
            at("Bundle.entry[0].resource.identifier[0].value"),
        ),
        c(
            "BSN a number",
            changed(|b| res(b, 0)["identifier"][0]["value"] = json!(999990238)),
            at("Bundle.entry[0].resource.identifier[0].value"),
        ),
        c(
            "no name",
            changed(|b| {
                res(b, 0).as_object_mut().unwrap().remove("name");
            }),
            at("Bundle.entry[0].resource.name"),
        ),
        c(
            "no birthDate",
            changed(|b| {
                res(b, 0).as_object_mut().unwrap().remove("birthDate");
            }),
            at("Bundle.entry[0].resource.birthDate"),
        ),
        c(
            "birthDate in the future",
            changed(|b| res(b, 0)["birthDate"] = json!("2999-01-01")),
            at("Bundle.entry[0].resource.birthDate"),
        ),
        c(
            "birthDate in Dutch order",
            changed(|b| res(b, 0)["birthDate"] = json!("11-02-1994")),
            at("Bundle.entry[0].resource.birthDate"),
        ),
        c(
            "unmapped LOINC code",
            changed(|b| res(b, 10)["code"]["coding"][0]["code"] = json!("2093-3")),
            at("Bundle.entry[10].resource.code.coding[0]"),
        ),
        c(
            "unknown code system",
            changed(|b| {
                res(b, 10)["code"]["coding"][0]["system"] = json!("http://example.org/codes")
            }),
            at("Bundle.entry[10].resource.code.coding[0]"),
        ),
        c(
            "no coding",
            changed(|b| res(b, 10)["code"] = json!({"text": "Hb"})),
            at("Bundle.entry[10].resource.code.coding"),
        ),
        c(
            "unmapped medication",
            changed(|b| {
                res(b, 13)["medicationCodeableConcept"]["coding"][0]["code"] = json!("N05BA01")
            }),
            at("Bundle.entry[13].resource.medicationCodeableConcept.coding[0]"),
        ),
        c(
            "dangling focus",
            changed(|b| res(b, 10)["focus"][0]["reference"] = json!("Condition/nergens")),
            at("Bundle.entry[10].resource.focus[0].reference"),
        ),
        c(
            "dangling urn:uuid subject",
            changed(|b| {
                res(b, 10)["subject"]["reference"] =
                    json!("urn:uuid:00000000-0000-4000-8000-000000000000")
            }),
            at("Bundle.entry[10].resource.subject.reference"),
        ),
        c(
            "subject another resource",
            changed(|b| res(b, 10)["subject"]["reference"] = json!("Condition/zw-1")),
            at("Bundle.entry[10].resource.subject.reference"),
        ),
        c(
            "pregnancy fact without focus",
            changed(|b| {
                res(b, 3).as_object_mut().unwrap().remove("focus");
            }),
            at("Bundle.entry[3].resource.focus"),
        ),
        c(
            "no due date",
            changed(|b| {
                b["entry"].as_array_mut().unwrap().remove(3);
            }),
            at("Bundle.entry[1].resource"),
        ),
        c(
            "a second due date",
            changed(|b| {
                let mut d = b["entry"][3].clone();
                d["resource"]["id"] = json!("zw-1-a2");
                b["entry"].as_array_mut().unwrap().push(d);
            }),
            at("Bundle.entry[15].resource"),
        ),
        c(
            "due date a string value",
            changed(|b| {
                let r = res(b, 3).as_object_mut().unwrap();
                r.remove("valueDateTime");
                r.insert("valueString".into(), json!("maart"));
            }),
            at("Bundle.entry[3].resource.valueString"),
        ),
        c(
            "gravidity zero",
            changed(|b| res(b, 4)["valueInteger"] = json!(0)),
            at("Bundle.entry[4].resource.valueInteger"),
        ),
        c(
            "parity above gravidity",
            changed(|b| res(b, 5)["valueInteger"] = json!(5)),
            at("Bundle.entry[5].resource.valueInteger"),
        ),
        c(
            "due date ten years ahead",
            changed(|b| res(b, 3)["valueDateTime"] = json!("2036-01-01")),
            at("Bundle.entry[3].resource.valueDateTime"),
        ),
        c(
            "pregnancy clinicalStatus unknown",
            changed(|b| res(b, 1)["clinicalStatus"]["coding"][0]["code"] = json!("gaande")),
            at("Bundle.entry[1].resource.clinicalStatus"),
        ),
        c(
            "ended pregnancy without end",
            changed(|b| {
                res(b, 2)
                    .as_object_mut()
                    .unwrap()
                    .remove("abatementDateTime");
            }),
            at("Bundle.entry[2].resource.abatementDateTime"),
        ),
        c(
            "pregnancy without id",
            changed(|b| {
                res(b, 1).as_object_mut().unwrap().remove("id");
            }),
            at("Bundle.entry[1].resource.id"),
        ),
        c(
            "observation without id",
            changed(|b| {
                res(b, 10).as_object_mut().unwrap().remove("id");
            }),
            at("Bundle.entry[10].resource.id"),
        ),
        c(
            "duplicate ids",
            changed(|b| res(b, 11)["id"] = json!("hb1")),
            at("Bundle.entry[11].resource.id"),
        ),
        c(
            "duplicate fullUrl",
            changed(|b| b["entry"][1]["fullUrl"] = b["entry"][0]["fullUrl"].clone()),
            at("Bundle.entry[1].fullUrl"),
        ),
        c(
            "an id with a space",
            changed(|b| res(b, 10)["id"] = json!("hb 1")),
            at("Bundle.entry[10].resource.id"),
        ),
        c(
            "an id of 65 characters",
            changed(|b| res(b, 10)["id"] = json!("x".repeat(65))),
            at("Bundle.entry[10].resource.id"),
        ),
        c(
            "no effective time",
            changed(|b| {
                res(b, 10)
                    .as_object_mut()
                    .unwrap()
                    .remove("effectiveDateTime");
            }),
            at("Bundle.entry[10].resource"),
        ),
        c(
            "a time without zone",
            changed(|b| res(b, 10)["effectiveDateTime"] = json!("2026-09-01T08:00:00")),
            at("Bundle.entry[10].resource.effectiveDateTime"),
        ),
        c(
            "observed in the future",
            changed(|b| res(b, 10)["effectiveDateTime"] = json!("2999-09-01T08:00:00Z")),
            at("Bundle.entry[10].resource.effectiveDateTime"),
        ),
        c(
            "a quantity as text",
            changed(|b| res(b, 10)["valueQuantity"] = json!("7,4")),
            at("Bundle.entry[10].resource.valueQuantity"),
        ),
        c(
            "an unknown value type",
            changed(|b| {
                let r = res(b, 10).as_object_mut().unwrap();
                r.remove("valueQuantity");
                r.insert("valueBanana".into(), json!(1));
            }),
            at("Bundle.entry[10].resource.valueBanana"),
        ),
        c(
            "a value of 5000 characters",
            changed(|b| {
                let r = res(b, 10).as_object_mut().unwrap();
                r.remove("valueQuantity");
                r.insert("valueString".into(), json!("x".repeat(5000)));
            }),
            at("Bundle.entry[10].resource.valueString"),
        ),
        c(
            "a unit of 40 characters",
            changed(|b| res(b, 10)["valueQuantity"]["unit"] = json!("u".repeat(40))),
            at("Bundle.entry[10].resource.valueQuantity"),
        ),
        c(
            "a control character in a value",
            changed(|b| {
                let r = res(b, 10).as_object_mut().unwrap();
                r.remove("valueQuantity");
                r.insert("valueString".into(), json!("a\u{1b}[31m"));
            }),
            at("Bundle.entry[10].resource.valueString"),
        ),
        c(
            "a Practitioner is context, a DiagnosticReport is not accepted",
            changed(|b| {
                b["entry"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"resource": {"resourceType": "DiagnosticReport", "id": "dr1"}}))
            }),
            at("Bundle.entry[15].resource.resourceType"),
        ),
        c(
            "a Consent with status draft",
            changed(|b| {
                b["entry"].as_array_mut().unwrap().push(
                    json!({"resource": {"resourceType": "Consent", "id": "c1", "status": "draft"}}),
                )
            }),
            at("Bundle.entry[15].resource.status"),
        ),
        c(
            "a withdrawal with data",
            changed(|b| {
                b["entry"].as_array_mut().unwrap().push(json!({"resource": {"resourceType": "Consent", "id": "c1", "status": "rejected"}}))
            }),
            at("Bundle.entry[15].resource.status"),
        ),
        c(
            "two Consents",
            changed(|b| {
                for id in ["c1", "c2"] {
                    b["entry"].as_array_mut().unwrap().push(json!({"resource": {"resourceType": "Consent", "id": id, "status": "active"}}));
                }
            }),
            at("Bundle.entry[16].resource"),
        ),
        c(
            "6000 entries",
            changed(|b| {
                let list = b["entry"].as_array_mut().unwrap();
                for n in 0..6000 {
                    list.push(
                        json!({"resource": {"resourceType": "Observation", "id": format!("x{n}")}}),
                    );
                }
            }),
            at("Bundle.entry"),
        ),
        ("body an array".into(), f, "[]".into(), at("Bundle")),
        ("body null".into(), f, "null".into(), at("Bundle")),
    ];
    // Not JSON, too large, too deep, wrong content type: refused before reading (400/413/415).
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    // Just over the limit (2 MiB): the server refuses it on its length without reading it, and
    // a body this size still fits the loopback socket buffers, so the client finishes writing
    // before the refusal closes the connection (with 10 MiB it sometimes got a broken pipe
    // instead of the answer).
    let big = changed(|b| res(b, 0)["name"][0]["family"] = json!("x".repeat(2 * 1024 * 1024 + 10)));
    for (what, content_type, body) in [
        ("truncated JSON", f, base().to_string()[..60].to_owned()),
        ("empty body", f, String::new()),
        (
            "XML",
            "application/fhir+xml",
            "<Bundle xmlns=\"http://hl7.org/fhir\"/>".to_owned(),
        ),
        ("text/plain", "text/plain", base().to_string()),
        (
            "a form",
            "application/x-www-form-urlencoded",
            base().to_string(),
        ),
        ("nesting 5000 deep", f, deep),
        ("a body just over 2 MB", f, big),
    ] {
        cases.push((what.to_owned(), content_type, body, None));
    }
    cases
}

on_both_backends!(every_hostile_bundle_is_refused_with_an_operation_outcome_and_changes_nothing);

async fn every_hostile_bundle_is_refused_with_an_operation_outcome_and_changes_nothing(
    backend: Backend,
) {
    let (app, _, _dir) = app_with_keys(backend).await;
    assert_eq!(
        app.post_bundle(&base()).await.status(),
        200,
        "the base bundle is valid"
    );
    let before = app.dump().await;
    let events_before = app.audit_events().await.len();
    let cases = corpus();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    for (what, content_type, body, expression) in &cases {
        let response = app
            .post_fhir(&wieg_token(), content_type, body.clone())
            .await;
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{what}: status {status}");
        assert_eq!(response.headers()["content-type"], FHIR, "{what}");
        let outcome: Value = response.json().await.unwrap();
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{what}");
        let issues = outcome["issue"].as_array().unwrap();
        assert!(!issues.is_empty(), "{what}");
        for issue in issues {
            assert_eq!(issue["severity"], "error", "{what}");
            assert!(
                issue["diagnostics"].as_str().is_some_and(|d| !d.is_empty()),
                "{what}"
            );
        }
        if let Some(expression) = expression {
            assert_eq!(status, 422, "{what}: {outcome}");
            let named: Vec<&str> = issues
                .iter()
                .filter_map(|i| i["expression"][0].as_str())
                .collect();
            assert_eq!(
                named.len(),
                issues.len(),
                "{what}: every issue names its element"
            );
            assert!(
                named.contains(&expression.as_str()),
                "{what}: {named:?} lacks {expression}"
            );
        }
    }
    assert_eq!(app.dump().await, before, "shared data unchanged");
    let events = app.audit_events().await;
    let new: Vec<&str> = events[events_before..]
        .iter()
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(new.len(), cases.len(), "one refusal event per case");
    assert!(new.iter().all(|a| *a == "share_refused"), "{new:?}");
    app.assert_chain_intact().await;
}

on_both_backends!(a_refused_token_gets_an_operation_outcome_and_a_withdrawal_is_never_rate_limited);

async fn a_refused_token_gets_an_operation_outcome_and_a_withdrawal_is_never_rate_limited(
    backend: Backend,
) {
    let settings = backend::Settings {
        source_calls_per_minute: 20,
        ..Default::default()
    };
    let app = crate::helpers::spawn_app_with(backend, settings).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    std::fs::write(&key, crate::source_api::fixture("es256-a.pub.pem")).unwrap();
    backend::sources::add_key(&app.store, "de-wieg-epd", &key.display().to_string())
        .await
        .unwrap();

    let refused = app.post_fhir("not-a-token", FHIR, base().to_string()).await;
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().contains_key("www-authenticate"));
    let outcome: Value = refused.json().await.unwrap();
    assert_eq!(outcome["issue"][0]["code"], "login");

    // The demo seed's shares count too: send until the limit answers.
    let mut limited = app.post_bundle(&base()).await;
    assert_eq!(
        limited.status(),
        200,
        "the first bundle is within the limit"
    );
    for _ in 0..40 {
        if limited.status() != 200 {
            break;
        }
        limited = app.post_bundle(&base()).await;
    }
    assert_eq!(limited.status(), 429);
    let outcome: Value = limited.json().await.unwrap();
    assert_eq!(outcome["issue"][0]["code"], "throttled");
    let withdrawal = json!({ "resourceType": "Bundle", "type": "transaction", "entry": [
        { "resource": { "resourceType": "Patient", "id": "pt", "identifier": [{ "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999990238" }] } },
        { "resource": { "resourceType": "Consent", "id": "c", "status": "inactive" } } ] });
    // A bundle that claims a withdrawal but carries data is no withdrawal: limited.
    let mut claimed = base();
    claimed["entry"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "resource": {
        "resourceType": "Consent", "id": "c", "status": "inactive" } }));
    assert_eq!(app.post_bundle(&claimed).await.status(), 429);
    assert_eq!(
        app.post_bundle(&withdrawal).await.status(),
        200,
        "a withdrawal past the rate limit"
    );
}

/// The map's size per category, for the issue's report (`cargo test -p server fhir -- --nocapture`).
#[test]
fn code_map_report() {
    let sql = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../migrations/sqlite/20261130120000_code_map.sql"
    ))
    .unwrap();
    let mut per: std::collections::BTreeMap<String, usize> = Default::default();
    for line in sql.lines().filter(|l| l.trim_start().starts_with("('")) {
        let category = line.split("', '").nth(2).unwrap().to_owned();
        assert!(Category::parse(&category).is_some(), "{category}");
        *per.entry(category).or_default() += 1;
    }
    let total: usize = per.values().sum();
    assert!(total >= 60, "{total} codes");
    for (category, n) in &per {
        println!("code map: {category:<18} {n}");
    }
    println!("code map: total {total}");
    let _ = Sensitivity::ALL;
}

on_both_backends!(the_corpus_withdrawal_and_restoration_act_on_the_first_visit);

/// Fixtures 16 and 17 are the withdrawal and restoration of fixture 01's client.
async fn the_corpus_withdrawal_and_restoration_act_on_the_first_visit(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    let first = fixture("01-intake-first-visit.json");
    let (withdrawal, restoration) = (
        fixture("16-withdrawal.json"),
        fixture("17-restore-consent.json"),
    );
    assert_eq!(bsn_of(&withdrawal), bsn_of(&first));
    assert_eq!(bsn_of(&restoration), bsn_of(&first));
    assert_eq!(app.post_bundle(&first).await.status(), 200);
    let shared = app.store.shared_data_counts().await.unwrap();
    assert_eq!(app.post_bundle(&withdrawal).await.status(), 200);
    let withdrawn = app.store.shared_data_counts().await.unwrap();
    assert!(
        withdrawn[3] < shared[3],
        "entries purged: {shared:?} -> {withdrawn:?}"
    );
    // Without its active Consent the same data is refused while withdrawn (with it, it
    // would restore: the source says the client consents again).
    let mut without_consent = first.clone();
    without_consent["entry"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["resource"]["resourceType"] != "Consent");
    assert_eq!(app.post_bundle(&without_consent).await.status(), 409);
    assert_eq!(app.post_bundle(&restoration).await.status(), 200);
    assert_eq!(app.post_bundle(&without_consent).await.status(), 200);
    assert_eq!(app.post_bundle(&first).await.status(), 200);
    assert_eq!(app.store.shared_data_counts().await.unwrap(), shared);
}
