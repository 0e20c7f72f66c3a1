//! The 14 fixed data categories and the three sensitivities of an entry (DESIGN section 4).

crate::string_enum! {
    /// What an entry is about. The order is the clinically sensible order of the client page.
    Category {
        Identity => "identity",
        CareTeam => "care_team",
        Pregnancy => "pregnancy",
        ObstetricHistory => "obstetric_history",
        LabourBirth => "labour_birth",
        Newborn => "newborn",
        Postpartum => "postpartum",
        MedicalHistory => "medical_history",
        Medication => "medication",
        LabScreening => "lab_screening",
        Ultrasound => "ultrasound",
        Psychosocial => "psychosocial",
        Lifestyle => "lifestyle",
        FamilySituation => "family_situation",
    }
}

impl Category {
    /// The Dutch section heading.
    pub fn label(self) -> &'static str {
        match self {
            Category::Identity => "Identificatie",
            Category::CareTeam => "Zorgteam",
            Category::ObstetricHistory => "Obstetrische voorgeschiedenis",
            Category::Pregnancy => "Zwangerschap",
            Category::LabScreening => "Laboratorium en screening",
            Category::Ultrasound => "Echo's",
            Category::MedicalHistory => "Medische voorgeschiedenis en allergieën",
            Category::Psychosocial => "Psychosociaal",
            Category::Lifestyle => "Leefstijl",
            Category::FamilySituation => "Gezinssituatie",
            Category::LabourBirth => "Baring",
            Category::Newborn => "Pasgeborene",
            Category::Postpartum => "Kraambed",
            Category::Medication => "Medicatie",
        }
    }
}

crate::string_enum! {
    /// How sensitive an entry is; ordered `Normal < Elevated < High`.
    Sensitivity {
        Normal => "normal",
        Elevated => "elevated",
        High => "high",
    }
}

impl Sensitivity {
    pub fn label(self) -> &'static str {
        match self {
            Sensitivity::Normal => "normaal",
            Sensitivity::Elevated => "verhoogd",
            Sensitivity::High => "hoog",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_exactly_fourteen_categories_with_distinct_keys() {
        let mut keys: Vec<_> = Category::ALL.iter().map(|c| c.as_str()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 14);
    }

    #[test]
    fn sensitivities_are_ordered() {
        assert!(Sensitivity::Normal < Sensitivity::Elevated);
        assert!(Sensitivity::Elevated < Sensitivity::High);
        assert_eq!(Sensitivity::parse("secret"), None);
    }
}
