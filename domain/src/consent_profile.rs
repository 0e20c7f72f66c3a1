//! The client's national consent choice (DESIGN 8.3), as a consent registry sends it: all her
//! care providers may make her data available, only the organisations and kinds of
//! organisation she selected, or none.

use crate::share::{quoted, Obj, Problems};
use crate::{FieldError, OrganisationKind};
use serde_json::Value;
use std::collections::BTreeSet;

/// The most organisations (and, separately, kinds) one `selected` profile may list.
pub const MAX_LISTED: usize = 500;
/// The longest organisation id (as `org add --id` allows).
const MAX_ID_CHARS: usize = 64;

crate::string_enum! {
    /// The kind of choice, as sent and as logged.
    ConsentChoice {
        All => "all",
        Selected => "selected",
        None => "none",
    }
}

/// A validated profile. `Selected` always lists at least one organisation or kind, so an
/// empty selection (which would mean "none" under another name) cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentProfile {
    All,
    Selected {
        organisations: BTreeSet<String>,
        kinds: BTreeSet<OrganisationKind>,
    },
    None,
}

impl ConsentProfile {
    pub fn choice(&self) -> ConsentChoice {
        match self {
            ConsentProfile::All => ConsentChoice::All,
            ConsentProfile::Selected { .. } => ConsentChoice::Selected,
            ConsentProfile::None => ConsentChoice::None,
        }
    }

    /// The organisations a `selected` profile lists (empty otherwise).
    pub fn organisations(&self) -> Vec<String> {
        match self {
            ConsentProfile::Selected { organisations, .. } => {
                organisations.iter().cloned().collect()
            }
            _ => Vec::new(),
        }
    }

    /// The kinds a `selected` profile lists (empty otherwise).
    pub fn kinds(&self) -> Vec<OrganisationKind> {
        match self {
            ConsentProfile::Selected { kinds, .. } => kinds.iter().copied().collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the profile lets an organisation of `kind` make the client's data available.
    /// The store's `visible_shares` view applies the same rule in SQL at every read; this is
    /// its statement in Rust, for the property tests and for the reader.
    pub fn allows(&self, organisation: &str, kind: OrganisationKind) -> bool {
        match self {
            ConsentProfile::All => true,
            ConsentProfile::None => false,
            ConsentProfile::Selected {
                organisations,
                kinds,
            } => organisations.contains(organisation) || kinds.contains(&kind),
        }
    }

    /// The profile as the API answers it.
    pub fn to_json(&self) -> Value {
        match self {
            ConsentProfile::Selected { .. } => serde_json::json!({
                "choice": self.choice(),
                "organisations": self.organisations(),
                "organisation_kinds": self.kinds(),
            }),
            _ => serde_json::json!({ "choice": self.choice() }),
        }
    }
}

/// Validates the body of `PUT /api/v1/consent-profiles/{bsn}`. Every problem is named with its
/// field; unknown fields are refused, so a misspelt list is never read as "absent".
pub fn validate_profile(body: &Value) -> Result<ConsentProfile, Vec<FieldError>> {
    let mut p = Problems::default();
    let Some(top) = Obj::root(body) else {
        p.push("body", "must be an object");
        return Err(p.into_errors());
    };
    for key in top.map.keys() {
        if !matches!(
            key.as_str(),
            "choice" | "organisations" | "organisation_kinds"
        ) {
            p.push(key.clone(), "unknown field");
        }
    }
    let choice = top.keyword(&mut p, "choice", ConsentChoice::parse, |_| {
        "must be \"all\", \"selected\" or \"none\"".into()
    });
    let organisations = list(&mut p, &top, "organisations", |p, path, item| {
        let text = item.as_str();
        match text {
            Some(id)
                if !id.is_empty()
                    && id.chars().count() <= MAX_ID_CHARS
                    && !id.chars().any(char::is_control) =>
            {
                Some(id.to_owned())
            }
            Some(_) => {
                p.push(
                    path,
                    format!(
                        "must be an organisation id of 1 to {} characters",
                        MAX_ID_CHARS
                    ),
                );
                None
            }
            None => {
                p.push(path, "must be a string");
                None
            }
        }
    });
    let kinds = list(
        &mut p,
        &top,
        "organisation_kinds",
        |p, path, item| match item.as_str().map(|k| (k, OrganisationKind::parse(k))) {
            Some((_, Some(kind))) => Some(kind),
            Some((k, None)) => {
                let known: Vec<&str> = OrganisationKind::ALL.iter().map(|k| k.as_str()).collect();
                p.push(
                    path,
                    format!("unknown kind '{}' (one of {})", quoted(k), known.join(", ")),
                );
                None
            }
            None => {
                p.push(path, "must be a string");
                None
            }
        },
    );
    let (Some(choice), Some(organisations), Some(kinds)) = (choice, organisations, kinds) else {
        return Err(p.into_errors());
    };
    if !p.0.is_empty() {
        return Err(p.into_errors());
    }
    match choice {
        ConsentChoice::Selected if organisations.is_empty() && kinds.is_empty() => {
            p.push(
                "organisations",
                "choice \"selected\" needs at least one organisation or organisation kind",
            );
            Err(p.into_errors())
        }
        ConsentChoice::Selected => Ok(ConsentProfile::Selected {
            organisations,
            kinds,
        }),
        other if !organisations.is_empty() || !kinds.is_empty() => {
            let field = if organisations.is_empty() {
                "organisation_kinds"
            } else {
                "organisations"
            };
            p.push(
                field,
                format!("only with choice \"selected\", not \"{}\"", other.as_str()),
            );
            Err(p.into_errors())
        }
        ConsentChoice::All => Ok(ConsentProfile::All),
        ConsentChoice::None => Ok(ConsentProfile::None),
    }
}

/// An optional list (absent or `null` is empty) of at most [`MAX_LISTED`] items, each read by
/// `item` with its path; duplicates collapse. `None` when the list or an item was refused.
fn list<T: Ord>(
    p: &mut Problems,
    top: &Obj,
    key: &str,
    mut item: impl FnMut(&mut Problems, String, &Value) -> Option<T>,
) -> Option<BTreeSet<T>> {
    let items = top.optional(p, key, |o, p, k| o.array(p, k, MAX_LISTED))?;
    let mut set = BTreeSet::new();
    let mut valid = true;
    for (i, value) in items
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        match item(p, format!("{key}[{i}]"), value) {
            Some(v) => {
                set.insert(v);
            }
            None => valid = false,
        }
    }
    valid.then_some(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(body: Value) -> Vec<String> {
        validate_profile(&body)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn the_three_choices_are_read() {
        assert_eq!(
            validate_profile(&json!({"choice": "all"})),
            Ok(ConsentProfile::All)
        );
        assert_eq!(
            validate_profile(&json!({"choice": "none"})),
            Ok(ConsentProfile::None)
        );
        let selected = validate_profile(&json!({"choice": "selected",
            "organisations": ["vp-de-wieg", "vp-de-wieg"], "organisation_kinds": ["ziekenhuis"]}))
        .unwrap();
        assert_eq!(selected.organisations(), vec!["vp-de-wieg".to_owned()]);
        assert_eq!(selected.kinds(), vec![OrganisationKind::Ziekenhuis]);
        assert!(selected.allows("vp-de-wieg", OrganisationKind::Verloskundigenpraktijk));
        assert!(selected.allows("zh-elders", OrganisationKind::Ziekenhuis));
        assert!(!selected.allows("kz-kraamhoek", OrganisationKind::Kraamzorg));
        assert!(!ConsentProfile::None.allows("vp-de-wieg", OrganisationKind::Ziekenhuis));
        assert!(ConsentProfile::All.allows("x", OrganisationKind::Kraamzorg));
    }

    #[test]
    fn an_empty_selection_is_refused_naming_the_list() {
        assert_eq!(fields(json!({"choice": "selected"})), vec!["organisations"]);
        assert_eq!(
            fields(json!({"choice": "selected", "organisations": [], "organisation_kinds": null})),
            vec!["organisations"]
        );
    }

    #[test]
    fn unknown_kinds_choices_and_fields_are_named() {
        let errors =
            validate_profile(&json!({"choice": "selected", "organisation_kinds": ["huisarts"]}))
                .unwrap_err();
        assert_eq!(errors[0].field, "organisation_kinds[0]");
        assert!(errors[0].problem.contains("huisarts"), "{errors:?}");
        assert_eq!(fields(json!({"choice": "sommige"})), vec!["choice"]);
        assert_eq!(fields(json!({})), vec!["choice"]);
        assert_eq!(
            fields(json!({"choice": "all", "organsations": ["x"]})),
            vec!["organsations"]
        );
        assert_eq!(fields(json!([1])), vec!["body"]);
        assert_eq!(
            fields(json!({"choice": "selected", "organisations": [""]})),
            vec!["organisations[0]"]
        );
        assert_eq!(
            fields(json!({"choice": "selected", "organisations": "vp"})),
            vec!["organisations"]
        );
    }

    #[test]
    fn lists_belong_to_selected_only() {
        assert_eq!(
            fields(json!({"choice": "all", "organisations": ["vp-de-wieg"]})),
            vec!["organisations"]
        );
        assert_eq!(
            fields(json!({"choice": "none", "organisation_kinds": ["kraamzorg"]})),
            vec!["organisation_kinds"]
        );
    }

    #[test]
    fn long_lists_are_one_problem() {
        let many: Vec<String> = (0..=MAX_LISTED).map(|i| format!("org-{i}")).collect();
        assert_eq!(
            fields(json!({"choice": "selected", "organisations": many})),
            vec!["organisations"]
        );
    }
}
