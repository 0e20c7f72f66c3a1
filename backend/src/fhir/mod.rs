//! The FHIR intake (DESIGN 8.2): reading a FHIR R4 `Bundle` a source system sends into the same
//! share that `PUT /api/v1/shares/{bsn}` takes, so both ways in have one set of rules and one
//! path to the store.
//!
//! The bundle is read as a `serde_json::Value` with its FHIRPath at hand, not into typed model
//! structs: a source needs every problem at once, each named by its element
//! (`Bundle.entry[3].resource.code`), and serde's typed decoding stops at the first one. Elements
//! the intake does not read are tolerated, as FHIR asks of a receiver.
//!
//! Steps: index the entries and their references ([`bundle`]); read the Patient, the Consent
//! and the pregnancies; look every clinical code up in the code map (an unmapped code is
//! refused, never guessed); render values ([`values`]); then hand the result to
//! [`domain::share::validate_share`] as the equivalent JSON share, so the limits and rules of
//! the JSON API apply unchanged, and translate its problems back to FHIRPath.

mod bundle;
mod translate;
mod values;

use domain::code_map::CodeMapping;
use domain::share::{ConsentStatus, ValidShare};
use domain::Bsn;
use serde_json::Value;
use std::collections::HashMap;
use time::Date;

pub use translate::read_bundle;

/// The identifier system of the BSN.
pub const BSN_SYSTEM: &str = "http://fhir.nl/fhir/NamingSystem/bsn";
/// SNOMED CT: pregnancy (the zib-Pregnancy's code).
pub const PREGNANCY_CODE: &str = "77386006";
/// LOINC: the pregnancy's due date, gravidity and parity (they feed the pregnancy itself).
pub const DUE_DATE_CODE: &str = "11778-8";
pub const GRAVIDITY_CODE: &str = "11996-6";
pub const PARITY_CODE: &str = "11977-6";

/// The code map as the intake looks codes up in it.
pub struct CodeMap(HashMap<(String, String), CodeMapping>);

impl CodeMap {
    pub fn new(rows: Vec<CodeMapping>) -> Self {
        Self(
            rows.into_iter()
                .map(|m| ((m.system.clone(), m.code.clone()), m))
                .collect(),
        )
    }

    pub fn get(&self, system: &str, code: &str) -> Option<&CodeMapping> {
        self.0.get(&(system.to_owned(), code.to_owned()))
    }
}

/// What a bundle asks for, once every rule passed.
#[derive(Debug, Clone, PartialEq)]
pub struct Intake {
    pub bsn: Bsn,
    /// The Consent's meaning, when the bundle holds one.
    pub consent: Option<ConsentStatus>,
    /// The share that replaces this source's share of the client; `None` when the bundle holds
    /// only the Patient and a Consent (it changes consent only).
    pub share: Option<ValidShare>,
    /// `Type/id` of every resource read, in bundle order, for the transaction-response.
    pub read: Vec<String>,
}

impl Intake {
    /// A bundle of the Patient and a withdrawing Consent: never refused for rate (rule 9).
    pub fn is_withdrawal(&self) -> bool {
        self.share.is_none() && self.consent == Some(ConsentStatus::Withdrawn)
    }
}

/// The kinds of problem (FHIR's IssueType codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueCode {
    Structure,
    Required,
    Value,
    Invalid,
    CodeInvalid,
    Duplicate,
    NotSupported,
    BusinessRule,
}

impl IssueCode {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueCode::Structure => "structure",
            IssueCode::Required => "required",
            IssueCode::Value => "value",
            IssueCode::Invalid => "invalid",
            IssueCode::CodeInvalid => "code-invalid",
            IssueCode::Duplicate => "duplicate",
            IssueCode::NotSupported => "not-supported",
            IssueCode::BusinessRule => "business-rule",
        }
    }
}

/// One problem of a refused bundle: its kind, the element (FHIRPath), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub code: IssueCode,
    pub expression: String,
    pub diagnostics: String,
}

impl Issue {
    /// A refusal by a rule on the bundle as a whole (not one element's value).
    pub fn business_rule(expression: impl Into<String>, diagnostics: impl Into<String>) -> Self {
        Self::new(IssueCode::BusinessRule, expression, diagnostics)
    }

    fn new(code: IssueCode, expression: impl Into<String>, diagnostics: impl Into<String>) -> Self {
        Self {
            code,
            expression: expression.into(),
            diagnostics: diagnostics.into(),
        }
    }
}

/// Reads a bundle for `today` (the Dutch calendar date, which bounds the dates as in the JSON
/// API). Shorthand for the callers that have the map's rows.
pub fn read(body: &Value, rows: Vec<CodeMapping>, today: Date) -> Result<Intake, Vec<Issue>> {
    read_bundle(body, &CodeMap::new(rows), today)
}
