//! The code map of the FHIR intake (DESIGN 8.2): which coded value, by its (system, code), lands
//! in which category with which sensitivity and Dutch label. It is data (a table seeded by a
//! migration, extended with `ooievaar codes add`, shown on `/policy`); this module holds its
//! row type and the rules for a new row. A code that is not in the map is refused, never
//! stored in a guessed category.

use serde::{Deserialize, Serialize};

use crate::{Category, FieldError, Sensitivity};

/// The code systems the intake knows by name (others are accepted as any absolute URI).
pub const LOINC: &str = "http://loinc.org";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const ATC: &str = "http://www.whocc.no/atc";

/// One row of the code map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeMapping {
    pub system: String,
    pub code: String,
    pub category: Category,
    pub sensitivity: Sensitivity,
    /// What a professional reads, in Dutch.
    pub label: String,
    /// Where the row comes from: the element of the birth-care data set or the zib.
    pub source: String,
}

impl CodeMapping {
    /// The short name of the system, for people: `LOINC`, `SNOMED CT`, `ATC` or the URI.
    pub fn system_name(&self) -> &str {
        match self.system.as_str() {
            LOINC => "LOINC",
            SNOMED => "SNOMED CT",
            ATC => "ATC",
            other => other,
        }
    }
}

/// Checks a new row given on the command line (`--system`, `--code`, `--category`,
/// `--sensitivity`, `--label`, `--source`); every problem at once, named by its option.
pub fn validate_mapping(
    system: &str,
    code: &str,
    category: &str,
    sensitivity: &str,
    label: &str,
    source: &str,
) -> Result<CodeMapping, Vec<FieldError>> {
    let mut problems = Vec::new();
    let system = system.trim();
    let absolute = system.starts_with("http://")
        || system.starts_with("https://")
        || system.starts_with("urn:oid:")
        || system.starts_with("urn:uuid:");
    if !absolute
        || system.len() > 200
        || system.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        problems.push(FieldError::new(
            "--system",
            "een absolute URI van het codestelsel (http(s)://... of urn:oid:...), hoogstens 200 tekens",
        ));
    }
    let code = code.trim();
    if code.is_empty()
        || code.len() > 64
        || code.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        problems.push(FieldError::new("--code", "1-64 tekens zonder spaties"));
    }
    let category_parsed = Category::parse(category.trim());
    if category_parsed.is_none() {
        let keys: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        problems.push(FieldError::new(
            "--category",
            format!("kies een van: {}", keys.join(", ")),
        ));
    }
    let sensitivity_parsed = Sensitivity::parse(sensitivity.trim());
    if sensitivity_parsed.is_none() {
        problems.push(FieldError::new(
            "--sensitivity",
            "kies normal, elevated of high",
        ));
    }
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 200 || label.chars().any(char::is_control) {
        problems.push(FieldError::new(
            "--label",
            "een Nederlandse omschrijving van 1-200 tekens is verplicht",
        ));
    }
    let source = source.trim();
    if source.chars().count() > 200 || source.chars().any(char::is_control) {
        problems.push(FieldError::new("--source", "hoogstens 200 tekens"));
    }
    match (category_parsed, sensitivity_parsed) {
        (Some(category), Some(sensitivity)) if problems.is_empty() => Ok(CodeMapping {
            system: system.to_owned(),
            code: code.to_owned(),
            category,
            sensitivity,
            label: label.to_owned(),
            source: source.to_owned(),
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(result: Result<CodeMapping, Vec<FieldError>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn a_good_row_is_trimmed_and_typed() {
        let row = validate_mapping(
            " http://loinc.org ",
            "2093-3 ",
            "lab_screening",
            "normal",
            " Cholesterol ",
            "zib LaboratoriumUitslag",
        )
        .unwrap();
        assert_eq!(row.system, LOINC);
        assert_eq!(row.code, "2093-3");
        assert_eq!(row.category, Category::LabScreening);
        assert_eq!(row.label, "Cholesterol");
        assert_eq!(row.system_name(), "LOINC");
    }

    #[test]
    fn every_bad_option_is_named() {
        assert_eq!(
            fields(validate_mapping(
                "loinc", "a b", "huisarts", "geheim", "", ""
            )),
            [
                "--system",
                "--code",
                "--category",
                "--sensitivity",
                "--label"
            ]
        );
        assert_eq!(
            fields(validate_mapping(LOINC, "1-8", "newborn", "none", "x", "")),
            ["--sensitivity"],
            "'none' is a policy cell, not a sensitivity"
        );
    }
}
