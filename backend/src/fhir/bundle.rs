//! The entries of a bundle and the references between them.

use super::{Issue, IssueCode};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Most entries one bundle may hold: the share's limits (5,000 entries, 50 pregnancies with
/// three pregnancy observations each) and room for the Patient, the Consent and context.
pub const MAX_BUNDLE_ENTRIES: usize = 5_000 + 50 * 4 + 100;

/// One resource of the bundle.
pub struct Resource<'a> {
    /// Its position in `Bundle.entry`.
    pub index: usize,
    pub kind: &'a str,
    pub id: Option<&'a str>,
    pub body: &'a Map<String, Value>,
}

impl Resource<'_> {
    /// FHIRPath of the resource.
    pub fn path(&self) -> String {
        format!("Bundle.entry[{}].resource", self.index)
    }

    /// FHIRPath of one of its elements.
    pub fn at(&self, element: &str) -> String {
        format!("Bundle.entry[{}].resource.{element}", self.index)
    }

    /// `Type/id`, for the transaction-response.
    pub fn location(&self) -> String {
        format!("{}/{}", self.kind, self.id.unwrap_or("-"))
    }
}

/// The bundle's resources, found by `fullUrl` or by `Type/id`.
pub struct Bundle<'a> {
    pub resources: Vec<Resource<'a>>,
    by_full_url: HashMap<&'a str, usize>,
    by_type_id: HashMap<&'a str, HashMap<&'a str, usize>>,
}

/// What a reference points at.
pub enum Target {
    /// A resource of the bundle (its position in [`Bundle::resources`]).
    Found(usize),
    /// Nothing in the bundle: a dangling reference.
    Dangling,
    /// No `reference` string (an identifier-only or display-only reference).
    Unresolvable,
}

impl<'a> Bundle<'a> {
    /// Indexes the entries; the structural problems are added to `issues`.
    pub fn index(body: &'a Value, issues: &mut Vec<Issue>) -> Option<Self> {
        let Some(top) = body.as_object() else {
            issues.push(Issue::new(
                IssueCode::Structure,
                "Bundle",
                "the body must be a FHIR resource (a JSON object)",
            ));
            return None;
        };
        match top.get("resourceType").and_then(Value::as_str) {
            Some("Bundle") => {}
            Some(other) => {
                issues.push(Issue::new(
                    IssueCode::NotSupported,
                    "Bundle.resourceType",
                    format!("must be 'Bundle', not '{}'", echo(other)),
                ));
                return None;
            }
            None => {
                issues.push(Issue::new(
                    IssueCode::Required,
                    "Bundle.resourceType",
                    "required: 'Bundle'",
                ));
                return None;
            }
        }
        match top.get("type").and_then(Value::as_str) {
            Some("transaction" | "collection") => {}
            _ => issues.push(Issue::new(
                IssueCode::Value,
                "Bundle.type",
                "must be 'transaction' or 'collection'",
            )),
        }
        let entries = match top.get("entry") {
            None | Some(Value::Null) => {
                issues.push(Issue::new(
                    IssueCode::Required,
                    "Bundle.entry",
                    "required: the Patient and what is shared of her",
                ));
                return None;
            }
            Some(Value::Array(entries)) => entries,
            Some(_) => {
                issues.push(Issue::new(
                    IssueCode::Structure,
                    "Bundle.entry",
                    "must be an array",
                ));
                return None;
            }
        };
        if entries.len() > MAX_BUNDLE_ENTRIES {
            issues.push(Issue::new(
                IssueCode::BusinessRule,
                "Bundle.entry",
                format!("at most {MAX_BUNDLE_ENTRIES} entries"),
            ));
            return None;
        }
        let mut bundle = Bundle {
            resources: Vec::with_capacity(entries.len()),
            by_full_url: HashMap::new(),
            by_type_id: HashMap::new(),
        };
        for (index, entry) in entries.iter().enumerate() {
            let at = format!("Bundle.entry[{index}]");
            let Some(entry) = entry.as_object() else {
                issues.push(Issue::new(IssueCode::Structure, at, "must be an object"));
                continue;
            };
            let Some(body) = entry.get("resource").and_then(Value::as_object) else {
                issues.push(Issue::new(
                    IssueCode::Required,
                    format!("{at}.resource"),
                    "required: a resource (JSON object)",
                ));
                continue;
            };
            let Some(kind) = body.get("resourceType").and_then(Value::as_str) else {
                issues.push(Issue::new(
                    IssueCode::Required,
                    format!("{at}.resource.resourceType"),
                    "required",
                ));
                continue;
            };
            let id = match body.get("id") {
                None | Some(Value::Null) => None,
                Some(Value::String(id)) if valid_id(id) => Some(id.as_str()),
                Some(_) => {
                    issues.push(Issue::new(
                        IssueCode::Value,
                        format!("{at}.resource.id"),
                        "must be a FHIR id: 1-64 letters, digits, '-' or '.'",
                    ));
                    continue;
                }
            };
            let position = bundle.resources.len();
            if let Some(url) = entry.get("fullUrl") {
                match url.as_str() {
                    Some(url) if !url.is_empty() && url.len() <= 300 => {
                        if bundle.by_full_url.insert(url, position).is_some() {
                            issues.push(Issue::new(
                                IssueCode::Duplicate,
                                format!("{at}.fullUrl"),
                                "another entry has the same fullUrl",
                            ));
                        }
                    }
                    _ => issues.push(Issue::new(
                        IssueCode::Value,
                        format!("{at}.fullUrl"),
                        "must be a URI of at most 300 characters",
                    )),
                }
            }
            if let Some(id) = id {
                let of_kind = bundle.by_type_id.entry(kind).or_default();
                if of_kind.insert(id, position).is_some() {
                    issues.push(Issue::new(
                        IssueCode::Duplicate,
                        format!("{at}.resource.id"),
                        format!("another {kind} in this bundle has the id '{id}'"),
                    ));
                }
            }
            bundle.resources.push(Resource {
                index,
                kind,
                id,
                body,
            });
        }
        Some(bundle)
    }

    /// Resolves a `Reference` element: by `fullUrl` first (`urn:uuid:...`), then as a
    /// relative `Type/id` (also the tail of an absolute URL).
    pub fn resolve(&self, reference: &Value) -> Target {
        let Some(text) = reference.get("reference").and_then(Value::as_str) else {
            return Target::Unresolvable;
        };
        if let Some(&i) = self.by_full_url.get(text) {
            return Target::Found(i);
        }
        let mut parts = text.rsplit('/');
        if let (Some(id), Some(kind)) = (parts.next(), parts.next()) {
            if let Some(&i) = self.by_type_id.get(kind).and_then(|ids| ids.get(id)) {
                return Target::Found(i);
            }
        }
        Target::Dangling
    }
}

/// A FHIR id: `[A-Za-z0-9\-\.]{1,64}`.
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

pub use domain::share::quoted as echo;
