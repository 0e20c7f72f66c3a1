//! The one role a user has (DESIGN section 4).

crate::string_enum! {
    /// A user's role. Exactly one per user; the clinical ones may see client data.
    Role {
        Verloskundige => "verloskundige",
        Gynaecoloog => "gynaecoloog",
        OgVerpleegkundige => "og_verpleegkundige",
        Kraamverzorgende => "kraamverzorgende",
        Echoscopist => "echoscopist",
        PrivacyOfficer => "privacy_officer",
        Beheerder => "beheerder",
    }
}

impl Role {
    /// The roles that treat clients; only these can ever see clinical data.
    pub const CLINICAL: &'static [Role] = &[
        Role::Verloskundige,
        Role::Gynaecoloog,
        Role::OgVerpleegkundige,
        Role::Kraamverzorgende,
        Role::Echoscopist,
    ];

    pub fn is_clinical(self) -> bool {
        Self::CLINICAL.contains(&self)
    }

    /// The Dutch name shown in the interface.
    pub fn label(self) -> &'static str {
        match self {
            Role::Verloskundige => "Verloskundige",
            Role::Gynaecoloog => "Gynaecoloog",
            Role::OgVerpleegkundige => "O&G-verpleegkundige",
            Role::Kraamverzorgende => "Kraamverzorgende",
            Role::Echoscopist => "Echoscopist",
            Role::PrivacyOfficer => "Privacyfunctionaris",
            Role::Beheerder => "Beheerder",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_key() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(*role));
        }
        assert_eq!(Role::parse("admin"), None);
        assert_eq!(Role::parse("Verloskundige"), None);
    }

    #[test]
    fn only_the_five_care_roles_are_clinical() {
        let clinical: Vec<_> = Role::ALL.iter().filter(|r| r.is_clinical()).collect();
        assert_eq!(clinical.len(), 5);
        assert!(!Role::PrivacyOfficer.is_clinical());
        assert!(!Role::Beheerder.is_clinical());
    }
}
