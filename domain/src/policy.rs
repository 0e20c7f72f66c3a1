//! The access policy (DESIGN section 5): which role may see which category up to which
//! sensitivity. The policy is data, loaded from the `access_policy` table (seeded by a
//! migration); [`Policy::allows`] is the one function that evaluates it.

use super::{Category, Role, Sensitivity};
use std::collections::BTreeMap;

crate::string_enum! {
    /// A policy cell: the highest sensitivity visible, ordered `None < Normal < Elevated < High`.
    PolicyCell {
        None => "none",
        Normal => "normal",
        Elevated => "elevated",
        High => "high",
    }
}

impl PolicyCell {
    /// Whether an entry of this sensitivity falls within the cell.
    pub fn admits(self, sensitivity: Sensitivity) -> bool {
        let needed = match sensitivity {
            Sensitivity::Normal => PolicyCell::Normal,
            Sensitivity::Elevated => PolicyCell::Elevated,
            Sensitivity::High => PolicyCell::High,
        };
        self >= needed
    }
}

/// The facts about one viewing that the policy decides on. Grant and consent are checked by
/// the backend inside the viewing transaction; they are inputs here so the whole rule of
/// DESIGN 5.1 lives in one function.
#[derive(Debug, Clone, Copy)]
pub struct ViewRequest {
    pub role: Role,
    pub has_valid_grant: bool,
    pub consent_active: bool,
    pub category: Category,
    pub sensitivity: Sensitivity,
}

/// The policy table: role x category -> cell. Missing cells mean `none`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    cells: BTreeMap<(Role, Category), PolicyCell>,
}

impl Policy {
    pub fn from_cells(cells: impl IntoIterator<Item = (Role, Category, PolicyCell)>) -> Self {
        Self {
            cells: cells.into_iter().map(|(r, c, v)| ((r, c), v)).collect(),
        }
    }

    /// The cell for a role and category; non-clinical roles are always `none`.
    pub fn cell(&self, role: Role, category: Category) -> PolicyCell {
        if !role.is_clinical() {
            return PolicyCell::None;
        }
        self.cells
            .get(&(role, category))
            .copied()
            .unwrap_or(PolicyCell::None)
    }

    /// DESIGN 5.1: shown iff clinical role, valid grant, active consent and
    /// `sensitivity <= policy[role][category]`.
    pub fn allows(&self, request: ViewRequest) -> bool {
        request.role.is_clinical()
            && request.has_valid_grant
            && request.consent_active
            && self
                .cell(request.role, request.category)
                .admits(request.sensitivity)
    }

    /// The categories a role may see anything of, in page order.
    pub fn visible_categories(&self, role: Role) -> Vec<Category> {
        Category::ALL
            .iter()
            .copied()
            .filter(|c| self.cell(role, *c) != PolicyCell::None)
            .collect()
    }

    /// The default policy of DESIGN 5.2. The migration seeds the same table; a store test
    /// checks the two agree.
    pub fn default_design() -> Self {
        use Category::*;
        use PolicyCell::{Elevated as E, High as H, None as N, Normal as O};
        // Columns: verloskundige, gynaecoloog, og_verpleegkundige, kraamverzorgende, echoscopist.
        let rows: [(Category, [PolicyCell; 5]); 14] = [
            (Identity, [H, H, H, O, O]),
            (CareTeam, [H, H, H, O, O]),
            (ObstetricHistory, [H, H, E, O, O]),
            (Pregnancy, [H, H, H, O, O]),
            (LabScreening, [H, H, H, O, N]),
            (Ultrasound, [H, H, E, N, H]),
            (MedicalHistory, [H, H, E, O, N]),
            (Psychosocial, [H, H, E, O, N]),
            (Lifestyle, [H, H, E, O, N]),
            (FamilySituation, [H, E, E, H, N]),
            (LabourBirth, [H, H, H, O, N]),
            (Newborn, [H, H, H, H, N]),
            (Postpartum, [H, E, E, H, N]),
            (Medication, [H, H, H, O, N]),
        ];
        Self::from_cells(rows.iter().flat_map(|(category, cells)| {
            Role::CLINICAL
                .iter()
                .zip(cells.iter())
                .map(move |(role, cell)| (*role, *category, *cell))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn request(role: Role, category: Category, sensitivity: Sensitivity) -> ViewRequest {
        ViewRequest {
            role,
            has_valid_grant: true,
            consent_active: true,
            category,
            sensitivity,
        }
    }

    #[test]
    fn a_maternity_nurse_sees_blood_group_but_not_an_hiv_result() {
        let policy = Policy::default_design();
        let nurse = Role::Kraamverzorgende;
        assert!(policy.allows(request(nurse, Category::LabScreening, Sensitivity::Normal)));
        assert!(!policy.allows(request(
            nurse,
            Category::LabScreening,
            Sensitivity::Elevated
        )));
    }

    #[test]
    fn a_sonographer_sees_no_medication_and_all_ultrasound() {
        let policy = Policy::default_design();
        assert!(!policy.allows(request(
            Role::Echoscopist,
            Category::Medication,
            Sensitivity::Normal
        )));
        assert!(policy.allows(request(
            Role::Echoscopist,
            Category::Ultrasound,
            Sensitivity::High
        )));
        assert!(!policy
            .visible_categories(Role::Echoscopist)
            .contains(&Category::Medication));
    }

    fn any_role() -> impl Strategy<Value = Role> {
        proptest::sample::select(Role::ALL.to_vec())
    }
    fn any_category() -> impl Strategy<Value = Category> {
        proptest::sample::select(Category::ALL.to_vec())
    }
    fn any_sensitivity() -> impl Strategy<Value = Sensitivity> {
        proptest::sample::select(Sensitivity::ALL.to_vec())
    }
    fn any_cell() -> impl Strategy<Value = PolicyCell> {
        proptest::sample::select(PolicyCell::ALL.to_vec())
    }

    /// An independent, deliberately naive model of DESIGN 5.1 on numbers.
    fn model(cell: PolicyCell, req: ViewRequest) -> bool {
        let rank_cell = match cell {
            PolicyCell::None => 0,
            PolicyCell::Normal => 1,
            PolicyCell::Elevated => 2,
            PolicyCell::High => 3,
        };
        let rank_sens = match req.sensitivity {
            Sensitivity::Normal => 1,
            Sensitivity::Elevated => 2,
            Sensitivity::High => 3,
        };
        let clinical = !matches!(req.role, Role::PrivacyOfficer | Role::Beheerder);
        clinical && req.has_valid_grant && req.consent_active && rank_sens <= rank_cell
    }

    proptest! {
        #[test]
        fn policy_evaluation_matches_the_naive_model(
            role in any_role(), category in any_category(), sensitivity in any_sensitivity(),
            cell in any_cell(), grant in any::<bool>(), consent in any::<bool>(),
        ) {
            let policy = Policy::from_cells([(role, category, cell)]);
            let req = ViewRequest { role, has_valid_grant: grant, consent_active: consent, category, sensitivity };
            prop_assert_eq!(policy.allows(req), model(cell, req));
        }
    }
}

/// One row of the policy table as `/policy` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyRow {
    pub category: crate::Category,
    /// One cell per clinical role, in `Role::CLINICAL` order.
    pub cells: Vec<PolicyCell>,
}

impl Policy {
    /// The table as `/policy` shows it: every category, one cell per clinical role.
    pub fn rows(&self) -> Vec<PolicyRow> {
        crate::Category::ALL
            .iter()
            .map(|c| PolicyRow {
                category: *c,
                cells: crate::Role::CLINICAL
                    .iter()
                    .map(|r| self.cell(*r, *c))
                    .collect(),
            })
            .collect()
    }
}
