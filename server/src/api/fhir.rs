//! `POST /api/v1/fhir` and `GET /api/v1/fhir/metadata` (DESIGN 8.2): the FHIR R4 intake.
//!
//! The same token checks, body limit, rate limit and audit events as the JSON share endpoint
//! (its helpers are shared, only the answers differ): every refusal is a FHIR
//! `OperationOutcome` with one issue per problem, each naming its element as FHIRPath; a
//! success is a `transaction-response` Bundle. Reading the bundle is `backend::fhir`; applying
//! it is `backend::sharing::receive_bundle`, the path of the JSON API.

use super::shares::{
    authenticate, field_names, json_body, refuse, refuse_with, within_rate_limit, Answers,
};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use backend::fhir::{self, Intake, Issue};
use backend::sharing::{self, IntakeReceipt, SharingError};
use backend::AppState;
use domain::share::ConsentStatus;
use domain::FieldError;
use serde::Serialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use utoipa::ToSchema;

/// The media type of FHIR's JSON.
pub const FHIR_JSON: &str = "application/fhir+json";

/// One problem of an OperationOutcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutcomeIssue {
    /// `error` for a refusal, `information` in a success.
    pub severity: String,
    /// FHIR IssueType: `structure`, `required`, `value`, `invalid`, `code-invalid`,
    /// `duplicate`, `not-supported`, `business-rule`, `too-long`, `login`, `conflict`,
    /// `throttled`, `not-found`, `exception`.
    pub code: String,
    pub diagnostics: String,
    /// FHIRPath of the element, e.g. `Bundle.entry[3].resource.code`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expression: Vec<String>,
}

/// A FHIR OperationOutcome: why a bundle was refused; nothing was changed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationOutcome {
    /// Always `OperationOutcome`.
    pub resource_type: String,
    pub issue: Vec<OutcomeIssue>,
}

/// The 200 answer: a FHIR Bundle of type `transaction-response`, one entry per resource read
/// (context resources excluded), each with `response.status` and `response.location`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionResponse {
    /// Always `Bundle`.
    pub resource_type: String,
    /// Always `transaction-response`.
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Vec<Object>)]
    pub entry: Vec<Value>,
}

fn fhir_json(status: StatusCode, body: impl Serialize) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, FHIR_JSON)],
        axum::Json(body),
    )
        .into_response()
}

fn outcome(status: StatusCode, issues: Vec<OutcomeIssue>) -> Response {
    fhir_json(
        status,
        OperationOutcome {
            resource_type: "OperationOutcome".into(),
            issue: issues,
        },
    )
}

fn one_issue(
    status: StatusCode,
    code: &str,
    diagnostics: &str,
    expression: Option<&str>,
) -> Response {
    outcome(
        status,
        vec![OutcomeIssue {
            severity: "error".into(),
            code: code.into(),
            diagnostics: diagnostics.into(),
            expression: expression.map(|e| vec![e.to_owned()]).unwrap_or_default(),
        }],
    )
}

/// The shared helpers' refusals, as OperationOutcomes.
const FHIR: Answers = Answers {
    token_refused: |reason| {
        let mut response = one_issue(
            StatusCode::UNAUTHORIZED,
            "login",
            &format!("token refused: {reason}"),
            None,
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        response
    },
    input_refused: |status, field, problem| {
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too-long",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "not-supported",
            _ => "structure",
        };
        let expression = (field == "body").then_some("Bundle");
        one_issue(status, code, &format!("{field}: {problem}"), expression)
    },
    refusal: |status, _error, message| {
        let code = match status {
            StatusCode::CONFLICT => "conflict",
            StatusCode::TOO_MANY_REQUESTS => "throttled",
            StatusCode::NOT_FOUND => "not-found",
            _ => "exception",
        };
        one_issue(status, code, message, None)
    },
};

/// Our failure: logged with its cause on the server, opaque to the caller.
fn internal(err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "FHIR intake failure");
    one_issue(
        StatusCode::INTERNAL_SERVER_ERROR,
        "exception",
        "internal error; nothing was changed",
        None,
    )
}

fn refused_bundle(issues: Vec<Issue>) -> Response {
    outcome(
        StatusCode::UNPROCESSABLE_ENTITY,
        issues
            .into_iter()
            .map(|i| OutcomeIssue {
                severity: "error".into(),
                code: i.code.as_str().into(),
                diagnostics: i.diagnostics,
                expression: vec![i.expression],
            })
            .collect(),
    )
}

fn transaction_response(intake: &Intake, receipt: IntakeReceipt) -> Response {
    let summary = match receipt {
        IntakeReceipt::Consent(ConsentStatus::Withdrawn) => {
            "consent withdrawn: this source's data of the client is removed".to_owned()
        }
        IntakeReceipt::Consent(ConsentStatus::Active) => "consent restored".to_owned(),
        IntakeReceipt::Share { receipt, restored } => format!(
            "{}share replaced: {} pregnancies, {} entries ({} added, {} changed, {} removed)",
            if restored { "consent restored; " } else { "" },
            receipt.pregnancies,
            receipt.entries,
            receipt.entry_changes.added,
            receipt.entry_changes.changed,
            receipt.entry_changes.removed,
        ),
    };
    let entry = intake
        .read
        .iter()
        .enumerate()
        .map(|(i, location)| {
            let mut response = json!({ "status": "200 OK", "location": location });
            if i == 0 {
                response["outcome"] = json!({
                    "resourceType": "OperationOutcome",
                    "issue": [{ "severity": "information", "code": "informational", "diagnostics": summary }],
                });
            }
            json!({ "response": response })
        })
        .collect();
    fhir_json(
        StatusCode::OK,
        TransactionResponse {
            resource_type: "Bundle".into(),
            kind: "transaction-response".into(),
            entry,
        },
    )
}

/// Receive a FHIR R4 Bundle: it replaces this source's share of the client, or changes consent.
#[utoipa::path(
    post,
    path = "/api/v1/fhir",
    tag = "fhir",
    request_body(content = super::openapi::FhirBundleBody, content_type = "application/fhir+json",
        description = "A FHIR R4 Bundle (type transaction or collection): one Patient with her BSN, her pregnancies (Condition 77386006 or EpisodeOfCare, with Observations 11778-8, 11996-6, 11977-6), coded Observation, Condition, AllergyIntolerance, MedicationStatement and Procedure resources, and optionally one Consent (inactive or rejected withdraws, active restores). Elements not read are tolerated."),
    responses(
        (status = 200, description = "Applied: a transaction-response Bundle", body = TransactionResponse, content_type = "application/fhir+json"),
        (status = 400, description = "Body is not JSON", body = OperationOutcome, content_type = "application/fhir+json"),
        (status = 401, description = "Token refused", body = OperationOutcome, content_type = "application/fhir+json"),
        (status = 404, description = "A Consent alone for a client this source never shared", body = OperationOutcome, content_type = "application/fhir+json"),
        (status = 409, description = "Consent withdrawn for this client at this source", body = OperationOutcome, content_type = "application/fhir+json"),
        (status = 413, description = "Body too large", body = OperationOutcome, content_type = "application/fhir+json"),
        (status = 415, description = "Not application/fhir+json", body = OperationOutcome, content_type = "application/fhir+json"),
        (status = 422, description = "Invalid bundle: one issue per problem, each with its FHIRPath", body = OperationOutcome, content_type = "application/fhir+json"),
        (status = 429, description = "Rate limit of this source's verified calls (never for a consent withdrawal)", body = OperationOutcome, content_type = "application/fhir+json"),
    ),
    security(("source_token" = []))
)]
pub async fn post_bundle(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    receive(&state, peer, &headers, body)
        .await
        .unwrap_or_else(|refusal| refusal)
}

async fn receive(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Response> {
    let caller = authenticate(state, headers, peer, &FHIR).await?;
    let media = [FHIR_JSON, "application/json"];
    let value = json_body(state, &caller, None, headers, body, &media, &FHIR).await?;
    let code_map = state.store.code_map().await.map_err(internal)?;
    let read = fhir::read(&value, code_map, backend::clock::today());
    // A verified withdrawal is never refused for rate (rule 9); anything else is limited,
    // refused bundles too, so a bundle that only claims a withdrawal cannot pass the limit.
    let withdrawal = matches!(&read, Ok(intake) if intake.is_withdrawal());
    if !withdrawal {
        within_rate_limit(state, &caller, &FHIR).await?;
    }
    let intake = match read {
        Ok(intake) => intake,
        Err(issues) => {
            let fields: Vec<FieldError> = issues
                .iter()
                .map(|i| FieldError::new(i.expression.clone(), ""))
                .collect();
            refuse_with(state, &caller, None, field_names(&fields)).await?;
            return Err(refused_bundle(issues));
        }
    };
    let bsn = Some(intake.bsn.as_ref());
    match sharing::receive_bundle(&state.store, &caller, &intake, state.settings.retention).await {
        Ok(receipt) => Ok(transaction_response(&intake, receipt)),
        Err(SharingError::ConsentWithdrawn) => {
            refuse(state, &caller, bsn, "consent_withdrawn").await?;
            Err((FHIR.refusal)(
                StatusCode::CONFLICT,
                "consent_withdrawn",
                "the client's consent for this source is withdrawn; a bundle with an active Consent restores it",
            ))
        }
        Err(SharingError::PastRetention(problem)) => {
            // The share's pregnancies are the bundle's episodes: the problem names the Bundle.
            refuse_with(
                state,
                &caller,
                bsn,
                field_names(std::slice::from_ref(&problem)),
            )
            .await?;
            Err(refused_bundle(vec![fhir::Issue::business_rule(
                "Bundle",
                problem.problem,
            )]))
        }
        Err(SharingError::NeverShared) => {
            refuse(state, &caller, bsn, "never_shared").await?;
            Err((FHIR.refusal)(
                StatusCode::NOT_FOUND,
                "not_found",
                "this source never shared this client",
            ))
        }
        Err(other) => Err(internal(other)),
    }
}

/// The CapabilityStatement: what the intake accepts.
#[utoipa::path(
    get,
    path = "/api/v1/fhir/metadata",
    tag = "fhir",
    responses((status = 200, description = "A FHIR CapabilityStatement", body = Object, content_type = "application/fhir+json"))
)]
pub async fn metadata() -> Response {
    let resource = |kind: &str, documentation: &str| json!({ "type": kind, "interaction": [{ "code": "create" }, { "code": "update" }], "documentation": documentation });
    fhir_json(
        StatusCode::OK,
        json!({
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-11-30",
            "kind": "instance",
            "publisher": "Ooievaar",
            "software": { "name": "Ooievaar", "version": env!("CARGO_PKG_VERSION") },
            "implementation": { "description": "Ooievaar FHIR intake of the birth-care network (DESIGN 8.2)" },
            "fhirVersion": "4.0.1",
            "format": [FHIR_JSON],
            "rest": [{
                "mode": "server",
                "documentation": "POST a Bundle (type transaction or collection) to /api/v1/fhir. It replaces this source's share of the client (idempotent: resource ids become entry ids). A Consent with status inactive or rejected withdraws consent and removes the source's data; active restores it. Codes are looked up in the network's code map (shown on /policy); an unmapped code is refused with 422.",
                "security": {
                    "cors": false,
                    "description": "Authorization: Bearer <JWT> signed by the registered source with ES256 or RS256: iss = sub = source id, aud = the viewer's audience, exp at most 300 s after iat, unique jti."
                },
                "resource": [
                    resource("Patient", "Exactly one, with identifier system http://fhir.nl/fhir/NamingSystem/bsn, name and birthDate."),
                    resource("Consent", "Optional, at most one: status active, inactive or rejected."),
                    resource("Condition", "SNOMED CT 77386006 is a pregnancy (clinicalStatus; abatementDateTime ends it); any other code must be in the code map."),
                    resource("EpisodeOfCare", "A pregnancy (the maternal record): status and period.end."),
                    resource("Observation", "LOINC 11778-8, 11996-6 and 11977-6 give the pregnancy it points at (focus) its due date, gravidity and parity; any other code must be in the code map. Any value[x] and components."),
                    resource("AllergyIntolerance", "By its code in the code map."),
                    resource("MedicationStatement", "By medicationCodeableConcept (or a referenced Medication) in the code map."),
                    resource("Procedure", "By its code in the code map."),
                ],
                "interaction": [{ "code": "transaction" }]
            }]
        }),
    )
}

#[cfg(test)]
mod tests {
    use backend::fhir::IssueCode;

    #[test]
    fn issue_codes_are_fhir_issue_types() {
        // The FHIR IssueType value set, the codes an OperationOutcome may carry.
        let issue_types = [
            "invalid",
            "structure",
            "required",
            "value",
            "invariant",
            "security",
            "login",
            "unknown",
            "expired",
            "forbidden",
            "suppressed",
            "processing",
            "not-supported",
            "duplicate",
            "multiple-matches",
            "not-found",
            "deleted",
            "too-long",
            "code-invalid",
            "extension",
            "too-costly",
            "business-rule",
            "conflict",
            "transient",
            "lock-error",
            "no-store",
            "exception",
            "timeout",
            "incomplete",
            "throttled",
            "informational",
        ];
        for code in [
            IssueCode::Structure,
            IssueCode::Required,
            IssueCode::Value,
            IssueCode::Invalid,
            IssueCode::CodeInvalid,
            IssueCode::Duplicate,
            IssueCode::NotSupported,
            IssueCode::BusinessRule,
        ] {
            assert!(issue_types.contains(&code.as_str()), "{}", code.as_str());
        }
    }
}
