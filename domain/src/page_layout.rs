//! How the client page is laid out per role (issue 14), read from data beside the access
//! policy (`section_order`, `handover_lines`, `handover_codes`): the order of the sections as
//! the role works, and the lines of the handover summary with the codes that feed them. The
//! layout never widens what a role sees: it only arranges entries the policy already permitted.

use crate::{Category, Role};
use std::collections::BTreeMap;

crate::string_enum! {
    /// Which matching entries a handover line shows.
    Shows {
        /// The newest one (blood group, the last blood pressure).
        Latest => "latest",
        /// Every one (allergies, current medication).
        All => "all",
    }
}

/// One line of the handover summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverLineDef {
    pub line: String,
    pub label: String,
    pub shows: Shows,
    /// Every entry of this category feeds the line (besides `codes`).
    pub category: Option<Category>,
    pub codes: Vec<String>,
}

impl HandoverLineDef {
    /// Whether an entry with this category and code feeds the line.
    pub fn takes(&self, category: Category, code: &str) -> bool {
        self.category == Some(category) || self.codes.iter().any(|c| c == code)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageLayout {
    order: BTreeMap<Role, Vec<(i64, Category)>>,
    handover: BTreeMap<Role, Vec<(i64, HandoverLineDef)>>,
}

impl PageLayout {
    /// Adds a section position (rows of `section_order`).
    pub fn place_section(&mut self, role: Role, category: Category, position: i64) {
        let order = self.order.entry(role).or_default();
        order.push((position, category));
        order.sort();
    }

    /// Adds a handover line (rows of `handover_lines`, with their codes).
    pub fn add_line(&mut self, role: Role, position: i64, line: HandoverLineDef) {
        let lines = self.handover.entry(role).or_default();
        lines.push((position, line));
        lines.sort_by_key(|(p, _)| *p);
    }

    /// The role's section order: the configured categories first, then any category the
    /// table forgot, in the default order (so a gap in the data never hides a section).
    pub fn section_order(&self, role: Role) -> Vec<Category> {
        let mut order: Vec<Category> = self
            .order
            .get(&role)
            .map(|o| o.iter().map(|(_, c)| *c).collect())
            .unwrap_or_default();
        for category in Category::ALL {
            if !order.contains(category) {
                order.push(*category);
            }
        }
        order
    }

    /// The role's handover lines, in order.
    pub fn handover(&self, role: Role) -> Vec<&HandoverLineDef> {
        self.handover
            .get(&role)
            .map(|l| l.iter().map(|(_, d)| d).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_order_follows_the_data_and_keeps_every_category() {
        let mut layout = PageLayout::default();
        layout.place_section(Role::Kraamverzorgende, Category::Newborn, 2);
        layout.place_section(Role::Kraamverzorgende, Category::LabourBirth, 1);
        let order = layout.section_order(Role::Kraamverzorgende);
        assert_eq!(&order[..2], &[Category::LabourBirth, Category::Newborn]);
        assert_eq!(order.len(), 14);
        assert_eq!(
            layout.section_order(Role::Gynaecoloog),
            Category::ALL.to_vec()
        );
    }

    #[test]
    fn a_line_takes_its_codes_or_its_whole_category() {
        let line = HandoverLineDef {
            line: "medicatie".into(),
            label: "Huidige medicatie".into(),
            shows: Shows::All,
            category: Some(Category::Medication),
            codes: vec!["x".into()],
        };
        assert!(line.takes(Category::Medication, "anything"));
        assert!(line.takes(Category::LabScreening, "x"));
        assert!(!line.takes(Category::LabScreening, "hb"));
    }
}
